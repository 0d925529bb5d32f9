package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cogmail/cogmail/internal/local/localstack"
	"github.com/cogmail/cogmail/pkg/cognito"
)

// TestQueueStatsShowsHeldMail: with every provider down, the mail ingest
// accepted is held in flight on the emails queue, not dead-lettered, and
// `cogmail queue stats` on the local stack shows it: the counts SQS gives,
// and from the stack's own view the oldest age and the counts by trigger.
func TestQueueStatsShowsHeldMail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	down := map[string]localstack.Fault{"ses": {Rate: 1}, "sendgrid": {Rate: 1}, "mailgun": {Rate: 1}, "smtp": {Rate: 1}}
	s, err := localstack.Start(ctx, localstack.Options{Faults: down})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, tr := range []cognito.Trigger{cognito.ForgotPassword, cognito.ForgotPassword, cognito.SignUp} {
		ct, err := s.Encrypter.Encrypt(ctx, localstack.NewCode(tr), localstack.SamplePool)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := localstack.Event(localstack.EventSpec{Trigger: tr, Pool: localstack.SamplePool, UserName: "held" + string(rune('a'+i)), Email: "held@example.com"}, ct)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Ingest.Handle(ctx, raw); err != nil {
			t.Fatal(err)
		}
	}
	env := localEnv(s)
	var r queueReport
	// Wait until dispatch has tried and hidden all three (no timing is asserted).
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		code, out, errOut := runCmdGetenv(t, env, "", "queue", "stats", "--queue", s.QueueURL, "--json")
		if code != exitOK {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		if r.InFlight == 3 && r.ByTrigger["ForgotPassword"].InFlight == 2 && r.ByTrigger["SignUp"].InFlight == 1 {
			break
		}
	}
	if r.InFlight != 3 || r.Visible != 0 || r.OldestAgeSeconds == nil || r.ByTrigger["ForgotPassword"].InFlight != 2 || r.ByTrigger["SignUp"].InFlight != 1 {
		t.Fatalf("report %+v, want the three messages held in flight, by trigger", r)
	}
	code, out, errOut := runCmdGetenv(t, env, "", "queue", "stats", "--queue", s.QueueURL)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"in flight  3", "oldest", "ForgotPassword  0        2", "SignUp          0        1"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if code, _, _ := runCmdGetenv(t, env, "", "dlq", "stats", "--queue", s.DLQURL, "--json"); code != exitOK {
		t.Errorf("dlq stats exit %d", code)
	}
}
