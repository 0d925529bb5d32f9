package ingest_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cogmail/cogmail/pkg/brand"
	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/ingest"
	"github.com/cogmail/cogmail/pkg/recipient"
	"github.com/cogmail/cogmail/pkg/seal"
)

// keepSealer records each payload in clear, so a test can read what was sealed.
type keepSealer struct{ payloads []envelope.Payload }

func (k *keepSealer) Seal(_ context.Context, _ string, plaintext []byte) (seal.Sealed, error) {
	var p envelope.Payload
	if err := json.Unmarshal(plaintext, &p); err != nil {
		return seal.Sealed{}, err
	}
	k.payloads = append(k.payloads, p)
	return seal.Sealed{Ciphertext: []byte("ct"), DataKey: []byte("dk")}, nil
}

const brandDoc = `
default: Acme
brands:
  - name: Acme
    clientIds: [consumer]
    from: {address: no-reply@acme.example, name: Acme}
    colors: {accent: "#0f766e", background: "#f0fdfa"}
  - name: Acme Admin
    clientIds: [admin]
    from: {address: admin@acme.example, name: Acme Admin}
    replyTo: {address: security@acme.example, name: Security}
    colors: {accent: "#b91c1c", background: "#fef2f2"}
`

func TestBrandPerAppClient(t *testing.T) {
	set, err := brand.Parse([]byte(brandDoc))
	if err != nil {
		t.Fatal(err)
	}
	brands, err := ingest.NewBrandSet(set, "en")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := recipient.New(recipient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sl, pub := &keepSealer{}, &fakePublisher{}
	h, err := ingest.New(ingest.Deps{Decrypter: fakeDecrypter{code: "123456"}, Recipient: rc, Brands: brands, Sealer: sl, Publisher: pub},
		ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		client, brand, from, fromName, replyTo, accent string
	}{
		{"consumer", "Acme", "no-reply@acme.example", "Acme", "", "#f0fdfa"},
		{"admin", "Acme Admin", "admin@acme.example", "Acme Admin", "security@acme.example", "#fef2f2"},
		{"someone-else", "Acme", "no-reply@acme.example", "Acme", "", "#f0fdfa"},
	}
	for i, tc := range cases {
		ev := strings.Replace(event, `"clientId":"c"`, `"clientId":"`+tc.client+`"`, 1)
		res, err := h.Handle(context.Background(), []byte(ev))
		if err != nil {
			t.Fatal(err)
		}
		p, env := sl.payloads[i], pub.got[i]
		if res.Brand != tc.brand || env.Brand != tc.brand || env.Attributes()[envelope.AttrBrand] != tc.brand {
			t.Errorf("%s: brand = %q/%q, want %q", tc.client, res.Brand, env.Brand, tc.brand)
		}
		if p.From != tc.from || p.FromName != tc.fromName || p.ReplyTo != tc.replyTo {
			t.Errorf("%s: sealed sender %q %q reply-to %q, want %q %q %q", tc.client, p.From, p.FromName, p.ReplyTo, tc.from, tc.fromName, tc.replyTo)
		}
		if !strings.Contains(p.HTML, tc.accent) || !strings.Contains(p.HTML, tc.brand) {
			t.Errorf("%s: the HTML is not in the brand's look (%s)", tc.client, tc.accent)
		}
	}
}

func TestBrandTemplatesCheckedAtColdStart(t *testing.T) {
	set, err := brand.Parse([]byte(`{"brands":[{"name":"A","from":{"address":"a@a.example"},"templates":"/nonexistent/cogmail"},
		{"name":"B","from":{"address":"b@b.example"},"locale":"it"}],"default":"A"}`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ingest.NewBrandSet(set, "en")
	if err == nil {
		t.Fatal("a brand with a missing template directory and one with an unsupported locale were accepted")
	}
	for _, want := range []string{`brand "A"`, "/nonexistent/cogmail", `brand "B"`, `"it"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
}

// TestCheckTemplates: brand.ReadFile with ingest.CheckTemplates reports a
// brand's broken template under its templates key, with the document's own
// problems, in one error; a brand whose entry has problems of its own has
// its templates checked without its values (its bad colour is reported
// once, by the document).
func TestCheckTemplates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("broken/en/SignUp.subject.txt", "{{.Nope")
	write("brands.yaml", "default: A\nbrands:\n  - name: A\n    from: {address: a@a.example}\n    colors: {accent: red}\n    templates: broken\n")
	_, err := brand.ReadFile(filepath.Join(dir, "brands.yaml"), ingest.CheckTemplates("en"))
	if err == nil {
		t.Fatal("a broken template passed")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `:5: brands[0].colors.accent: "red"`) ||
		!strings.Contains(lines[1], ":6: brands[0].templates: template: "+filepath.Join(dir, "broken", "en", "SignUp.subject.txt")) {
		t.Errorf("problems:\n%v", err)
	}
	if strings.Contains(err.Error(), "render:") || strings.Contains(err.Error(), "Brand.Colors") {
		t.Errorf("the render package's terms leak: %v", err)
	}
	write("broken/en/SignUp.subject.txt", "Welcome")
	if _, err := brand.ReadFile(filepath.Join(dir, "brands.yaml"), ingest.CheckTemplates("en")); err == nil || strings.Count(err.Error(), "\n") != 0 {
		t.Errorf("with the template fixed, want the colour alone: %v", err)
	}
}
