// Package mailgunfake is a fake Mailgun Messages API
// (POST /v3/{domain}/messages, multipart or URL-encoded form) on 127.0.0.1:
// it checks HTTP basic auth ("api" and the key), the domain and the
// required parameters, answers {"id","message":"Queued. Thank you."}, answers
// errors as Mailgun does ({"message"} JSON, and a plain "Forbidden" for a bad
// key), and injects faults (any status, 429 with Retry-After, latency,
// resets, hangs, garbage). It keeps what it accepted for assertions. It is
// safe for concurrent use and has no test dependencies, so a local stack can
// run it too.
package mailgunfake

import (
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"net"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/cogmail/cogmail/pkg/provider/internal/fakehttp"
)

// Options configures a Server. The zero value accepts any key and domain.
type Options struct {
	APIKey   string           // if set, any other key gets 401
	Domain   string           // if set, any other domain gets 404
	Listener net.Listener     // default: a new listener on 127.0.0.1:0
	Now      func() time.Time // clock for message ids; default time.Now
}

// Fault is injected into the next Count requests (0: every request until
// SetFault(Fault{})). Latency applies first; then Reset, Hang, Garbage or
// Status, the first one set.
type Fault struct {
	Status     int           // answer this status with Mailgun's error body
	Message    string        // error message; default Mailgun's text for Status
	RetryAfter time.Duration // with 429: the Retry-After header, in whole seconds
	Header     http.Header   // headers to set on the answer (they replace the defaults)
	Latency    time.Duration // wait before answering (ends early if the client leaves)
	Reset      bool          // reset the connection instead of answering
	Hang       bool          // never answer
	Garbage    bool          // answer 200 with an HTML page
	Count      int
}

func (f Fault) isZero() bool {
	return f.Status == 0 && f.Message == "" && f.RetryAfter == 0 && f.Header == nil &&
		f.Latency == 0 && !f.Reset && !f.Hang && !f.Garbage
}

// Message is a mail the fake accepted.
type Message struct {
	ID        string // the id it answered, without angle brackets
	Domain    string
	From      string // as sent: may hold a display name
	To        string // the bare address of the first "to"
	ReplyTo   string // the h:Reply-To header
	Subject   string
	Text      string
	HTML      string
	Tags      []string          // o:tag
	Variables map[string]string // v:NAME
	Headers   map[string]string // h:NAME (other than Reply-To)
	TestMode  bool              // o:testmode: Mailgun would accept it but not deliver
}

// Server is the fake.
type Server struct {
	opts   Options
	http   *fakehttp.Server
	faults fakehttp.Schedule[Fault]
	inbox  fakehttp.Store[Message]
}

// New starts a fake. It panics if it cannot listen (pass a Listener to
// handle that error yourself).
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts}
	mux := http.NewServeMux()
	mux.HandleFunc("/v3/{domain}/messages", s.messages)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if name, ok := strings.CutPrefix(r.URL.Path, "/v3/domains/"); ok && name != "" && !strings.Contains(name, "/") {
			s.domain(w, r)
			return
		}
		writeMessage(w, http.StatusNotFound, "Not Found")
	})
	s.http = fakehttp.Start(opts.Listener, mux)
	return s
}

// URL is the base URL without the /v3 suffix ("http://127.0.0.1:PORT").
func (s *Server) URL() string { return s.http.URL() }

// Messages returns the accepted messages in arrival order.
func (s *Server) Messages() []Message { return s.inbox.All() }

// ClearMessages forgets the accepted messages.
func (s *Server) ClearMessages() { s.inbox.Clear() }

// SetFault installs f; SetFault(Fault{}) clears it.
func (s *Server) SetFault(f Fault) {
	if f.isZero() {
		s.faults.Clear()
		return
	}
	s.faults.Set(f, f.Count)
}

// Close stops the server and ends hanging requests.
func (s *Server) Close() { s.http.Close() }

var statusText = map[int]string{
	http.StatusBadRequest:          "Bad Request",
	http.StatusPaymentRequired:     "Request Failed",
	http.StatusForbidden:           "Forbidden",
	http.StatusNotFound:            "Not Found",
	http.StatusTooManyRequests:     "Too many requests",
	http.StatusInternalServerError: "Internal Server Error",
}

func writeMessage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

// unauthorized is Mailgun's answer to a missing or wrong key: plain text.
func unauthorized(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Www-Authenticate", `Basic realm="MG API"`)
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte("Forbidden"))
}

// admit applies the next injected fault, then checks the method and the
// API key (HTTP Basic, user "api") as Mailgun does; it reports whether the
// request goes on, having answered it otherwise.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, method string) bool {
	if f, ok := s.faults.Next(); ok {
		fakehttp.Wait(r, f.Latency, s.http.Closed())
		if s.fault(w, r, f) {
			return false
		}
	}
	if r.Method != method {
		writeMessage(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return false
	}
	user, key, ok := r.BasicAuth()
	if !ok || user != "api" || key == "" || (s.opts.APIKey != "" && key != s.opts.APIKey) {
		unauthorized(w)
		return false
	}
	return true
}

// domain answers GET /v3/domains/{domain} (routed from "/": the pattern
// would overlap /v3/{domain}/messages) as Mailgun does: the domain's
// record, 401 for a wrong key, 404 for a domain not in the account. It
// takes the same faults as messages.
func (s *Server) domain(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, http.MethodGet) {
		return
	}
	domain := strings.TrimPrefix(r.URL.Path, "/v3/domains/")
	if s.opts.Domain != "" && domain != s.opts.Domain {
		writeMessage(w, http.StatusNotFound, "Domain not found")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"domain": map[string]any{
			"name": domain, "state": "active", "spam_action": "disabled", "wildcard": false,
			"created_at": s.opts.Now().UTC().Format("Mon, 02 Jan 2006 15:04:05 MST"),
		},
		"receiving_dns_records": []any{},
		"sending_dns_records":   []any{},
	})
}

func (s *Server) messages(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, http.MethodPost) {
		return
	}
	domain := r.PathValue("domain")
	if s.opts.Domain != "" && domain != s.opts.Domain {
		writeMessage(w, http.StatusNotFound, "Domain not found: "+domain)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 25<<20)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	switch ct {
	case "multipart/form-data":
		err = r.ParseMultipartForm(32 << 20)
	case "application/x-www-form-urlencoded":
		err = r.ParseForm()
	default:
		writeMessage(w, http.StatusBadRequest, "Content-Type must be multipart/form-data or application/x-www-form-urlencoded")
		return
	}
	if err != nil {
		writeMessage(w, http.StatusBadRequest, "Bad Request")
		return
	}
	m, msg := parse(r)
	if msg != "" {
		writeMessage(w, http.StatusBadRequest, msg)
		return
	}
	m.Domain = domain
	m.ID = fmt.Sprintf("%s.%s@%s", s.opts.Now().UTC().Format("20060102150405"), fakehttp.ID(8), domain)
	s.inbox.Add(m)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"id": "<" + m.ID + ">", "message": "Queued. Thank you."})
}

// parse reads the form as Mailgun does; a non-empty string is the 400 message.
func parse(r *http.Request) (Message, string) {
	f := r.Form
	if r.MultipartForm != nil {
		f = r.MultipartForm.Value
	}
	get := func(k string) string {
		if v := f[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	m := Message{
		From:      get("from"),
		Subject:   get("subject"),
		Text:      get("text"),
		HTML:      get("html"),
		Tags:      f["o:tag"],
		Variables: map[string]string{},
		Headers:   map[string]string{},
		TestMode:  yes(get("o:testmode")),
	}
	for k, v := range f {
		switch {
		case strings.HasPrefix(k, "v:"):
			m.Variables[k[2:]] = v[0]
		case strings.EqualFold(k, "h:Reply-To"):
			m.ReplyTo = v[0]
		case strings.HasPrefix(k, "h:"):
			m.Headers[k[2:]] = v[0]
		}
	}
	switch {
	case m.From == "":
		return m, "from parameter is missing"
	case !address(m.From):
		return m, "from parameter is not a valid address. please check documentation"
	case len(f["to"]) == 0 || get("to") == "":
		return m, "to parameter is missing"
	case m.Subject == "":
		return m, "subject parameter is missing"
	case m.Text == "" && m.HTML == "" && get("amp-html") == "" && get("template") == "":
		return m, "Need at least one of 'text', 'html', 'amp-html' or 'template' parameters specified"
	case len(m.Tags) > 3:
		return m, "Too many tags: at most 3 are allowed per message"
	}
	for _, to := range f["to"] {
		list, err := mail.ParseAddressList(to)
		if err != nil || len(list) == 0 {
			return m, "to parameter is not a valid address. please check documentation"
		}
		if m.To == "" {
			m.To = list[0].Address
		}
	}
	return m, ""
}

func address(s string) bool {
	_, err := mail.ParseAddress(s)
	return err == nil
}

func yes(s string) bool {
	switch strings.ToLower(s) {
	case "yes", "true", "1":
		return true
	}
	return false
}

// fault answers with f; it returns false when f only added latency.
func (s *Server) fault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	switch {
	case f.Reset:
		fakehttp.Reset(w)
	case f.Hang:
		fakehttp.Hang(r, s.http.Closed())
	case f.Garbage:
		fakehttp.Garbage(w, r)
	case f.Status == http.StatusUnauthorized && f.Message == "" && f.Header == nil:
		unauthorized(w)
	case f.Status != 0:
		h := w.Header()
		if f.Status == http.StatusTooManyRequests {
			h.Set("Retry-After", strconv.Itoa(int(math.Ceil(f.RetryAfter.Seconds()))))
		}
		for k, v := range f.Header {
			h[http.CanonicalHeaderKey(k)] = v
		}
		msg := f.Message
		if msg == "" {
			msg = statusText[f.Status]
		}
		if msg == "" {
			msg = http.StatusText(f.Status)
		}
		writeMessage(w, f.Status, msg)
	default:
		return false
	}
	return true
}
