package preview_test

import (
	"image"
	"image/color"
	_ "image/png" // decodes the screenshots
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cogmail/cogmail/internal/ops/preview"
	"github.com/cogmail/cogmail/internal/testkit/browser"
	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/render"
)

func writeGallery(t *testing.T, dir string) *preview.Gallery {
	t.Helper()
	r, err := render.New(render.Options{Brand: render.Brand{ProductName: "Acme", SupportURL: "https://acme.example/help"}, CheckAll: true})
	if err != nil {
		t.Fatal(err)
	}
	g, err := preview.Write(dir, r)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	g := writeGallery(t, dir)
	if want := (len(cognito.Triggers) + 1) * 5; len(g.Entries) != want || len(g.Locales) != 5 || g.Templates[len(g.Templates)-1] != render.Generic {
		t.Fatalf("%d entries, locales %v, templates %v; want %d entries, 5 locales, Generic last", len(g.Entries), g.Locales, g.Templates, want)
	}
	index, err := os.ReadFile(g.Index)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range g.Entries {
		for _, p := range []string{e.HTML, e.Text} {
			if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p))); err != nil {
				t.Errorf("%s/%s: %v", e.Locale, e.Template, err)
			}
			if !strings.Contains(string(index), `href="`+p+`"`) {
				t.Errorf("index.html has no link to %s", p)
			}
		}
		if e.Subject == "" || !strings.Contains(string(index), `<iframe src="`+e.HTML+`"`) {
			t.Errorf("%s/%s: subject %q, or no iframe in index.html", e.Locale, e.Template, e.Subject)
		}
	}

	cases := []struct {
		name, file string
		want       []string
		wantNot    []string
	}{
		{"code", "en/SignUp.txt", []string{preview.SampleCode, "24 hours"}, nil},
		{"password verbatim in text", "en/AdminCreateUser.txt", []string{preview.SamplePassword, preview.SampleUserName}, nil},
		{"password escaped in HTML", "en/AdminCreateUser.html", []string{"Tmp&lt;Pa55&gt;&amp;w0rd"}, []string{preview.SamplePassword}},
		{"sign-in details", "de/AccountTakeOverNotification.txt", []string{"Lisbon", "203.0.113.7"}, []string{preview.SampleCode}},
		{"generic", "fr/Generic.html", []string{preview.SampleCode}, nil},
		{"support link", "es/SignUp.html", []string{"https://acme.example/help"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("%s lacks %q", tc.file, w)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(string(b), w) {
					t.Errorf("%s contains %q", tc.file, w)
				}
			}
		})
	}
}

func TestWriteUnwritableDir(t *testing.T) {
	// A Renderer made without CheckAll renders lazily; a directory that cannot
	// be written is Write's own error.
	r, err := render.New(render.Options{Brand: render.Brand{ProductName: "Acme"}})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := preview.Write(file, r); err == nil || !strings.Contains(err.Error(), "preview: ") {
		t.Errorf("Write into a file: %v, want a preview error", err)
	}
}

func TestGalleryInChromium(t *testing.T) {
	bin := browser.Chromium(t)
	dir := t.TempDir()
	writeGallery(t, dir)
	cases := []struct {
		name, page string
		mustHave   color.RGBA // a colour only the page's CSS paints
	}{
		{"gallery", "index.html", color.RGBA{0x1f, 0x29, 0x37, 0xff}},                          // the table header
		{"email", "en/SignUp.html", color.RGBA{0xf3, 0xf4, 0xf6, 0xff}},                        // the email's background
		{"email with password", "de/AdminCreateUser.html", color.RGBA{0xf3, 0xf4, 0xf6, 0xff}}, // likewise
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			page := (&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(dir, filepath.FromSlash(tc.page)))}).String()
			browser.CheckRendered(t, browser.Screenshot(t, bin, page), tc.mustHave)
		})
	}
}

// galleryHeader is the colour of the gallery's table header: only its CSS
// paints it.
var galleryHeader = color.RGBA{0x1f, 0x29, 0x37, 0xff}

// rightmost returns the largest x of a pixel of colour c, or -1.
func rightmost(img image.Image, c color.RGBA) int {
	b := img.Bounds()
	for x := b.Max.X - 1; x >= b.Min.X; x-- {
		for y := b.Min.Y; y < b.Max.Y; y++ {
			if color.RGBAModel.Convert(img.At(x, y)).(color.RGBA) == c {
				return x
			}
		}
	}
	return -1
}

// TestGalleryFits1400: in a 1400 px window the gallery's table, every
// locale's column included, ends before the window's edge: its header row
// does not run off the page.
func TestGalleryFits1400(t *testing.T) {
	bin := browser.Chromium(t)
	dir := t.TempDir()
	g := writeGallery(t, dir)
	if len(g.Locales) < 5 {
		t.Fatalf("%d locales; the test is about five", len(g.Locales))
	}
	page := (&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(dir, "index.html"))}).String()
	img := browser.ScreenshotSize(t, bin, page, 1400, 900)
	x := rightmost(img, galleryHeader)
	if x < 0 {
		t.Fatal("no table header in the screenshot")
	}
	// A scroll bar may take the last 15 px; the table must end before it.
	if x >= 1400-20 {
		t.Errorf("the table's header reaches x=%d of 1400: the last locale is cut off", x)
	}
}
