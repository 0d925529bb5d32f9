package mailevent_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"math/big"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/cogmail/cogmail/pkg/mailevent"
)

var now = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func sendGridKey(t testing.TB) (*ecdsa.PrivateKey, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return k, base64.StdEncoding.EncodeToString(der)
}

// signSendGrid signs as SendGrid does: ASN.1 ECDSA over
// SHA-256(timestamp || body), base64.
func signSendGrid(t testing.TB, k *ecdsa.PrivateKey, ts string, body []byte) http.Header {
	t.Helper()
	sum := sha256.Sum256(append([]byte(ts), body...))
	sig, err := ecdsa.SignASN1(rand.Reader, k, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set(mailevent.SendGridSignatureHeader, base64.StdEncoding.EncodeToString(sig))
	h.Set(mailevent.SendGridTimestampHeader, ts)
	return h
}

func TestSendGridSignature(t *testing.T) {
	key, pub := sendGridKey(t)
	other, _ := sendGridKey(t)
	body := fixture(t, "sendgrid_events.json")
	ts := strconv.FormatInt(now.Unix(), 10)
	tests := []struct {
		name    string
		headers func() http.Header
		body    []byte
		want    error
	}{
		{"valid", func() http.Header { return signSendGrid(t, key, ts, body) }, body, nil},
		{"tampered body", func() http.Header { return signSendGrid(t, key, ts, body) }, append([]byte(" "), body...), mailevent.ErrSignature},
		{"wrong key", func() http.Header { return signSendGrid(t, other, ts, body) }, body, mailevent.ErrSignature},
		{"timestamp changed after signing", func() http.Header {
			h := signSendGrid(t, key, ts, body)
			h.Set(mailevent.SendGridTimestampHeader, strconv.FormatInt(now.Unix()+1, 10))
			return h
		}, body, mailevent.ErrSignature},
		{"stale timestamp", func() http.Header {
			return signSendGrid(t, key, strconv.FormatInt(now.Add(-11*time.Minute).Unix(), 10), body)
		}, body, mailevent.ErrStale},
		{"just within ten minutes", func() http.Header {
			return signSendGrid(t, key, strconv.FormatInt(now.Add(-9*time.Minute).Unix(), 10), body)
		}, body, nil},
		{"from the far future", func() http.Header {
			return signSendGrid(t, key, strconv.FormatInt(now.Add(time.Hour).Unix(), 10), body)
		}, body, mailevent.ErrStale},
		{"no headers", func() http.Header { return http.Header{} }, body, mailevent.ErrSignature},
		{"signature not base64", func() http.Header {
			h := signSendGrid(t, key, ts, body)
			h.Set(mailevent.SendGridSignatureHeader, "!!!")
			return h
		}, body, mailevent.ErrSignature},
	}
	v, err := mailevent.NewSendGridVerifier(pub, nil, mailevent.VerifyOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.Verify(context.Background(), tt.headers(), tt.body)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
			if err != nil && mailevent.Status(err) != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", mailevent.Status(err))
			}
		})
	}
}

func TestSendGridKeyErrors(t *testing.T) {
	for name, k := range map[string]string{
		"not base64": "!!", "not DER": base64.StdEncoding.EncodeToString([]byte("nope")),
	} {
		if _, err := mailevent.NewSendGridVerifier(k, nil, mailevent.VerifyOptions{}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func signMailgun(key, ts, token string) mailevent.MailgunSignature {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(ts + token))
	return mailevent.MailgunSignature{TimeStamp: ts, Token: token, Signature: hex.EncodeToString(m.Sum(nil))}
}

func TestMailgunSignature(t *testing.T) {
	const key = "key-webhook-signing"
	clock := now
	ts := strconv.FormatInt(now.Unix(), 10)
	v, err := mailevent.NewMailgunVerifier(key, nil, mailevent.VerifyOptions{Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	steps := []struct {
		name    string
		sig     mailevent.MailgunSignature
		advance time.Duration
		want    error
	}{
		{"valid", signMailgun(key, ts, "token-1"), 0, nil},
		{"replayed token", signMailgun(key, ts, "token-1"), 0, mailevent.ErrReplayed},
		{"replayed token later in the window", signMailgun(key, ts, "token-1"), 9 * time.Minute, mailevent.ErrReplayed},
		{"the same token past the window is stale, not new", signMailgun(key, ts, "token-1"), 2 * time.Minute, mailevent.ErrStale},
		{"wrong key", signMailgun("another-key", strconv.FormatInt(clock.Add(11*time.Minute).Unix(), 10), "token-2"), 0, mailevent.ErrSignature},
		{"tampered token", func() mailevent.MailgunSignature {
			s := signMailgun(key, strconv.FormatInt(now.Add(11*time.Minute).Unix(), 10), "token-3")
			s.Token = "token-4"
			return s
		}(), 0, mailevent.ErrSignature},
		{"stale timestamp", signMailgun(key, strconv.FormatInt(now.Add(-time.Minute).Unix(), 10), "token-5"), 0, mailevent.ErrStale},
		{"fresh new token", signMailgun(key, strconv.FormatInt(now.Add(11*time.Minute).Unix(), 10), "token-6"), 0, nil},
		{"signature not hex", mailevent.MailgunSignature{TimeStamp: ts, Token: "token-7", Signature: "zz"}, 0, mailevent.ErrSignature},
		{"empty", mailevent.MailgunSignature{}, 0, mailevent.ErrSignature},
	}
	for _, s := range steps {
		clock = clock.Add(s.advance)
		err := v.Verify(ctx, s.sig)
		if !errors.Is(err, s.want) || (s.want == nil) != (err == nil) {
			t.Fatalf("%s: Verify = %v, want %v", s.name, err, s.want)
		}
		// A replay is answered 200 (not applied again): the provider stops retrying.
		if want := http.StatusUnauthorized; err != nil && !errors.Is(err, mailevent.ErrReplayed) && mailevent.Status(err) != want {
			t.Errorf("%s: status %d, want %d", s.name, mailevent.Status(err), want)
		}
		if errors.Is(err, mailevent.ErrReplayed) && mailevent.Status(err) != http.StatusOK {
			t.Errorf("%s: status %d, want 200", s.name, mailevent.Status(err))
		}
	}
}

// TestSendGridReplay: a signed request is applied once within its window.
// It is known by what SendGrid signs, so a re-encoded signature (ECDSA's
// (r, n−s) verifies too) is the same request; a new timestamp is a new one.
func TestSendGridReplay(t *testing.T) {
	key, pub := sendGridKey(t)
	clock := now
	v, err := mailevent.NewSendGridVerifier(pub, nil, mailevent.VerifyOptions{Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	body := fixture(t, "sendgrid_events.json")
	ts := strconv.FormatInt(now.Unix(), 10)
	first := signSendGrid(t, key, ts, body)
	steps := []struct {
		name    string
		h       http.Header
		advance time.Duration
		want    error
	}{
		{"first", first, 0, nil},
		{"the same request again", first, 0, mailevent.ErrReplayed},
		{"signed again, same timestamp and body", signSendGrid(t, key, ts, body), 0, mailevent.ErrReplayed},
		{"the signature re-encoded as (r, n-s)", malleate(t, first), 0, mailevent.ErrReplayed},
		{"late in the window", first, 9 * time.Minute, mailevent.ErrReplayed},
		{"a new timestamp is a new request", signSendGrid(t, key, strconv.FormatInt(now.Add(9*time.Minute).Unix(), 10), body), 0, nil},
		{"past the window it is stale, not new", first, 2 * time.Minute, mailevent.ErrStale},
	}
	for _, s := range steps {
		clock = clock.Add(s.advance)
		err := v.Verify(ctx, s.h, body)
		if !errors.Is(err, s.want) || (s.want == nil) != (err == nil) {
			t.Fatalf("%s: Verify = %v, want %v", s.name, err, s.want)
		}
	}
	// Forget (the events could not be applied): the provider's retry is new.
	retry := signSendGrid(t, key, strconv.FormatInt(clock.Unix(), 10), body)
	if err := v.Verify(ctx, retry, body); err != nil {
		t.Fatal(err)
	}
	if err := v.Forget(ctx, retry, body); err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(ctx, retry, body); err != nil {
		t.Fatalf("after Forget: %v", err)
	}
}

// malleate re-encodes a SendGrid signature (r, s) as (r, n−s), which
// verifies just as well.
func malleate(t *testing.T, h http.Header) http.Header {
	t.Helper()
	der, err := base64.StdEncoding.DecodeString(h.Get(mailevent.SendGridSignatureHeader))
	if err != nil {
		t.Fatal(err)
	}
	var sig struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &sig); err != nil {
		t.Fatal(err)
	}
	sig.S = new(big.Int).Sub(elliptic.P256().Params().N, sig.S)
	out, err := asn1.Marshal(sig)
	if err != nil {
		t.Fatal(err)
	}
	m := h.Clone()
	m.Set(mailevent.SendGridSignatureHeader, base64.StdEncoding.EncodeToString(out))
	return m
}

// TestMailgunFailedSignatureDoesNotBurnToken: a forged request with a
// victim's token must not make the genuine request look replayed.
func TestMailgunFailedSignatureDoesNotBurnToken(t *testing.T) {
	const key = "key-webhook-signing"
	ts := strconv.FormatInt(now.Unix(), 10)
	v, _ := mailevent.NewMailgunVerifier(key, nil, mailevent.VerifyOptions{Now: func() time.Time { return now }})
	forged := signMailgun("wrong", ts, "tok")
	if err := v.Verify(context.Background(), forged); !errors.Is(err, mailevent.ErrSignature) {
		t.Fatalf("forged: %v", err)
	}
	if err := v.Verify(context.Background(), signMailgun(key, ts, "tok")); err != nil {
		t.Fatalf("genuine after forged: %v", err)
	}
}
