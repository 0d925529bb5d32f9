package kmslocal_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/cogmail/cogmail/internal/local/kmslocal"
	"github.com/cogmail/cogmail/internal/testkit/fixtures"
	"github.com/cogmail/cogmail/pkg/awsclient"
)

func start(t *testing.T, o kmslocal.Options) *kmslocal.Server {
	t.Helper()
	s, err := kmslocal.Start(o)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// TestKMSOperations drives the real KMS client against seeded and generated keys.
func TestKMSOperations(t *testing.T) {
	t.Parallel()
	ev := fixtures.MustLoadEvents()
	tests := []struct {
		name    string
		seed    []byte
		wantARN string // "" = generated: check the shape only
	}{
		{"fixture seed", fixtures.KMSSeed(), ev.KMSKeyARN},
		{"generated key", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, kmslocal.Options{Seed: tt.seed})
			ctx := context.Background()
			c := s.Client()

			arn := s.KeyARN()
			if tt.wantARN != "" && arn != tt.wantARN {
				t.Fatalf("KeyARN() = %q, want %q", arn, tt.wantARN)
			}
			if !strings.HasPrefix(arn, "arn:aws:kms:us-east-1:111122223333:key/") {
				t.Fatalf("KeyARN() = %q, want a key ARN in us-east-1 / 111122223333", arn)
			}
			if got := s.KeyARNs(); len(got) != 1 || got[0] != arn {
				t.Errorf("KeyARNs() = %v, want [%s]", got, arn)
			}

			d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(kmslocal.DefaultAlias)})
			if err != nil {
				t.Fatalf("DescribeKey(%s): %v", kmslocal.DefaultAlias, err)
			}
			md := d.KeyMetadata
			if aws.ToString(md.Arn) != arn || md.KeyState != kmstypes.KeyStateEnabled ||
				md.KeyUsage != kmstypes.KeyUsageTypeEncryptDecrypt || md.KeySpec != kmstypes.KeySpecSymmetricDefault {
				t.Errorf("DescribeKey = arn %s state %s usage %s spec %s; want %s Enabled ENCRYPT_DECRYPT SYMMETRIC_DEFAULT",
					aws.ToString(md.Arn), md.KeyState, md.KeyUsage, md.KeySpec, arn)
			}

			ec := map[string]string{"purpose": "test"}
			plain := []byte("hello local kms")
			enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(kmslocal.DefaultAlias), Plaintext: plain, EncryptionContext: ec})
			if err != nil {
				t.Fatalf("Encrypt: %v", err)
			}
			if aws.ToString(enc.KeyId) != arn {
				t.Errorf("Encrypt KeyId = %s, want %s", aws.ToString(enc.KeyId), arn)
			}
			dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec})
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if !bytes.Equal(dec.Plaintext, plain) {
				t.Errorf("Decrypt = %q, want %q", dec.Plaintext, plain)
			}
			_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"purpose": "other"}})
			var invalid *kmstypes.InvalidCiphertextException
			if !errors.As(err, &invalid) {
				t.Errorf("Decrypt with another context: err = %v, want InvalidCiphertextException", err)
			}

			gen, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(arn), KeySpec: kmstypes.DataKeySpecAes256})
			if err != nil {
				t.Fatalf("GenerateDataKey: %v", err)
			}
			if len(gen.Plaintext) != 32 {
				t.Errorf("GenerateDataKey plaintext is %d bytes, want 32", len(gen.Plaintext))
			}
			dk, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: gen.CiphertextBlob})
			if err != nil {
				t.Fatalf("Decrypt data key: %v", err)
			}
			if !bytes.Equal(dk.Plaintext, gen.Plaintext) {
				t.Error("decrypted data key differs from GenerateDataKey's plaintext")
			}
		})
	}
}

// TestSharedListener mounts Handler beside another service, routed by X-Amz-Target.
func TestSharedListener(t *testing.T) {
	t.Parallel()
	s, err := kmslocal.New(kmslocal.Options{Seed: fixtures.KMSSeed()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.URL != "" {
		t.Errorf("New: URL = %q, want empty (no listener)", s.URL)
	}
	kmsHandler := s.Handler()
	shared := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if kmslocal.IsKMSRequest(r) {
			kmsHandler.ServeHTTP(w, r)
			return
		}
		io.WriteString(w, "other service")
	}))
	defer shared.Close()

	c := kms.NewFromConfig(awsclient.Config(s.Region(), aws.AnonymousCredentials{}), func(o *kms.Options) { o.BaseEndpoint = aws.String(shared.URL) })
	d, err := c.DescribeKey(context.Background(), &kms.DescribeKeyInput{KeyId: aws.String(kmslocal.DefaultAlias)})
	if err != nil {
		t.Fatalf("DescribeKey through the shared listener: %v", err)
	}
	if got := aws.ToString(d.KeyMetadata.Arn); got != s.KeyARN() {
		t.Errorf("DescribeKey = %s, want %s", got, s.KeyARN())
	}
	resp, err := http.Post(shared.URL, "application/x-amz-json-1.0", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "other service" {
		t.Errorf("non-KMS request reached %q, want the other service", body)
	}
}

func TestIsKMSRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		target string
		want   bool
	}{
		{"TrentService.Decrypt", true},
		{"TrentService.DescribeKey", true},
		{"AmazonSQS.SendMessage", false},
		{"", false},
		{"trentservice.Decrypt", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		if tt.target != "" {
			r.Header.Set("X-Amz-Target", tt.target)
		}
		if got := kmslocal.IsKMSRequest(r); got != tt.want {
			t.Errorf("IsKMSRequest(X-Amz-Target: %q) = %v, want %v", tt.target, got, tt.want)
		}
	}
}

func TestSeedErrors(t *testing.T) {
	t.Parallel()
	const key = "31ad213330c99167466498883b3c7fc962958caaa75f34e0c0b87bce7ed11279"
	aes := func(id, backing string) string {
		return "Keys:\n  Symmetric:\n    Aes:\n      - Metadata:\n          KeyId: " + id + "\n        BackingKeys:\n          - " + backing + "\n"
	}
	tests := []struct {
		name, seed, want string
	}{
		{"not yaml", "Keys: [unclosed", "kmslocal: seed:"},
		{"legacy list format", "Keys:\n  - Metadata:\n      KeyId: k1\n    BackingKeys: [" + key + "]\n", "want the local-kms format"},
		{"misspelt field", "Keys:\n  Symmetric:\n    Aes:\n      - Metadata:\n          KeyID: k1\n        BackingKeys: [" + key + "]\n", "KeyID"},
		{"unknown section", "Key:\n  Symmetric: {}\n", "Key"},
		{"no keys", "Aliases: []\n", "defines no keys"},
		{"bad hex", aes("k1", "zz"), "Unable to decode hex key"},
		{"short backing key", aes("k1", "abcd"), "exactly 32 bytes"},
		{"missing key id", aes(`""`, key), "Metadata.KeyId is missing"},
		{"key id with slash", aes("a/b", key), "is not a key id"},
		{"duplicate key id", aes("k1", key) + "      - Metadata:\n          KeyId: k1\n        BackingKeys: [" + key + "]\n", "seeded twice"},
		{"rsa key", aes("k1", key) + "  Asymmetric:\n    Rsa:\n      - Metadata: {KeyId: r1}\n", "Keys.Asymmetric.Rsa is not supported"},
		{"hmac key", "Keys:\n  Symmetric:\n    Hmac:\n      - Metadata: {KeyId: h1}\n", "Keys.Symmetric.Hmac is not supported"},
		{"alias without prefix", aes("k1", key) + "Aliases:\n  - AliasName: codes\n    TargetKeyId: k1\n", `must start with "alias/"`},
		{"reserved alias", aes("k1", key) + "Aliases:\n  - AliasName: alias/aws/s3\n    TargetKeyId: k1\n", "reserved"},
		{"alias to unknown key", aes("k1", key) + "Aliases:\n  - AliasName: alias/x\n    TargetKeyId: k2\n", `TargetKeyId "k2" is not a key of this seed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := kmslocal.New(kmslocal.Options{Seed: []byte(tt.seed)})
			if err == nil {
				s.Close()
				t.Fatalf("New accepted the seed:\n%s", tt.seed)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

// TestSeedVariants is not parallel: it uses another account and region.
func TestSeedVariants(t *testing.T) {
	const k1, k2 = "31ad213330c99167466498883b3c7fc962958caaa75f34e0c0b87bce7ed11279", "e82e8634665d965ed435a446ddb32b56e90e7b4104920236894a09307df2622b"
	seed := "Keys:\n  Symmetric:\n    Aes:\n" +
		"      - Metadata: {KeyId: aaaa, Description: first}\n        BackingKeys: [" + k1 + "]\n" +
		"      - Metadata: {KeyId: bbbb}\n        BackingKeys: [" + k1 + ", " + k2 + "]\n" +
		"Aliases:\n" +
		"  - {AliasName: alias/by-id, TargetKeyId: bbbb}\n" +
		"  - {AliasName: alias/by-arn, TargetKeyId: 'arn:aws:kms:eu-west-1:444455556666:key/aaaa'}\n"
	s := start(t, kmslocal.Options{AccountID: "444455556666", Region: "eu-west-1", Seed: []byte(seed)})
	want := []string{"arn:aws:kms:eu-west-1:444455556666:key/aaaa", "arn:aws:kms:eu-west-1:444455556666:key/bbbb"}
	if got := s.KeyARNs(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("KeyARNs() = %v, want %v", got, want)
	}
	ctx := context.Background()
	c := s.Client()
	for alias, arn := range map[string]string{"alias/by-id": want[1], "alias/by-arn": want[0]} {
		d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(alias)})
		if err != nil {
			t.Errorf("DescribeKey(%s): %v", alias, err)
			continue
		}
		if got := aws.ToString(d.KeyMetadata.Arn); got != arn {
			t.Errorf("%s -> %s, want %s", alias, got, arn)
		}
	}
	// A key with two backing keys encrypts under the newest and decrypts both.
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/by-id"), Plaintext: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob}); err != nil {
		t.Errorf("Decrypt: %v", err)
	}
}

// TestOneAccountPerProcess is not parallel: it needs no other server open.
func TestOneAccountPerProcess(t *testing.T) {
	a, err := kmslocal.New(kmslocal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	same, err := kmslocal.New(kmslocal.Options{AccountID: kmslocal.DefaultAccountID, Region: kmslocal.DefaultRegion})
	if err != nil {
		t.Fatalf("a second server for the same account and region: %v", err)
	}
	tests := []kmslocal.Options{{AccountID: "999988887777"}, {Region: "eu-central-1"}}
	for _, o := range tests {
		if s, err := kmslocal.New(o); err == nil {
			s.Close()
			t.Errorf("New(%+v) succeeded while %s/%s is open", o, kmslocal.DefaultAccountID, kmslocal.DefaultRegion)
		} else if !strings.Contains(err.Error(), "one process hosts one account and region") {
			t.Errorf("New(%+v): %v", o, err)
		}
	}
	a.Close()
	same.Close()
	other, err := kmslocal.New(kmslocal.Options{AccountID: "999988887777", Region: "eu-central-1"})
	if err != nil {
		t.Fatalf("after closing every server, another account: %v", err)
	}
	if !strings.Contains(other.KeyARN(), ":eu-central-1:999988887777:key/") {
		t.Errorf("KeyARN() = %s, want one in eu-central-1 / 999988887777", other.KeyARN())
	}
	other.Close()
}

func TestOptionErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		o    kmslocal.Options
		want string
	}{
		{"short account", kmslocal.Options{AccountID: "1234"}, "not 12 digits"},
		{"letters in account", kmslocal.Options{AccountID: "11112222333x"}, "not 12 digits"},
		{"bad region", kmslocal.Options{Region: "US East"}, "not a region name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := kmslocal.New(tt.o)
			if err == nil {
				s.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}
