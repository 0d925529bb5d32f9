package ingest_test

import (
	"context"
	"encoding/json"
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
