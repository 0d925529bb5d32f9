package infra

import (
	"archive/zip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeZip writes a Lambda-style zip with one entry.
func writeZip(t *testing.T, path, name string, mode os.FileMode, body string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	h := &zip.FileHeader{Name: name, Method: zip.Deflate}
	h.SetMode(mode)
	w, err := zw.CreateHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(body)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestPackage(t *testing.T) {
	good := func(t *testing.T, dir, fn string) {
		writeZip(t, filepath.Join(dir, fn+".zip"), "bootstrap", 0o755, "\x7fELF...")
	}
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string)
		wantErr []string // substrings; nil means success
	}{
		{"every function built", func(t *testing.T, dir string) {
			good(t, dir, "ingest")
			good(t, dir, "dispatch")
			good(t, dir, "events")
		}, nil},
		{"dispatch not built", func(t *testing.T, dir string) {
			good(t, dir, "ingest")
			good(t, dir, "events")
		}, []string{"DispatchFunction", "dispatch.zip", "make build"}},
		{"nothing built", func(t *testing.T, dir string) {}, []string{"IngestFunction", "DispatchFunction"}},
		{"bootstrap not executable", func(t *testing.T, dir string) {
			good(t, dir, "ingest")
			good(t, dir, "events")
			writeZip(t, filepath.Join(dir, "dispatch.zip"), "bootstrap", 0o644, "\x7fELF")
		}, []string{"dispatch.zip: bootstrap is not executable"}},
		{"no bootstrap in the zip", func(t *testing.T, dir string) {
			good(t, dir, "dispatch")
			good(t, dir, "events")
			writeZip(t, filepath.Join(dir, "ingest.zip"), "main", 0o755, "\x7fELF")
		}, []string{"ingest.zip has no bootstrap"}},
		{"not a zip", func(t *testing.T, dir string) {
			good(t, dir, "dispatch")
			good(t, dir, "events")
			if err := os.WriteFile(filepath.Join(dir, "ingest.zip"), []byte("not a zip"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, []string{"ingest.zip is not a zip"}},
	}
	src := loadStack(t, templatePath)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			tt.setup(t, dir)
			arts, err := Package(templatePath, dir)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatal("packaged without error")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				if _, err := os.Stat(filepath.Join(dir, "template.yaml")); !os.IsNotExist(err) {
					t.Errorf("a template was written despite the error (stat: %v)", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkPackaged(t, src, dir, []string{"dispatch.zip", "events.zip", "ingest.zip"})
			if len(arts) != 3 || arts[0].Resource != "DispatchFunction" || arts[1].CodeURI != "events.zip" || arts[2].CodeURI != "ingest.zip" || arts[2].Bytes == 0 {
				t.Errorf("artifacts %+v", arts)
			}
		})
	}
}

// checkPackaged parses dir/template.yaml, checks that each function's
// CodeUri is a zip in dir, and that nothing but the CodeUris changed.
func checkPackaged(t *testing.T, src *stack, dir string, wantZips []string) {
	t.Helper()
	out := loadStack(t, filepath.Join(dir, "template.yaml"))
	var zips []string
	for _, id := range out.resourcesOfType("AWS::Serverless::Function") {
		f, err := out.tpl.GetServerlessFunctionWithName(id)
		if err != nil {
			t.Fatal(err)
		}
		uri := *f.CodeUri.String
		zips = append(zips, uri)
		if filepath.IsAbs(uri) || strings.Contains(uri, "/") {
			t.Errorf("%s CodeUri %q is not beside the packaged template", id, uri)
		}
		if _, err := os.Stat(filepath.Join(dir, uri)); err != nil {
			t.Errorf("%s: %v", id, err)
		}
		// Put the source's CodeUri back: the rest must be identical.
		srcURI := dig(src.rawProps(id), "CodeUri")
		out.rawProps(id)["CodeUri"] = srcURI
	}
	if !reflect.DeepEqual(zips, wantZips) {
		t.Errorf("CodeUris %v, want %v", zips, wantZips)
	}
	if !reflect.DeepEqual(out.raw, src.raw) {
		t.Error("packaging changed more than the CodeUris")
	}
}

// `make package` on this tree: it builds every function that has a main and
// packs them into a fresh DIST. While functions/dispatch has no main yet
// (it is written in parallel), packaging must fail naming the missing zip,
// with ingest built and the template still pointing at both zips.
func TestMakePackage(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatalf("make is required: %v", err)
	}
	dist := t.TempDir()
	cmd := exec.Command("make", "package", "DIST="+dist)
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	mains, _ := filepath.Glob("../functions/dispatch/*.go")
	dispatchBuilt := len(mains) > 0
	if !dispatchBuilt {
		if err == nil {
			t.Fatalf("make package succeeded without a dispatch zip:\n%s", out)
		}
		if !strings.Contains(string(out), "dispatch.zip") {
			t.Errorf("the failure does not name dispatch.zip:\n%s", out)
		}
		if _, err := os.Stat(filepath.Join(dist, "ingest.zip")); err != nil {
			t.Errorf("ingest was not built: %v\n%s", err, out)
		}
		return
	}
	if err != nil {
		t.Fatalf("make package: %v\n%s", err, out)
	}
	checkPackaged(t, loadStack(t, templatePath), dist, []string{"dispatch.zip", "events.zip", "ingest.zip"})
	for _, zipName := range []string{"dispatch.zip", "events.zip", "ingest.zip"} {
		if _, err := checkZip(filepath.Join(dist, zipName)); err != nil {
			t.Error(err)
		}
	}
}
