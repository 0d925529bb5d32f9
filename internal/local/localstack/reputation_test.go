package localstack_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cogmail/cogmail/internal/local/localstack"
	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/mailevent"
	"github.com/cogmail/cogmail/pkg/provider/ses/sesfake"
	"github.com/cogmail/cogmail/pkg/suppression"
)

// send puts one Cognito event for addr through ingest and returns its
// message id.
func send(t *testing.T, s *localstack.Stack, trigger cognito.Trigger, addr string) string {
	t.Helper()
	ctx := context.Background()
	ct, err := s.Encrypter.Encrypt(ctx, localstack.NewCode(trigger), localstack.SamplePool)
	if err != nil {
		t.Fatal(err)
	}
	spec := localstack.EventSpec{Trigger: trigger, Pool: localstack.SamplePool, UserName: "u-" + strconv.FormatInt(time.Now().UnixNano(), 36), Email: addr, Locale: "en"}
	if trigger == cognito.AccountTakeOverNotification {
		spec.Extra = localstack.AccountTakeOverAttributes(time.Now())
	}
	raw, err := localstack.Event(spec, ct)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Invoke(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	return res.MessageID
}

// outcome waits until dispatch has finished with message id: "delivered",
// or the status the inbox gives a message the guard stopped.
func outcome(t *testing.T, s *localstack.Stack, id string) localstack.Delivered {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		for _, d := range s.Delivered() {
			if d.MessageID == id {
				if d.Status == "" {
					d.Status = "delivered"
				}
				return d
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("message %s: no outcome", id)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// suppressed waits until addr is on the stack's list for reason.
func suppressed(t *testing.T, s *localstack.Stack, addr string, reason suppression.Reason) suppression.Entry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		for _, e := range s.Suppressions() {
			if e.Address == addr && e.Reason == reason {
				return e
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never suppressed for %s (list: %+v)", addr, reason, s.Suppressions())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestBounceThenSuppressed(t *testing.T) {
	s, err := localstack.Start(context.Background(), localstack.Options{Providers: "ses"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	first := send(t, s, cognito.SignUp, sesfake.SimulatorBounce)
	if o := outcome(t, s, first); o.Status != "delivered" || o.Provider != "ses" {
		t.Fatalf("first email: %+v", o)
	}
	// SES publishes the bounce; it flows through the events queue into the
	// events function, which suppresses the address.
	e := suppressed(t, s, sesfake.SimulatorBounce, suppression.Bounce)
	if e.Provider != "ses" || e.ProviderMessageID == "" {
		t.Errorf("entry %+v", e)
	}
	next := send(t, s, cognito.ForgotPassword, sesfake.SimulatorBounce)
	o := outcome(t, s, next)
	if o.Status != "suppressed" || o.Why == "" {
		t.Fatalf("the next email: %+v, want suppressed with a reason", o)
	}
	// GET /api/suppressions shows it.
	resp, err := http.Get(s.URL + "/api/suppressions")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list) != 1 ||
		list[0]["address"] != sesfake.SimulatorBounce || list[0]["reason"] != "bounce" || list[0]["provider"] != "ses" {
		t.Fatalf("GET /api/suppressions = %v, %v", list, err)
	}
	// And the queues drain: not retried, not dead-lettered.
	drained(t, s)
}

// drained waits until every queue of the stack is empty. The outcome is
// recorded when dispatch's handler returns, but the poller deletes the
// batch only after that, so the queue is not empty at the same instant: a
// message kept for a retry (in flight) or dead-lettered (visible in the
// DLQ) never drains and fails the test.
func drained(t *testing.T, s *localstack.Stack) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		busy := ""
		for _, q := range s.SQS.Stats() {
			if q.Visible+q.InFlight+q.Delayed != 0 {
				busy += fmt.Sprintf(" %s holds %d/%d/%d", q.Name, q.Visible, q.InFlight, q.Delayed)
			}
		}
		if busy == "" {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("queues never drained:%s", busy)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestComplaintPolicyPerTriggerLocal(t *testing.T) {
	s, err := localstack.Start(context.Background(), localstack.Options{Providers: "ses"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	outcome(t, s, send(t, s, cognito.SignUp, sesfake.SimulatorComplaint))
	suppressed(t, s, sesfake.SimulatorComplaint, suppression.Complaint)
	for trigger, want := range map[cognito.Trigger]string{
		cognito.ForgotPassword:              "delivered",
		cognito.Authentication:              "delivered",
		cognito.AdminCreateUser:             "suppressed",
		cognito.AccountTakeOverNotification: "suppressed",
	} {
		if o := outcome(t, s, send(t, s, trigger, sesfake.SimulatorComplaint)); o.Status != want {
			t.Errorf("%s to a complainer: %s, want %s", trigger.Short(), o.Status, want)
		}
	}
}

func TestResendsAreLimited(t *testing.T) {
	s, err := localstack.Start(context.Background(), localstack.Options{RecipientLimit: "3/1h"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var ids []string
	for range 4 {
		ids = append(ids, send(t, s, cognito.ResendCode, "victim@example.com"))
	}
	got := map[string]int{}
	for _, id := range ids {
		o := outcome(t, s, id)
		got[o.Status]++
		// The inbox says who a throttled email was for, and why.
		if o.Status == "throttled" && (o.To != "victim@example.com" || o.From.Address == "" || o.Subject == "" || !strings.Contains(o.Why, "3/1h")) {
			t.Errorf("throttled entry: %+v", o)
		}
	}
	if got["delivered"] != 3 || got["throttled"] != 1 {
		t.Fatalf("4 resends with a limit of 3: %v", got)
	}
	if dlq := s.SQS.Stats(); len(dlq) == 0 {
		t.Fatal("no queues")
	}
	for _, q := range s.SQS.Stats() {
		if q.Name == localstack.DLQName && q.Visible != 0 {
			t.Errorf("a throttled message was dead-lettered")
		}
	}
}

func TestWebhooksOnTheStack(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	s, err := localstack.Start(context.Background(), localstack.Options{
		SendGridWebhookPublicKey: base64.StdEncoding.EncodeToString(der), MailgunWebhookSigningKey: "mg-key"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	body := []byte(fmt.Sprintf(`[{"email":"Hard@Example.com","timestamp":%d,"event":"bounce","type":"bounce","sg_message_id":"sg-1"}]`, time.Now().Unix()))
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sum := sha256.Sum256(append([]byte(ts), body...))
	sig, _ := ecdsa.SignASN1(rand.Reader, k, sum[:])
	post := func(sign bool) int {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/webhooks/sendgrid", bytes.NewReader(body))
		if sign {
			req.Header.Set(mailevent.SendGridSignatureHeader, base64.StdEncoding.EncodeToString(sig))
			req.Header.Set(mailevent.SendGridTimestampHeader, ts)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(false); code != http.StatusUnauthorized {
		t.Fatalf("unsigned: %d", code)
	}
	if len(s.Suppressions()) != 0 {
		t.Fatal("an unsigned webhook changed the list")
	}
	if code := post(true); code != http.StatusOK {
		t.Fatalf("signed: %d", code)
	}
	if e := suppressed(t, s, "Hard@example.com", suppression.Bounce); e.Provider != "sendgrid" {
		t.Errorf("entry %+v", e)
	}
	if o := outcome(t, s, send(t, s, cognito.SignUp, "Hard@EXAMPLE.com")); o.Status != "suppressed" {
		t.Errorf("after a SendGrid bounce: %+v", o)
	}
	// Ops lift the suppression; the captured request, replayed, is
	// answered 200 and not applied again.
	if n, err := s.SuppressionList().Remove(context.Background(), "Hard@example.com"); err != nil || n != 1 {
		t.Fatalf("Remove = %d, %v", n, err)
	}
	if code := post(true); code != http.StatusOK {
		t.Fatalf("replayed: %d", code)
	}
	if l := s.Suppressions(); len(l) != 0 {
		t.Fatalf("the replay suppressed again: %+v", l)
	}
	resp, err := http.Post(s.URL+"/webhooks/mailgun", "application/json", bytes.NewReader([]byte(`{"signature":{"timestamp":"1","token":"t","signature":"00"},"event-data":{"event":"complained"}}`)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("badly signed Mailgun webhook: %d", resp.StatusCode)
	}
}
