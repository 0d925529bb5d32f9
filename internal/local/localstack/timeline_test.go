package localstack_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cogmail/cogmail/internal/local/localstack"
	"github.com/cogmail/cogmail/pkg/cognito"
)

// TestTimelineFailoverAndDeadLetter: a failover shows both attempts, the
// failed one with its class; a rejected message ends dead-lettered with its
// reason. Neither timeline holds the code or the address.
func TestTimelineFailoverAndDeadLetter(t *testing.T) {
	ctx := context.Background()
	s, err := localstack.Start(ctx, localstack.Options{Faults: map[string]localstack.Fault{"ses": {Status: 503}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	send := func(tr cognito.Trigger) (id, code string) {
		code = localstack.NewCode(tr)
		ct, err := s.Encrypter.Encrypt(ctx, code, localstack.SamplePool)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := localstack.Event(localstack.EventSpec{Trigger: tr, Pool: localstack.SamplePool, UserName: "u", Email: "u@example.com"}, ct)
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Invoke(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		return res.MessageID, code
	}
	steps := func(id string) []string {
		var out []string
		for _, st := range s.Timeline(id) {
			d := st.Function + " " + st.Step
			if st.Step == "attempt" {
				d += " " + st.Provider + " " + st.Outcome
			}
			if st.Reason != "" {
				d += " " + st.Reason
			}
			out = append(out, d)
		}
		return out
	}
	noSecrets := func(id, code string) {
		b, _ := json.Marshal(s.Timeline(id))
		if strings.Contains(string(b), code) || strings.Contains(string(b), "u@example.com") {
			t.Errorf("timeline holds the code or the address: %s", b)
		}
	}

	id, code := send(cognito.SignUp)
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, ok := s.WaitDelivered(wctx, id)[id]; !ok {
		t.Fatal("not delivered")
	}
	want := "ingest received,ingest decrypted,ingest rendered,ingest sealed,ingest enqueued," +
		"dispatch received,dispatch attempt ses unavailable,dispatch attempt sendgrid sent,dispatch sent"
	if got := strings.Join(steps(id), ","); got != want {
		t.Errorf("failover timeline:\n got %s\nwant %s", got, want)
	}
	noSecrets(id, code)

	s.SetFaults(refuseAll)
	id, code = send(cognito.ForgotPassword)
	var got []string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got = steps(id); len(got) > 0 && strings.HasPrefix(got[len(got)-1], "dispatch dead-lettered") {
			break
		}
	}
	want = "ingest received,ingest decrypted,ingest rendered,ingest sealed,ingest enqueued," +
		"dispatch received,dispatch attempt ses permanent,dispatch attempt sendgrid permanent," +
		"dispatch attempt mailgun permanent,dispatch attempt smtp permanent,dispatch dead-lettered permanent"
	if strings.Join(got, ",") != want {
		t.Errorf("dead-letter timeline:\n got %s\nwant %s", strings.Join(got, ","), want)
	}
	noSecrets(id, code)
}
