package sesfake_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/cogmail/cogmail/pkg/provider/ses/sesfake"
)

const body = `{"FromEmailAddress":"no-reply@example.com","Destination":{"ToAddresses":["ada@example.org"]},"Content":{"Simple":{"Subject":{"Data":"Hi"},"Body":{"Text":{"Data":"t"},"Html":{"Data":"<p>h</p>"}}}},"EmailTags":[{"Name":"trigger","Value":"SignUp"}]}`

var creds = aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "SECRET"}

type answer struct {
	status int
	code   string
	body   string
}

// send posts a SendEmail request, signed with c when it is not nil.
func send(t *testing.T, url, payload string, c *aws.Credentials) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/v2/email/outbound-emails", strings.NewReader(payload))
	req.Header.Set("Content-Type", "application/json")
	return do(t, req, payload, c)
}

// do signs req with c when it is not nil, and sends it.
func do(t *testing.T, req *http.Request, payload string, c *aws.Credentials) answer {
	t.Helper()
	if c != nil {
		if err := sign(req, payload, *c); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), string(b)}
}

func sign(req *http.Request, payload string, c aws.Credentials) error {
	req.ContentLength = int64(len(payload))
	return v4.NewSigner().SignHTTP(context.Background(), c, req, sha(payload), "ses", "eu-west-1", time.Now())
}

func TestContract(t *testing.T) {
	fake := sesfake.New(sesfake.Options{Credentials: &creds, VerifiedIdentities: []string{"example.com"}, ConfigurationSets: []string{"main"}})
	defer fake.Close()
	other := aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "WRONG"}
	unknown := aws.Credentials{AccessKeyID: "OTHER", SecretAccessKey: "SECRET"}
	tests := []struct {
		name    string
		payload string
		creds   *aws.Credentials
		status  int
		code    string
		message string
	}{
		{"accepted", body, &creds, 200, "", ""},
		{"unsigned", body, nil, 403, "MissingAuthenticationTokenException", "Missing Authentication Token"},
		{"unknown key id", body, &unknown, 403, "UnrecognizedClientException", "The security token included in the request is invalid."},
		{"wrong secret", body, &other, 403, "SignatureDoesNotMatch", ""},
		{"not JSON", "{", &creds, 400, "SerializationException", ""},
		{"no content", `{"FromEmailAddress":"no-reply@example.com","Destination":{"ToAddresses":["a@b.c"]}}`, &creds, 400, "BadRequestException", "Content is required: Simple, Raw or Template."},
		{"no recipient", strings.Replace(body, `"ToAddresses":["ada@example.org"]`, `"ToAddresses":[]`, 1), &creds, 400, "BadRequestException", ""},
		{"illegal address", strings.Replace(body, "ada@example.org", "ada", 1), &creds, 400, "BadRequestException", "Illegal address"},
		{"unverified sender", strings.Replace(body, "no-reply@example.com", "x@unverified.example", 1), &creds, 400, "MessageRejected", "Email address is not verified. The following identities failed the check in region EU-WEST-1: x@unverified.example"},
		{"bad tag", strings.Replace(body, `"Value":"SignUp"`, `"Value":"Sign Up"`, 1), &creds, 400, "BadRequestException", ""},
		{"unknown configuration set", strings.Replace(body, `{"FromEmailAddress"`, `{"ConfigurationSetName":"other","FromEmailAddress"`, 1), &creds, 404, "NotFoundException", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := send(t, fake.URL(), tt.payload, tt.creds)
			if a.status != tt.status || a.code != tt.code {
				t.Fatalf("got %d %q, want %d %q (%s)", a.status, a.code, tt.status, tt.code, a.body)
			}
			var out struct{ MessageId, Message string }
			if err := json.Unmarshal([]byte(a.body), &out); err != nil {
				t.Fatalf("body %q: %v", a.body, err)
			}
			if tt.status == 200 && out.MessageId == "" {
				t.Error("no MessageId")
			}
			if tt.message != "" && out.Message != tt.message {
				t.Errorf("message %q, want %q", out.Message, tt.message)
			}
		})
	}
	got := fake.Messages()
	if len(got) != 1 || got[0].To != "ada@example.org" || got[0].Subject != "Hi" || got[0].Text != "t" || got[0].HTML != "<p>h</p>" || got[0].Tags["trigger"] != "SignUp" {
		t.Errorf("messages %+v", got)
	}
}

func TestFaults(t *testing.T) {
	fake := sesfake.New(sesfake.Options{})
	defer fake.Close()
	tests := []struct {
		name   string
		fault  sesfake.Fault
		status int
		code   string
	}{
		{"code gives status", sesfake.Fault{Code: "TooManyRequestsException", Count: 1}, 429, "TooManyRequestsException"},
		{"status gives code", sesfake.Fault{Status: 503, Count: 1}, 503, "ServiceUnavailable"},
		{"both", sesfake.Fault{Code: "ValidationException", Status: 400, Count: 1}, 400, "ValidationException"},
		{"unknown code defaults to 400", sesfake.Fault{Code: "Whatever", Count: 1}, 400, "Whatever"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake.SetFault(tt.fault)
			if a := send(t, fake.URL(), body, &creds); a.status != tt.status || a.code != tt.code {
				t.Errorf("got %d %q, want %d %q", a.status, a.code, tt.status, tt.code)
			}
			if a := send(t, fake.URL(), body, &creds); a.status != 200 {
				t.Errorf("after a Count 1 fault: %d %q", a.status, a.code)
			}
		})
	}
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// get makes a read call, signed with c when it is not nil.
func get(t *testing.T, url, path string, c *aws.Credentials) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url+path, nil)
	return do(t, req, "", c)
}

func TestReadCalls(t *testing.T) {
	fake := sesfake.New(sesfake.Options{
		Credentials: &creds, VerifiedIdentities: []string{"example.com", "ops@example.org"}, PendingIdentities: []string{"pending.example"},
		ConfigurationSets: []string{"main"}, Sandbox: true, EnforcementStatus: "PROBATION",
	})
	defer fake.Close()
	tests := []struct {
		name   string
		path   string
		creds  *aws.Credentials
		status int
		code   string
		body   string // a part of the answer
	}{
		{"account", "/v2/email/account", &creds, 200, "", `"ProductionAccessEnabled":false`},
		{"account enforcement", "/v2/email/account", &creds, 200, "", `"EnforcementStatus":"PROBATION"`},
		{"account unsigned", "/v2/email/account", nil, 403, "MissingAuthenticationTokenException", ""},
		{"verified domain", "/v2/email/identities/example.com", &creds, 200, "", `"VerifiedForSendingStatus":true`},
		{"address, escaped", "/v2/email/identities/ops%40example.org", &creds, 200, "", `"IdentityType":"EMAIL_ADDRESS"`},
		{"not an identity", "/v2/email/identities/no-reply%40example.com", &creds, 404, "NotFoundException", ""},
		{"pending", "/v2/email/identities/pending.example", &creds, 200, "", `"VerificationStatus":"PENDING"`},
		{"identity unsigned", "/v2/email/identities/example.com", nil, 403, "MissingAuthenticationTokenException", ""},
		{"configuration set", "/v2/email/configuration-sets/main", &creds, 200, "", `"ConfigurationSetName":"main"`},
		{"missing configuration set", "/v2/email/configuration-sets/other", &creds, 404, "NotFoundException", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := get(t, fake.URL(), tt.path, tt.creds)
			if a.status != tt.status || a.code != tt.code || !strings.Contains(a.body, tt.body) {
				t.Errorf("got %d %q %s, want %d %q with %s", a.status, a.code, a.body, tt.status, tt.code, tt.body)
			}
		})
	}
}
