// Package browser takes screenshots of pages in headless Chromium (Debian's
// chromium) for tests that check what a person would see, and measures them.
package browser

import (
	"context"
	"fmt"
	"image"
	"image/color"
	_ "image/png" // screenshots are PNG
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Chromium finds Debian's chromium. Under CI (CI=true) it must be there
// (.ci/run installs it); a developer machine without it skips the test,
// saying how to install it.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"chromium", "/usr/bin/chromium"} {
		if bin, err := exec.LookPath(p); err == nil {
			return bin
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is required under CI (.ci/run installs Debian's chromium)")
	}
	t.Skip("chromium not installed: apt-get install -y chromium (Debian) to run the browser test")
	return ""
}

// Screenshot renders the page at url (file:// or http://127.0.0.1) at
// 1200×900 and returns the decoded image.
func Screenshot(t testing.TB, bin, url string) image.Image {
	t.Helper()
	return ScreenshotSize(t, bin, url, 1200, 900)
}

// ScreenshotSize renders the page at url in a window of width×height. With
// COGMAIL_SCREENSHOTS=DIR set, it also keeps a copy there, named for the
// test, for a person to look at.
func ScreenshotSize(t testing.TB, bin, url string, width, height int) image.Image {
	t.Helper()
	tmp := t.TempDir()
	out := filepath.Join(tmp, "shot.png")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		// A sandboxed iframe (the galleries' and the inbox's email previews)
		// gets a renderer process of its own (IsolateSandboxedIframes), and
		// --screenshot does not wait for that process's first frame: under
		// load the previews came out blank. In the page's own process they
		// are painted with it.
		"--disable-features=IsolateSandboxedIframes",
		"--user-data-dir="+filepath.Join(tmp, "profile"), "--screenshot="+out, fmt.Sprintf("--window-size=%d,%d", width, height), url)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+tmp, "XDG_CACHE_HOME="+tmp)
	cmd.WaitDelay = 10 * time.Second
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, b)
	}
	if dir := os.Getenv("COGMAIL_SCREENSHOTS"); dir != "" {
		if b, err := os.ReadFile(out); err == nil {
			name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
			if f, err := os.CreateTemp(dir, name+"-*.png"); err == nil {
				_, _ = f.Write(b)
				_ = f.Close()
			}
		}
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, format, err := image.Decode(f)
	if err != nil || format != "png" {
		t.Fatalf("screenshot does not decode as PNG: %v (%s)", err, format)
	}
	return img
}

// Colours counts the pixels of each colour.
func Colours(img image.Image) map[color.RGBA]int {
	counts := map[color.RGBA]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			counts[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	return counts
}

// CheckRendered fails the test unless img is 1200×900, is not blank
// (anti-aliased text gives many shades; no colour covers 97% of it), and
// has pixels of mustHave, a colour only the page's CSS paints.
func CheckRendered(t testing.TB, img image.Image, mustHave color.RGBA) {
	t.Helper()
	b := img.Bounds()
	if b.Dx() != 1200 || b.Dy() != 900 {
		t.Fatalf("screenshot is %dx%d, want 1200x900", b.Dx(), b.Dy())
	}
	counts := Colours(img)
	top := 0
	for _, n := range counts {
		top = max(top, n)
	}
	if len(counts) < 32 || top > b.Dx()*b.Dy()*97/100 {
		t.Errorf("screenshot looks blank: %d distinct colours, the commonest covers %d of %d pixels", len(counts), top, b.Dx()*b.Dy())
	}
	if counts[mustHave] == 0 {
		t.Errorf("screenshot has no %v pixels: the page's CSS did not apply", mustHave)
	}
}
