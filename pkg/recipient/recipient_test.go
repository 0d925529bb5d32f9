package recipient_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/recipient"
)

func TestValidateAddress(t *testing.T) {
	cases := []struct {
		name, addr string
		ok         bool
	}{
		{"plain", "ana@example.com", true},
		{"subaddress and subdomain", "a.b+tag@mail.example.co.uk", true},
		{"atext specials", "a/b=c{d}~e!#$%&'*@example.com", true},
		{"internationalised", "josé@exämple.de", true},
		{"punycode", "x@xn--bcher-kva.example", true},
		{"empty", "", false},
		{"no at", "ana.example.com", false},
		{"empty local part", "@example.com", false},
		{"empty domain", "ana@", false},
		{"no dot in domain", "ana@localhost", false},
		{"display name", "Ana <ana@example.com>", false},
		{"angle brackets", "<ana@example.com>", false},
		{"comment", "ana@example.com (Ana)", false},
		{"CRLF header injection", "ana@example.com\r\nBcc: x@evil.example", false},
		{"LF", "ana@example.com\n", false},
		{"NUL", "ana\x00@example.com", false},
		{"DEL", "ana\x7f@example.com", false},
		{"bidi override", "ana\u202e@example.com", false},
		{"space", "ana @example.com", false},
		{"leading space", " ana@example.com", false},
		{"quoted local part", `"a b"@example.com`, false},
		{"two ats", "a@b@example.com", false},
		{"list", "a@example.com,b@example.com", false},
		{"double dot local", "ana..x@example.com", false},
		{"leading dot local", ".ana@example.com", false},
		{"double dot domain", "ana@example..com", false},
		{"trailing dot domain", "ana@example.com.", false},
		{"hyphen label", "ana@-example.com", false},
		{"underscore in domain", "ana@exam_ple.com", false},
		{"domain literal", "ana@[192.0.2.1]", false},
		{"IP address", "ana@192.0.2.1", false},
		{"local part of 64", strings.Repeat("a", 64) + "@example.com", true},
		{"local part of 65", strings.Repeat("a", 65) + "@example.com", false},
		{"label of 64", "a@" + strings.Repeat("b", 64) + ".com", false},
		{"254 bytes", strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 57) + ".com", true},
		{"255 bytes", strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 58) + ".com", false},
		{"invalid UTF-8", "an\xffa@example.com", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := recipient.ValidateAddress(c.addr)
			if c.ok {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			checkError(t, err, recipient.ErrInvalidAddress, false, c.addr)
		})
	}
}

// checkError asserts the kind, the retry classification (through the
// interface callers use) and that the message leaks none of private.
func checkError(t *testing.T, err, kind error, retryable bool, private ...string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Errorf("error %q is not %v", err, kind)
	}
	var re interface{ Retryable() bool }
	if !errors.As(err, &re) || re.Retryable() != retryable {
		t.Errorf("error %q: retryable should be %v", err, retryable)
	}
	msg := fmt.Sprintf("%v %+v", err, err)
	for _, p := range private {
		if p != "" && strings.Contains(msg, p) {
			t.Errorf("error %q contains private value %q", msg, p)
		}
	}
}

func event(username, sub string, attrs map[string]string) *cognito.Event {
	if attrs == nil {
		attrs = map[string]string{}
	}
	if sub != "" {
		attrs["sub"] = sub
	}
	return &cognito.Event{TriggerSource: cognito.SignUp, UserName: username, Request: cognito.Request{UserAttributes: attrs}}
}

func TestResolveFromAttributes(t *testing.T) {
	cases := []struct {
		name    string
		attrs   []string
		user    map[string]string
		want    string
		kind    error
		mention string // the error must name this (an attribute, not a value)
	}{
		{"default attribute", nil, map[string]string{"email": "ana@example.com"}, "ana@example.com", nil, ""},
		{"first configured wins", []string{"custom:contact_email", "email"}, map[string]string{"custom:contact_email": "work@example.com", "email": "ana@example.com"}, "work@example.com", nil, ""},
		{"empty falls through", []string{"custom:contact_email", "email"}, map[string]string{"custom:contact_email": "  ", "email": "ana@example.com"}, "ana@example.com", nil, ""},
		{"surrounding space trimmed", nil, map[string]string{"email": " ana@example.com\t"}, "ana@example.com", nil, ""},
		{"none set", []string{"custom:contact_email", "email"}, map[string]string{"name": "Ana"}, "", recipient.ErrNoAddress, "custom:contact_email, email"},
		{"invalid value", []string{"custom:contact_email", "email"}, map[string]string{"custom:contact_email": "Ana <ana@example.com>"}, "", recipient.ErrInvalidAddress, "attribute custom:contact_email"},
		{"injection attempt", nil, map[string]string{"email": "ana@example.com\r\nBcc: all@example.com"}, "", recipient.ErrInvalidAddress, "attribute email"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := recipient.New(recipient.Options{Attributes: c.attrs})
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.Resolve(context.Background(), event("ana", "s-1", c.user))
			if c.kind == nil {
				if err != nil || got != c.want {
					t.Fatalf("got %q, %v; want %q", got, err, c.want)
				}
				return
			}
			if got != "" {
				t.Errorf("returned %q with an error", got)
			}
			checkError(t, err, c.kind, false, "ana@example.com", "work@example.com")
			if !strings.Contains(err.Error(), c.mention) {
				t.Errorf("error %q does not name %q", err, c.mention)
			}
		})
	}
}

// lookupServer fakes the address service. The sub selects its behaviour.
type lookupServer struct {
	*httptest.Server
	hits     atomic.Int64
	lastUser atomic.Value
}

func newLookupServer(t *testing.T) *lookupServer {
	s := &lookupServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.lastUser.Store(r.URL.Query().Get("username"))
		if r.Header.Get("X-Api-Key") != "secret-key" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Query().Get("sub") {
		case "ok":
			fmt.Fprint(w, `{"email": "real@example.com", "source": "crm"}`)
		case "404":
			http.NotFound(w, r)
		case "500":
			w.WriteHeader(http.StatusInternalServerError)
		case "503":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "429":
			w.WriteHeader(http.StatusTooManyRequests)
		case "400":
			w.WriteHeader(http.StatusBadRequest)
		case "redirect":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		case "slow":
			<-r.Context().Done() // until the client gives up
		case "badjson":
			fmt.Fprint(w, `{"email": "real@exa`)
		case "notobject":
			fmt.Fprint(w, `["real@example.com"]`)
		case "html":
			fmt.Fprint(w, `<html>Bad Gateway</html>`)
		case "wrongtype":
			fmt.Fprint(w, `{"email": 42}`)
		case "trailing":
			fmt.Fprint(w, `{"email": "real@example.com"} {"email": "other@example.com"}`)
		case "noemail":
			fmt.Fprint(w, `{"name": "Ana"}`)
		case "empty":
			fmt.Fprint(w, `{"email": ""}`)
		case "invalid":
			fmt.Fprint(w, `{"email": "Real <real@example.com>"}`)
		case "crlf":
			fmt.Fprint(w, `{"email": "real@example.com\r\nBcc: all@example.com"}`)
		case "placeholder":
			fmt.Fprint(w, `{"email": "u-1@placeholder.invalid"}`)
		case "huge":
			fmt.Fprint(w, `{"email": "real@example.com", "pad": "`+strings.Repeat("x", 100<<10)+`"}`)
		default:
			t.Errorf("unexpected lookup for sub %q", r.URL.Query().Get("sub"))
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func newLookupResolver(t *testing.T, url, key string) *recipient.Resolver {
	t.Helper()
	r, err := recipient.New(recipient.Options{
		Attributes: []string{"custom:contact_email", "email"},
		Lookup: &recipient.Lookup{
			URL:         url + "/lookup?sub={sub}&username={username}",
			Placeholder: regexp.MustCompile(`@placeholder\.invalid$`),
			Header:      http.Header{"X-Api-Key": {key}},
			Timeout:     100 * time.Millisecond,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestResolveWithLookup(t *testing.T) {
	srv := newLookupServer(t)
	r := newLookupResolver(t, srv.URL, "secret-key")
	const placeholder = "u-1@placeholder.invalid"
	cases := []struct {
		name      string
		sub       string
		email     string // the event's email attribute
		want      string
		kind      error
		retryable bool
		lookups   int64
	}{
		{"real attribute needs no lookup", "never-called", "ana@example.com", "ana@example.com", nil, false, 0},
		{"placeholder is looked up", "ok", placeholder, "real@example.com", nil, false, 1},
		{"missing attribute is looked up", "ok", "", "real@example.com", nil, false, 1},
		{"404 means no address", "404", placeholder, "", recipient.ErrNoAddress, false, 1},
		{"500 is retried", "500", placeholder, "", recipient.ErrLookup, true, 1},
		{"503 is retried", "503", placeholder, "", recipient.ErrLookup, true, 1},
		{"429 is retried", "429", placeholder, "", recipient.ErrLookup, true, 1},
		{"400 is permanent", "400", placeholder, "", recipient.ErrLookup, false, 1},
		{"redirects are not followed", "redirect", placeholder, "", recipient.ErrLookup, false, 1},
		{"timeout is retried", "slow", placeholder, "", recipient.ErrLookup, true, 1},
		{"truncated JSON", "badjson", placeholder, "", recipient.ErrLookup, false, 1},
		{"JSON array", "notobject", placeholder, "", recipient.ErrLookup, false, 1},
		{"HTML", "html", placeholder, "", recipient.ErrLookup, false, 1},
		{"email not a string", "wrongtype", placeholder, "", recipient.ErrLookup, false, 1},
		{"trailing data", "trailing", placeholder, "", recipient.ErrLookup, false, 1},
		{"oversized response", "huge", placeholder, "", recipient.ErrLookup, false, 1},
		{"no email field", "noemail", placeholder, "", recipient.ErrNoAddress, false, 1},
		{"empty email", "empty", placeholder, "", recipient.ErrNoAddress, false, 1},
		{"invalid address from the lookup", "invalid", placeholder, "", recipient.ErrInvalidAddress, false, 1},
		{"header injection from the lookup", "crlf", placeholder, "", recipient.ErrInvalidAddress, false, 1},
		{"placeholder from the lookup", "placeholder", placeholder, "", recipient.ErrNoAddress, false, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := srv.hits.Load()
			got, err := r.Resolve(context.Background(), event("jo sé&x=1", c.sub, map[string]string{"email": c.email}))
			if n := srv.hits.Load() - before; n != c.lookups {
				t.Errorf("%d lookups, want %d", n, c.lookups)
			}
			if c.lookups > 0 && srv.lastUser.Load() != "jo sé&x=1" {
				t.Errorf("the service saw username %q: not query-escaped", srv.lastUser.Load())
			}
			if c.kind == nil {
				if err != nil || got != c.want {
					t.Fatalf("got %q, %v; want %q", got, err, c.want)
				}
				return
			}
			if got != "" {
				t.Errorf("returned %q with an error", got)
			}
			checkError(t, err, c.kind, c.retryable, "real@example.com", placeholder, "jo sé", "jo+s", "secret-key")
			if c.sub == "slow" && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("timeout error %q does not wrap context.DeadlineExceeded", err)
			}
		})
	}
}

func TestLookupTransportFailures(t *testing.T) {
	srv := newLookupServer(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name      string
		r         *recipient.Resolver
		ctx       context.Context
		kind      error
		retryable bool
	}{
		{"connection refused", newLookupResolver(t, closedURL, "secret-key"), context.Background(), recipient.ErrLookup, true},
		{"wrong API key", newLookupResolver(t, srv.URL, "wrong"), context.Background(), recipient.ErrLookup, true},
		{"caller gave up", newLookupResolver(t, srv.URL, "secret-key"), canceled, recipient.ErrLookup, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.r.Resolve(c.ctx, event("ana", "ok", nil))
			checkError(t, err, c.kind, c.retryable, "ana", closedURL, "secret-key")
		})
	}
}

func TestNewErrors(t *testing.T) {
	cases := []struct {
		name string
		l    recipient.Lookup
		want string
	}{
		{"no placeholders", recipient.Lookup{URL: "https://x.example/lookup"}, "{sub} or {username}"},
		{"relative", recipient.Lookup{URL: "/lookup?sub={sub}"}, "absolute http(s) URL"},
		{"other scheme", recipient.Lookup{URL: "ftp://x.example/{sub}"}, "absolute http(s) URL"},
		{"negative timeout", recipient.Lookup{URL: "https://x.example/{sub}", Timeout: -time.Second}, "Timeout"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := recipient.New(recipient.Options{Lookup: &c.l})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}

func FuzzValidateAddress(f *testing.F) {
	for _, s := range []string{"ana@example.com", "Ana <ana@example.com>", "a@b", "a\r\n@b.c", `"a"@b.c`, "josé@exämple.de", "a@[1.2.3.4]", "a..b@c.d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := recipient.ValidateAddress(s)
		if err != nil {
			if !errors.Is(err, recipient.ErrInvalidAddress) {
				t.Fatalf("error %v is not ErrInvalidAddress", err)
			}
			if len(s) > 8 && strings.Contains(err.Error(), s) {
				t.Fatalf("error %q repeats the input", err)
			}
			return
		}
		if len(s) > 254 || strings.ContainsAny(s, "\r\n\x00<>\" ") {
			t.Fatalf("accepted %q", s)
		}
		local, domain, _ := strings.Cut(s, "@")
		if local == "" || !strings.Contains(domain, ".") || strings.Contains(domain, "@") {
			t.Fatalf("accepted %q", s)
		}
	})
}

func BenchmarkValidateAddress(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := recipient.ValidateAddress("a.b+tag@mail.example.co.uk"); err != nil {
			b.Fatal(err)
		}
	}
}
