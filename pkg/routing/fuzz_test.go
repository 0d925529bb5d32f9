package routing_test

import (
	"slices"
	"testing"

	"github.com/cogmail/cogmail/pkg/routing"
)

// FuzzParse: the SSM parameter is outside input. Whatever it holds, Parse
// either rejects it or returns a configuration that validates and routes
// only to known providers.
func FuzzParse(f *testing.F) {
	f.Add(`{"providers":["ses","sendgrid"],"strategy":"failover"}`)
	f.Add(`{"providers":["sendgrid","mailgun"],"strategy":"weighted","weights":{"sendgrid":3,"mailgun":0}}`)
	f.Add(`{"providers":[]}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := routing.Parse([]byte(s), nil)
		if err != nil {
			return
		}
		if err := c.Validate(nil); err != nil {
			t.Fatalf("Parse accepted %q, which does not validate: %v", s, err)
		}
		for _, p := range c.Providers {
			if !slices.Contains(routing.Known(), p) {
				t.Fatalf("Parse accepted unknown provider %q", p)
			}
		}
	})
}

// FuzzParseList: COGMAIL_PROVIDERS never panics, and a list it accepts
// names each provider once with a weight ≥ 0.
func FuzzParseList(f *testing.F) {
	f.Add("ses,sendgrid")
	f.Add("sendgrid=3,mailgun=1")
	f.Add("=,=x,,")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := routing.ParseList(s, "")
		if err != nil || c.Validate(nil) != nil {
			return
		}
		for name, w := range c.Weights {
			if w < 0 || !slices.Contains(c.Providers, name) {
				t.Fatalf("ParseList(%q) gave weight %d to %q", s, w, name)
			}
		}
	})
}
