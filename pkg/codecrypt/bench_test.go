package codecrypt_test

import (
	"context"
	"testing"
)

// BenchmarkDecryptRawAES is the decrypt cost without I/O: mostly the
// ECDSA P-384 signature check of suite 0x0378.
func BenchmarkDecryptRawAES(b *testing.B) {
	benchmarkDecrypt(b, "raw-aes")
}

// BenchmarkDecryptKMS adds a KMS Decrypt over loopback HTTP to local-kms.
func BenchmarkDecryptKMS(b *testing.B) {
	benchmarkDecrypt(b, "kms")
}

func benchmarkDecrypt(b *testing.B, keyring string) {
	srv := startKMS(b)
	d := decrypterFor(b, keyring, srv.Client())
	code := firstCode(b, keyring)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Decrypt(ctx, code, events.UserPoolID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncryptRawAES(b *testing.B) {
	e := encrypterRaw(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Encrypt(ctx, "123456", events.UserPoolID); err != nil {
			b.Fatal(err)
		}
	}
}
