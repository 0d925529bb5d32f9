package codecrypt

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	mpltypes "github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/awscryptographymaterialproviderssmithygeneratedtypes"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/cogmail/cogmail/internal/local/kmslocal"
	"github.com/cogmail/cogmail/internal/testkit/fixtures"
)

// suiteEncrypter encrypts with spec under the commitment policy a suite
// needs: the SDK writes a committing suite (0x04xx, 0x05xx) only under
// REQUIRE_ENCRYPT and any other only under FORBID_ENCRYPT.
func suiteEncrypter(t *testing.T, spec keyringSpec, suite mpltypes.ESDKAlgorithmSuiteId) *Encrypter {
	t.Helper()
	policy := mpltypes.ESDKCommitmentPolicyForbidEncryptAllowDecrypt
	if strings.HasPrefix(string(suite), "0x04") || strings.HasPrefix(string(suite), "0x05") {
		policy = mpltypes.ESDKCommitmentPolicyRequireEncryptAllowDecrypt
	}
	e, err := newEngine(context.Background(), spec, policy)
	if err != nil {
		t.Fatal(err)
	}
	return &Encrypter{e: e}
}

// encryptSuite encrypts a code with suite and checks, from the header, that
// the SDK wrote that suite.
func encryptSuite(t *testing.T, spec keyringSpec, suite mpltypes.ESDKAlgorithmSuiteId, pool string) string {
	t.Helper()
	code, err := suiteEncrypter(t, spec, suite).encrypt(context.Background(), "123456", pool, suite)
	if err != nil {
		t.Fatalf("encrypt with suite %s: %v", suite, err)
	}
	msg, err := base64.StdEncoding.DecodeString(code)
	if err != nil {
		t.Fatal(err)
	}
	h, err := parseHeader(msg)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("0x%04x", h.suite); got != string(suite) {
		t.Fatalf("the SDK wrote suite %s, want %s", got, suite)
	}
	return code
}

// checkSuiteResult: an accepted suite decrypts, any other fails with a
// permanent KindSuite error that names it.
func checkSuiteResult(t *testing.T, suite mpltypes.ESDKAlgorithmSuiteId, got string, err error) {
	t.Helper()
	if suite == "0x0378" || suite == "0x0578" {
		if err != nil || got != "123456" {
			t.Fatalf("Decrypt(suite %s) = %q, %v; want the code", suite, got, err)
		}
		return
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.Kind != KindSuite || ce.Retryable() || !errors.Is(err, ErrSuite) {
		t.Fatalf("Decrypt(suite %s) = %q, %v; want a permanent KindSuite *Error", suite, got, err)
	}
	if !strings.Contains(err.Error(), "suite "+string(suite)) {
		t.Errorf("error %q does not name suite %s", err, suite)
	}
}

// TestSuites encrypts a code with every suite the Encryption SDK defines,
// with the SDK itself, and decrypts it: only 0x0378 and 0x0578 open.
func TestSuites(t *testing.T) {
	t.Parallel()
	ev := fixtures.MustLoadEvents()
	spec, err := rawAESSpec(RawAESKey{Namespace: ev.KeyNamespace, Name: ev.KeyName, Key: ev.AESKey()})
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewRawAES(context.Background(), RawAESKey{Namespace: ev.KeyNamespace, Name: ev.KeyName, Key: ev.AESKey()})
	if err != nil {
		t.Fatal(err)
	}
	suites := mpltypes.ESDKAlgorithmSuiteId("").Values()
	if len(suites) != 11 {
		t.Errorf("the SDK defines %d suites, this test expects 11: review acceptedSuites", len(suites))
	}
	for _, suite := range suites {
		t.Run(string(suite), func(t *testing.T) {
			if _, ok := suiteNames[parseSuite(t, suite)]; !ok {
				t.Errorf("suiteNames has no entry for %s", suite)
			}
			code := encryptSuite(t, spec, suite, ev.UserPoolID)
			got, err := d.Decrypt(context.Background(), code, ev.UserPoolID)
			checkSuiteResult(t, suite, got.Reveal(), err)
		})
	}
}

// TestRefusedSuiteCallsNoKMS: a message in a refused suite, encrypted under
// the Decrypter's own KMS key, is refused without a KMS call; an accepted one
// costs one Decrypt call (so the counter counts).
func TestRefusedSuiteCallsNoKMS(t *testing.T) {
	t.Parallel()
	ev := fixtures.MustLoadEvents()
	srv, err := kmslocal.Start(kmslocal.Options{Seed: fixtures.KMSSeed()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	encSpec, err := kmsSpec(srv.Client(), ev.KMSKeyARN, false)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		srv.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(counting.Close)
	d, err := NewKMS(context.Background(), srv.Client(func(o *kms.Options) { o.BaseEndpoint = aws.String(counting.URL) }), ev.KMSKeyARN)
	if err != nil {
		t.Fatal(err)
	}
	for _, suite := range mpltypes.ESDKAlgorithmSuiteId("").Values() {
		t.Run(string(suite), func(t *testing.T) {
			code := encryptSuite(t, encSpec, suite, ev.UserPoolID)
			before := calls.Load()
			got, err := d.Decrypt(context.Background(), code, ev.UserPoolID)
			n := calls.Load() - before
			switch accepted := suite == "0x0378" || suite == "0x0578"; {
			case accepted && n == 0:
				t.Errorf("suite %s decrypted without a KMS call: the counter does not count", suite)
			case !accepted && n != 0:
				t.Errorf("suite %s is refused, but Decrypt made %d KMS calls first", suite, n)
			}
			checkSuiteResult(t, suite, got.Reveal(), err)
		})
	}
}

func parseSuite(t *testing.T, s mpltypes.ESDKAlgorithmSuiteId) uint16 {
	t.Helper()
	var v uint16
	if _, err := fmt.Sscanf(string(s), "0x%04x", &v); err != nil {
		t.Fatalf("suite id %q: %v", s, err)
	}
	return v
}
