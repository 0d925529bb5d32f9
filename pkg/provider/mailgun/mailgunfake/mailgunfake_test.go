package mailgunfake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cogmail/cogmail/pkg/provider/mailgun/mailgunfake"
)

type answer struct {
	status int
	header http.Header
	body   string
}

func post(t *testing.T, u, user, key string, form url.Values) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func form(edit func(url.Values)) url.Values {
	f := url.Values{"from": {"Ex <no-reply@mg.example.com>"}, "to": {"ada@example.org"}, "subject": {"Hi"}, "text": {"t"}, "html": {"<p>h</p>"}, "o:tag": {"signup"}, "v:trigger": {"SignUp"}, "h:Reply-To": {"help@example.com"}}
	if edit != nil {
		edit(f)
	}
	return f
}

func message(t *testing.T, body string) string {
	t.Helper()
	var m struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("body %q is not Mailgun's JSON: %v", body, err)
	}
	return m.Message
}

func TestContract(t *testing.T) {
	fake := mailgunfake.New(mailgunfake.Options{APIKey: "key-1", Domain: "mg.example.com"})
	defer fake.Close()
	endpoint := fake.URL() + "/v3/mg.example.com/messages"
	tests := []struct {
		name    string
		url     string
		user    string
		key     string
		form    url.Values
		status  int
		message string
	}{
		{"accepted", endpoint, "api", "key-1", form(nil), 200, "Queued. Thank you."},
		{"test mode", endpoint, "api", "key-1", form(func(f url.Values) { f.Set("o:testmode", "yes") }), 200, "Queued. Thank you."},
		{"no auth", endpoint, "", "", form(nil), 401, ""},
		{"wrong key", endpoint, "api", "key-2", form(nil), 401, ""},
		{"wrong user", endpoint, "root", "key-1", form(nil), 401, ""},
		{"unknown domain", fake.URL() + "/v3/other.example/messages", "api", "key-1", form(nil), 404, "Domain not found: other.example"},
		{"no from", endpoint, "api", "key-1", form(func(f url.Values) { f.Del("from") }), 400, "from parameter is missing"},
		{"no to", endpoint, "api", "key-1", form(func(f url.Values) { f.Del("to") }), 400, "to parameter is missing"},
		{"bad to", endpoint, "api", "key-1", form(func(f url.Values) { f.Set("to", "ada") }), 400, "to parameter is not a valid address. please check documentation"},
		{"no subject", endpoint, "api", "key-1", form(func(f url.Values) { f.Del("subject") }), 400, "subject parameter is missing"},
		{"no body", endpoint, "api", "key-1", form(func(f url.Values) { f.Del("text"); f.Del("html") }), 400, "Need at least one of 'text', 'html', 'amp-html' or 'template' parameters specified"},
		{"too many tags", endpoint, "api", "key-1", form(func(f url.Values) { f["o:tag"] = []string{"a", "b", "c", "d"} }), 400, "Too many tags: at most 3 are allowed per message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := post(t, tt.url, tt.user, tt.key, tt.form)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d (%s)", a.status, tt.status, a.body)
			}
			if a.status == 401 {
				if a.body != "Forbidden" || !strings.HasPrefix(a.header.Get("Content-Type"), "text/plain") {
					t.Errorf("401 body %q type %q, want Mailgun's plain Forbidden", a.body, a.header.Get("Content-Type"))
				}
				return
			}
			if got := message(t, a.body); got != tt.message {
				t.Errorf("message %q, want %q", got, tt.message)
			}
		})
	}
	got := fake.Messages()
	if len(got) != 2 {
		t.Fatalf("%d messages, want 2", len(got))
	}
	m := got[0]
	if m.To != "ada@example.org" || m.Subject != "Hi" || m.Text != "t" || m.HTML != "<p>h</p>" || m.ReplyTo != "help@example.com" ||
		m.Tags[0] != "signup" || m.Variables["trigger"] != "SignUp" || m.TestMode || !got[1].TestMode || m.Domain != "mg.example.com" {
		t.Errorf("message %+v", m)
	}
}

func TestFaults(t *testing.T) {
	fake := mailgunfake.New(mailgunfake.Options{})
	defer fake.Close()
	endpoint := fake.URL() + "/v3/mg.example.com/messages"
	tests := []struct {
		name   string
		fault  mailgunfake.Fault
		status int
		header [2]string
	}{
		{"429 Retry-After", mailgunfake.Fault{Status: 429, RetryAfter: 1500 * time.Millisecond, Count: 1}, 429, [2]string{"Retry-After", "2"}},
		{"header override", mailgunfake.Fault{Status: 429, Header: http.Header{"X-RateLimit-Reset": {"1893456000"}}, Count: 1}, 429, [2]string{"X-Ratelimit-Reset", "1893456000"}},
		{"401 plain", mailgunfake.Fault{Status: 401, Count: 1}, 401, [2]string{"Content-Type", "text/plain; charset=utf-8"}},
		{"garbage", mailgunfake.Fault{Garbage: true, Count: 1}, 200, [2]string{"Content-Type", "text/html; charset=utf-8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake.SetFault(tt.fault)
			a := post(t, endpoint, "api", "k", form(nil))
			if a.status != tt.status || a.header.Get(tt.header[0]) != tt.header[1] {
				t.Errorf("status %d %s %q, want %d %q", a.status, tt.header[0], a.header.Get(tt.header[0]), tt.status, tt.header[1])
			}
			if a := post(t, endpoint, "api", "k", form(nil)); a.status != 200 {
				t.Errorf("after a Count 1 fault: status %d", a.status)
			}
		})
	}
}
