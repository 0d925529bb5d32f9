package codecrypt_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/cogmail/cogmail/internal/local/kmslocal"
	"github.com/cogmail/cogmail/pkg/codecrypt"
)

// rejectKinds says how each rejected shared case must fail, by name suffix.
var rejectKinds = map[string]codecrypt.Kind{
	"-wrong-pool": codecrypt.KindWrongPool,
	"-tampered":   codecrypt.KindUndecryptable,
}

func expectedKind(t *testing.T, name string) codecrypt.Kind {
	for suffix, k := range rejectKinds {
		if strings.HasSuffix(name, suffix) {
			return k
		}
	}
	t.Fatalf("reject case %s: add its expected kind to rejectKinds", name)
	return 0
}

// TestSharedEvents decrypts every shared event with its keyring: raw AES
// in-process, KMS through local-kms and the real KMS client.
func TestSharedEvents(t *testing.T) {
	t.Parallel()
	kmsClient := startKMS(t).Client()
	decrypters := map[string]*codecrypt.Decrypter{
		"raw-aes": decrypterFor(t, "raw-aes", nil),
		"kms":     decrypterFor(t, "kms", kmsClient),
	}
	if len(events.Cases) == 0 {
		t.Fatal("no shared cases")
	}
	for _, c := range events.Cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			ev := parseCase(t, c)
			d := decrypters[c.Keyring]
			if d == nil {
				t.Fatalf("unknown keyring %q", c.Keyring)
			}
			if !ev.TriggerSource.RequiresCode() {
				if ev.Ciphertext() != "" || !c.Deliver() {
					t.Fatalf("%s: a %s event must carry no code and be delivered", c.Name, ev.TriggerSource)
				}
				_, err := d.Decrypt(context.Background(), ev.Ciphertext(), ev.UserPoolID)
				if !errors.Is(err, codecrypt.ErrMalformed) {
					t.Errorf("Decrypt(no code) = %v, want ErrMalformed", err)
				}
				return
			}
			code, err := d.Decrypt(context.Background(), ev.Ciphertext(), ev.UserPoolID)
			if c.Deliver() {
				if err != nil {
					t.Fatalf("Decrypt: %v", err)
				}
				if code.Reveal() != c.Secret {
					t.Errorf("Decrypt = %q, want %q", code.Reveal(), c.Secret)
				}
				return
			}
			want := expectedKind(t, c.Name)
			var ce *codecrypt.Error
			if !errors.As(err, &ce) {
				t.Fatalf("Decrypt = (%v, %v), want a *codecrypt.Error of kind %v", code, err, want)
			}
			if ce.Kind != want || ce.Retryable() {
				t.Errorf("Decrypt error %q: kind %v retryable %v, want kind %v, permanent", err, ce.Kind, ce.Retryable(), want)
			}
		})
	}
}

// TestRoundTrip encrypts like Cognito and decrypts, with both keyrings, and
// checks the message header: format 1, type 0x80, suite 0x0378.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := startKMS(t)
	type pair struct {
		enc *codecrypt.Encrypter
		dec *codecrypt.Decrypter
	}
	build := map[string]func() (pair, error){
		"raw-aes": func() (pair, error) {
			e, err := codecrypt.NewRawAESEncrypter(ctx, rawKey())
			if err != nil {
				return pair{}, err
			}
			d, err := codecrypt.NewRawAES(ctx, rawKey())
			return pair{e, d}, err
		},
		"kms by alias": func() (pair, error) {
			e, err := codecrypt.NewKMSEncrypter(ctx, srv.Client(), kmslocal.DefaultAlias)
			if err != nil {
				return pair{}, err
			}
			d, err := codecrypt.NewKMS(ctx, srv.Client(), events.KMSKeyARN)
			return pair{e, d}, err
		},
		"kms by arn": func() (pair, error) {
			e, err := codecrypt.NewKMSEncrypter(ctx, srv.Client(), events.KMSKeyARN)
			if err != nil {
				return pair{}, err
			}
			d, err := codecrypt.NewKMS(ctx, srv.Client(), events.KMSKeyARN)
			return pair{e, d}, err
		},
	}
	plaintexts := []string{"123456", "000000", "Tmp&lt;9x529202&gt;", "pässwörd ✓", strings.Repeat("x", 300)}
	for name, mk := range build {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, err := mk()
			if err != nil {
				t.Fatal(err)
			}
			for _, plain := range plaintexts {
				code, err := p.enc.Encrypt(ctx, plain, events.UserPoolID)
				if err != nil {
					t.Fatalf("Encrypt: %v", err)
				}
				msg, err := base64.StdEncoding.DecodeString(code)
				if err != nil {
					t.Fatalf("Encrypt returned invalid base64: %v", err)
				}
				if len(msg) < 4 || msg[0] != 0x01 || msg[1] != 0x80 || binary.BigEndian.Uint16(msg[2:4]) != 0x0378 {
					t.Fatalf("header starts % x, want 01 80 03 78 (format 1, type 0x80, suite 0x0378)", msg[:min(4, len(msg))])
				}
				got, err := p.dec.Decrypt(ctx, code, events.UserPoolID)
				if err != nil {
					t.Fatalf("Decrypt: %v", err)
				}
				if got.Reveal() != plain {
					t.Errorf("round trip = %q, want %q", got.Reveal(), plain)
				}
				if _, err := p.dec.Decrypt(ctx, code, "us-east-1_Another1"); !errors.Is(err, codecrypt.ErrWrongPool) {
					t.Errorf("Decrypt for another pool = %v, want ErrWrongPool", err)
				}
			}
		})
	}
}

// TestWrongKey: a message for another key never decrypts, and is permanent.
func TestWrongKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := startKMS(t)
	rawCode := firstCode(t, "raw-aes")
	kmsCode := firstCode(t, "kms")

	otherBytes := rawKey()
	otherBytes.Key = bytes.Repeat([]byte{0x42}, 32)
	otherName := rawKey()
	otherName.Name = "another-key"
	otherNamespace := rawKey()
	otherNamespace.Namespace = "another-namespace"
	otherARN := strings.Replace(events.KMSKeyARN, "6f1b2c3d", "00000000", 1)

	tests := []struct {
		name   string
		dec    func() (*codecrypt.Decrypter, error)
		code   string
		reason string
	}{
		{"raw key bytes", func() (*codecrypt.Decrypter, error) { return codecrypt.NewRawAES(ctx, otherBytes) }, rawCode, "tampered"},
		{"raw key name", func() (*codecrypt.Decrypter, error) { return codecrypt.NewRawAES(ctx, otherName) }, rawCode, "another key"},
		{"raw key namespace", func() (*codecrypt.Decrypter, error) { return codecrypt.NewRawAES(ctx, otherNamespace) }, rawCode, "another key"},
		{"kms code, raw keyring", func() (*codecrypt.Decrypter, error) { return codecrypt.NewRawAES(ctx, rawKey()) }, kmsCode, "another key"},
		{"raw code, kms keyring", func() (*codecrypt.Decrypter, error) { return codecrypt.NewKMS(ctx, srv.Client(), events.KMSKeyARN) }, rawCode, "another key"},
		{"another kms key", func() (*codecrypt.Decrypter, error) { return codecrypt.NewKMS(ctx, srv.Client(), otherARN) }, kmsCode, "another key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := tt.dec()
			if err != nil {
				t.Fatal(err)
			}
			_, err = d.Decrypt(ctx, tt.code, events.UserPoolID)
			var ce *codecrypt.Error
			if !errors.As(err, &ce) || ce.Kind != codecrypt.KindUndecryptable || ce.Retryable() {
				t.Fatalf("Decrypt = %v, want a permanent KindUndecryptable *Error", err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not say %q", err, tt.reason)
			}
		})
	}
}

// TestKMSFailures classifies KMS failures by behaviour: unreachable,
// throttled and server faults are retryable; refusals are permanent.
func TestKMSFailures(t *testing.T) {
	t.Parallel()
	code := firstCode(t, "kms")
	kmsError := func(status int, typ string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"__type":%q,"message":"from the fake"}`, typ)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	tests := []struct {
		name     string
		endpoint string
		want     codecrypt.Kind
		reason   string
	}{
		// The SDK hands back a KMS exception it models (e.g. DisabledException)
		// as that type, and anything else as the client's *smithy.OperationError;
		// both are smithy.APIErrors, except a network failure.
		{"closed port", closedPortURL(t), codecrypt.KindUnavailable, "connection refused"},
		{"throttled", kmsError(400, "ThrottlingException"), codecrypt.KindUnavailable, "ThrottlingException"},
		{"internal error", kmsError(500, "KMSInternalException"), codecrypt.KindUnavailable, "KMSInternalException"},
		{"key unavailable", kmsError(500, "KeyUnavailableException"), codecrypt.KindUnavailable, "KeyUnavailableException"},
		{"dependency timeout", kmsError(503, "DependencyTimeoutException"), codecrypt.KindUnavailable, "DependencyTimeoutException"},
		{"access denied", kmsError(400, "AccessDeniedException"), codecrypt.KindUndecryptable, "AccessDeniedException"},
		{"invalid ciphertext", kmsError(400, "InvalidCiphertextException"), codecrypt.KindUndecryptable, "InvalidCiphertextException"},
		{"key disabled", kmsError(400, "DisabledException"), codecrypt.KindUndecryptable, "DisabledException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := codecrypt.NewKMS(context.Background(), kmsClientAt(tt.endpoint), events.KMSKeyARN)
			if err != nil {
				t.Fatal(err)
			}
			_, err = d.Decrypt(context.Background(), code, events.UserPoolID)
			var ce *codecrypt.Error
			if !errors.As(err, &ce) {
				t.Fatalf("Decrypt = %v, want *codecrypt.Error", err)
			}
			if ce.Kind != tt.want || ce.Retryable() != (tt.want == codecrypt.KindUnavailable) {
				t.Errorf("Decrypt error %q: kind %v retryable %v, want kind %v", err, ce.Kind, ce.Retryable(), tt.want)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not name %q", err, tt.reason)
			}
			var api smithy.APIError
			var op *smithy.OperationError
			switch {
			case tt.name == "closed port" && (!errors.As(err, &op) || op.Service() != "KMS"):
				t.Errorf("error does not unwrap to the KMS *smithy.OperationError")
			case tt.name != "closed port" && (!errors.As(err, &api) || api.ErrorCode() != tt.reason):
				t.Errorf("error does not unwrap to the KMS smithy.APIError %s", tt.reason)
			}
		})
	}
}

func TestEncryptKMSUnreachable(t *testing.T) {
	t.Parallel()
	e, err := codecrypt.NewKMSEncrypter(context.Background(), kmsClientAt(closedPortURL(t)), events.KMSKeyARN)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Encrypt(context.Background(), "123456", events.UserPoolID)
	if !errors.Is(err, codecrypt.ErrUnavailable) {
		t.Fatalf("Encrypt = %v, want ErrUnavailable", err)
	}
}

// TestContextEnds: the SDK ignores contexts, so Decrypt stops waiting itself.
func TestContextEnds(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(hung.Close)
	t.Cleanup(func() { close(release) }) // runs first: lets the stuck call finish
	d, err := codecrypt.NewKMS(context.Background(), kmsClientAt(hung.URL), events.KMSKeyARN)
	if err != nil {
		t.Fatal(err)
	}
	code := firstCode(t, "kms")

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() { errs[i] = func() error { _, err := d.Decrypt(ctx, code, events.UserPoolID); return err }() })
	}
	cancel() // the first call is stuck in KMS, the second waits for it
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, codecrypt.ErrUnavailable) || !errors.Is(err, context.Canceled) {
			t.Errorf("call %d: %v, want ErrUnavailable wrapping context.Canceled", i, err)
		}
	}
}

func TestMalformed(t *testing.T) {
	t.Parallel()
	d := decrypterFor(t, "raw-aes", nil)
	good := mustDecode(t, firstCode(t, "raw-aes"))
	b64 := base64.StdEncoding.EncodeToString
	with := func(off int, v ...byte) string {
		m := bytes.Clone(good)
		copy(m[off:], v)
		return b64(m)
	}
	// A format 1 header whose context has no userpool-id.
	noPool := append([]byte{0x01, 0x80, 0x03, 0x78}, make([]byte, 16)...)
	noPool = append(noPool, 0x00, 0x0a, 0x00, 0x01, 0x00, 0x01, 'a', 0x00, 0x03, 'b', 'c', 'd')
	noPool = append(noPool, good[22+int(binary.BigEndian.Uint16(good[20:22])):]...) // the original's data keys and body

	tests := []struct {
		name, code, pool string
		want             codecrypt.Kind
		reason           string
	}{
		{"empty", "", events.UserPoolID, codecrypt.KindMalformed, "empty"},
		{"no pool", firstCode(t, "raw-aes"), "", codecrypt.KindMalformed, "no user pool id"},
		{"not base64", "AYADeLhj!!", events.UserPoolID, codecrypt.KindMalformed, "not base64"},
		{"base64 of text", b64([]byte("hello, world")), events.UserPoolID, codecrypt.KindMalformed, "version 0x68"},
		{"too long", strings.Repeat("A", 16<<10+4), events.UserPoolID, codecrypt.KindMalformed, "over the"},
		{"truncated header", b64(good[:30]), events.UserPoolID, codecrypt.KindMalformed, "truncated"},
		{"one byte", b64(good[:1]), events.UserPoolID, codecrypt.KindMalformed, "truncated"},
		{"unknown version", with(0, 0x03), events.UserPoolID, codecrypt.KindMalformed, "version 0x03"},
		{"wrong type", with(1, 0x81), events.UserPoolID, codecrypt.KindMalformed, "message type 0x81"},
		{"context length too long", with(20, 0xff, 0xff), events.UserPoolID, codecrypt.KindMalformed, "encryption context"},
		{"no userpool-id", b64(noPool), events.UserPoolID, codecrypt.KindWrongPool, "names no user pool"},
		{"truncated body", b64(good[:len(good)-40]), events.UserPoolID, codecrypt.KindUndecryptable, "truncated"},
		{"flipped signature", with(len(good)-5, good[len(good)-5]^0x01), events.UserPoolID, codecrypt.KindUndecryptable, "tampered"},
		{"unknown suite", with(2, 0x09, 0x99), events.UserPoolID, codecrypt.KindSuite, "suite 0x0999 (not a suite the Encryption SDK defines)"},
		{"suite rewritten to unsigned", with(2, 0x01, 0x78), events.UserPoolID, codecrypt.KindSuite, "suite 0x0178 (AES-256-GCM, HKDF-SHA256, unsigned)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := d.Decrypt(context.Background(), tt.code, tt.pool)
			var ce *codecrypt.Error
			if !errors.As(err, &ce) || ce.Kind != tt.want || ce.Retryable() {
				t.Fatalf("Decrypt = %v, want a permanent %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not say %q", err, tt.reason)
			}
		})
	}
}

// TestErrorsNeverLeak: no error string carries the plaintext, the
// ciphertext, or the SDK's garbled formatting.
func TestErrorsNeverLeak(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := startKMS(t)
	decs := map[string]*codecrypt.Decrypter{
		"raw-aes": decrypterFor(t, "raw-aes", nil),
		"kms":     decrypterFor(t, "kms", srv.Client()),
	}
	wrongKey := rawKey()
	wrongKey.Key = bytes.Repeat([]byte{1}, 32)
	wrong, err := codecrypt.NewRawAES(ctx, wrongKey)
	if err != nil {
		t.Fatal(err)
	}
	unreachable, err := codecrypt.NewKMS(ctx, kmsClientAt(closedPortURL(t)), events.KMSKeyARN)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, c := range events.Cases {
		ev := parseCase(t, c)
		ct := ev.Ciphertext()
		if ct == "" {
			continue
		}
		attempts := map[string]*codecrypt.Decrypter{"own keyring": decs[c.Keyring], "wrong raw key": wrong}
		if c.Keyring == "kms" {
			attempts["kms unreachable"] = unreachable
		}
		inputs := map[string]string{"as sent": ct, "truncated": ct[:len(ct)/2], "tail cut": ct[:len(ct)-8]}
		for aname, d := range attempts {
			for iname, in := range inputs {
				_, err := d.Decrypt(ctx, in, ev.UserPoolID)
				if err == nil {
					continue
				}
				checked++
				for _, s := range []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err.Error())} {
					switch {
					case c.Secret != "" && strings.Contains(s, c.Secret):
						t.Errorf("%s/%s/%s: error contains the secret: %s", c.Name, aname, iname, s)
					case strings.Contains(s, in[:24]) || strings.Contains(s, ct[len(ct)-24:]):
						t.Errorf("%s/%s/%s: error contains the ciphertext: %s", c.Name, aname, iname, s)
					case strings.Contains(s, "%!"):
						t.Errorf("%s/%s/%s: error shows the SDK's formatting glitch: %s", c.Name, aname, iname, s)
					}
				}
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d failing decrypts checked; the table should produce many more", checked)
	}
}

// TestConcurrentUse shares one Decrypter between goroutines.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	srv := startKMS(t)
	for _, keyring := range []string{"raw-aes", "kms"} {
		t.Run(keyring, func(t *testing.T) {
			t.Parallel()
			d := decrypterFor(t, keyring, srv.Client())
			var cases []struct{ code, secret string }
			for _, c := range events.ByKeyring(keyring) {
				if ev := parseCase(t, c); c.Deliver() && ev.Ciphertext() != "" {
					cases = append(cases, struct{ code, secret string }{ev.Ciphertext(), c.Secret})
				}
			}
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Go(func() {
					for i := range 2 * len(cases) {
						c := cases[(g+i)%len(cases)]
						got, err := d.Decrypt(context.Background(), c.code, events.UserPoolID)
						if err != nil || got.Reveal() != c.secret {
							t.Errorf("goroutine %d: Decrypt = (%q, %v), want %q", g, got.Reveal(), err, c.secret)
						}
					}
				})
			}
			wg.Wait()
		})
	}
}

func TestConstructorErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client := kmsClientAt(closedPortURL(t))
	good := rawKey()
	raw := func(f func(*codecrypt.RawAESKey)) codecrypt.RawAESKey { k := good; f(&k); return k }
	tests := []struct {
		name  string
		build func() error
		want  string
	}{
		{"empty namespace", func() error {
			_, err := codecrypt.NewRawAES(ctx, raw(func(k *codecrypt.RawAESKey) { k.Namespace = "" }))
			return err
		}, "Namespace is empty"},
		{"reserved namespace", func() error {
			_, err := codecrypt.NewRawAES(ctx, raw(func(k *codecrypt.RawAESKey) { k.Namespace = "aws-kms-x" }))
			return err
		}, "reserved"},
		{"empty name", func() error {
			_, err := codecrypt.NewRawAES(ctx, raw(func(k *codecrypt.RawAESKey) { k.Name = "" }))
			return err
		}, "Name is empty"},
		{"31-byte key", func() error {
			_, err := codecrypt.NewRawAES(ctx, raw(func(k *codecrypt.RawAESKey) { k.Key = k.Key[:31] }))
			return err
		}, "31 bytes"},
		{"no key", func() error {
			_, err := codecrypt.NewRawAESEncrypter(ctx, raw(func(k *codecrypt.RawAESKey) { k.Key = nil }))
			return err
		}, "0 bytes"},
		{"nil client", func() error { _, err := codecrypt.NewKMS(ctx, nil, events.KMSKeyARN); return err }, "nil"},
		{"alias to decrypt", func() error { _, err := codecrypt.NewKMS(ctx, client, "alias/cogmail-codes"); return err }, "not a KMS key ARN"},
		{"alias ARN to decrypt", func() error {
			_, err := codecrypt.NewKMS(ctx, client, "arn:aws:kms:us-east-1:111122223333:alias/cogmail-codes")
			return err
		}, "not a KMS key ARN"},
		{"bare key id to decrypt", func() error {
			_, err := codecrypt.NewKMS(ctx, client, "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
			return err
		}, "not a KMS key ARN"},
		{"empty key to encrypt", func() error { _, err := codecrypt.NewKMSEncrypter(ctx, client, ""); return err }, "empty"},
		{"nil client to encrypt", func() error { _, err := codecrypt.NewKMSEncrypter(ctx, nil, events.KMSKeyARN); return err }, "nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.build()
			if err == nil {
				t.Fatal("constructor accepted it")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "codecrypt: ") {
				t.Errorf("error %q does not start with codecrypt: and mention %q", err, tt.want)
			}
		})
	}
}

func TestEncryptRejects(t *testing.T) {
	t.Parallel()
	e, err := codecrypt.NewRawAESEncrypter(context.Background(), rawKey())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, plain, pool string }{
		{"empty code", "", events.UserPoolID},
		{"empty pool", "123456", ""},
	}
	for _, tt := range tests {
		if _, err := e.Encrypt(context.Background(), tt.plain, tt.pool); !errors.Is(err, codecrypt.ErrMalformed) {
			t.Errorf("%s: Encrypt = %v, want ErrMalformed", tt.name, err)
		}
	}
}

func TestKinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind      codecrypt.Kind
		sentinel  error
		retryable bool
	}{
		{codecrypt.KindMalformed, codecrypt.ErrMalformed, false},
		{codecrypt.KindWrongPool, codecrypt.ErrWrongPool, false},
		{codecrypt.KindUndecryptable, codecrypt.ErrUndecryptable, false},
		{codecrypt.KindUnavailable, codecrypt.ErrUnavailable, true},
		{codecrypt.KindInternal, codecrypt.ErrInternal, false},
		{codecrypt.KindSuite, codecrypt.ErrSuite, false},
	}
	for _, tt := range tests {
		err := fmt.Errorf("wrapped: %w", &codecrypt.Error{Kind: tt.kind, Op: "decrypt", Reason: "r"})
		if !errors.Is(err, tt.sentinel) {
			t.Errorf("%v: errors.Is(err, %v) = false", tt.kind, tt.sentinel)
		}
		for _, other := range tests {
			if other.kind != tt.kind && errors.Is(err, other.sentinel) {
				t.Errorf("%v also matches %v", tt.kind, other.sentinel)
			}
		}
		var r interface{ Retryable() bool }
		if !errors.As(err, &r) || r.Retryable() != tt.retryable {
			t.Errorf("%v: Retryable() = %v, want %v", tt.kind, r != nil && r.Retryable(), tt.retryable)
		}
		if want := "codecrypt: decrypt: " + tt.kind.String() + ": r"; err.Error() != "wrapped: "+want {
			t.Errorf("Error() = %q, want %q", err.Error(), "wrapped: "+want)
		}
	}
	if s := codecrypt.Kind(99).String(); s != "Kind(99)" {
		t.Errorf("Kind(99).String() = %q", s)
	}
}

func firstCode(t testing.TB, keyring string) string {
	t.Helper()
	for _, c := range events.ByKeyring(keyring) {
		if ev := parseCase(t, c); c.Deliver() && ev.Ciphertext() != "" {
			return ev.Ciphertext()
		}
	}
	t.Fatalf("no %s code in the shared events", keyring)
	return ""
}

func mustDecode(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWarmChecksItsSignature(t *testing.T) {
	if !codecrypt.Warm() {
		t.Fatal("the fixed warm-up signature does not verify")
	}
}
