package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTemplatesPreview(t *testing.T) {
	overrides := t.TempDir()
	if err := os.MkdirAll(filepath.Join(overrides, "en"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(overrides, "en", "SignUp.subject.txt"), []byte("Welcome aboard {{.Brand.ProductName}}"), 0o644); err != nil {
		t.Fatal(err)
	}
	broken := t.TempDir()
	if err := os.MkdirAll(filepath.Join(broken, "en"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(broken, "en", "SignUp.html"), []byte("<p>{{.Code</p>"), 0o644); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name      string
		args      []string // after --out DIR
		wantFiles map[string][]string
	}{
		{"defaults", nil, map[string][]string{
			"index.html":                  {"<iframe src=\"pt/AccountTakeOverNotification.html\"", "Generic", "Confirm your email address for Acme"},
			"en/SignUp.html":              {"123456"},
			"es/AdminCreateUser.txt":      {"Tmp<Pa55>&w0rd"},
			"fr/Generic.txt":              {"123456"},
			"de/ForgotPassword.html":      {"<html lang=\"de\""},
			"en/VerifyUserAttribute.html": {"Acme"},
		}},
		{"brand and overrides", []string{"--template-dir", overrides, "--product-name", "Zed & Co", "--logo-url", "https://zed.example/logo.png", "--support-url", "https://zed.example/help"}, map[string][]string{
			"index.html":     {"Welcome aboard Zed &amp; Co"},
			"en/SignUp.html": {"https://zed.example/logo.png", "https://zed.example/help"},
			"en/SignUp.txt":  {"Zed & Co"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "gallery")
			code, stdout, stderr := runCmd(t, append([]string{"templates", "preview", "--out", out}, tc.args...)...)
			if code != exitOK || !strings.Contains(stdout, "wrote 45 emails (9 templates × 5 locales)") || !strings.Contains(stdout, "file://") {
				t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
			}
			for file, wants := range tc.wantFiles {
				b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(file)))
				if err != nil {
					t.Fatal(err)
				}
				for _, w := range wants {
					if !strings.Contains(string(b), w) {
						t.Errorf("%s lacks %q", file, w)
					}
				}
			}
		})
	}

	errCases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"templates help", []string{"templates", "--help"}, exitOK, "preview"},
		{"no subcommand", []string{"templates"}, exitUsage, "usage: cogmail templates preview"},
		{"unknown subcommand", []string{"templates", "lint"}, exitUsage, "unknown subcommand"},
		{"preview help", []string{"templates", "preview", "--help"}, exitOK, "Examples:"},
		{"no --out", []string{"templates", "preview"}, exitUsage, "--out DIR is required"},
		{"bad logo URL", []string{"templates", "preview", "--out", t.TempDir(), "--logo-url", "javascript:alert(1)"}, exitUsage, "--logo-url"},
		{"broken override", []string{"templates", "preview", "--out", t.TempDir(), "--template-dir", broken}, exitFailed, "SignUp.html"},
		{"missing template dir", []string{"templates", "preview", "--out", t.TempDir(), "--template-dir", filepath.Join(broken, "nope")}, exitFailed, "nope"},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, tc.args...)
			if code != tc.code || !strings.Contains(stdout+stderr, tc.want) {
				t.Errorf("exit %d (want %d); output lacks %q:\n%s%s", code, tc.code, tc.want, stdout, stderr)
			}
		})
	}
}

func TestTemplatesPreviewBrands(t *testing.T) {
	out := filepath.Join(t.TempDir(), "gallery")
	code, stdout, stderr := runCmd(t, "templates", "preview", "--out", out, "--brands", "../../docs/brands.yaml")
	if code != exitOK || !strings.Contains(stdout, "Acme: wrote 45 emails") || !strings.Contains(stdout, "Acme Admin: wrote 45 emails") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	for file, wants := range map[string][]string{
		"index.html":                        {`href="acme/index.html"`, `href="acme-admin/index.html"`},
		"acme/en/SignUp.html":               {"#f0fdfa", "Confirm your email address"},
		"acme-admin/en/SignUp.html":         {"#fef2f2", "Admin console: confirm your email"}, // the brand's own template
		"acme-admin/en/ForgotPassword.html": {"#fef2f2", "Acme Admin"},                        // a built-in one, in the brand's look
	} {
		b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(file)))
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range wants {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s lacks %q", file, w)
			}
		}
	}
	code, _, stderr = runCmd(t, "templates", "preview", "--out", out, "--brands", "testdata/brands-invalid.yaml")
	if code != exitUsage || !strings.Contains(stderr, "brands[0].from.address") || !strings.Contains(stderr, "brands[1].colors.accent") {
		t.Errorf("invalid brands: exit %d\n%s", code, stderr)
	}
}
