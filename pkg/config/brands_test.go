package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cogmail/cogmail/pkg/config"
)

func TestLoadIngestBrands(t *testing.T) {
	file := filepath.Join(t.TempDir(), "brands.yaml")
	if err := os.WriteFile(file, []byte("brands:\n  - name: A\n    from: {address: a@a.example}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := map[string]string{"COGMAIL_QUEUE_URL": "http://127.0.0.1:1/111122223333/q", "COGMAIL_KMS_KEY_ARN": arn}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		name    string
		env     map[string]string
		brand   string // the default brand's name, "" for none
		wantErr string
	}{
		{"none", with(), "", ""},
		{"inline JSON", with("COGMAIL_BRANDS", `{"brands":[{"name":"J","from":{"address":"j@j.example"}}]}`), "J", ""},
		{"file", with("COGMAIL_BRANDS_FILE", file), "A", ""},
		{"both", with("COGMAIL_BRANDS", `{}`, "COGMAIL_BRANDS_FILE", file), "", "COGMAIL_BRANDS: set either"},
		{"invalid", with("COGMAIL_BRANDS", `{"brands":[{"name":"J","from":{"address":"nope"}}]}`), "", `COGMAIL_BRANDS: line 1: brands[0].from.address: "nope" has no @`},
		{"missing file", with("COGMAIL_BRANDS_FILE", file+".nope"), "", "COGMAIL_BRANDS_FILE:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.LoadIngest(env(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.brand == "" && c.Brands != nil:
				t.Errorf("brands set without a document")
			case tc.brand != "" && (c.Brands == nil || c.Brands.Default().Name != tc.brand):
				t.Errorf("brands = %v, want default %q", c.Brands, tc.brand)
			}
		})
	}
}
