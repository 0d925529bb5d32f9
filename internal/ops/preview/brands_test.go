package preview_test

import (
	"image/color"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cogmail/cogmail/internal/ops/preview"
	"github.com/cogmail/cogmail/internal/testkit/browser"
	"github.com/cogmail/cogmail/pkg/render"
)

// twoBrands writes the galleries of two brands that differ in look.
func twoBrands(t *testing.T, dir string) *preview.Brands {
	t.Helper()
	var brands []preview.Brand
	for _, b := range []render.Brand{
		{ProductName: "Teal", Colors: render.Colors{Accent: "#0f766e", Background: "#ccfbf1"}},
		{ProductName: "Rose Admin", Colors: render.Colors{Accent: "#b91c1c", Background: "#fecdd3"}},
	} {
		r, err := render.New(render.Options{Brand: b, CheckAll: true})
		if err != nil {
			t.Fatal(err)
		}
		brands = append(brands, preview.Brand{Name: b.ProductName, Renderer: r})
	}
	g, err := preview.WriteBrands(dir, brands)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestWriteBrands(t *testing.T) {
	g := twoBrands(t, t.TempDir())
	if len(g.Galleries) != 2 || g.Galleries[0].Dir != "teal" || g.Galleries[1].Dir != "rose-admin" || len(g.Galleries[1].Entries) != 45 {
		t.Fatalf("galleries %+v", g.Galleries)
	}
}

// TestBrandGalleriesInChromium: each brand's email, rendered by a real
// browser, paints that brand's background and not the other's.
func TestBrandGalleriesInChromium(t *testing.T) {
	bin := browser.Chromium(t)
	dir := t.TempDir()
	twoBrands(t, dir)
	teal, rose := color.RGBA{0xcc, 0xfb, 0xf1, 0xff}, color.RGBA{0xfe, 0xcd, 0xd3, 0xff}
	cases := []struct {
		name, page    string
		mustHave, not color.RGBA
	}{
		{"teal", "teal/en/SignUp.html", teal, rose},
		{"rose admin", "rose-admin/en/SignUp.html", rose, teal},
		{"rose admin, another template", "rose-admin/de/ForgotPassword.html", rose, teal},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			page := (&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(dir, filepath.FromSlash(tc.page)))}).String()
			img := browser.Screenshot(t, bin, page)
			browser.CheckRendered(t, img, tc.mustHave)
			if n := browser.Colours(img)[tc.not]; n > 0 {
				t.Errorf("%s shows the other brand's background (%d pixels)", tc.page, n)
			}
		})
	}
}

// TestBrandIndexInTheGallerysStyle: the brands' index is a table in the
// gallery's look (its dark header), a column per brand with the brand's
// sign-up email, and fits 1400 px.
func TestBrandIndexInTheGallerysStyle(t *testing.T) {
	bin := browser.Chromium(t)
	dir := t.TempDir()
	twoBrands(t, dir)
	b, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`<a href="teal/index.html">Teal</a>`, `src="rose-admin/en/SignUp.html"`, "all 45 emails", "SignUp (en)"} {
		if !strings.Contains(string(b), w) {
			t.Errorf("index.html lacks %q", w)
		}
	}
	page := (&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(dir, "index.html"))}).String()
	img := browser.ScreenshotSize(t, bin, page, 1400, 900)
	if x := rightmost(img, galleryHeader); x < 0 || x >= 1400-20 {
		t.Errorf("the brands' index has no gallery header, or it runs off the page (x=%d)", x)
	}
	if browser.Colours(img)[color.RGBA{0xcc, 0xfb, 0xf1, 0xff}] == 0 {
		t.Error("the index shows no preview of Teal's email")
	}
}
