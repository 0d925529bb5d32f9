// Package twiliofake is a fake Twilio REST API on 127.0.0.1 for SMS: the
// Messages API (POST /2010-04-01/Accounts/{AccountSid}/Messages.json,
// form-encoded To, From or MessagingServiceSid, Body, StatusCallback) and
// the account fetch (GET /2010-04-01/Accounts/{AccountSid}.json), with
// HTTP basic auth by the account SID and auth token or an API key and its
// secret. It validates a send the way Twilio documents and answers errors
// as Twilio does (the status and a JSON body with code, message, more_info
// and status: 21211 invalid To, 21408 region not enabled, 21610
// unsubscribed, 21614 not a mobile number, 20003 authentication, 20429 too
// many requests, ...). It also plays Twilio's side of a status callback:
// SendStatus POSTs a message's status to its StatusCallback, signed with
// X-Twilio-Signature. It is safe for concurrent use and has no test
// dependencies, so a local stack can run it.
package twiliofake

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/cogmail/cogmail/pkg/provider/internal/fakehttp"
)

// Options configures a Server.
type Options struct {
	AccountSID string // the account; required
	AuthToken  string // the account's auth token: basic-auth password with AccountSID, and the key that signs status callbacks; required
	// APIKeys are API key SIDs (SK...) and their secrets, also accepted
	// as basic-auth user and password.
	APIKeys map[string]string
	// Unsubscribed numbers replied STOP: a send to them gets 21610.
	Unsubscribed []string
	// Landlines are not mobile numbers: a send to them gets 21614.
	Landlines []string
	// AllowedCountryCodes, if set, are the calling codes ("1", "44") the
	// account's geographic permissions allow: a send elsewhere gets 21408.
	AllowedCountryCodes []string
	// Senders, if set, are the From numbers and Messaging Service SIDs
	// the account owns: another From gets 21606, another service 21703.
	Senders      []string
	Listener     net.Listener     // default: a new listener on 127.0.0.1:0
	Now          func() time.Time // date_created of messages; default time.Now
	CallbackHTTP *http.Client     // client SendStatus posts with; default http.DefaultClient
}

// Fault is injected into the next Count requests (0: every request until
// SetFault(Fault{})). Latency applies first; then Reset, Hang, Garbage or
// the error, the first one set.
type Fault struct {
	Status  int    // HTTP status; default Twilio's status for Code, else 400
	Code    int    // Twilio error code, e.g. 20429; default from Status
	Message string // error message; default a generic one for Code
	Header  http.Header
	Latency time.Duration
	Reset   bool
	Hang    bool
	Garbage bool
	// Page answers Status (default 502) with an HTML page, as a proxy in
	// front of Twilio would.
	Page  bool
	Count int
}

func (f Fault) isZero() bool {
	return f.Status == 0 && f.Code == 0 && f.Message == "" && f.Header == nil && f.Latency == 0 && !f.Reset && !f.Hang && !f.Garbage && !f.Page
}

// Message is a message the fake accepted.
type Message struct {
	SID                 string
	To                  string
	From                string
	MessagingServiceSID string
	Body                string
	StatusCallback      string
}

// Server is the fake.
type Server struct {
	opts   Options
	http   *fakehttp.Server
	faults fakehttp.Schedule[Fault]
	inbox  fakehttp.Store[Message]
	mu     sync.Mutex
	unsub  map[string]bool
}

// New starts a fake. It panics if it cannot listen or if AccountSID or
// AuthToken is empty.
func New(opts Options) *Server {
	if opts.AccountSID == "" || opts.AuthToken == "" {
		panic("twiliofake: Options.AccountSID and AuthToken are required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CallbackHTTP == nil {
		opts.CallbackHTTP = http.DefaultClient
	}
	s := &Server{opts: opts, unsub: map[string]bool{}}
	for _, n := range opts.Unsubscribed {
		s.unsub[n] = true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/2010-04-01/Accounts/{sid}/Messages.json", s.createMessage)
	mux.HandleFunc("/2010-04-01/Accounts/{file}", s.fetchAccount)
	mux.HandleFunc("/v1/Services/{sid}", s.fetchService)
	mux.HandleFunc("/2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json", s.listNumbers)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, 404, 20404, "The requested resource "+r.URL.Path+" was not found")
	})
	s.http = fakehttp.Start(opts.Listener, mux)
	return s
}

// URL is the base URL to give the client instead of https://api.twilio.com.
func (s *Server) URL() string { return s.http.URL() }

// Messages returns the accepted messages in arrival order.
func (s *Server) Messages() []Message { return s.inbox.All() }

// Unsubscribe adds a number to the unsubscribed list, as a STOP reply would.
func (s *Server) Unsubscribe(number string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unsub[number] = true
}

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

var statusOf = map[int]int{20003: 401, 20404: 404, 20429: 429, 20500: 500, 20503: 503}

var codeOf = map[int]int{400: 21211, 401: 20003, 403: 20003, 404: 20404, 429: 20429, 500: 20500, 503: 20503}

var messageOf = map[int]string{
	20003: "Authenticate",
	20404: "The requested resource was not found",
	20429: "Too Many Requests",
	20500: "An internal server error has occurred",
	20503: "Service Unavailable",
	21211: "Invalid 'To' Phone Number",
}

func writeError(w http.ResponseWriter, status, code int, msg string) {
	if msg == "" {
		msg = messageOf[code]
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Twilio-Request-Id", "RQ"+fakehttp.ID(16))
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"code": code, "message": msg, "more_info": "https://www.twilio.com/docs/errors/" + strconv.Itoa(code), "status": status,
	})
}

func (s *Server) fault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	switch {
	case f.Reset:
		fakehttp.Reset(w)
	case f.Hang:
		fakehttp.Hang(r, s.http.Closed())
	case f.Garbage:
		fakehttp.Garbage(w, r)
	case f.Page:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(cmp.Or(f.Status, http.StatusBadGateway))
		_, _ = w.Write([]byte("<html><body><h1>Bad Gateway</h1></body></html>\n"))
	case f.Status != 0 || f.Code != 0:
		status, code := f.Status, f.Code
		if code == 0 {
			code = codeOf[status]
		}
		if status == 0 {
			status = statusOf[code]
		}
		if status == 0 {
			status = 400
		}
		for k, v := range f.Header {
			w.Header()[http.CanonicalHeaderKey(k)] = v
		}
		writeError(w, status, code, f.Message)
	default:
		return false
	}
	return true
}

// admit applies the fault and basic auth; it answers and returns false
// when the request may not go on.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, sid string) bool {
	if f, ok := s.faults.Next(); ok {
		fakehttp.Wait(r, f.Latency, s.http.Closed())
		if s.fault(w, r, f) {
			return false
		}
	}
	user, pass, ok := r.BasicAuth()
	valid := ok && (user == s.opts.AccountSID && pass == s.opts.AuthToken ||
		s.opts.APIKeys[user] != "" && s.opts.APIKeys[user] == pass)
	if !valid {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		writeError(w, 401, 20003, "Authenticate")
		return false
	}
	if sid != s.opts.AccountSID {
		writeError(w, 404, 20404, "The requested resource /2010-04-01/Accounts/"+sid+" was not found")
		return false
	}
	return true
}

func (s *Server) fetchAccount(w http.ResponseWriter, r *http.Request) {
	sid, ok := strings.CutSuffix(r.PathValue("file"), ".json")
	if !ok {
		writeError(w, 404, 20404, "")
		return
	}
	if !s.admit(w, r, sid) {
		return
	}
	if r.Method != http.MethodGet {
		writeError(w, 405, 20004, "Method not allowed")
		return
	}
	if user, _, _ := r.BasicAuth(); user != s.opts.AccountSID {
		// Only Main API keys may read the Accounts resource; the fake's
		// keys are Standard. Twilio documents the restriction, not its
		// answer: the fake answers 403 with 20003.
		writeError(w, 403, 20003, "API keys of this type may not access the Accounts resource")
		return
	}
	writeJSON(w, 200, map[string]any{"sid": sid, "friendly_name": "cogmail fake", "status": "active", "type": "Full",
		"date_created": s.opts.Now().UTC().Format(time.RFC1123Z)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Twilio-Request-Id", "RQ"+fakehttp.ID(16))
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

var (
	e164       = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	alphaID    = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
	serviceSID = regexp.MustCompile(`^MG[0-9a-f]{32}$`)
)

func (s *Server) createMessage(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, r.PathValue("sid")) {
		return
	}
	if r.Method != http.MethodPost {
		writeError(w, 405, 20004, "Method not allowed")
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, 400, 20001, "Unable to parse the request body")
		return
	}
	to, from, svc, body, cb := r.PostForm.Get("To"), r.PostForm.Get("From"), r.PostForm.Get("MessagingServiceSid"), r.PostForm.Get("Body"), r.PostForm.Get("StatusCallback")
	switch {
	case to == "":
		writeError(w, 400, 21604, "A 'To' phone number is required.")
		return
	case !e164.MatchString(to):
		writeError(w, 400, 21211, "The 'To' number "+to+" is not a valid phone number.")
		return
	case from == "" && svc == "":
		writeError(w, 400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required.")
		return
	case from != "" && !e164.MatchString(from) && !alphaID.MatchString(from):
		writeError(w, 400, 21212, "The 'From' number "+from+" is not a valid phone number, shortcode, or alphanumeric sender ID.")
		return
	case svc != "" && !serviceSID.MatchString(svc):
		writeError(w, 400, 21701, "The Messaging Service Sid "+svc+" is invalid.")
		return
	case body == "":
		writeError(w, 400, 21602, "Message body is required.")
		return
	case utf8.RuneCountInString(body) > 1600:
		writeError(w, 400, 21617, "The concatenated message body exceeds the 1600 character limit.")
		return
	}
	if cb != "" {
		if u, err := url.Parse(cb); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			writeError(w, 400, 21609, "The StatusCallback URL "+cb+" is not a valid URL.")
			return
		}
	}
	if s.opts.Senders != nil {
		if from != "" && !slices.Contains(s.opts.Senders, from) {
			writeError(w, 400, 21606, "The From phone number "+from+" is not a valid, SMS-capable inbound phone number or short code for your account.")
			return
		}
		if svc != "" && !slices.Contains(s.opts.Senders, svc) {
			writeError(w, 400, 21703, "The Messaging Service does not have a phone number available to send a message.")
			return
		}
	}
	if s.opts.AllowedCountryCodes != nil && !slices.ContainsFunc(s.opts.AllowedCountryCodes, func(cc string) bool { return strings.HasPrefix(to[1:], cc) }) {
		writeError(w, 400, 21408, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: "+to+".")
		return
	}
	if slices.Contains(s.opts.Landlines, to) {
		writeError(w, 400, 21614, "'To' number "+to+" is not a valid mobile number")
		return
	}
	s.mu.Lock()
	unsub := s.unsub[to]
	s.mu.Unlock()
	if unsub {
		writeError(w, 400, 21610, "Attempt to send to unsubscribed recipient")
		return
	}
	m := Message{SID: "SM" + fakehttp.ID(16), To: to, From: from, MessagingServiceSID: svc, Body: body, StatusCallback: cb}
	s.inbox.Add(m)
	now := s.opts.Now().UTC().Format(time.RFC1123Z)
	sid := s.opts.AccountSID
	var fromV, svcV any
	if from != "" {
		fromV = from
	}
	if svc != "" {
		svcV = svc
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"sid": m.SID, "account_sid": sid, "to": to, "from": fromV, "messaging_service_sid": svcV, "body": body,
		"status": "queued", "num_segments": "1", "num_media": "0", "direction": "outbound-api", "api_version": "2010-04-01",
		"price": nil, "price_unit": "USD", "error_code": nil, "error_message": nil,
		"date_created": now, "date_updated": now, "date_sent": nil,
		"uri": "/2010-04-01/Accounts/" + sid + "/Messages/" + m.SID + ".json",
	})
}

// Sign computes X-Twilio-Signature for a form POST to rawURL, as Twilio
// documents it: the base64 HMAC-SHA1, keyed by the auth token, of the
// full URL followed by each parameter's name and value, sorted by name.
func Sign(authToken, rawURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteString(rawURL)
	for _, k := range keys {
		for _, v := range form[k] {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write(b.Bytes())
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// ErrNoCallback is SendStatus's error for a message sent without a
// StatusCallback.
var ErrNoCallback = errors.New("twiliofake: the message has no StatusCallback")

// SendStatus posts a status callback for the accepted message sid to its
// StatusCallback, as Twilio does: form-encoded MessageSid, SmsSid,
// AccountSid, From, To, MessageStatus, SmsStatus, ApiVersion and, when
// errorCode is not 0, ErrorCode, signed with X-Twilio-Signature over the
// exact callback URL. It returns the callback's HTTP status.
func (s *Server) SendStatus(ctx context.Context, sid, status string, errorCode int) (int, error) {
	i := slices.IndexFunc(s.inbox.All(), func(m Message) bool { return m.SID == sid })
	if i < 0 {
		return 0, fmt.Errorf("twiliofake: no message %s", sid)
	}
	m := s.inbox.All()[i]
	if m.StatusCallback == "" {
		return 0, ErrNoCallback
	}
	form := url.Values{
		"MessageSid": {m.SID}, "SmsSid": {m.SID}, "AccountSid": {s.opts.AccountSID},
		"To": {m.To}, "MessageStatus": {status}, "SmsStatus": {status}, "ApiVersion": {"2010-04-01"},
	}
	if m.From != "" {
		form.Set("From", m.From)
	}
	if m.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", m.MessagingServiceSID)
	}
	if errorCode != 0 {
		form.Set("ErrorCode", strconv.Itoa(errorCode))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.StatusCallback, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", Sign(s.opts.AuthToken, m.StatusCallback, form))
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	resp, err := s.opts.CallbackHTTP.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// fetchService answers the Messaging API's service fetch
// (GET /v1/Services/{sid}; messaging.twilio.com): the service, when
// Options.Senders lists it or Senders is not set, else 20404.
func (s *Server) fetchService(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, s.opts.AccountSID) {
		return
	}
	sid := r.PathValue("sid")
	if !serviceSID.MatchString(sid) || s.opts.Senders != nil && !slices.Contains(s.opts.Senders, sid) {
		writeError(w, 404, 20404, "The requested resource /Services/"+sid+" was not found")
		return
	}
	writeJSON(w, 200, map[string]any{"sid": sid, "account_sid": s.opts.AccountSID, "friendly_name": "cogmail",
		"date_created": s.opts.Now().UTC().Format(time.RFC3339), "url": "https://messaging.twilio.com/v1/Services/" + sid})
}

// listNumbers answers the IncomingPhoneNumbers list
// (GET /2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json, with an
// optional PhoneNumber filter): the E.164 entries of Options.Senders, or,
// when Senders is not set, the number asked for (every number is the
// account's) or none.
func (s *Server) listNumbers(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, r.PathValue("sid")) {
		return
	}
	want := r.URL.Query().Get("PhoneNumber")
	var numbers []string
	switch {
	case s.opts.Senders == nil && want != "":
		numbers = []string{want}
	default:
		for _, n := range s.opts.Senders {
			if e164.MatchString(n) && (want == "" || n == want) {
				numbers = append(numbers, n)
			}
		}
	}
	list := []map[string]any{}
	for _, n := range numbers {
		list = append(list, map[string]any{"sid": "PN" + fakehttp.ID(16), "account_sid": s.opts.AccountSID, "phone_number": n,
			"capabilities": map[string]bool{"sms": true, "mms": false, "voice": true}})
	}
	writeJSON(w, 200, map[string]any{"incoming_phone_numbers": list, "page": 0, "page_size": 50, "start": 0, "end": len(list),
		"uri": r.URL.RequestURI(), "first_page_uri": r.URL.RequestURI(), "next_page_uri": nil, "previous_page_uri": nil})
}
