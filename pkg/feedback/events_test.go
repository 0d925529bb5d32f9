package feedback_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/cogmail/cogmail/pkg/feedback"
	"github.com/cogmail/cogmail/pkg/mailevent"
	"github.com/cogmail/cogmail/pkg/metrics"
	"github.com/cogmail/cogmail/pkg/suppression"
)

var now = time.Date(2025, 11, 29, 12, 0, 0, 0, time.UTC)

const mailgunKey = "mg-signing-key"

type harness struct {
	h       *feedback.Handler
	store   *suppression.Memory
	sgKey   *ecdsa.PrivateKey
	metrics *bytes.Buffer
	logs    *bytes.Buffer
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	clock := func() time.Time { return now }
	sg, err := mailevent.NewSendGridVerifier(base64.StdEncoding.EncodeToString(der), nil, mailevent.VerifyOptions{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	mg, err := mailevent.NewMailgunVerifier(mailgunKey, nil, mailevent.VerifyOptions{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	// The store's clock is far from the events' fixed dates, so entries are
	// checked against the policy's expiry from the event's own time.
	store := suppression.NewMemory(func() time.Time { return time.Date(2025, 11, 29, 13, 0, 0, 0, time.UTC) })
	var m, l bytes.Buffer
	h, err := feedback.New(feedback.Deps{SendGrid: sg, Mailgun: mg, Suppressions: store, Policy: suppression.DefaultPolicy(),
		Metrics: metrics.New(&m, "events", clock), Logger: slogJSON(&l)})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{h: h, store: store, sgKey: k, metrics: &m, logs: &l}
}

func (hs *harness) signSendGrid(t *testing.T, req *http.Request, body []byte) {
	ts := strconv.FormatInt(now.Unix(), 10)
	sum := sha256.Sum256(append([]byte(ts), body...))
	sig, err := ecdsa.SignASN1(rand.Reader, hs.sgKey, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(mailevent.SendGridSignatureHeader, base64.StdEncoding.EncodeToString(sig))
	req.Header.Set(mailevent.SendGridTimestampHeader, ts)
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../mailevent/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mailgunBody re-signs a Mailgun fixture with the test key, a fresh
// timestamp and the given token.
func mailgunBody(t *testing.T, name, token string) []byte {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(fixture(t, name), &p); err != nil {
		t.Fatal(err)
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	m := hmac.New(sha256.New, []byte(mailgunKey))
	m.Write([]byte(ts + token))
	p["signature"] = map[string]string{"timestamp": ts, "token": token, "signature": hex.EncodeToString(m.Sum(nil))}
	b, _ := json.Marshal(p)
	return b
}

func (hs *harness) addresses(t *testing.T) map[string]suppression.Reason {
	t.Helper()
	l, err := hs.store.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]suppression.Reason{}
	for _, e := range l {
		out[e.Address] = e.Reason
	}
	return out
}

func post(hs *harness, path string, body []byte, sign func(*http.Request, []byte)) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	if sign != nil {
		sign(req, body)
	}
	rec := httptest.NewRecorder()
	hs.h.ServeHTTP(rec, req)
	return rec
}

func TestSendGridWebhook(t *testing.T) {
	hs := newHarness(t)
	body := fixture(t, "sendgrid_events.json")
	sign := func(r *http.Request, b []byte) { hs.signSendGrid(t, r, b) }

	if rec := post(hs, "/webhooks/sendgrid", body, nil); rec.Code != http.StatusUnauthorized {
		t.Fatalf("unsigned: %d %s", rec.Code, rec.Body)
	}
	tampered := bytes.Replace(body, []byte("spamreport"), []byte("delivered"), 1)
	rec := httptest.NewRequest(http.MethodPost, "/webhooks/sendgrid", bytes.NewReader(tampered))
	hs.signSendGrid(t, rec, body) // signed the original, sent the tampered body
	w := httptest.NewRecorder()
	hs.h.ServeHTTP(w, rec)
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("tampered: %d", w.Code)
	}
	bad := []byte(`[{"email":"x@example.com","timestamp":1,"event":"spamreport"},{"event":"bounce","timestamp":1}]`)
	badReq := httptest.NewRequest(http.MethodPost, "/webhooks/sendgrid", bytes.NewReader(bad))
	hs.signSendGrid(t, badReq, bad)
	for i := range 2 { // the same signed request again is not taken for an applied one
		r := httptest.NewRequest(http.MethodPost, "/webhooks/sendgrid", bytes.NewReader(bad))
		r.Header = badReq.Header.Clone()
		rec := httptest.NewRecorder()
		hs.h.ServeHTTP(rec, r)
		if rec.Code != http.StatusBadRequest {
			t.Fatalf("malformed, attempt %d: %d", i+1, rec.Code)
		}
	}
	if got := hs.addresses(t); len(got) != 0 {
		t.Fatalf("refused bodies changed the list: %v", got)
	}
	if rec := post(hs, "/webhooks/sendgrid", body, sign); rec.Code != http.StatusOK {
		t.Fatalf("valid: %d %s", rec.Code, rec.Body)
	}
	want := map[string]suppression.Reason{"nobody@example.org": suppression.Bounce, "angry@example.com": suppression.Complaint}
	if got := hs.addresses(t); len(got) != 2 || got["nobody@example.org"] != want["nobody@example.org"] || got["angry@example.com"] != want["angry@example.com"] {
		t.Fatalf("suppressed %v, want %v (transient bounces, drops and deliveries do not suppress)", got, want)
	}
	es, _ := hs.store.Lookup(context.Background(), "nobody@example.org")
	if e := es[0]; e.Provider != "sendgrid" || e.ProviderMessageID == "" || !e.ExpiresAt.Equal(e.At.Add(30*24*time.Hour)) {
		t.Errorf("entry %+v", e)
	}
	if strings.Contains(hs.logs.String(), "nobody@") || strings.Contains(hs.metrics.String(), "nobody@") {
		t.Errorf("an address reached the logs or metrics")
	}
	if !strings.Contains(hs.metrics.String(), `"SuppressionAdded"`) {
		t.Errorf("no SuppressionAdded metric: %s", hs.metrics)
	}
}

func TestMailgunWebhook(t *testing.T) {
	hs := newHarness(t)
	body := mailgunBody(t, "mailgun_failed_permanent.json", "tok-1")
	if rec := post(hs, "/mailgun", body, nil); rec.Code != http.StatusOK {
		t.Fatalf("valid: %d %s", rec.Code, rec.Body)
	}
	if _, err := hs.store.Remove(context.Background(), "nobody@example.org"); err != nil {
		t.Fatal(err)
	}
	if rec := post(hs, "/mailgun", body, nil); rec.Code != http.StatusOK {
		t.Fatalf("replayed: %d %s", rec.Code, rec.Body)
	}
	if got := hs.addresses(t); len(got) != 0 {
		t.Fatalf("a replayed token was applied again: %v", got)
	}
	if rec := post(hs, "/mailgun", mailgunBody(t, "mailgun_failed_permanent.json", "tok-1b"), nil); rec.Code != http.StatusOK {
		t.Fatalf("a new token: %d %s", rec.Code, rec.Body)
	}
	forged := mailgunBody(t, "mailgun_complained.json", "tok-2")
	forged = bytes.Replace(forged, []byte("angry@example.com"), []byte("victim@example.com"), 1)
	forged = bytes.Replace(forged, []byte(`"tok-2"`), []byte(`"tok-3"`), 1) // the token no longer matches its signature
	if rec := post(hs, "/mailgun", forged, nil); rec.Code != http.StatusUnauthorized {
		t.Fatalf("forged: %d", rec.Code)
	}
	if got := hs.addresses(t); len(got) != 1 || got["nobody@example.org"] != suppression.Bounce {
		t.Fatalf("suppressed %v", got)
	}
	if rec := post(hs, "/mailgun", []byte(`{"nope":`), nil); rec.Code != http.StatusBadRequest {
		t.Fatalf("malformed: %d", rec.Code)
	}
}

// TestSendGridReplay: a captured request replayed within the window, e.g.
// right after ops lifted the suppression it made, is answered 200 (the
// provider stops retrying) and not applied again.
func TestSendGridReplay(t *testing.T) {
	hs := newHarness(t)
	body := fixture(t, "sendgrid_events.json")
	req := httptest.NewRequest(http.MethodPost, "/webhooks/sendgrid", bytes.NewReader(body))
	hs.signSendGrid(t, req, body)
	captured := req.Header.Clone()
	replay := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/webhooks/sendgrid", bytes.NewReader(body))
		r.Header = captured.Clone()
		rec := httptest.NewRecorder()
		hs.h.ServeHTTP(rec, r)
		return rec
	}
	if rec := replay(); rec.Code != http.StatusOK {
		t.Fatalf("first: %d %s", rec.Code, rec.Body)
	}
	if len(hs.addresses(t)) != 2 {
		t.Fatalf("first: suppressed %v", hs.addresses(t))
	}
	for _, a := range []string{"nobody@example.org", "angry@example.com"} {
		if _, err := hs.store.Remove(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	rec := replay()
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "already applied") {
		t.Fatalf("replay: %d %s", rec.Code, rec.Body)
	}
	if got := hs.addresses(t); len(got) != 0 {
		t.Fatalf("the replay was applied again: %v", got)
	}
	if !strings.Contains(hs.metrics.String(), `"WebhookReplayed"`) {
		t.Errorf("no WebhookReplayed metric: %s", hs.metrics)
	}
}

// failingOnce is a suppression store whose first Add fails.
type failingOnce struct {
	*suppression.Memory
	failed bool
}

func (f *failingOnce) Add(ctx context.Context, e suppression.Entry) error {
	if !f.failed {
		f.failed = true
		return errors.New("store unavailable")
	}
	return f.Memory.Add(ctx, e)
}

// TestRetryAfterAFailedApply: a webhook that verified but could not be
// applied (500) is not recorded as applied, so the provider's retry of the
// same request is applied, not taken for a replay.
func TestRetryAfterAFailedApply(t *testing.T) {
	hs := newHarness(t)
	store := &failingOnce{Memory: hs.store}
	h, err := feedback.New(feedback.Deps{SendGrid: hsSendGrid(t, hs), Mailgun: hsMailgun(t), Suppressions: store, Policy: suppression.DefaultPolicy()})
	if err != nil {
		t.Fatal(err)
	}
	body := fixture(t, "sendgrid_events.json")
	req := httptest.NewRequest(http.MethodPost, "/sendgrid", bytes.NewReader(body))
	hs.signSendGrid(t, req, body)
	for i, want := range []int{http.StatusInternalServerError, http.StatusOK} {
		r := httptest.NewRequest(http.MethodPost, "/sendgrid", bytes.NewReader(body))
		r.Header = req.Header.Clone()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != want {
			t.Fatalf("attempt %d: %d %s, want %d", i+1, rec.Code, rec.Body, want)
		}
	}
	if got := hs.addresses(t); len(got) != 2 {
		t.Fatalf("the retry was not applied: %v", got)
	}
	store.failed = false
	mg := mailgunBody(t, "mailgun_failed_permanent.json", "tok-retry")
	for i, want := range []int{http.StatusInternalServerError, http.StatusOK} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/mailgun", bytes.NewReader(mg)))
		if rec.Code != want {
			t.Fatalf("Mailgun attempt %d: %d %s, want %d", i+1, rec.Code, rec.Body, want)
		}
	}
}

func hsSendGrid(t *testing.T, hs *harness) *mailevent.SendGridVerifier {
	t.Helper()
	der, _ := x509.MarshalPKIXPublicKey(&hs.sgKey.PublicKey)
	v, err := mailevent.NewSendGridVerifier(base64.StdEncoding.EncodeToString(der), nil, mailevent.VerifyOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func hsMailgun(t *testing.T) *mailevent.MailgunVerifier {
	t.Helper()
	v, err := mailevent.NewMailgunVerifier(mailgunKey, nil, mailevent.VerifyOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestUnknownAndUnconfigured(t *testing.T) {
	hs := newHarness(t)
	if rec := post(hs, "/webhooks/postmark", []byte(`{}`), nil); rec.Code != http.StatusNotFound {
		t.Errorf("unknown provider: %d", rec.Code)
	}
	h, _ := feedback.New(feedback.Deps{Suppressions: suppression.NewMemory(nil)})
	for _, p := range []string{"/sendgrid", "/mailgun"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, p, strings.NewReader("[]")))
		if rec.Code != http.StatusNotFound {
			t.Errorf("%s without a key: %d", p, rec.Code)
		}
	}
	rec := httptest.NewRecorder()
	hs.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/sendgrid", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", rec.Code)
	}
	big := bytes.Repeat([]byte(" "), feedback.MaxBody+1)
	if rec := post(hs, "/sendgrid", big, nil); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("too large: %d", rec.Code)
	}
}

func TestSESQueue(t *testing.T) {
	hs := newHarness(t)
	ev := lambdaevents.SQSEvent{Records: []lambdaevents.SQSMessage{
		{MessageId: "1", EventSource: "aws:sqs", Body: string(fixture(t, "ses_bounce_sns.json"))},
		{MessageId: "2", EventSource: "aws:sqs", Body: "not json"},
		{MessageId: "3", EventSource: "aws:sqs", Body: string(fixture(t, "ses_complaint.json"))},
		{MessageId: "4", EventSource: "aws:sqs", Body: string(fixture(t, "ses_delivery.json"))},
	}}
	raw, _ := json.Marshal(ev)
	out, err := hs.h.Invoke(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	resp := out.(lambdaevents.SQSEventResponse)
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "2" {
		t.Fatalf("failures %+v, want only the malformed message", resp.BatchItemFailures)
	}
	got := hs.addresses(t)
	if got["bounce@simulator.amazonses.com"] != suppression.Bounce || got["complaint@simulator.amazonses.com"] != suppression.Complaint ||
		got["angry@example.com"] != suppression.Complaint || len(got) != 3 {
		t.Fatalf("suppressed %v", got)
	}
}

func TestFunctionURL(t *testing.T) {
	hs := newHarness(t)
	body := mailgunBody(t, "mailgun_complained.json", "tok-url")
	req := lambdaevents.LambdaFunctionURLRequest{RawPath: "/mailgun", Body: base64.StdEncoding.EncodeToString(body), IsBase64Encoded: true,
		Headers: map[string]string{"content-type": "application/json"}}
	req.RequestContext.HTTP.Method = http.MethodPost
	raw, _ := json.Marshal(req)
	out, err := hs.h.Invoke(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if r := out.(lambdaevents.LambdaFunctionURLResponse); r.StatusCode != http.StatusOK {
		t.Fatalf("function URL: %+v", r)
	}
	if got := hs.addresses(t); got["angry@example.com"] != suppression.Complaint {
		t.Fatalf("suppressed %v", got)
	}
	if _, err := hs.h.Invoke(context.Background(), []byte(`{"hello":1}`)); err == nil {
		t.Error("an unknown invocation shape was accepted")
	}
}

// TestOversizedBodiesGet413: every oversized body is answered 413, also
// over a real connection with many clients at once. A plain client writes
// its whole request before it reads the answer (curl, urllib and most
// webhook senders do); the handler reads the body to the end before it
// answers, so the server never closes a connection the client is still
// writing to, which the client would see as a reset instead of the 413.
func TestOversizedBodiesGet413(t *testing.T) {
	hs := newHarness(t)
	srv := httptest.NewServer(hs.h)
	defer srv.Close()
	body := bytes.Repeat([]byte(" "), 10<<20)
	post := func() error {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			return err
		}
		defer c.Close()
		head := fmt.Sprintf("POST /sendgrid HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", srv.Listener.Addr(), len(body))
		if _, err := c.Write(append([]byte(head), body...)); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return fmt.Errorf("read the answer: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			return fmt.Errorf("status %d, want 413", resp.StatusCode)
		}
		return nil
	}
	const clients = 20
	errs := make(chan error, clients)
	for range clients {
		go func() { errs <- post() }()
	}
	var failed []string
	for range clients {
		if err := <-errs; err != nil {
			failed = append(failed, err.Error())
		}
	}
	if len(failed) > 0 {
		t.Fatalf("%d of %d 10 MiB posts did not get 413: %v", len(failed), clients, failed)
	}
}
