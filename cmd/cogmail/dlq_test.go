package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/cogmail/cogmail/internal/ops/dlq"
	"github.com/cogmail/cogmail/internal/testkit/dlqtest"
	"github.com/cogmail/cogmail/pkg/cognito"
)

// dlqRun runs `cogmail dlq ARGS` in-process with the given environment.
func dlqRun(t *testing.T, vars map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(k string) string { return vars[k] }}
	code := run(context.Background(), e, append([]string{"dlq"}, args...))
	dlqtest.CheckNoSecrets(t, "cogmail dlq "+strings.Join(args, " "), out.String()+errb.String())
	return code, out.String(), errb.String()
}

// dlqStack is a DLQ with one message of each kind, and the environment that
// points the command at it (the queue comes from COGMAIL_DLQ_URL).
type dlqStack struct {
	*dlqtest.Fixture
	vars  map[string]string
	users []string // user names that must not be printed
}

func newDLQStack(t *testing.T, client func(testing.TB) (*sqs.Client, string)) *dlqStack {
	t.Helper()
	c, url := client(t)
	s := &dlqStack{Fixture: dlqtest.New(t, c, time.Now().UTC())}
	s.vars = map[string]string{"AWS_ENDPOINT_URL_SQS": url, "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "COGMAIL_DLQ_URL": s.DLQ}
	for _, m := range []dlqtest.Message{
		{Trigger: cognito.SignUp, Reason: "permanent", EmailUser: true, Attempts: 1,
			LastErrors: map[string]string{"sendgrid": "permanent: HTTP 400 invalid recipient"}, Age: 3 * time.Hour},
		{User: "maria.lopez", Trigger: cognito.ForgotPassword, Reason: "retries-exhausted", Detail: "last failure: unavailable",
			Attempts: 5, LastErrors: map[string]string{"sendgrid": "unavailable: HTTP 503"}, Age: 26 * time.Hour, ExpiresIn: 2 * time.Hour},
		{User: "jo.expired", Trigger: cognito.SignUp, Reason: "expired", Age: 30 * time.Hour, ExpiresIn: -6 * time.Hour},
		{User: "kim.redriven", Trigger: cognito.ResendCode, Age: 10 * time.Minute},
	} {
		s.Add(t, m)
		if m.User != "" {
			s.users = append(s.users, m.User)
		}
	}
	return s
}

func (s *dlqStack) run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	code, out, errb := dlqRun(t, s.vars, stdin, args...)
	for _, u := range s.users {
		if strings.Contains(out+errb, u) {
			t.Errorf("output shows the user name %q:\n%s%s", u, out, errb)
		}
	}
	return code, out, errb
}

func TestDLQFlags(t *testing.T) {
	t.Parallel()
	q := map[string]string{"COGMAIL_DLQ_URL": "http://127.0.0.1:1/000000000000/dlq"}
	cases := []struct {
		name string
		vars map[string]string
		args []string
		code int
		want string
	}{
		{"no subcommand", nil, nil, exitUsage, "stats|list|show ID|replay|purge"},
		{"help", nil, []string{"--help"}, exitOK, "Examples:"},
		{"unknown subcommand", nil, []string{"drain"}, exitUsage, `unknown subcommand "drain"`},
		{"stats help", nil, []string{"stats", "--help"}, exitOK, "cogmail dlq stats --json"},
		{"list help", nil, []string{"list", "-h"}, exitOK, "-older-than"},
		{"show help", nil, []string{"show", "--help"}, exitOK, "is not shown"},
		{"replay help", nil, []string{"replay", "--help"}, exitOK, "send-then-delete"},
		{"purge help", nil, []string{"purge", "--help"}, exitOK, "cogmail dlq purge --queue"},
		{"no queue", nil, []string{"stats"}, exitUsage, "--queue URL or NAME is required"},
		{"unknown flag", q, []string{"list", "--nope"}, exitUsage, "unknown flag --nope"},
		{"misspelled flag", q, []string{"list", "--quue", "x"}, exitUsage, "unknown flag --quue; did you mean --queue?"},
		{"unknown reason", q, []string{"list", "--reason", "bogus"}, exitUsage, `--reason "bogus" is not a dead-letter reason: want one of ` + strings.Join(dlqReasons(), ", ")},
		{"a class is not a reason", q, []string{"replay", "--reason", "unavailable"}, exitUsage, "want one of permanent"},
		{"misspelled reason", q, []string{"list", "--reason", "permanant"}, exitUsage, "did you mean permanent?"},
		{"misspelled subcommand", nil, []string{"stat"}, exitUsage, `unknown subcommand "stat"; did you mean stats?`},
		{"bad trigger", q, []string{"list", "--trigger", "Welcome"}, exitUsage, "unknown trigger"},
		{"bad age", q, []string{"replay", "--older-than", "yesterday"}, exitUsage, "--older-than"},
		{"negative limit", q, []string{"list", "--limit", "-1"}, exitUsage, "--limit"},
		{"bad rate", q, []string{"replay", "--rate", "fast"}, exitUsage, "--rate"},
		{"zero rate", q, []string{"replay", "--rate", "0/s"}, exitUsage, "--rate"},
		{"show without id", q, []string{"show"}, exitUsage, "want 1 argument"},
		{"show with two ids", q, []string{"show", "abcdef", "123456"}, exitUsage, "want 1 argument"},
		{"stray argument", q, []string{"purge", "now"}, exitUsage, "want 0 argument"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errb := dlqRun(t, tc.vars, "", tc.args...)
			if code != tc.code || !strings.Contains(out+errb, tc.want) {
				t.Errorf("exit %d (want %d); output lacks %q:\n%s%s", code, tc.code, tc.want, out, errb)
			}
		})
	}
}

func TestDLQList(t *testing.T) {
	t.Parallel()
	s := newDLQStack(t, dlqtest.SQSLocal)
	code, out, errb := s.run(t, "", "list")
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errb)
	}
	for _, want := range []string{"ID", "LAST ERROR", "SignUp", "ForgotPassword", "ResendCode", dlqtest.Pool,
		dlq.UserHash(dlqtest.Pool, dlqtest.SecretAddress), "permanent", "retries-exhausted", "expired",
		"sendgrid: permanent: HTTP 400 invalid recipient", "1d06h", "4 messages"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	// Oldest first.
	if i, j := strings.Index(out, "1d06h"), strings.Index(out, "3h00m"); i < 0 || j < 0 || i > j {
		t.Errorf("not oldest first:\n%s", out)
	}

	cases := []struct {
		name string
		args []string
		want int
	}{
		{"all", nil, 4},
		{"trigger", []string{"--trigger", "signup"}, 2},
		{"reason", []string{"--reason", "retries-exhausted"}, 2},
		{"older than a day", []string{"--older-than", "1d"}, 2},
		{"newer than", []string{"--newer-than", "1h"}, 1},
		{"user", []string{"--user", "maria.lopez"}, 1},
		{"limit", []string{"--limit", "3"}, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errb := s.run(t, "", append([]string{"list", "--json"}, tc.args...)...)
			var ms []map[string]any
			if err := json.Unmarshal([]byte(out), &ms); code != exitOK || err != nil {
				t.Fatalf("exit %d, %v:\n%s%s", code, err, out, errb)
			}
			if len(ms) != tc.want {
				t.Errorf("%d messages, want %d:\n%s", len(ms), tc.want, out)
			}
			for _, m := range ms {
				for _, k := range []string{"sqsMessageId", "trigger", "reason", "ageSeconds", "userHash", "sealedBytes"} {
					if _, ok := m[k]; !ok {
						t.Errorf("JSON message lacks %q: %v", k, m)
					}
				}
			}
		})
	}
}

func TestDLQShowAndStats(t *testing.T) {
	t.Parallel()
	s := newDLQStack(t, dlqtest.SQSLocal)
	_, out, _ := s.run(t, "", "list", "--json", "--reason", "permanent")
	var ms []dlq.Message
	if err := json.Unmarshal([]byte(out), &ms); err != nil || len(ms) != 1 {
		t.Fatalf("%v: %s", err, out)
	}
	id := ms[0].ID

	cases := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"show by id", []string{"show", id}, exitOK, []string{id, "permanent", "sealed", "is not shown", "sendgrid: permanent", "cogmail.trigger = CustomEmailSender_SignUp", "attempts"}},
		{"show by prefix and SQS id", []string{"show", ms[0].SQSID[:8]}, exitOK, []string{id}},
		{"show JSON", []string{"show", "--json", id}, exitOK, []string{`"reason": "permanent"`, `"sealedBytes"`}},
		{"show missing", []string{"show", "ffffffffffff"}, exitFailed, []string{"no visible message"}},
		{"stats", []string{"stats"}, exitOK, []string{"visible", "in flight", "oldest", "1d06h", "expired", "1 of 4", "retries-exhausted  2", "SignUp", "4 messages read"}},
		{"stats JSON", []string{"stats", "--json"}, exitOK, []string{`"visible": 4`, `"inFlight": 0`, `"retries-exhausted": 2`, `"ForgotPassword": 1`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errb := s.run(t, "", tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d:\n%s%s", code, tc.code, out, errb)
			}
			for _, w := range tc.want {
				if !strings.Contains(out+errb, w) {
					t.Errorf("output lacks %q:\n%s%s", w, out, errb)
				}
			}
		})
	}
}

func TestDLQReplay(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		backend func(testing.TB) (*sqs.Client, string)
		stdin   string
		args    []string
		code    int
		moved   int // messages in the source afterwards
		want    []string
	}{
		{"dry run", dlqtest.SQSLocal, "", []string{"--dry-run"}, exitOK, 0,
			[]string{"Would move 3 messages", "Dry run: nothing changed", "Left in the DLQ: 1 expired message"}},
		{"declined", dlqtest.SQSLocal, "no\n", []string{"--trigger", "SignUp"}, exitAborted, 0,
			[]string{"Move 1 message to", "[y/N]", "not confirmed"}},
		{"no answer", dlqtest.SQSLocal, "", nil, exitAborted, 0, []string{"not confirmed"}},
		{"confirmed", dlqtest.SQSLocal, "yes\n", []string{"--reason", "retries-exhausted"}, exitOK, 2,
			[]string{"Moved 2 messages", "send-then-delete", "replay: 2/2"}},
		{"filtered with --yes", dlqtest.SQSLocal, "", []string{"--yes", "--trigger", "SignUp", "--older-than", "1h"}, exitOK, 1,
			[]string{"Moved 1 message to", "Left in the DLQ: 1 expired message"}},
		{"rate", dlqtest.SQSLocal, "", []string{"--yes", "--trigger", "SignUp", "--include-expired", "--rate", "50/s"}, exitOK, 2,
			[]string{"Moved 2 messages"}},
		{"expired stay", dlqtest.SQSLocal, "", []string{"--yes"}, exitOK, 3,
			[]string{"Moved 3 messages", "send-then-delete (expired messages stay in the DLQ)"}},
		{"move task", dlqtest.SQSLocal, "", []string{"--yes", "--include-expired"}, exitOK, 4,
			[]string{"Moved 4 messages", "by StartMessageMoveTask"}},
		{"fallback on moto", dlqtest.Moto, "", []string{"--yes", "--include-expired"}, exitOK, 4,
			[]string{"Moved 4 messages", "by send-then-delete", "does not implement StartMessageMoveTask"}},
		{"filtered on moto", dlqtest.Moto, "", []string{"--yes", "--reason", "permanent"}, exitOK, 1,
			[]string{"Moved 1 message to"}},
		{"JSON", dlqtest.SQSLocal, "", []string{"--yes", "--json", "--newer-than", "1h"}, exitOK, 1,
			[]string{`"moved": 1`, `"method": "send-then-delete"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newDLQStack(t, tc.backend)
			code, out, errb := s.run(t, tc.stdin, append([]string{"replay"}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d:\n%s%s", code, tc.code, out, errb)
			}
			for _, w := range tc.want {
				if !strings.Contains(out+errb, w) {
					t.Errorf("output lacks %q:\n%s%s", w, out, errb)
				}
			}
			if got := len(s.Drain(t, s.Source)); got != tc.moved {
				t.Errorf("source has %d messages, want %d", got, tc.moved)
			}
			if v, inFlight := s.Count(t, s.DLQ); v != 4-tc.moved || inFlight != 0 {
				t.Errorf("DLQ: %d visible, %d in flight; want %d visible", v, inFlight, 4-tc.moved)
			}
		})
	}
}

func TestDLQPurge(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		stdin string
		args  []string
		code  int
		left  int
	}{
		{"declined", "no\n", nil, exitAborted, 4},
		{"no answer", "", nil, exitAborted, 4},
		{"y confirms, as in every command", "y\n", nil, exitOK, 0},
		{"confirmed", "yes\n", nil, exitOK, 0},
		{"--yes", "", []string{"--yes"}, exitOK, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newDLQStack(t, dlqtest.SQSLocal)
			code, out, errb := s.run(t, tc.stdin, append([]string{"purge"}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d:\n%s%s", code, tc.code, out, errb)
			}
			if tc.args == nil && !strings.Contains(errb, "Delete all 4 messages") {
				t.Errorf("no question asked:\n%s", errb)
			}
			if v, inFlight := s.Count(t, s.DLQ); v+inFlight != tc.left {
				t.Errorf("DLQ has %d+%d messages, want %d", v, inFlight, tc.left)
			}
		})
	}
}

// An empty DLQ is not purged and nothing is asked.
func TestDLQPurgeEmpty(t *testing.T) {
	t.Parallel()
	s := newDLQStack(t, dlqtest.SQSLocal)
	if code, out, errb := s.run(t, "", "purge", "--yes"); code != exitOK {
		t.Fatalf("purge --yes: exit %d\n%s%s", code, out, errb)
	}
	code, out, errb := s.run(t, "", "purge")
	if code != exitOK || !strings.Contains(out, "is empty: nothing to purge") || strings.Contains(errb, "[y/N]") {
		t.Errorf("purge of an empty DLQ: exit %d\n%s%s", code, out, errb)
	}
}

func TestDLQParsers(t *testing.T) {
	ages := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90m", 90 * time.Minute, true}, {"2d", 48 * time.Hour, true}, {"1d12h", 36 * time.Hour, true},
		{"0s", 0, true}, {"yesterday", 0, false}, {"-1h", 0, false}, {"d", 0, false},
	}
	for _, tc := range ages {
		got, err := parseDLQAge(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseDLQAge(%q) = %v, %v", tc.in, got, err)
		}
	}
	rates := []struct {
		in   string
		want float64
		ok   bool
	}{{"", 0, true}, {"10", 10, true}, {"10/s", 10, true}, {"0.5/s", 0.5, true}, {"0", 0, false}, {"-2/s", 0, false}, {"x/s", 0, false}}
	for _, tc := range rates {
		got, err := parseDLQRate(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseDLQRate(%q) = %v, %v", tc.in, got, err)
		}
	}
	regions := []struct{ url, want string }{
		{"https://sqs.eu-west-1.amazonaws.com/123456789012/q", "eu-west-1"},
		{"https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q", "cn-north-1"},
		{"https://us-east-2.queue.amazonaws.com/123456789012/q", "us-east-2"},
		{"http://127.0.0.1:8025/000000000000/q", ""},
	}
	for _, tc := range regions {
		if got := sqsURLRegion(tc.url); got != tc.want {
			t.Errorf("sqsURLRegion(%q) = %q, want %q", tc.url, got, tc.want)
		}
	}
	ageText := []struct {
		d    time.Duration
		want string
	}{{42 * time.Second, "42s"}, {17 * time.Minute, "17m"}, {3*time.Hour + 5*time.Minute, "3h05m"}, {52 * time.Hour, "2d04h"}}
	for _, tc := range ageText {
		if got := shortAge(tc.d); got != tc.want {
			t.Errorf("shortAge(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestDLQProgress(t *testing.T) {
	cases := []struct {
		name  string
		tty   bool
		steps []dlq.Progress
		want  string
	}{
		{"lines at each tenth", false, []dlq.Progress{{Done: 1, Total: 20}, {Done: 2, Total: 20}, {Done: 3, Total: 20}, {Done: 20, Total: 20}}, "replay: 1/20\nreplay: 2/20\nreplay: 20/20\n"},
		{"a move task's repeated checks", false, []dlq.Progress{{Done: 0, Total: 5}, {Done: 0, Total: 5}, {Done: 5, Total: 5}}, "replay: 0/5\nreplay: 5/5\n"},
		{"bar on a terminal", true, []dlq.Progress{{Done: 1, Total: 2}, {Done: 1, Total: 2}, {Done: 2, Total: 2}}, "\rreplay [===============               ] 1/2\rreplay [==============================] 2/2\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			p := newDLQProgress(&b)
			p.tty = tc.tty
			for _, s := range tc.steps {
				p.update(s)
			}
			p.finish()
			if b.String() != tc.want {
				t.Errorf("progress wrote %q, want %q", b.String(), tc.want)
			}
		})
	}
}

// Table cells never carry control characters from an error text.
func TestDLQCell(t *testing.T) {
	if got := cell("a\tb\n\x1b[31mc", 70); regexp.MustCompile(`[\x00-\x1f]`).MatchString(got) {
		t.Errorf("cell kept a control character: %q", got)
	}
	if got := cell(strings.Repeat("é", 100), 10); len([]rune(got)) != 10 {
		t.Errorf("cell did not cut to 10 runes: %q", got)
	}
}

// `cogmail dlq stats` and `dlq list`, five times each against an idle DLQ
// of 58, count 58 every time, with nothing in flight before or after: each
// run releases what it read.
func TestDLQCountsAreStable(t *testing.T) {
	t.Parallel()
	const n = 58
	s := newDLQStack(t, dlqtest.SQSLocal)
	for i := 4; i < n; i++ { // newDLQStack put 4
		s.Add(t, dlqtest.Message{Reason: "retries-exhausted", Detail: "last failure: breakers-open", Attempts: 5})
	}
	for run := 1; run <= 5; run++ {
		code, out, errb := s.run(t, "", "stats", "--json")
		var st dlq.Stats
		if err := json.Unmarshal([]byte(out), &st); code != exitOK || err != nil {
			t.Fatalf("stats, run %d: exit %d, %v:\n%s%s", run, code, err, out, errb)
		}
		if st.Visible != n || st.InFlight != 0 || st.Scanned != n {
			t.Errorf("stats, run %d: %d visible, %d in flight, %d read; want %d, 0, %d", run, st.Visible, st.InFlight, st.Scanned, n, n)
		}
		code, out, errb = s.run(t, "", "list", "--json")
		var ms []dlq.Message
		if err := json.Unmarshal([]byte(out), &ms); code != exitOK || err != nil {
			t.Fatalf("list, run %d: exit %d, %v:\n%s%s", run, code, err, out, errb)
		}
		if len(ms) != n {
			t.Errorf("list, run %d: %d messages, want %d", run, len(ms), n)
		}
		if v, inFlight := s.Count(t, s.DLQ); v != n || inFlight != 0 {
			t.Errorf("after run %d: %d visible, %d in flight", run, v, inFlight)
		}
	}
}
