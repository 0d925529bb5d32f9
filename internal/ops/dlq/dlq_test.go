package dlq_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/cogmail/cogmail/internal/ops/dlq"
	"github.com/cogmail/cogmail/internal/testkit/dlqtest"
	"github.com/cogmail/cogmail/internal/testkit/lostresponse"
	"github.com/cogmail/cogmail/pkg/awsclient"
	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/envelope"
)

type backend struct {
	name   string
	client func(testing.TB) (*sqs.Client, string)
}

var backends = []backend{{"sqslocal", dlqtest.SQSLocal}, {"moto", dlqtest.Moto}}

// seeded is a DLQ with one message of each kind, by label.
type seeded struct {
	*dlqtest.Fixture
	ids   map[string]string // label -> cogmail id
	label map[string]string // cogmail id -> label
}

var standard = []struct {
	label string
	m     dlqtest.Message
}{
	{"signup-permanent", dlqtest.Message{Trigger: cognito.SignUp, Reason: "permanent", EmailUser: true, Attempts: 1,
		LastErrors: map[string]string{"sendgrid": "permanent: HTTP 400 invalid recipient"}, Age: 3 * time.Hour}},
	{"forgot-exhausted", dlqtest.Message{Trigger: cognito.ForgotPassword, Reason: "retries-exhausted", Detail: "last failure: unavailable",
		Attempts: 5, LastErrors: map[string]string{"sendgrid": "unavailable: HTTP 503", "mailgun": "rate-limited: HTTP 429"},
		Age: 26 * time.Hour, ExpiresIn: 2 * time.Hour}},
	{"signup-expired", dlqtest.Message{Trigger: cognito.SignUp, Reason: "expired", Detail: "expired", Age: 30 * time.Hour, ExpiresIn: -6 * time.Hour}},
	{"resend-redriven", dlqtest.Message{Trigger: cognito.ResendCode, Age: 10 * time.Minute}},
	{"auth-redriven-expired", dlqtest.Message{Trigger: cognito.Authentication, Age: 2 * time.Hour, ExpiresIn: -time.Minute}},
	{"malformed", dlqtest.Message{Trigger: cognito.AdminCreateUser, Reason: "malformed", Malformed: true,
		Detail: "envelope: not an envelope: syntax error at byte 40"}},
}

func seed(t *testing.T, b backend) *seeded {
	t.Helper()
	c, _ := b.client(t)
	s := &seeded{Fixture: dlqtest.New(t, c, time.Now().UTC().Truncate(time.Second)), ids: map[string]string{}, label: map[string]string{}}
	for _, x := range standard {
		id := s.Add(t, x.m)
		s.ids[x.label], s.label[id] = id, x.label
	}
	return s
}

func (s *seeded) queue(t *testing.T, o dlq.Options) *dlq.Queue {
	t.Helper()
	if o.Client == nil {
		o.Client = s.Client
	}
	o.QueueURL = s.DLQ
	if o.Now == nil {
		o.Now = func() time.Time { return s.Now }
	}
	q, err := dlq.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func (s *seeded) labels(ms []dlq.Message) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, s.label[m.ID])
	}
	return out
}

func (s *seeded) labelsOf(rs []dlqtest.Received) []string {
	out := []string{}
	for _, id := range dlqtest.IDs(rs) {
		out = append(out, s.label[id])
	}
	slices.Sort(out)
	return out
}

func sorted(v ...string) []string {
	v = slices.Clone(v)
	slices.Sort(v)
	if v == nil {
		v = []string{}
	}
	return v
}

func TestList(t *testing.T) {
	t.Parallel()
	s := seed(t, backends[0])
	q := s.queue(t, dlq.Options{})
	cases := []struct {
		name string
		f    dlq.Filter
		want []string // oldest first
	}{
		{"all", dlq.Filter{}, []string{"signup-expired", "forgot-exhausted", "signup-permanent", "auth-redriven-expired", "resend-redriven", "malformed"}},
		{"trigger short", dlq.Filter{Trigger: "SignUp"}, []string{"signup-expired", "signup-permanent"}},
		{"trigger full", dlq.Filter{Trigger: "CustomEmailSender_ForgotPassword"}, []string{"forgot-exhausted"}},
		{"trigger any case", dlq.Filter{Trigger: "resendcode"}, []string{"resend-redriven"}},
		{"reason", dlq.Filter{Reason: "permanent"}, []string{"signup-permanent"}},
		{"reason of SQS redrive", dlq.Filter{Reason: "Retries-Exhausted"}, []string{"forgot-exhausted", "auth-redriven-expired", "resend-redriven"}},
		{"older than", dlq.Filter{OlderThan: 24 * time.Hour}, []string{"signup-expired", "forgot-exhausted"}},
		{"newer than", dlq.Filter{NewerThan: time.Hour}, []string{"resend-redriven", "malformed"}},
		{"between", dlq.Filter{OlderThan: time.Hour, NewerThan: 4 * time.Hour}, []string{"signup-permanent", "auth-redriven-expired"}},
		{"user", dlq.Filter{User: dlqtest.SecretAddress}, []string{"signup-permanent"}},
		{"limit keeps the oldest", dlq.Filter{Limit: 2}, []string{"signup-expired", "forgot-exhausted"}},
		{"nothing", dlq.Filter{Trigger: "SignUp", Reason: "malformed"}, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := q.List(context.Background(), tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.labels(ms); !slices.Equal(got, tc.want) {
				t.Errorf("List(%+v) = %v, want %v", tc.f, got, tc.want)
			}
			b, _ := json.Marshal(ms)
			dlqtest.CheckNoSecrets(t, "List JSON", string(b))
		})
	}
	if v, inFlight := s.Count(t, s.DLQ); v != len(standard) || inFlight != 0 {
		t.Errorf("after listing: %d visible, %d in flight; want every message visible again", v, inFlight)
	}
}

func TestMessageFields(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s := seed(t, b)
			ms, err := s.queue(t, dlq.Options{}).List(context.Background(), dlq.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			by := map[string]dlq.Message{}
			for _, m := range ms {
				by[s.label[m.ID]] = m
			}
			check := func(label, field string, got, want any) {
				t.Helper()
				if got != want {
					t.Errorf("%s: %s = %v, want %v", label, field, got, want)
				}
			}
			p := by["signup-permanent"]
			check("signup-permanent", "trigger", p.Trigger, "SignUp")
			check("signup-permanent", "reason", p.Reason, "permanent")
			check("signup-permanent", "attempts", p.Attempts, 1)
			check("signup-permanent", "last error", p.LastError(), "sendgrid: permanent: HTTP 400 invalid recipient")
			check("signup-permanent", "user hash", p.UserHash, dlq.UserHash(dlqtest.Pool, dlqtest.SecretAddress))
			check("signup-permanent", "pool", p.Pool, dlqtest.Pool)
			check("signup-permanent", "age", p.Age, 3*time.Hour)
			check("signup-permanent", "expired", p.Expired, false)
			check("signup-permanent", "sealed payload seen", p.SealedBytes > 0, true)
			check("signup-permanent", "problem", p.Problem, "")
			check("signup-permanent", "first attempt set", p.FirstAttempt.IsZero(), false)

			f := by["forgot-exhausted"]
			check("forgot-exhausted", "last error", f.LastError(), "last failure: unavailable; mailgun: rate-limited: HTTP 429; sendgrid: unavailable: HTTP 503")
			check("forgot-exhausted", "attempts", f.Attempts, 5)

			r := by["resend-redriven"]
			check("resend-redriven", "reason", r.Reason, string(envelope.ReasonRetriesExhausted))
			check("resend-redriven", "attempts", r.Attempts, 0)
			check("resend-redriven", "receive count", r.ReceiveCount > 0, true)

			check("auth-redriven-expired", "expired", by["auth-redriven-expired"].Expired, true)

			m := by["malformed"]
			check("malformed", "reason", m.Reason, "malformed")
			check("malformed", "trigger from attributes", m.Trigger, "AdminCreateUser")
			check("malformed", "problem", strings.Contains(m.Problem, "not an envelope"), true)
			check("malformed", "id from attributes", m.ID, s.ids["malformed"])
			check("malformed", "age from SentTimestamp", m.CreatedAt.IsZero(), false)
		})
	}
}

func TestStats(t *testing.T) {
	t.Parallel()
	s := seed(t, backends[0])
	st, err := s.queue(t, dlq.Options{}).Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Visible != 6 || st.InFlight != 0 || st.Delayed != 0 || st.Scanned != 6 || st.Expired != 2 {
		t.Errorf("counts = %+v", st)
	}
	wantReason := map[string]int{"permanent": 1, "retries-exhausted": 3, "expired": 1, "malformed": 1}
	wantTrigger := map[string]int{"SignUp": 2, "ForgotPassword": 1, "ResendCode": 1, "Authentication": 1, "AdminCreateUser": 1}
	for k, v := range wantReason {
		if st.ByReason[k] != v {
			t.Errorf("by reason %s = %d, want %d (%v)", k, st.ByReason[k], v, st.ByReason)
		}
	}
	for k, v := range wantTrigger {
		if st.ByTrigger[k] != v {
			t.Errorf("by trigger %s = %d, want %d (%v)", k, st.ByTrigger[k], v, st.ByTrigger)
		}
	}
	if st.OldestAge != 30*time.Hour || st.OldestAgeSeconds != 30*3600 {
		t.Errorf("oldest age = %v", st.OldestAge)
	}
	if v, inFlight := s.Count(t, s.DLQ); v != 6 || inFlight != 0 {
		t.Errorf("after stats: %d visible, %d in flight", v, inFlight)
	}
}

func TestFind(t *testing.T) {
	t.Parallel()
	s := seed(t, backends[0])
	q := s.queue(t, dlq.Options{})
	all, err := q.List(context.Background(), dlq.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var sqsID string
	for _, m := range all {
		if m.ID == s.ids["resend-redriven"] {
			sqsID = m.SQSID
		}
	}
	cases := []struct {
		name, id, want string
		err            error
	}{
		{"cogmail id", s.ids["signup-permanent"], "signup-permanent", nil},
		{"sqs id", sqsID, "resend-redriven", nil},
		{"prefix", s.ids["forgot-exhausted"][:10], "forgot-exhausted", nil},
		{"not found", "ffffffffffffffffffffffffffffffff", "", dlq.ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := q.Find(context.Background(), tc.id)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Errorf("Find = %v, %v; want %v", m, err, tc.err)
				}
				return
			}
			if err != nil || s.label[m.ID] != tc.want {
				t.Fatalf("Find(%q) = %+v, %v; want %s", tc.id, m, err, tc.want)
			}
		})
	}
	if _, err := q.Find(context.Background(), "abc"); err == nil || !strings.Contains(err.Error(), "at least 6") {
		t.Errorf("short id: %v", err)
	}
}

func TestNewChecksOptions(t *testing.T) {
	_, err := dlq.New(dlq.Options{Hold: -time.Second})
	for _, want := range []string{"SQS client", "queue URL", "Hold"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New error %v lacks %q", err, want)
		}
	}
}

func TestPurge(t *testing.T) {
	t.Parallel()
	s := seed(t, backends[0])
	if err := s.queue(t, dlq.Options{}).Purge(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v, inFlight := s.Count(t, s.DLQ); v+inFlight != 0 {
		t.Errorf("after purge: %d visible, %d in flight", v, inFlight)
	}
}

func TestUserHash(t *testing.T) {
	cases := []struct {
		name       string
		pool, user string
		same       bool
	}{
		{"same user, same pool", "p1", "ana", true},
		{"same user, other pool", "p2", "ana", false},
		{"other user", "p1", "bob", false},
	}
	ref := dlq.UserHash("p1", "ana")
	if len(ref) != 10 || strings.Contains(ref, "ana") {
		t.Fatalf("hash %q is not a 10-character opaque hash", ref)
	}
	for _, tc := range cases {
		if got := dlq.UserHash(tc.pool, tc.user); (got == ref) != tc.same {
			t.Errorf("%s: UserHash = %q, reference %q", tc.name, got, ref)
		}
	}
	if dlq.UserHash("p1", "") != "" {
		t.Error("an empty user name has a hash")
	}
}

// Five reads in a row of an idle DLQ of 58 messages each count 58, none in
// flight, and leave all 58 visible: a read releases everything it held,
// and no answer is lost on the way (the client is forced, on every call,
// into the interleaving that made the SDK retry a receive and hide its
// first answer's messages: internal/testkit/lostresponse).
func TestReadsCountWhatIsThere(t *testing.T) {
	t.Parallel()
	const n = 58
	c, url := dlqtest.SQSLocal(t)
	f := dlqtest.New(t, c, time.Now().UTC().Truncate(time.Second))
	for i := range n {
		f.Add(t, dlqtest.Message{Reason: "retries-exhausted", Detail: "last failure: breakers-open", Attempts: 5, Age: time.Duration(i) * time.Minute})
	}
	forced := sqs.NewFromConfig(lostresponse.Apply(awsclient.Config("us-east-1", credentials.NewStaticCredentialsProvider("local", "local", ""))),
		func(o *sqs.Options) { o.BaseEndpoint = aws.String(url) })
	q, err := dlq.New(dlq.Options{Client: forced, QueueURL: f.DLQ})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for run := 1; run <= 5; run++ {
		st, err := q.Stats(ctx)
		if err != nil {
			t.Fatalf("stats, run %d: %v", run, err)
		}
		if st.Visible != n || st.InFlight != 0 || st.Scanned != n {
			t.Errorf("stats, run %d: %d visible, %d in flight, %d read; want %d, 0, %d", run, st.Visible, st.InFlight, st.Scanned, n, n)
		}
		if v, inFlight := f.Count(t, f.DLQ); v != n || inFlight != 0 {
			t.Errorf("after stats, run %d: %d visible, %d in flight", run, v, inFlight)
		}
		ms, err := q.List(ctx, dlq.Filter{})
		if err != nil {
			t.Fatalf("list, run %d: %v", run, err)
		}
		if len(ms) != n {
			t.Errorf("list, run %d: %d messages, want %d", run, len(ms), n)
		}
		if v, inFlight := f.Count(t, f.DLQ); v != n || inFlight != 0 {
			t.Errorf("after list, run %d: %d visible, %d in flight", run, v, inFlight)
		}
	}
}
