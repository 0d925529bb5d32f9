// Package sesfake is a fake Amazon SES v2 SendEmail API
// (POST /v2/email/outbound-emails, REST-JSON) on 127.0.0.1, with the read
// calls a configuration check makes (GetAccount, GetEmailIdentity,
// GetConfigurationSet): it checks the
// SigV4 Authorization header (and, given the credentials, the signature),
// validates the request the way SES documents, answers {"MessageId"}, answers
// errors as SES does (the status, an x-amzn-ErrorType header with the error
// code, a {"message"} body), and injects faults (any error code, latency,
// resets, hangs, garbage). It keeps what it accepted for assertions. It is
// safe for concurrent use and has no test dependencies, so a local stack can
// run it too.
package sesfake

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/cogmail/cogmail/pkg/provider/internal/awsfake"
	"github.com/cogmail/cogmail/pkg/provider/internal/fakehttp"
)

// Options configures a Server. The zero value accepts any signed request
// from any sender.
type Options struct {
	// Credentials, if set, are checked: another access key id gets 403
	// UnrecognizedClientException, a wrong signature 403
	// SignatureDoesNotMatch.
	Credentials *aws.Credentials
	Region      string // for messages when a request names none; default "us-east-1"
	// VerifiedIdentities, if set, are the verified addresses and domains:
	// mail from anything else gets 400 MessageRejected, and GetEmailIdentity
	// finds only these and PendingIdentities. When it is empty, every
	// identity but PendingIdentities is verified.
	VerifiedIdentities []string
	// PendingIdentities exist but are not verified: GetEmailIdentity
	// answers them with VerificationStatus PENDING.
	PendingIdentities []string
	// Sandbox also requires every recipient to be verified (SES's sandbox);
	// GetAccount answers ProductionAccessEnabled false.
	Sandbox bool
	// SendingDisabled makes GetAccount answer SendingEnabled false and
	// SendEmail 400 SendingPausedException.
	SendingDisabled bool
	// EnforcementStatus is GetAccount's; default "HEALTHY".
	EnforcementStatus string
	// ConfigurationSets, if set, are the existing configuration sets:
	// naming another (in SendEmail or GetConfigurationSet) gets 404
	// NotFoundException. When it is not set, every set exists.
	ConfigurationSets []string
	Listener          net.Listener // default: a new listener on 127.0.0.1:0
	// Publish, if set, receives the event SES would publish through a
	// configuration set for mail to the mailbox simulator's success@,
	// bounce@ and complaint@ addresses (SES's event JSON), after the send
	// is answered, as SES publishes asynchronously.
	Publish func(event []byte)
}

// Fault is injected into the next Count requests (0: every request until
// SetFault(Fault{})). Latency applies first; then Reset, Hang, Garbage or
// the error, the first one set.
type Fault struct {
	Code    string      // error code for x-amzn-ErrorType, e.g. "MessageRejected"; default from Status
	Status  int         // HTTP status; default SES's status for Code
	Message string      // error message; default a generic one for Code
	Header  http.Header // headers to set on the answer
	Latency time.Duration
	Reset   bool
	Hang    bool
	Garbage bool
	Count   int
}

func (f Fault) isZero() bool {
	return f.Code == "" && f.Status == 0 && f.Message == "" && f.Header == nil && f.Latency == 0 &&
		!f.Reset && !f.Hang && !f.Garbage
}

// Message is a mail the fake accepted.
type Message struct {
	MessageID        string
	From             string // FromEmailAddress as sent (may hold a display name)
	To               string // the bare address of the first ToAddresses entry
	ReplyTo          []string
	Subject          string
	Text             string
	HTML             string
	Headers          map[string]string
	Tags             map[string]string // EmailTags
	ConfigurationSet string
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
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.EnforcementStatus == "" {
		opts.EnforcementStatus = "HEALTHY"
	}
	s := &Server{opts: opts}
	mux := http.NewServeMux()
	mux.HandleFunc("/v2/email/outbound-emails", s.sendEmail)
	mux.HandleFunc("/v2/email/account", s.getAccount)
	mux.HandleFunc("/v2/email/identities/{identity}", s.getEmailIdentity)
	mux.HandleFunc("/v2/email/configuration-sets/{name}", s.getConfigurationSet)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, 404, "UnknownOperationException", "")
	})
	s.http = fakehttp.Start(opts.Listener, mux)
	return s
}

// URL is the endpoint to give the client (sesv2.Options.BaseEndpoint).
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

// Statuses of the SES v2 errors (from the API model) and of the common AWS ones.
var statusOf = map[string]int{
	"AccountSuspendedException":           400,
	"BadRequestException":                 400,
	"LimitExceededException":              400,
	"MailFromDomainNotVerifiedException":  400,
	"MessageRejected":                     400,
	"SendingPausedException":              400,
	"NotFoundException":                   404,
	"TooManyRequestsException":            429,
	"InternalServiceErrorException":       500,
	"ThrottlingException":                 400,
	"AccessDeniedException":               403,
	"UnrecognizedClientException":         403,
	"SignatureDoesNotMatch":               403,
	"MissingAuthenticationTokenException": 403,
	"UnknownOperationException":           404,
	"InternalFailure":                     500,
	"ServiceUnavailable":                  503,
}

var codeOf = map[int]string{
	400: "BadRequestException",
	403: "AccessDeniedException",
	404: "NotFoundException",
	429: "TooManyRequestsException",
	500: "InternalFailure",
	503: "ServiceUnavailable",
}

var messageOf = map[string]string{
	"AccountSuspendedException":           "Your account has been suspended.",
	"SendingPausedException":              "Sending is paused for this account.",
	"MailFromDomainNotVerifiedException":  "The MAIL FROM domain is not verified.",
	"TooManyRequestsException":            "Too Many Requests",
	"LimitExceededException":              "Maximum sending rate exceeded.",
	"ThrottlingException":                 "Rate exceeded",
	"AccessDeniedException":               "User is not authorized to perform: ses:SendEmail",
	"UnrecognizedClientException":         "The security token included in the request is invalid.",
	"SignatureDoesNotMatch":               "The request signature we calculated does not match the signature you provided.",
	"MissingAuthenticationTokenException": "Missing Authentication Token",
	"InternalFailure":                     "An internal error occurred.",
	"ServiceUnavailable":                  "Service is unavailable.",
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	if msg == "" {
		msg = messageOf[code]
	}
	if msg == "" {
		msg = code
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-Errortype", code)
	h.Set("X-Amzn-Requestid", requestID())
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func requestID() string { return awsfake.RequestID() }

// fault answers with f; it returns false when f only added latency.
func (s *Server) fault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	switch {
	case f.Reset:
		fakehttp.Reset(w)
	case f.Hang:
		fakehttp.Hang(r, s.http.Closed())
	case f.Garbage:
		fakehttp.Garbage(w, r)
	case f.Code != "" || f.Status != 0:
		code, status := f.Code, f.Status
		if code == "" {
			code = codeOf[status]
		}
		if code == "" {
			code = "UnknownError"
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

type content struct {
	Data    string `json:"Data"`
	Charset string `json:"Charset"`
}

type nameValue struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

type sendEmailInput struct {
	FromEmailAddress string `json:"FromEmailAddress"`
	Destination      *struct {
		ToAddresses  []string `json:"ToAddresses"`
		CcAddresses  []string `json:"CcAddresses"`
		BccAddresses []string `json:"BccAddresses"`
	} `json:"Destination"`
	ReplyToAddresses []string `json:"ReplyToAddresses"`
	Content          *struct {
		Simple *struct {
			Subject *content `json:"Subject"`
			Body    *struct {
				Text *content `json:"Text"`
				HTML *content `json:"Html"`
			} `json:"Body"`
			Headers []nameValue `json:"Headers"`
		} `json:"Simple"`
		Raw      json.RawMessage `json:"Raw"`
		Template json.RawMessage `json:"Template"`
	} `json:"Content"`
	EmailTags            []nameValue `json:"EmailTags"`
	ConfigurationSetName string      `json:"ConfigurationSetName"`
}

var tagText = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// read admits a read call (GET, signed): it applies the fault, and answers
// the failure and returns false when the call may not go on.
func (s *Server) read(w http.ResponseWriter, r *http.Request) bool {
	if f, ok := s.faults.Next(); ok {
		fakehttp.Wait(r, f.Latency, s.http.Closed())
		if s.fault(w, r, f) {
			return false
		}
	}
	if r.Method != http.MethodGet {
		writeError(w, 404, "UnknownOperationException", "")
		return false
	}
	if _, code, msg := s.authenticate(r, nil); code != "" {
		writeError(w, 403, code, msg)
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Requestid", requestID())
	_ = json.NewEncoder(w).Encode(v)
}

// getAccount answers GetAccount (GET /v2/email/account) as SES does:
// sending enabled unless Options.SendingDisabled, production access unless
// Options.Sandbox, Options.EnforcementStatus, a quota of 50000 a day and 14
// a second; a request that is not signed, or signed with unknown
// credentials, gets 403. It takes the same faults as SendEmail.
func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) {
	if !s.read(w, r) {
		return
	}
	writeJSON(w, map[string]any{
		"SendingEnabled":               !s.opts.SendingDisabled,
		"ProductionAccessEnabled":      !s.opts.Sandbox,
		"EnforcementStatus":            s.opts.EnforcementStatus,
		"DedicatedIpAutoWarmupEnabled": false,
		"SendQuota":                    map[string]float64{"Max24HourSend": 50000, "MaxSendRate": 14, "SentLast24Hours": float64(len(s.inbox.All()))},
	})
}

// getEmailIdentity answers GetEmailIdentity
// (GET /v2/email/identities/{identity}): a verified identity (SUCCESS), a
// pending one (PENDING), or 404 NotFoundException.
func (s *Server) getEmailIdentity(w http.ResponseWriter, r *http.Request) {
	if !s.read(w, r) {
		return
	}
	id := r.PathValue("identity")
	kind := "DOMAIN"
	if strings.Contains(id, "@") {
		kind = "EMAIL_ADDRESS"
	}
	is := func(list []string) bool {
		return slices.ContainsFunc(list, func(v string) bool { return strings.EqualFold(v, id) })
	}
	switch {
	case is(s.opts.PendingIdentities):
		writeJSON(w, map[string]any{"IdentityType": kind, "VerifiedForSendingStatus": false, "VerificationStatus": "PENDING"})
	case len(s.opts.VerifiedIdentities) == 0 || is(s.opts.VerifiedIdentities):
		writeJSON(w, map[string]any{"IdentityType": kind, "VerifiedForSendingStatus": true, "VerificationStatus": "SUCCESS"})
	default:
		writeError(w, 404, "NotFoundException", "Email identity "+id+" does not exist.")
	}
}

// getConfigurationSet answers GetConfigurationSet
// (GET /v2/email/configuration-sets/{name}), or 404 NotFoundException for
// a set Options.ConfigurationSets does not list.
func (s *Server) getConfigurationSet(w http.ResponseWriter, r *http.Request) {
	if !s.read(w, r) {
		return
	}
	name := r.PathValue("name")
	if s.opts.ConfigurationSets != nil && !slices.Contains(s.opts.ConfigurationSets, name) {
		writeError(w, 404, "NotFoundException", "Configuration set <"+name+"> does not exist.")
		return
	}
	writeJSON(w, map[string]any{"ConfigurationSetName": name})
}

func (s *Server) sendEmail(w http.ResponseWriter, r *http.Request) {
	if f, ok := s.faults.Next(); ok {
		fakehttp.Wait(r, f.Latency, s.http.Closed())
		if s.fault(w, r, f) {
			return
		}
	}
	if r.Method != http.MethodPost {
		writeError(w, 404, "UnknownOperationException", "")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 40<<20))
	if err != nil {
		writeError(w, 413, "BadRequestException", "Request entity too large")
		return
	}
	region, code, msg := s.authenticate(r, body)
	if code != "" {
		writeError(w, 403, code, msg)
		return
	}
	if s.opts.SendingDisabled {
		writeError(w, 400, "SendingPausedException", "")
		return
	}
	var in sendEmailInput
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, 400, "SerializationException", "Unable to parse the request body")
		return
	}
	m, code, msg := s.validate(&in, region)
	if code != "" {
		writeError(w, statusOf[code], code, msg)
		return
	}
	s.inbox.Add(m)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Requestid", requestID())
	_ = json.NewEncoder(w).Encode(map[string]string{"MessageId": m.MessageID})
	if s.opts.Publish != nil {
		if ev := simulate(m, time.Now()); ev != nil {
			go s.opts.Publish(ev)
		}
	}
}

// authenticate checks the SigV4 header, and the signature when the fake
// knows the credentials (awsfake.Authenticate). It returns the signing
// region, or an error code and message.
func (s *Server) authenticate(r *http.Request, body []byte) (region, code, msg string) {
	return awsfake.Authenticate(r, body, s.opts.Credentials, s.opts.Region)
}

func address(s string) (string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return "", false
		}
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", false
	}
	return a.Address, true
}

func (s *Server) verified(addr string) bool {
	_, domain, _ := strings.Cut(addr, "@")
	for _, id := range s.opts.VerifiedIdentities {
		if strings.EqualFold(id, addr) || strings.EqualFold(id, domain) {
			return true
		}
	}
	return false
}

// validate applies SES's rules; a non-empty code is the error to answer.
func (s *Server) validate(in *sendEmailInput, region string) (Message, string, string) {
	var m Message
	if in.Content == nil || (in.Content.Simple == nil && in.Content.Raw == nil && in.Content.Template == nil) {
		return m, "BadRequestException", "Content is required: Simple, Raw or Template."
	}
	if in.Content.Simple == nil {
		return m, "BadRequestException", "This fake supports Simple content only."
	}
	if in.FromEmailAddress == "" {
		return m, "BadRequestException", "FromEmailAddress is required."
	}
	from, ok := address(in.FromEmailAddress)
	if !ok {
		return m, "BadRequestException", "Illegal address"
	}
	if in.Destination == nil || len(in.Destination.ToAddresses)+len(in.Destination.CcAddresses)+len(in.Destination.BccAddresses) == 0 {
		return m, "BadRequestException", "Destination requires at least one recipient."
	}
	all := slices.Concat(in.Destination.ToAddresses, in.Destination.CcAddresses, in.Destination.BccAddresses)
	if len(all) > 50 {
		return m, "BadRequestException", "Recipient count exceeds 50."
	}
	var rcpts []string
	for _, a := range all {
		addr, ok := address(a)
		if !ok {
			return m, "BadRequestException", "Illegal address"
		}
		rcpts = append(rcpts, addr)
	}
	for _, a := range in.ReplyToAddresses {
		if _, ok := address(a); !ok {
			return m, "BadRequestException", "Illegal address"
		}
	}
	simple := in.Content.Simple
	if simple.Subject == nil || simple.Subject.Data == "" {
		return m, "BadRequestException", "Subject is required."
	}
	if simple.Body == nil || ((simple.Body.Text == nil || simple.Body.Text.Data == "") && (simple.Body.HTML == nil || simple.Body.HTML.Data == "")) {
		return m, "BadRequestException", "Body requires Text or Html."
	}
	for _, t := range in.EmailTags {
		if !tagText.MatchString(t.Name) || !tagText.MatchString(t.Value) {
			return m, "BadRequestException", "Tag names and values may only contain ASCII letters, numbers, underscores and dashes, up to 256 characters."
		}
	}
	if in.ConfigurationSetName != "" && s.opts.ConfigurationSets != nil && !slices.Contains(s.opts.ConfigurationSets, in.ConfigurationSetName) {
		return m, "NotFoundException", "Configuration set <" + in.ConfigurationSetName + "> does not exist."
	}
	region = strings.ToUpper(region)
	if len(s.opts.VerifiedIdentities) > 0 && !s.verified(from) {
		return m, "MessageRejected", "Email address is not verified. The following identities failed the check in region " + region + ": " + from
	}
	if s.opts.Sandbox {
		var failed []string
		for _, a := range rcpts {
			if !s.verified(a) {
				failed = append(failed, a)
			}
		}
		if len(failed) > 0 {
			return m, "MessageRejected", "Email address is not verified. The following identities failed the check in region " + region + ": " + strings.Join(failed, ", ")
		}
	}
	m = Message{
		MessageID:        "0100" + fakehttp.ID(6) + "-" + requestID() + "-000000",
		From:             in.FromEmailAddress,
		ReplyTo:          in.ReplyToAddresses,
		Subject:          simple.Subject.Data,
		Headers:          map[string]string{},
		Tags:             map[string]string{},
		ConfigurationSet: in.ConfigurationSetName,
	}
	if len(in.Destination.ToAddresses) > 0 {
		m.To, _ = address(in.Destination.ToAddresses[0])
	}
	if simple.Body.Text != nil {
		m.Text = simple.Body.Text.Data
	}
	if simple.Body.HTML != nil {
		m.HTML = simple.Body.HTML.Data
	}
	for _, h := range simple.Headers {
		m.Headers[h.Name] = h.Value
	}
	for _, t := range in.EmailTags {
		m.Tags[t.Name] = t.Value
	}
	return m, "", ""
}
