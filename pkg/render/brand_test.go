package render_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/render"
	"github.com/cogmail/cogmail/pkg/secret"
)

// TestBrandColorsAndProductURL checks that a brand's colours land in the
// inlined styles (and the defaults are gone), and that the header links to
// the product.
func TestBrandColorsAndProductURL(t *testing.T) {
	t.Parallel()
	r := newRenderer(t, render.Options{Brand: render.Brand{
		ProductName: "Teal", ProductURL: "https://teal.example/",
		Colors: render.Colors{Accent: "#0f766e", Background: "#f0fdfa", Text: "#134e4a"},
	}})
	in := render.Input{Trigger: cognito.AccountTakeOverNotification, Attributes: map[string]string{
		cognito.AttrEventResponse: "NO_ACTION", cognito.AttrOneClickLinkValid: "https://x.example/yes",
	}}
	e, err := r.Render(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"background-color:#0f766e", "background-color:#f0fdfa", "color:#134e4a", `href="https://teal.example/"`} {
		if !strings.Contains(strings.ReplaceAll(e.HTML, " ", ""), strings.ReplaceAll(want, " ", "")) {
			t.Errorf("HTML lacks %s", want)
		}
	}
	for _, gone := range []string{"#2563eb", "--cogmail-"} {
		if strings.Contains(e.HTML, gone) {
			t.Errorf("HTML still has %s", gone)
		}
	}
	plain := newRenderer(t, render.Options{})
	e2, err := plain.Render(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e2.HTML, "#2563eb") || strings.Contains(e2.HTML, "--cogmail-") {
		t.Error("without brand colours the layout's defaults must be inlined")
	}
}

// TestOneTriggerOverride checks that a brand directory holding one trigger's
// templates replaces that trigger only; the others fall back to the built-ins.
func TestOneTriggerOverride(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "en"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"SignUp.subject.txt": "Admin code",
		"SignUp.html":        `<h1>Admin</h1><p class="code">{{.Code}}</p>`,
		"SignUp.txt":         "Admin {{.Code}}",
	} {
		if err := os.WriteFile(filepath.Join(dir, "en", name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := newRenderer(t, render.Options{Brand: render.Brand{ProductName: "Admin"}, OverrideDir: dir})
	e, err := r.Render(render.Input{Trigger: cognito.SignUp, Locale: "en", Code: secret.New("123456")})
	if err != nil {
		t.Fatal(err)
	}
	if e.Subject != "Admin code" || !strings.Contains(e.HTML, "<h1") || !strings.Contains(e.Text, "Admin 123456") {
		t.Errorf("override not used: %q / %q", e.Subject, e.Text)
	}
	f, err := r.Render(render.Input{Trigger: cognito.ForgotPassword, Locale: "en", Code: secret.New("123456")})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(f.Text, "Admin 123456") || !strings.Contains(f.Text, "123456") {
		t.Errorf("ForgotPassword did not fall back to the built-in template: %q", f.Text)
	}
}

// TestBrandProblemsInAStableOrder: every bad colour and URL is reported,
// always in the same order (the fields' order, not a map's).
func TestBrandProblemsInAStableOrder(t *testing.T) {
	t.Parallel()
	o := render.Options{Brand: render.Brand{
		SupportURL: "ftp://s", LogoURL: "ftp://l", ProductURL: "ftp://p",
		Colors: render.Colors{Accent: "red", Background: "blue", Text: "green"},
	}}
	want := strings.Join([]string{
		"render: Brand.Colors.Accent must be a hex colour (#rgb or #rrggbb)",
		"render: Brand.Colors.Background must be a hex colour (#rgb or #rrggbb)",
		"render: Brand.Colors.Text must be a hex colour (#rgb or #rrggbb)",
		"render: Brand.SupportURL must be an absolute http(s) URL",
		"render: Brand.LogoURL must be an absolute http(s) URL",
		"render: Brand.ProductURL must be an absolute http(s) URL",
	}, "\n")
	for i := 0; i < 20; i++ {
		if _, err := render.New(o); err == nil || err.Error() != want {
			t.Fatalf("run %d:\n%v\nwant:\n%s", i, err, want)
		}
	}
}
