package main

import (
	"context"
	"encoding/json"
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cogmail/cogmail/internal/local/localstack"
	"github.com/cogmail/cogmail/internal/testkit/fixtures"
	"github.com/cogmail/cogmail/pkg/codecrypt"
	"github.com/cogmail/cogmail/pkg/cognito"
)

// localEnv points the commands' AWS clients at a running local stack.
func localEnv(s *localstack.Stack) map[string]string {
	return map[string]string{
		"AWS_REGION": s.Region, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
		"AWS_ENDPOINT_URL_SQS": s.URL, "AWS_ENDPOINT_URL_SSM": s.URL, "AWS_ENDPOINT_URL_KMS": s.URL,
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	}
}

// TestSharedEventsThroughLocalStack: the shared events, encrypted elsewhere
// by the reference JavaScript SDK, go through `cogmail invoke` into a local
// stack started with their keys, unchanged: deliver cases arrive at a
// provider with their secret, reject cases fail and send nothing.
func TestSharedEventsThroughLocalStack(t *testing.T) {
	ev := fixtures.MustLoadEvents()
	stacks := map[string]localstack.Options{
		"kms":     {KMSSeed: fixtures.KMSSeed(), KMSKeyARN: ev.KMSKeyARN},
		"raw-aes": {KMSSeed: fixtures.KMSSeed(), AES: &codecrypt.RawAESKey{Namespace: ev.KeyNamespace, Name: ev.KeyName, Key: ev.AESKey()}},
	}
	for keyring, o := range stacks {
		t.Run(keyring, func(t *testing.T) {
			ctx := context.Background()
			s, err := localstack.Start(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			dir := t.TempDir()
			for _, c := range ev.ByKeyring(keyring) {
				file := filepath.Join(dir, c.Name+".json")
				if err := os.WriteFile(file, c.Event, 0o600); err != nil {
					t.Fatal(err)
				}
				code, out, stderr := runCmdGetenv(t, localEnv(s), "", "invoke", "--event", file, "--endpoint", s.URL)
				if c.Deliver() != (code == exitOK) {
					t.Fatalf("%s: invoke exit %d\n%s%s", c.Name, code, out, stderr)
				}
				if !c.Deliver() {
					continue
				}
				var res struct {
					MessageID string `json:"messageId"`
				}
				if err := json.Unmarshal([]byte(out), &res); err != nil || res.MessageID == "" {
					t.Fatalf("%s: invoke printed %q", c.Name, out)
				}
				wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
				d, ok := s.WaitDelivered(wctx, res.MessageID)[res.MessageID]
				cancel()
				e, _ := cognito.Parse(c.Event)
				want := html.UnescapeString(c.Secret)
				if !ok || d.To != e.Attr("email") || (want != "" && !strings.Contains(d.Text, want)) {
					t.Errorf("%s: delivered=%v to %q; text has secret: %v", c.Name, ok, d.To, strings.Contains(d.Text, want))
				}
			}
			if got, want := len(s.Delivered()), countDeliver(ev.ByKeyring(keyring)); got != want {
				t.Errorf("%d emails delivered, want %d (no reject case may be sent)", got, want)
			}
		})
	}
}

func countDeliver(cs []fixtures.Case) int {
	n := 0
	for _, c := range cs {
		if c.Deliver() {
			n++
		}
	}
	return n
}

// TestOpsCommandsAgainstLocalStack is the 3 a.m. drill on the local stack:
// a provider outage fills the DLQ; `cogmail dlq list` shows why; after the
// fix, a filtered `cogmail dlq replay` gets the email delivered; and
// `cogmail providers set` reroutes the running dispatch.
func TestOpsCommandsAgainstLocalStack(t *testing.T) {
	ctx := context.Background()
	s, err := localstack.Start(ctx, localstack.Options{
		Providers:   "ses",
		Faults:      map[string]localstack.Fault{"ses": {Status: 400}}, // SES rejects every message: permanent
		DispatchEnv: map[string]string{"COGMAIL_PROVIDERS_REFRESH": "1s"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	env := localEnv(s)
	env["COGMAIL_PROVIDERS_PARAM"] = localstack.ProvidersParam

	// Two sample emails are refused and dead-lettered with reason "permanent".
	samples := s.RunSamples(ctx, 2*time.Second)
	if len(s.Delivered()) != 0 {
		t.Fatalf("%d emails delivered while SES refused everything", len(s.Delivered()))
	}
	var listed []struct {
		ID      string `json:"id"`
		Trigger string `json:"trigger"`
		Reason  string `json:"reason"`
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && len(listed) < len(samples); {
		code, out, stderr := runCmdGetenv(t, env, "", "dlq", "list", "--queue", s.DLQURL, "--json")
		if code != exitOK {
			t.Fatalf("dlq list: exit %d %s", code, stderr)
		}
		if err := json.Unmarshal([]byte(out), &listed); err != nil {
			t.Fatalf("dlq list --json: %v\n%s", err, out)
		}
	}
	if len(listed) != len(samples) {
		t.Fatalf("DLQ lists %d messages, want %d", len(listed), len(samples))
	}
	for _, m := range listed {
		if m.Reason != "permanent" {
			t.Errorf("%s: reason %q, want permanent", m.ID, m.Reason)
		}
	}

	// Ops switches to Mailgun (healthy) and replays only the sign-up email.
	code, out, stderr := runCmdGetenv(t, env, "", "providers", "set", "mailgun")
	if code != exitOK || !strings.Contains(out, "mailgun") {
		t.Fatalf("providers set: exit %d\n%s%s", code, out, stderr)
	}
	time.Sleep(1500 * time.Millisecond) // dispatch re-reads the parameter every second here
	code, out, stderr = runCmdGetenv(t, env, "", "dlq", "replay", "--queue", s.DLQURL, "--source", s.QueueURL, "--trigger", "SignUp", "--yes")
	if code != exitOK {
		t.Fatalf("dlq replay: exit %d\n%s%s", code, out, stderr)
	}
	var signUp string
	for _, smp := range samples {
		if smp.Trigger == cognito.SignUp {
			signUp = smp.Result.MessageID
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	d, ok := s.WaitDelivered(wctx, signUp)[signUp]
	if !ok || d.Provider != "mailgun" {
		t.Fatalf("replayed SignUp email: delivered=%v via %q, want mailgun", ok, d.Provider)
	}
	if n := len(s.Delivered()); n != 1 {
		t.Errorf("%d emails delivered, want only the replayed one", n)
	}
	code, out, _ = runCmdGetenv(t, env, "", "dlq", "list", "--queue", s.DLQURL, "--json")
	if err := json.Unmarshal([]byte(out), &listed); code != exitOK || err != nil || len(listed) != len(samples)-1 {
		t.Errorf("after the replay the DLQ lists %d, want %d", len(listed), len(samples)-1)
	}
}
