package main

import (
	"strings"
	"testing"
)

// TestHelpGoesToStdout: every command's --help is its output (stdout, exit
// 0), so `cogmail local --help | less` shows it; nothing goes to stderr.
func TestHelpGoesToStdout(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"help"}, {"help", "dlq"}, {"local", "--help"}, {"local", "-h"}, {"event", "--help"}, {"invoke", "--help"},
		{"templates", "preview", "--help"}, {"attach", "--help"}, {"providers", "--help"}, {"providers", "show", "--help"},
		{"config", "--help"}, {"config", "check", "--help"}, {"dlq", "--help"}, {"dlq", "list", "--help"}, {"suppressions", "--help"},
		{"suppressions", "help"}, {"help", "suppressions"}, {"queue", "--help"}, {"queue", "stats", "--help"}, {"dlq", "help"},
	} {
		code, out, stderr := runCmd(t, args...)
		if code != exitOK || !strings.Contains(out, "usage: cogmail") || stderr != "" {
			t.Errorf("%s: exit %d, stdout %d bytes, stderr %q", strings.Join(args, " "), code, len(out), stderr)
		}
	}
}

// TestDidYouMean: a misspelled command, subcommand or flag is named with
// the nearest known one, in a line or two, not a page of usage.
func TestDidYouMean(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"lcoal"}, `unknown command "lcoal"; did you mean local?`},
		{[]string{"suppresions", "list"}, "did you mean suppressions?"},
		{[]string{"dlq", "purg"}, "did you mean purge?"},
		{[]string{"providers", "sho"}, "did you mean show?"},
		{[]string{"config", "chek"}, "did you mean check?"},
		{[]string{"templates", "previw"}, "did you mean preview?"},
		{[]string{"queue", "stat"}, "did you mean stats?"},
		{[]string{"suppressions", "lst"}, "did you mean list?"},
		{[]string{"local", "--onse"}, "unknown flag --onse; did you mean --once?"},
		{[]string{"local", "-adr", "127.0.0.1:0"}, "unknown flag -adr; did you mean --addr?"},
		{[]string{"invoke", "--evnt", "x.json"}, "did you mean --event?"},
		{[]string{"event", "--trigger", "SignUp", "--emial", "a@b.c"}, "did you mean --email?"},
		{[]string{"config", "check", "--pnig"}, "did you mean --ping?"},
		{[]string{"providers", "set", "ses", "--dryrun"}, "did you mean --dry-run?"},
		{[]string{"templates", "preview", "--ot", "x"}, "did you mean --out?"},
		{[]string{"attach", "--user-pool", "x"}, "did you mean --user-pool-id?"},
	}
	for _, tc := range cases {
		code, out, stderr := runCmd(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr lacks %q:\n%s", strings.Join(tc.args, " "), code, tc.want, stderr)
		}
		if n := strings.Count(stderr, "\n"); n > 3 || out != "" {
			t.Errorf("%s: %d lines on stderr, %d bytes on stdout: want a short answer", strings.Join(tc.args, " "), n, len(out))
		}
	}
	// A value that starts with a dash is a value, not a flag.
	if code, _, stderr := runCmd(t, "dlq", "list", "--older-than", "-5m", "--queue", "http://127.0.0.1:1/1/q"); code != exitUsage || !strings.Contains(stderr, "--older-than") {
		t.Errorf("--older-than -5m: exit %d\n%s", code, stderr)
	}
}

func TestClosest(t *testing.T) {
	cands := []string{"local", "event", "invoke", "dlq", "providers"}
	for in, want := range map[string]string{"lcoal": "local", "evnet": "event", "dql": "dlq", "provider": "providers", "xyz": "", "inv": "invoke", "q": ""} {
		if got := closest(in, cands); got != want {
			t.Errorf("closest(%q) = %q, want %q", in, got, want)
		}
	}
}
