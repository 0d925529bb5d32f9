package routing_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/cogmail/cogmail/pkg/routing"
)

const withBrands = `{"providers":["ses","sendgrid"],"strategy":"failover","brands":{"default":"A","brands":[
 {"name":"A","from":{"address":"a@a.example"}},
 {"name":"B","from":{"address":"b@b.example"},"providers":["smtp","ses"]}]}}`

func TestForBrand(t *testing.T) {
	c, err := routing.Parse([]byte(withBrands), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		brand string
		want  []string
	}{
		{"B", []string{"smtp", "ses"}},     // the brand's own order
		{"A", []string{"ses", "sendgrid"}}, // no order of its own
		{"", []string{"ses", "sendgrid"}},
		{"renamed", []string{"ses", "sendgrid"}},
	} {
		got := c.ForBrand(tc.brand)
		if !slices.Equal(got.Providers, tc.want) || got.Strategy != routing.Failover {
			t.Errorf("ForBrand(%q) = %v %s, want %v failover", tc.brand, got.Providers, got.Strategy, tc.want)
		}
	}
}

func TestBrandProvidersMustBeAvailable(t *testing.T) {
	_, err := routing.Parse([]byte(withBrands), []string{"ses", "sendgrid"})
	if err == nil || !strings.Contains(err.Error(), `brand "B": "smtp" is not configured`) {
		t.Errorf("Parse = %v, want the brand's unavailable provider named", err)
	}
	_, err = routing.Parse([]byte(strings.Replace(withBrands, `"b@b.example"`, `"nope"`, 1)), nil)
	if err == nil || !strings.Contains(err.Error(), "brands[1].from.address") {
		t.Errorf("Parse = %v, want the invalid brand document refused", err)
	}
}
