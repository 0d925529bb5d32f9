package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cogmail/cogmail/internal/local/localstack"
)

// syncBuffer is a bytes.Buffer a running command writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startLocalCommand runs `cogmail local` in-process on a free port with its
// wiring in a temporary file, until stop is called (or the test ends). vars
// is an environment with nothing but that file's name: what a user's shell
// has when the exports were never pasted.
func startLocalCommand(t *testing.T, args ...string) (vars map[string]string, url string, stop func() int) {
	t.Helper()
	vars = map[string]string{
		"COGMAIL_LOCAL_ENV":         filepath.Join(t.TempDir(), "local.env"),
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	}
	var out, errb syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string { return vars[k] }},
			append([]string{"local", "--addr", "127.0.0.1:0"}, args...))
	}()
	var once sync.Once
	code := -1
	stop = func() int {
		once.Do(func() { cancel(); code = <-done })
		return code
	}
	t.Cleanup(func() { stop() })
	for !strings.Contains(out.String(), "Running; Ctrl-C to stop.") {
		select {
		case c := <-done:
			t.Fatalf("cogmail local exited %d:\n%s%s", c, out.String(), errb.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	m := regexp.MustCompile(`cogmail local stack on (http://\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no address in:\n%s", out.String())
	}
	return vars, m[1], stop
}

// TestLocalPublishesItsWiring: a stack on a non-default address writes its
// wiring file, and every command that talks to the local stack finds it
// there with no flag or variable (the event made with the stack's key, the
// invocation, the DLQ, the routing, the suppressions, the local dispatch
// configuration with its fakes pinged), saying on stderr which endpoint it
// used. The file goes when the stack stops.
func TestLocalPublishesItsWiring(t *testing.T) {
	vars, url, stop := startLocalCommand(t)
	file := vars["COGMAIL_LOCAL_ENV"]
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("wiring file mode %v, want 0600 (it holds the fakes' keys)", st.Mode().Perm())
	}
	b, _ := os.ReadFile(file)
	w, err := parseEnvFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if w["COGMAIL_LOCAL_URL"] != url || w["COGMAIL_SENDER_EMAIL"] == "" || w["COGMAIL_SENDGRID_BASE_URL"] == "" {
		t.Errorf("wiring lacks the stack's URL, sender or fakes:\n%s", b)
	}
	where := "the local stack at " + url
	ev := filepath.Join(t.TempDir(), "ev.json")
	cases := []struct {
		name string
		args []string
		want string // on stdout
	}{
		{"event with the stack's key", []string{"event", "--trigger", "SignUp", "--email", "ana@example.com", "--out", ev}, ""},
		{"invoke", []string{"invoke", "--event", ev}, `"messageId"`},
		{"dlq stats", []string{"dlq", "stats"}, "cogmail-emails-dlq"},
		{"dlq list by queue name", []string{"dlq", "list", "--queue", localstack.DLQName}, "0 messages"},
		{"providers show", []string{"providers", "show"}, "failover: ses"},
		{"providers show, an empty --param is unset", []string{"providers", "show", "--param", ""}, "failover: ses"},
		{"queue stats", []string{"queue", "stats"}, "cogmail-emails"},
		{"suppressions list", []string{"suppressions", "list"}, "0 suppressed"},
		{"config check --local --ping", []string{"config", "check", "--local", "--ping"}, "config check: ok"},
		{"config check, nothing set", []string{"config", "check", "--function", "dispatch", "--ping"}, "routing  parameter /cogmail/providers"},
	}
	for _, tc := range cases {
		code, out, stderr := runCmdGetenv(t, vars, "", tc.args...)
		if code != exitOK || !strings.Contains(out, tc.want) || !strings.Contains(stderr, where) {
			t.Errorf("%s: exit %d; stdout lacks %q or stderr %q:\n%s%s", tc.name, code, tc.want, where, out, stderr)
		}
	}
	code, out, stderr := runCmdGetenv(t, vars, "", "local", "--print-env")
	if code != exitOK || !strings.Contains(out, "export COGMAIL_LOCAL_URL="+url+"\n") {
		t.Errorf("local --print-env: exit %d\n%s%s", code, out, stderr)
	}

	// A variable that names another queue wins over the wiring.
	other := map[string]string{"COGMAIL_DLQ_URL": "http://127.0.0.1:1/111122223333/elsewhere"}
	for k, v := range vars {
		other[k] = v
	}
	code, _, stderr = runCmdGetenv(t, other, "", "dlq", "stats", "--queue", "")
	if code != exitFailed || !strings.Contains(stderr, "SQS at http://127.0.0.1:1 (the queue URL's host, from COGMAIL_DLQ_URL)") {
		t.Errorf("--queue \"\" with COGMAIL_DLQ_URL set: exit %d\n%s", code, stderr)
	}

	if code := stop(); code != exitOK {
		t.Errorf("cogmail local exited %d", code)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("the wiring file outlived the stack: %v", err)
	}
	code, _, stderr = runCmdGetenv(t, vars, "", "local", "--print-env")
	if code != exitFailed || !strings.Contains(stderr, "no local stack runs here") {
		t.Errorf("local --print-env with no stack: exit %d\n%s", code, stderr)
	}
}

// TestQueueURLHostIsHonoured: a --queue URL's host is where the calls go,
// whatever AWS_ENDPOINT_URL_SQS says, and the error names it; a value that
// is neither a URL nor a queue name is refused as such.
func TestQueueURLHostIsHonoured(t *testing.T) {
	vars := map[string]string{"AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:2", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull}
	code, _, stderr := runCmdGetenv(t, vars, "", "dlq", "stats", "--queue", "http://127.0.0.1:1/111122223333/cogmail-emails-dlq")
	if code != exitFailed || !strings.Contains(stderr, "SQS at http://127.0.0.1:1 (the queue URL's host") ||
		!strings.Contains(stderr, "127.0.0.1:1/") || strings.Contains(stderr, "127.0.0.1:2") || strings.Contains(stderr, "amazonaws.com") {
		t.Errorf("exit %d:\n%s", code, stderr)
	}
	// replay's --source must be on the DLQ's endpoint: one client moves both.
	code, _, stderr = runCmdGetenv(t, vars, "", "dlq", "replay", "--queue", "http://127.0.0.1:1/111122223333/dlq", "--source", "http://127.0.0.1:3/111122223333/q", "--yes")
	if code != exitFailed || !strings.Contains(stderr, "is not on the DLQ's endpoint http://127.0.0.1:1") {
		t.Errorf("--source on another host: exit %d:\n%s", code, stderr)
	}
	for _, bad := range []string{"ftp://host/q", "http:///q", "not a name!"} {
		code, _, stderr := runCmdGetenv(t, vars, "", "dlq", "stats", "--queue", bad)
		if code != exitUsage || !strings.Contains(stderr, "queue") {
			t.Errorf("--queue %q: exit %d:\n%s", bad, code, stderr)
		}
	}
}

// TestLocalAddrInUse: a port already taken says how to pick another.
func TestLocalAddrInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	code, _, stderr := runCmd(t, "local", "--once", "--addr", ln.Addr().String())
	if code != exitFailed || !strings.Contains(stderr, ln.Addr().String()+" is in use") || !strings.Contains(stderr, "--addr") || !strings.Contains(stderr, "make run ADDR=") {
		t.Errorf("exit %d:\n%s", code, stderr)
	}
}

// TestOnceFailureSaysWhy: when samples fail under --once, each dead-letter
// reason and the providers' last errors are printed, with a command that
// still works after the stack has stopped (the same one without --once).
// SMTP's 550 is a recipient refused at RCPT TO: permanent.
func TestOnceFailureSaysWhy(t *testing.T) {
	code, out, stderr := runCmd(t, "local", "--once", "--addr", "127.0.0.1:0", "--providers", "smtp", "--fail", "smtp=550", "--wait", "20s")
	if code != exitFailed {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	for _, want := range []string{"FAILED: dead-lettered, reason permanent", "last smtp error: smtp: permanent (status 550",
		"0 of 8 sample emails delivered", "cogmail local --addr 127.0.0.1:0 --providers smtp --fail smtp=550 --wait 20s\n", "cogmail dlq list"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestEnvFileRoundTrip(t *testing.T) {
	vars := []localstack.Var{{Name: "A", Value: "plain"}, {Name: "B", Value: "two words"}, {Name: "C", Value: "it's"}, {Name: "D", Value: ""}, {Name: "E", Value: `$HOME "q" \x`}, {Name: "F", Value: "http://127.0.0.1:1/a,b=c"}}
	got, err := parseEnvFile(formatEnvFile("a header\non two lines", vars))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vars {
		if got[v.Name] != v.Value {
			t.Errorf("%s = %q, want %q", v.Name, got[v.Name], v.Value)
		}
	}
	if len(got) != len(vars) {
		t.Errorf("%d variables, want %d", len(got), len(vars))
	}
	for _, bad := range []string{"no equals sign", "1X=y", "X='open"} {
		if _, err := parseEnvFile([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
