package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}, args)
	return code, out.String(), errb.String()
}

func TestLocalOnce(t *testing.T) {
	code, out, stderr := runCmd(t, "local", "--once", "--addr", "127.0.0.1:0")
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{"SignUp", "AccountTakeOverNotification", "8 of 8 sample emails delivered"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// The raw AES key can come from the environment, so that it does not show
// in ps; the flag wins over it.
func TestLocalAESKeyFromEnvironment(t *testing.T) {
	key := strings.Repeat("ab", 32)
	cases := []struct {
		name string
		env  string
		args []string
		code int
		want string
	}{
		{"from the environment", key, []string{"--aes-key-namespace", "ns", "--aes-key-name", "k"}, exitOK, "codes: raw AES ns/k"},
		{"bad in the environment", "abc", []string{"--aes-key-namespace", "ns", "--aes-key-name", "k"}, exitUsage, "COGMAIL_LOCAL_AES_KEY_HEX needs 64 hex characters"},
		{"the flag wins", "abc", []string{"--aes-key-hex", key, "--aes-key-namespace", "ns", "--aes-key-name", "k"}, exitOK, "codes: raw AES ns/k"},
		{"named in --help", "", []string{"--help"}, exitOK, "COGMAIL_LOCAL_AES_KEY_HEX"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			getenv := func(k string) string {
				if k == "COGMAIL_LOCAL_AES_KEY_HEX" {
					return tc.env
				}
				return ""
			}
			args := append([]string{"local", "--once", "--addr", "127.0.0.1:0"}, tc.args...)
			code := run(context.Background(), &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: getenv}, args)
			if code != tc.code || !strings.Contains(out.String()+errb.String(), tc.want) {
				t.Errorf("exit %d (want %d); output lacks %q:\n%s%s", code, tc.code, tc.want, out.String(), errb.String())
			}
		})
	}
}

func TestLocalFlags(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"help", []string{"local", "--help"}, exitOK, "Examples:"},
		{"bad aes key", []string{"local", "--once", "--aes-key-hex", "abc"}, exitUsage, "--aes-key-hex"},
		{"missing seed", []string{"local", "--once", "--kms-seed", "/nonexistent.yaml"}, exitUsage, "--kms-seed"},
		{"public address", []string{"local", "--once", "--addr", "0.0.0.0:0"}, exitFailed, "loopback"},
		{"unknown command", []string{"nope"}, exitUsage, "unknown command"},
		{"bad fault", []string{"local", "--once", "--fail", "postmark=0.5"}, exitUsage, "--fail"},
		{"invalid brands", []string{"local", "--once", "--brands", "testdata/brands-invalid.yaml"}, exitUsage, "brands[0].from.address"},
		{"invalid brands lists every problem", []string{"local", "--once", "--brands", "testdata/brands-invalid.yaml"}, exitUsage, "brands[1].colors.accent"},
		{"two brands", []string{"local", "--once", "--addr", "127.0.0.1:0", "--brands", "../../docs/brands.yaml"}, exitOK, "8 of 8 sample emails delivered"},
		{"bad pool id", []string{"local", "--once", "--user-pool-id", "userpool/x"}, exitUsage, `"userpool/x" is not a user pool id`},
		{"bad log level", []string{"local", "--once", "--log-level", "loud"}, exitUsage, "--log-level"},
		{"bad log format", []string{"local", "--once", "--log-format", "xml"}, exitUsage, "--log-format"},
		{"every provider down", []string{"local", "--once", "--addr", "127.0.0.1:0", "--wait", "3s", "--fail", "ses=1,sendgrid=1,mailgun=1,smtp=1"}, exitFailed, "0 of 8 sample emails delivered"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := runCmd(t, tc.args...)
			if code != tc.code || !strings.Contains(out+stderr, tc.want) {
				t.Errorf("exit %d (want %d); output lacks %q:\n%s%s", code, tc.code, tc.want, out, stderr)
			}
		})
	}
}

// cogmail local is quiet by default (the functions' log lines from warn up,
// as text: none when every sample is delivered) and shows them on stderr
// when asked: JSON or text, from the level asked for; each names its function.
func TestLocalShowsFunctionLogs(t *testing.T) {
	cases := []struct {
		name     string
		flags    []string
		want     []string
		wantNone []string
		json     bool
	}{
		{"default: quiet", nil, nil, []string{"level", "function", "msg"}, false},
		{"json from info", []string{"--log-format", "json", "--log-level", "info"}, []string{`"function":"ingest"`, `"function":"dispatch"`, `"level":"INFO"`, `"msg":"sent"`}, nil, true},
		{"text from info", []string{"--log-level", "info"}, []string{"function=ingest", "function=dispatch", "level=INFO", "msg=sent"}, []string{`{"time"`}, false},
		{"errors only", []string{"--log-level", "error"}, nil, []string{"level", "function"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := runCmd(t, append([]string{"local", "--once", "--addr", "127.0.0.1:0"}, tc.flags...)...)
			if code != exitOK {
				t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			for _, w := range tc.wantNone {
				if strings.Contains(stderr, w) {
					t.Errorf("stderr has %q:\n%s", w, stderr)
				}
			}
			if strings.Contains(out, `"level"`) || strings.Contains(out, "level=") {
				t.Errorf("log lines on stdout:\n%s", out)
			}
			if tc.json {
				for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
					if !json.Valid([]byte(line)) {
						t.Errorf("not a JSON line: %s", line)
					}
				}
			}
		})
	}
}
