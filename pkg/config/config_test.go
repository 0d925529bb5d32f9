package config_test

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/config"
)

func env(m map[string]string) config.Getenv { return func(k string) string { return m[k] } }

const arn = "arn:aws:kms:us-east-1:111122223333:key/6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

func TestLoadIngestDefaults(t *testing.T) {
	c, err := config.LoadIngest(env(map[string]string{
		"COGMAIL_QUEUE_URL": "http://127.0.0.1:1/111122223333/q", "COGMAIL_KMS_KEY_ARN": arn,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Keyring != config.KeyringKMS || c.SealKeyID != arn {
		t.Errorf("keyring %s, seal key %s", c.Keyring, c.SealKeyID)
	}
	// Unset values stay zero: ingest, render, recipient and seal apply
	// their own defaults (ingest.DefaultExpiry, render.DefaultLocale, ...).
	if c.DefaultLocale != "" || c.Brand != (config.Brand{}) || c.RecipientAttributes != nil || c.Expiry != nil ||
		c.SealKeyMaxAge != 0 || c.SealKeyUses != 0 || c.LookupTimeout != 0 {
		t.Errorf("config restates a default: %+v", c)
	}
}

func TestLoadIngestOverrides(t *testing.T) {
	c, err := config.LoadIngest(env(map[string]string{
		"COGMAIL_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/q", "COGMAIL_KEYRING": "raw-aes",
		"COGMAIL_AES_KEY_HEX":       strings.Repeat("ab", 32),
		"COGMAIL_AES_KEY_NAMESPACE": "ns", "COGMAIL_AES_KEY_NAME": "n", "COGMAIL_SEAL_KEY_ID": "alias/seal",
		"COGMAIL_RECIPIENT_ATTRIBUTES":  " custom:contact_email , email ",
		"COGMAIL_EXPIRY":                "ForgotPassword=30m, authentication=90s",
		"COGMAIL_RECIPIENT_PLACEHOLDER": `@placeholder\.invalid$`, "COGMAIL_RECIPIENT_LOOKUP_URL": "https://x.example/lookup",
		"COGMAIL_RECIPIENT_LOOKUP_HEADER": "X-Api-Key: abc",
		"COGMAIL_PRODUCT_NAME":            "Acme",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.AESKey) != 32 || c.SealKeyID != "alias/seal" {
		t.Errorf("keys wrong: %+v", c)
	}
	if strings.Join(c.RecipientAttributes, "|") != "custom:contact_email|email" {
		t.Errorf("attributes = %q", c.RecipientAttributes)
	}
	if want := map[cognito.Trigger]time.Duration{cognito.ForgotPassword: 30 * time.Minute, cognito.Authentication: 90 * time.Second}; !maps.Equal(c.Expiry, want) {
		t.Errorf("expiry = %v, want only the overrides %v", c.Expiry, want)
	}
	if c.LookupHeader != [2]string{"X-Api-Key", "abc"} || !c.LookupPlaceholder.MatchString("a@placeholder.invalid") {
		t.Errorf("lookup wrong: %+v", c)
	}
	if c.Brand.ProductName != "Acme" || c.Brand.SenderName != "" { // render signs with the product name
		t.Errorf("brand = %+v", c.Brand)
	}
}

func TestLoadIngestReportsEveryProblem(t *testing.T) {
	_, err := config.LoadIngest(env(map[string]string{
		"COGMAIL_QUEUE_URL": "not a url", "COGMAIL_KEYRING": "raw-aes", "COGMAIL_AES_KEY_HEX": "abcd",
		"COGMAIL_EXPIRY": "SignUp=forever,Bogus=1h,nope", "COGMAIL_RECIPIENT_PLACEHOLDER": "(",
		"COGMAIL_RECIPIENT_LOOKUP_TIMEOUT": "-1s", "COGMAIL_SEAL_KEY_MAX_USES": "many",
		"COGMAIL_RECIPIENT_LOOKUP_HEADER": "novalue",
		"COGMAIL_SMS_ORIGIN_DOMAIN":       "https://app.example.com", "COGMAIL_SMS_SEGMENTS": "11",
	}))
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, v := range []string{"COGMAIL_QUEUE_URL", "COGMAIL_AES_KEY_HEX", "COGMAIL_AES_KEY_NAMESPACE", "COGMAIL_AES_KEY_NAME",
		"COGMAIL_SEAL_KEY_ID", "COGMAIL_EXPIRY: SignUp", "Bogus", `"nope" is not`, "COGMAIL_RECIPIENT_PLACEHOLDER",
		"COGMAIL_RECIPIENT_LOOKUP_TIMEOUT", "COGMAIL_SEAL_KEY_MAX_USES", "COGMAIL_RECIPIENT_LOOKUP_HEADER",
		`COGMAIL_SMS_ORIGIN_DOMAIN: "https://app.example.com" is not a host name`, "COGMAIL_SMS_SEGMENTS: 11 is over the limit of 10"} {
		if !strings.Contains(err.Error(), v) {
			t.Errorf("error does not mention %s:\n%v", v, err)
		}
	}
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Errorf("error is not a *config.Error")
	}
}

func TestLoadIngestKeyringErrors(t *testing.T) {
	cases := map[string]map[string]string{
		"kms without arn": {"COGMAIL_QUEUE_URL": "http://q.example/1/q"},
		"kms with alias":  {"COGMAIL_QUEUE_URL": "http://q.example/1/q", "COGMAIL_KMS_KEY_ARN": "alias/x"},
		"unknown keyring": {"COGMAIL_QUEUE_URL": "http://q.example/1/q", "COGMAIL_KEYRING": "rot13", "COGMAIL_SEAL_KEY_ID": "k"},
		"aes key not hex": {"COGMAIL_QUEUE_URL": "http://q.example/1/q", "COGMAIL_KEYRING": "raw-aes", "COGMAIL_AES_KEY_HEX": strings.Repeat("zz", 32), "COGMAIL_AES_KEY_NAMESPACE": "a", "COGMAIL_AES_KEY_NAME": "b", "COGMAIL_SEAL_KEY_ID": "k"},
	}
	wantVar := map[string]string{"kms without arn": "COGMAIL_KMS_KEY_ARN", "kms with alias": "COGMAIL_KMS_KEY_ARN", "unknown keyring": "COGMAIL_KEYRING", "aes key not hex": "COGMAIL_AES_KEY_HEX"}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := config.LoadIngest(env(m))
			if err == nil || !strings.Contains(err.Error(), wantVar[name]) {
				t.Errorf("err = %v, want mention of %s", err, wantVar[name])
			}
			if strings.Contains(fmtErr(err), strings.Repeat("zz", 32)) {
				t.Errorf("error echoes the key")
			}
		})
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestPlaceholderNeedsLookupURL(t *testing.T) {
	_, err := config.LoadIngest(env(map[string]string{
		"COGMAIL_QUEUE_URL": "http://q.example/1/q", "COGMAIL_KMS_KEY_ARN": arn,
		"COGMAIL_RECIPIENT_PLACEHOLDER": `@placeholder\.invalid$`,
	}))
	if err == nil || !strings.Contains(err.Error(), "COGMAIL_RECIPIENT_LOOKUP_URL") {
		t.Errorf("err = %v", err)
	}
}

func TestLoadIngestUserPoolIDs(t *testing.T) {
	base := map[string]string{"COGMAIL_QUEUE_URL": "http://127.0.0.1:1/111122223333/q", "COGMAIL_KMS_KEY_ARN": arn}
	tests := []struct {
		name, value string
		want        []string
		err         string
	}{
		{"unset", "", nil, ""},
		{"one", "eu-west-1_AbCdEf123", []string{"eu-west-1_AbCdEf123"}, ""},
		{"several, spaced", " eu-west-1_AbCdEf123 , us-gov-west-1_X9 ", []string{"eu-west-1_AbCdEf123", "us-gov-west-1_X9"}, ""},
		{"only commas", " , ", nil, "COGMAIL_USER_POOL_IDS: must name at least one user pool id"},
		{"an ARN", "arn:aws:cognito-idp:eu-west-1:1:userpool/eu-west-1_A", nil, `COGMAIL_USER_POOL_IDS: "arn:aws:cognito-idp:eu-west-1:1:userpool/eu-west-1_A" is not a user pool id`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := maps.Clone(base)
			m["COGMAIL_USER_POOL_IDS"] = tt.value
			c, err := config.LoadIngest(env(m))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || !slices.Equal(c.UserPoolIDs, tt.want) {
				t.Errorf("UserPoolIDs = %q, %v; want %q", c.UserPoolIDs, err, tt.want)
			}
		})
	}
}
