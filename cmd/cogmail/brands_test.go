package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBrandFileProblemsInOneRound: templates preview, local and config check
// report every problem of a brand file (a misspelt key, a bad value, a
// broken template) in one run, each with its file, line and key, with one
// exit code.
func TestBrandFileProblemsInOneRound(t *testing.T) {
	file := filepath.Join("testdata", "brands-every-problem.yaml")
	want := []string{
		file + `:6: brands[0].fromm: unknown key; did you mean "from"?`,
		file + `:9: brands[1].colors.accent: "blue" is not a hex colour`,
		file + `:10: brands[1].templates: template: ` + filepath.Join("testdata", "brands-broken", "en", "SignUp.subject.txt") + `:`,
	}
	kms := "arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555"
	for _, tc := range []struct {
		name string
		vars map[string]string
		args []string
		code int
	}{
		{"templates preview", nil, []string{"templates", "preview", "--out", t.TempDir(), "--brands", file}, exitUsage},
		{"local", nil, []string{"local", "--once", "--addr", "127.0.0.1:0", "--brands", file}, exitUsage},
		{"config check", map[string]string{"COGMAIL_BRANDS_FILE": file, "COGMAIL_KMS_KEY_ARN": kms, "COGMAIL_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/111122223333/q"},
			[]string{"config", "check", "--function", "ingest"}, exitFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCmdGetenv(t, tc.vars, "", tc.args...)
			out := stdout + stderr
			if code != tc.code {
				t.Errorf("exit %d, want %d:\n%s", code, tc.code, out)
			}
			last := -1
			for _, w := range want {
				i := strings.Index(out, w)
				if i < 0 {
					t.Errorf("output lacks %q:\n%s", w, out)
					continue
				}
				if i < last {
					t.Errorf("%q is out of the file's order:\n%s", w, out)
				}
				last = i
			}
			for _, internal := range []string{"recipient:", "validate:", "render:", "not a brand document", "brand.Brand"} {
				if strings.Contains(out, internal) {
					t.Errorf("output says %q:\n%s", internal, out)
				}
			}
		})
	}
}

// TestBrandFileSMSWarning: a brand whose name makes its built-in SMS texts
// longer than the default segment limit passes the brand-file checks of
// templates preview and config check (an email-only pool must keep
// starting), with a warning naming the brand, the template, its worst-case
// segments and the fix; with smsSegments: 1 set, the same brand is refused on
// that key.
func TestBrandFileSMSWarning(t *testing.T) {
	name := strings.Repeat("N", 60)
	doc := "brands:\n  - name: " + name + "\n    from: {address: a@a.example}\n"
	kms := "arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555"
	for _, tc := range []struct {
		name, extra string
		code        int
		want        []string
		notWant     string
	}{
		{"default limit", "", exitOK, []string{"warning: ", `brand "` + name + `": its SMS texts take more than the default limit of 1 segment`,
			"de/ForgotPassword.sms.txt (2 segments, GSM-7)", "shorten its name or set smsSegments: 2"}, "✗"},
		{"explicit limit", "    smsSegments: 1\n", exitFailed, []string{":4: brands[0].smsSegments: embedded:de/ForgotPassword.sms.txt: its worst case",
			"over the brand's limit of 1"}, "warning"},
	} {
		file := filepath.Join(t.TempDir(), "brands.yaml")
		if err := os.WriteFile(file, []byte(doc+tc.extra), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, run := range []struct {
			name string
			vars map[string]string
			args []string
			code int
		}{
			{"templates preview", nil, []string{"templates", "preview", "--out", t.TempDir(), "--brands", file}, map[int]int{exitOK: exitOK, exitFailed: exitUsage}[tc.code]},
			{"config check", map[string]string{"COGMAIL_BRANDS_FILE": file, "COGMAIL_KMS_KEY_ARN": kms, "COGMAIL_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/111122223333/q",
				"COGMAIL_SEAL_KEY_ID": kms, "COGMAIL_USER_POOL_IDS": "us-east-1_AbCdEf123"}, []string{"config", "check", "--function", "ingest"}, tc.code},
		} {
			t.Run(tc.name+"/"+run.name, func(t *testing.T) {
				code, stdout, stderr := runCmdGetenv(t, run.vars, "", run.args...)
				out := stdout + stderr
				if code != run.code {
					t.Errorf("exit %d, want %d:\n%s", code, run.code, out)
				}
				for _, w := range tc.want {
					if !strings.Contains(out, w) {
						t.Errorf("output lacks %q:\n%s", w, out)
					}
				}
				if strings.Contains(out, tc.notWant) {
					t.Errorf("output says %q:\n%s", tc.notWant, out)
				}
			})
		}
	}
}
