// Package sendgridfake is a fake SendGrid v3 Mail Send API
// (POST /v3/mail/send) on 127.0.0.1: it authenticates the bearer key,
// validates the payload the way SendGrid documents, answers 202 with an
// X-Message-Id (200 in sandbox mode), answers errors as
// {"errors":[{"message","field","help"}]}, and injects faults (any status,
// 429 with X-RateLimit-* headers, latency, resets, hangs, garbage). It keeps
// what it accepted for assertions. It is safe for concurrent use and has no
// test dependencies, so a local stack can run it too.
package sendgridfake

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/cogmail/cogmail/pkg/provider/internal/fakehttp"
)

// Options configures a Server. The zero value accepts any bearer key.
type Options struct {
	APIKey   string           // if set, any other key gets 401
	Listener net.Listener     // default: a new listener on 127.0.0.1:0
	Now      func() time.Time // clock for X-RateLimit-Reset; default time.Now
	Limit    int              // X-RateLimit-Limit on 429 answers; default 600
	Scopes   []string         // what GET /v3/scopes lists for the key; default ["mail.send"]
}

// Fault is injected into the next Count requests (0: every request until
// SetFault(Fault{})). Latency applies first; then Reset, Hang, Garbage or
// Status, the first one set.
type Fault struct {
	Status     int           // answer this status with SendGrid's error body
	Message    string        // error message; default SendGrid's text for Status
	Field      string        // error field, e.g. "personalizations.0.to.0.email"
	RetryAfter time.Duration // with 429: X-RateLimit-Reset is now+RetryAfter (epoch seconds)
	Header     http.Header   // headers to set on the answer (they replace the defaults)
	Latency    time.Duration // wait before answering (ends early if the client leaves)
	Reset      bool          // reset the connection instead of answering
	Hang       bool          // never answer
	Garbage    bool          // answer 200 with an HTML page
	Count      int
}

func (f Fault) isZero() bool {
	return f.Status == 0 && f.Message == "" && f.Field == "" && f.RetryAfter == 0 && f.Header == nil &&
		f.Latency == 0 && !f.Reset && !f.Hang && !f.Garbage
}

// Message is a mail the fake accepted.
type Message struct {
	ID         string // the X-Message-Id it answered
	From       string
	FromName   string
	To         string // the first personalization's first recipient
	ReplyTo    string
	Subject    string
	Text       string
	HTML       string
	Headers    map[string]string
	CustomArgs map[string]string
	Categories []string
	Sandbox    bool // mail_settings.sandbox_mode.enable: SendGrid would not deliver it
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
	if opts.Limit == 0 {
		opts.Limit = 600
	}
	s := &Server{opts: opts}
	mux := http.NewServeMux()
	mux.HandleFunc("/v3/mail/send", s.send)
	mux.HandleFunc("/v3/scopes", s.scopes)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErrors(w, http.StatusNotFound, apiError{Message: "not found"})
	})
	s.http = fakehttp.Start(opts.Listener, mux)
	return s
}

// URL is the base URL to give the client ("http://127.0.0.1:PORT").
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

type apiError struct {
	Message string  `json:"message"`
	Field   *string `json:"field"`
	Help    *string `json:"help"`
}

const helpBase = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#"

// statusText is SendGrid's message for statuses it answers without detail.
var statusText = map[int]string{
	http.StatusBadRequest:            "Bad Request",
	http.StatusUnauthorized:          "The provided authorization grant is invalid, expired, or revoked",
	http.StatusForbidden:             "access forbidden",
	http.StatusNotFound:              "not found",
	http.StatusMethodNotAllowed:      "method not allowed",
	http.StatusRequestEntityTooLarge: "payload too large",
	http.StatusUnsupportedMediaType:  "Content-Type should be application/json",
	http.StatusTooManyRequests:       "too many requests",
	http.StatusInternalServerError:   "internal error",
	http.StatusServiceUnavailable:    "service unavailable",
}

func writeErrors(w http.ResponseWriter, status int, errs ...apiError) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Errors []apiError `json:"errors"`
	}{errs})
}

func field(f string) apiError {
	e := apiError{Field: &f}
	h := helpBase + "message." + f
	e.Help = &h
	return e
}

// admit is what every endpoint does first, as SendGrid does: an injected
// fault, then the method, then the API key. It reports whether to go on.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, method string) bool {
	if f, ok := s.faults.Next(); ok {
		fakehttp.Wait(r, f.Latency, s.http.Closed())
		if s.fault(w, r, f) {
			return false
		}
	}
	if r.Method != method {
		writeErrors(w, http.StatusMethodNotAllowed, apiError{Message: statusText[http.StatusMethodNotAllowed]})
		return false
	}
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || key == "" {
		writeErrors(w, http.StatusUnauthorized, apiError{Message: "authorization required"})
		return false
	}
	if s.opts.APIKey != "" && key != s.opts.APIKey {
		writeErrors(w, http.StatusUnauthorized, apiError{Message: statusText[http.StatusUnauthorized]})
		return false
	}
	return true
}

func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, http.MethodPost) {
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeErrors(w, http.StatusUnsupportedMediaType, apiError{Message: statusText[http.StatusUnsupportedMediaType]})
		return
	}
	var p payload
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 30<<20))
	if err := dec.Decode(&p); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeErrors(w, http.StatusRequestEntityTooLarge, apiError{Message: statusText[http.StatusRequestEntityTooLarge]})
			return
		}
		writeErrors(w, http.StatusBadRequest, apiError{Message: "Bad Request"})
		return
	}
	if errs := p.validate(); len(errs) > 0 {
		writeErrors(w, http.StatusBadRequest, errs...)
		return
	}
	id := fakehttp.ID(11)
	m := p.message()
	m.ID = id
	s.inbox.Add(m)
	w.Header().Set("X-Message-Id", id)
	if m.Sandbox {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// scopes answers GET /v3/scopes as SendGrid does: the key's permissions,
// or 401 for a key it does not know. It takes the same faults as send.
func (s *Server) scopes(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, http.MethodGet) {
		return
	}
	scopes := s.opts.Scopes
	if scopes == nil {
		scopes = []string{"mail.send"}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string][]string{"scopes": scopes})
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
	case f.Status != 0:
		h := w.Header()
		if f.Status == http.StatusTooManyRequests {
			h.Set("X-RateLimit-Limit", strconv.Itoa(s.opts.Limit))
			h.Set("X-RateLimit-Remaining", "0")
			h.Set("X-RateLimit-Reset", strconv.FormatInt(s.opts.Now().Add(f.RetryAfter).Unix(), 10))
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
		e := apiError{Message: msg}
		if f.Field != "" {
			e = field(f.Field)
			e.Message = msg
		}
		if f.Status >= 200 && f.Status < 300 {
			w.WriteHeader(f.Status)
			return true
		}
		writeErrors(w, f.Status, e)
	default:
		return false
	}
	return true
}

type email struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

type payload struct {
	Personalizations []struct {
		To      []email `json:"to"`
		Subject string  `json:"subject"`
	} `json:"personalizations"`
	From    *email `json:"from"`
	ReplyTo *email `json:"reply_to"`
	Subject string `json:"subject"`
	Content []struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"content"`
	TemplateID   string            `json:"template_id"`
	Headers      map[string]string `json:"headers"`
	Categories   []string          `json:"categories"`
	CustomArgs   map[string]string `json:"custom_args"`
	MailSettings *struct {
		SandboxMode *struct {
			Enable *bool `json:"enable"`
		} `json:"sandbox_mode"`
	} `json:"mail_settings"`
}

var reserved = map[string]bool{
	"x-sg-id": true, "x-sg-eid": true, "received": true, "dkim-signature": true, "content-type": true,
	"content-transfer-encoding": true, "to": true, "from": true, "subject": true, "reply-to": true,
	"cc": true, "bcc": true,
}

// validAddress is SendGrid's address check: a bare address, in ASCII (it
// answers an address with a non-ASCII character with 400 "Invalid email
// address"; see pkg/provider/sendgrid's UTF8Recipients).
func validAddress(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}

// validate applies the rules SendGrid documents for /v3/mail/send.
func (p *payload) validate() []apiError {
	var errs []apiError
	add := func(f, msg string) {
		e := field(f)
		e.Message = msg
		errs = append(errs, e)
	}
	if len(p.Personalizations) == 0 {
		add("personalizations", "The personalizations field is required and must have at least one personalization.")
	}
	allSubjects := len(p.Personalizations) > 0
	for i, pz := range p.Personalizations {
		if len(pz.To) == 0 {
			add("personalizations."+strconv.Itoa(i)+".to", "The to array is required for all personalization objects, and must have at least one email object with a valid email address.")
		}
		for j, to := range pz.To {
			if !validAddress(to.Email) {
				add("personalizations."+strconv.Itoa(i)+".to."+strconv.Itoa(j)+".email", "Does not contain a valid address.")
			}
		}
		if pz.Subject == "" {
			allSubjects = false
		}
	}
	switch {
	case p.From == nil || p.From.Email == "":
		add("from", "The from object must be provided for every email send. It is an object that requires the email parameter, but may also contain a name parameter.")
	case !validAddress(p.From.Email):
		add("from.email", "The from email does not contain a valid address.")
	}
	if p.ReplyTo != nil && !validAddress(p.ReplyTo.Email) {
		add("reply_to.email", "The reply_to email does not contain a valid address.")
	}
	if p.Subject == "" && !allSubjects && p.TemplateID == "" {
		add("subject", "The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined.")
	}
	if len(p.Content) == 0 && p.TemplateID == "" {
		add("content", "Unless a valid template_id is provided, the content parameter is required. There must be at least one defined content block. We typically suggest both text/plain and text/html blocks are included, but only one block is required.")
	}
	for i, c := range p.Content {
		if c.Value == "" {
			add("content."+strconv.Itoa(i)+".value", "The content value must be a string at least one character in length.")
		}
		if i > 0 && c.Type == "text/plain" {
			add("content", "If present, text/plain must be first, followed by text/html, followed by any other content.")
		}
	}
	for k := range p.Headers {
		if reserved[strings.ToLower(k)] {
			add("headers", "The headers provided contain a reserved header ("+k+").")
		}
	}
	if len(p.Categories) > 10 {
		add("categories", "You cannot have more than 10 categories associated with an email.")
	}
	for _, c := range p.Categories {
		if len(c) > 255 {
			add("categories", "A category cannot have more than 255 characters.")
		}
	}
	n := 0
	for k, v := range p.CustomArgs {
		n += len(k) + len(v)
	}
	if n > 10000 {
		add("custom_args", "The custom_args total size cannot exceed 10,000 bytes.")
	}
	return errs
}

func (p *payload) message() Message {
	m := Message{
		From:       p.From.Email,
		FromName:   p.From.Name,
		Subject:    p.Subject,
		Headers:    p.Headers,
		CustomArgs: p.CustomArgs,
		Categories: p.Categories,
	}
	if pz := p.Personalizations[0]; len(pz.To) > 0 {
		m.To = pz.To[0].Email
		if pz.Subject != "" {
			m.Subject = pz.Subject
		}
	}
	if p.ReplyTo != nil {
		m.ReplyTo = p.ReplyTo.Email
	}
	for _, c := range p.Content {
		switch c.Type {
		case "text/plain":
			m.Text = c.Value
		case "text/html":
			m.HTML = c.Value
		}
	}
	if ms := p.MailSettings; ms != nil && ms.SandboxMode != nil && ms.SandboxMode.Enable != nil {
		m.Sandbox = *ms.SandboxMode.Enable
	}
	return m
}
