package codecrypt_test

// Benchmarks of the material providers library's per-call work that
// docs/upstream/mpl-decrypt-allocations.md reports upstream: each is one
// piece of what every Decrypt of a Cognito code runs, called directly,
// beside the plain Go it stands for where that makes the waste plain.
//
//	go test ./pkg/codecrypt -run '^$' -bench MPL -benchmem

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"testing"

	"github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/AlgorithmSuites"
	"github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/CanonicalEncryptionContext"
	"github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/Materials"
	"github.com/dafny-lang/DafnyRuntimeGo/v4/dafny"
)

// A compressed P-384 public key as the Encryption SDK stores it in a
// signed message's encryption context (base64, under aws-crypto-public-key).
const compressedP384 = "03dd50f67305aa71c13631e66117c8897c8b1b966a846e8a29882467fbdf4e8c5fef9da2008d496def8cb72bf28ecac422"

func verificationKeyB64(b *testing.B) string {
	k, err := hex.DecodeString(compressedP384)
	if err != nil {
		b.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(k)
}

// cognitoContext is a Cognito message's encryption context as the library
// holds it: UTF-8 byte sequences, the pool and the verification key.
func cognitoContext(b *testing.B) dafny.Map {
	return dafny.NewMapBuilder().ToMap().
		UpdateUnsafe(dafny.SeqOfBytes([]byte("userpool-id")), dafny.SeqOfBytes([]byte("us-east-1_EXAMPLE12"))).
		UpdateUnsafe(Materials.Companion_Default___.EC__PUBLIC__KEY__FIELD(), dafny.SeqOfBytes([]byte(verificationKeyB64(b))))
}

// The algorithm-suite tables are Dafny constants compiled to functions: each
// call builds the whole map of every suite again, and every decrypt looks
// its suite up in them (ReadESDKSuiteId, GetSuite, GetAlgorithmSuiteInfo).
func BenchmarkMPLSuiteTables(b *testing.B) {
	b.Run("SupportedESDKAlgorithmSuites", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if AlgorithmSuites.Companion_Default___.SupportedESDKAlgorithmSuites().CardinalityInt() == 0 {
				b.Fatal("no suites")
			}
		}
	})
	b.Run("AlgorithmSuiteInfoByBinaryId", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if AlgorithmSuites.Companion_Default___.AlgorithmSuiteInfoByBinaryId().CardinalityInt() == 0 {
				b.Fatal("no suites")
			}
		}
	})
}

// The verification key is decoded with the Dafny standard library's
// base64 (a sequence of runes, big-number lengths) on every decrypt.
func BenchmarkMPLVerificationKey(b *testing.B) {
	b.Run("DecodeVerificationKey", func(b *testing.B) {
		ec := cognitoContext(b)
		b.ReportAllocs()
		for b.Loop() {
			if Materials.Companion_Default___.DecodeVerificationKey(ec).IsFailure() {
				b.Fatal("the key did not decode")
			}
		}
	})
	b.Run("encoding-base64", func(b *testing.B) {
		key := verificationKeyB64(b)
		b.ReportAllocs()
		for b.Loop() {
			if k, err := base64.StdEncoding.DecodeString(key); err != nil || len(k) != 49 {
				b.Fatal(err)
			}
		}
	})
}

// The encryption context is serialised to the AAD on every decrypt (the
// message header has it serialised already).
func BenchmarkMPLEncryptionContextToAAD(b *testing.B) {
	b.Run("EncryptionContextToAAD", func(b *testing.B) {
		ec := cognitoContext(b)
		b.ReportAllocs()
		for b.Loop() {
			if CanonicalEncryptionContext.Companion_Default___.EncryptionContextToAAD(ec).IsFailure() {
				b.Fatal("not serialised")
			}
		}
	})
	b.Run("plain-Go", func(b *testing.B) {
		ec := map[string]string{"userpool-id": "us-east-1_EXAMPLE12", "aws-crypto-public-key": verificationKeyB64(b)}
		b.ReportAllocs()
		for b.Loop() {
			if len(canonicalAAD(ec)) == 0 {
				b.Fatal("not serialised")
			}
		}
	})
}

// canonicalAAD is the Encryption SDK's serialised encryption context: the
// pair count, then each pair sorted by key, each string length-prefixed.
func canonicalAAD(ec map[string]string) []byte {
	keys := make([]string, 0, len(ec))
	for k := range ec {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := binary.BigEndian.AppendUint16(nil, uint16(len(keys)))
	for _, k := range keys {
		out = binary.BigEndian.AppendUint16(out, uint16(len(k)))
		out = append(out, k...)
		out = binary.BigEndian.AppendUint16(out, uint16(len(ec[k])))
		out = append(out, ec[k]...)
	}
	return out
}

// The generated code builds each check's error message before the check
// (Dafny's `:- Need(cond, Error("..."))` evaluates its arguments first):
// one message as the library builds it, on a path that does not fail.
func BenchmarkMPLEagerErrorMessage(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if dafny.SeqOfString("Encrypted data keys exceed maxEncryptedDataKeys") == nil {
			b.Fatal("empty")
		}
	}
}
