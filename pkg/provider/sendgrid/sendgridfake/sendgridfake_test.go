package sendgridfake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cogmail/cogmail/pkg/provider/sendgrid/sendgridfake"
)

const good = `{"personalizations":[{"to":[{"email":"ada@example.org"}]}],"from":{"email":"no-reply@example.com","name":"Ex"},"subject":"Hi","content":[{"type":"text/plain","value":"t"},{"type":"text/html","value":"<p>h</p>"}]}`

type answer struct {
	status int
	header http.Header
	body   string
}

func post(t *testing.T, url, auth, contentType, body string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// errorFields returns the "field: message" pairs of a SendGrid error body.
func errorFields(t *testing.T, body string) []string {
	t.Helper()
	var e struct {
		Errors []struct {
			Message string  `json:"message"`
			Field   *string `json:"field"`
		} `json:"errors"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body %q is not SendGrid's: %v", body, err)
	}
	var out []string
	for _, x := range e.Errors {
		f := ""
		if x.Field != nil {
			f = *x.Field
		}
		out = append(out, f+": "+x.Message)
	}
	return out
}

func TestContract(t *testing.T) {
	tests := []struct {
		name      string
		auth      string
		ct        string
		body      string
		status    int
		wantField string // a field named in the errors
	}{
		{"accepted", "Bearer SG.k", "application/json", good, 202, ""},
		{"sandbox", "Bearer SG.k", "application/json", strings.Replace(good, `"subject"`, `"mail_settings":{"sandbox_mode":{"enable":true}},"subject"`, 1), 200, ""},
		{"no key", "", "application/json", good, 401, ": authorization required"},
		{"wrong key", "Bearer SG.other", "application/json", good, 401, ": The provided authorization grant is invalid"},
		{"not JSON content type", "Bearer SG.k", "text/plain", good, 415, ""},
		{"bad JSON", "Bearer SG.k", "application/json", "{", 400, ": Bad Request"},
		{"no personalizations", "Bearer SG.k", "application/json", `{"from":{"email":"a@b.c"},"subject":"s","content":[{"type":"text/plain","value":"t"}]}`, 400, "personalizations: "},
		{"bad recipient", "Bearer SG.k", "application/json", strings.Replace(good, "ada@example.org", "ada", 1), 400, "personalizations.0.to.0.email: Does not contain a valid address."},
		{"no from", "Bearer SG.k", "application/json", strings.Replace(good, `"from":{"email":"no-reply@example.com","name":"Ex"},`, "", 1), 400, "from: "},
		{"no subject", "Bearer SG.k", "application/json", strings.Replace(good, `"subject":"Hi",`, "", 1), 400, "subject: "},
		{"html before text", "Bearer SG.k", "application/json", strings.Replace(good, `{"type":"text/plain","value":"t"},{"type":"text/html","value":"<p>h</p>"}`, `{"type":"text/html","value":"<p>h</p>"},{"type":"text/plain","value":"t"}`, 1), 400, "content: If present, text/plain must be first"},
		{"empty content", "Bearer SG.k", "application/json", strings.Replace(good, `"value":"t"`, `"value":""`, 1), 400, "content.0.value: "},
		{"reserved header", "Bearer SG.k", "application/json", strings.Replace(good, `"subject"`, `"headers":{"Subject":"x"},"subject"`, 1), 400, "headers: "},
	}
	fake := sendgridfake.New(sendgridfake.Options{APIKey: "SG.k"})
	defer fake.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(fake.Messages())
			a := post(t, fake.URL()+"/v3/mail/send", tt.auth, tt.ct, tt.body)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d (%s)", a.status, tt.status, a.body)
			}
			accepted := len(fake.Messages()) - before
			if a.status < 300 {
				if accepted != 1 || a.header.Get("X-Message-Id") == "" || a.body != "" {
					t.Errorf("accepted %d, X-Message-Id %q, body %q", accepted, a.header.Get("X-Message-Id"), a.body)
				}
				return
			}
			if accepted != 0 {
				t.Errorf("a rejected request was kept")
			}
			if tt.wantField != "" && !strings.Contains(strings.Join(errorFields(t, a.body), "\n"), tt.wantField) {
				t.Errorf("errors %v do not contain %q", errorFields(t, a.body), tt.wantField)
			}
		})
	}
	got := fake.Messages()
	if len(got) != 2 || got[0].To != "ada@example.org" || got[0].Text != "t" || got[0].HTML != "<p>h</p>" || got[0].Sandbox || !got[1].Sandbox {
		t.Errorf("messages %+v", got)
	}
}

func TestFaults(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	fake := sendgridfake.New(sendgridfake.Options{Now: func() time.Time { return now }})
	defer fake.Close()
	url := fake.URL() + "/v3/mail/send"
	tests := []struct {
		name  string
		fault sendgridfake.Fault
		check func(t *testing.T, a answer)
	}{
		{"429 with reset headers", sendgridfake.Fault{Status: 429, RetryAfter: 30 * time.Second, Count: 1}, func(t *testing.T, a answer) {
			if a.status != 429 || a.header.Get("X-RateLimit-Reset") != strconv.FormatInt(now.Unix()+30, 10) ||
				a.header.Get("X-RateLimit-Remaining") != "0" || a.header.Get("X-RateLimit-Limit") != "600" {
				t.Errorf("status %d headers %v", a.status, a.header)
			}
		}},
		{"500 error body", sendgridfake.Fault{Status: 500, Count: 1}, func(t *testing.T, a answer) {
			if a.status != 500 || errorFields(t, a.body)[0] != ": internal error" {
				t.Errorf("status %d body %s", a.status, a.body)
			}
		}},
		{"garbage echoes the request", sendgridfake.Fault{Garbage: true, Count: 1}, func(t *testing.T, a answer) {
			if a.status != 200 || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") || !strings.Contains(a.body, "ada@example.org") {
				t.Errorf("status %d type %q body %q", a.status, a.header.Get("Content-Type"), a.body)
			}
		}},
		{"latency then success", sendgridfake.Fault{Latency: time.Millisecond, Count: 1}, func(t *testing.T, a answer) {
			if a.status != 202 {
				t.Errorf("status %d", a.status)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake.SetFault(tt.fault)
			tt.check(t, post(t, url, "Bearer SG.k", "application/json", good))
			if a := post(t, url, "Bearer SG.k", "application/json", good); a.status != 202 {
				t.Errorf("after a Count 1 fault: status %d", a.status)
			}
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	fake := sendgridfake.New(sendgridfake.Options{})
	defer fake.Close()
	var wg sync.WaitGroup
	statuses := make([]int, 20)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fake.SetFault(sendgridfake.Fault{Latency: time.Microsecond})
			req, _ := http.NewRequest(http.MethodPost, fake.URL()+"/v3/mail/send", strings.NewReader(good))
			req.Header.Set("Authorization", "Bearer SG.k")
			req.Header.Set("Content-Type", "application/json")
			if resp, err := http.DefaultClient.Do(req); err == nil {
				statuses[i] = resp.StatusCode
				resp.Body.Close()
			}
			_ = fake.Messages()
		}()
	}
	wg.Wait()
	for i, s := range statuses {
		if s != 202 {
			t.Errorf("request %d: status %d", i, s)
		}
	}
	if n := len(fake.Messages()); n != 20 {
		t.Fatalf("%d messages, want 20", n)
	}
}
