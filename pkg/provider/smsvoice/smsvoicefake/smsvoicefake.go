// Package smsvoicefake is a fake AWS End User Messaging SMS endpoint
// (pinpoint-sms-voice-v2) on 127.0.0.1, speaking the protocol the SDK
// speaks (AWS JSON 1.0: a POST to / naming the operation in X-Amz-Target,
// answered in JSON): SendTextMessage and DescribeAccountAttributes. It
// checks the SigV4 header (and, given the credentials, the signature),
// validates a send the way the API documents (E.164 destination, body
// length, message type, known origination identities and configuration
// sets, the opt-out list), answers errors as the service does (a JSON body
// with __type, message and the exception's Reason, ResourceType or
// Fields), and injects faults. It is safe for concurrent use and has no
// test dependencies, so a local stack can run it.
package smsvoicefake

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/cogmail/cogmail/pkg/provider/internal/awsfake"
	"github.com/cogmail/cogmail/pkg/provider/internal/fakehttp"
)

// Options configures a Server. The zero value accepts any signed request
// from any origination identity and configuration set.
type Options struct {
	// Credentials, if set, are checked: another access key id gets
	// UnrecognizedClientException, a wrong signature SignatureDoesNotMatch.
	Credentials *aws.Credentials
	Region      string // default "us-east-1"
	// OriginationIdentities, if set, are the account's phone numbers,
	// sender IDs and pools: another gets ResourceNotFoundException.
	OriginationIdentities []string
	// ConfigurationSets, if set, are the account's configuration sets:
	// another gets ResourceNotFoundException.
	ConfigurationSets []string
	// OptedOut lists numbers on the opt-out list: a send to them gets
	// ConflictException with Reason DESTINATION_PHONE_NUMBER_OPTED_OUT.
	OptedOut []string
	Listener net.Listener // default: a new listener on 127.0.0.1:0
}

// Fault is injected into the next Count requests (0: every request until
// SetFault(Fault{})). Latency applies first; then Reset, Hang, Garbage or
// the error, the first one set.
type Fault struct {
	Code    string      // the exception, e.g. "ThrottlingException"; default from Status
	Status  int         // HTTP status; default 400 (500 for InternalServerException)
	Reason  string      // the exception's Reason, e.g. "DESTINATION_PHONE_NUMBER_OPTED_OUT"
	Message string      // error message; default a generic one for Code
	Header  http.Header // headers to set on the answer
	Latency time.Duration
	Reset   bool
	Hang    bool
	Garbage bool
	Count   int
}

func (f Fault) isZero() bool {
	return f.Code == "" && f.Status == 0 && f.Reason == "" && f.Message == "" && f.Header == nil && f.Latency == 0 &&
		!f.Reset && !f.Hang && !f.Garbage
}

// Message is a text message the fake accepted.
type Message struct {
	MessageID              string
	DestinationPhoneNumber string
	OriginationIdentity    string
	MessageBody            string
	MessageType            string
	ConfigurationSetName   string
	MaxPrice               string
	Context                map[string]string
}

// Server is the fake.
type Server struct {
	opts   Options
	http   *fakehttp.Server
	faults fakehttp.Schedule[Fault]
	inbox  fakehttp.Store[Message]

	mu       sync.Mutex
	optedOut map[string]bool
}

// New starts a fake. It panics if it cannot listen.
func New(opts Options) *Server {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	s := &Server{opts: opts, optedOut: map[string]bool{}}
	for _, n := range opts.OptedOut {
		s.optedOut[n] = true
	}
	s.http = fakehttp.Start(opts.Listener, http.HandlerFunc(s.serve))
	return s
}

// URL is the endpoint to give the client (BaseEndpoint).
func (s *Server) URL() string { return s.http.URL() }

// Messages returns the accepted messages in arrival order.
func (s *Server) Messages() []Message { return s.inbox.All() }

// OptOut adds a number to the opt-out list, as a STOP reply would.
func (s *Server) OptOut(number string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.optedOut[number] = true
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

var codeOf = map[int]string{
	400: "ValidationException",
	403: "AccessDeniedException",
	404: "ResourceNotFoundException",
	429: "ThrottlingException",
	500: "InternalServerException",
	503: "ServiceUnavailable",
}

var messageOf = map[string]string{
	"AccessDeniedException":         "User is not authorized to perform: sms-voice:SendTextMessage",
	"ThrottlingException":           "Rate exceeded",
	"ServiceQuotaExceededException": "Service quota exceeded",
	"InternalServerException":       "Internal server error",
	"UnrecognizedClientException":   "The security token included in the request is invalid.",
}

func writeError(w http.ResponseWriter, status int, code, msg string, extra map[string]any) {
	if msg == "" {
		msg = messageOf[code]
	}
	if msg == "" {
		msg = code
	}
	body := map[string]any{"__type": code, "message": msg}
	for k, v := range extra {
		body[k] = v
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Requestid", awsfake.RequestID())
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Requestid", awsfake.RequestID())
	_ = json.NewEncoder(w).Encode(v)
}

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
			status = 400
			if code == "InternalServerException" {
				status = 500
			}
		}
		for k, v := range f.Header {
			w.Header()[http.CanonicalHeaderKey(k)] = v
		}
		var extra map[string]any
		if f.Reason != "" {
			extra = map[string]any{"Reason": f.Reason}
		}
		writeError(w, status, code, f.Message, extra)
	default:
		return false
	}
	return true
}

const targetPrefix = "PinpointSMSVoiceV2."

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if f, ok := s.faults.Next(); ok {
		fakehttp.Wait(r, f.Latency, s.http.Closed())
		if s.fault(w, r, f) {
			return
		}
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	if r.Method != http.MethodPost || r.URL.Path != "/" || !ok {
		writeError(w, 400, "UnknownOperationException", "", nil)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		writeError(w, 400, "ValidationException", "Request is too large.", nil)
		return
	}
	if _, code, msg := awsfake.Authenticate(r, body, s.opts.Credentials, s.opts.Region); code != "" {
		writeError(w, 400, code, msg, nil)
		return
	}
	switch op {
	case "SendTextMessage":
		s.send(w, body)
	case "DescribeConfigurationSets":
		s.describeConfigurationSets(w, body)
	case "DescribeAccountAttributes":
		writeJSON(w, map[string]any{"AccountAttributes": []map[string]string{{"Name": "ACCOUNT_TIER", "Value": "PRODUCTION"}}})
	default:
		writeError(w, 400, "UnknownOperationException", "", nil)
	}
}

type sendInput struct {
	DestinationPhoneNumber string            `json:"DestinationPhoneNumber"`
	OriginationIdentity    string            `json:"OriginationIdentity"`
	MessageBody            string            `json:"MessageBody"`
	MessageType            string            `json:"MessageType"`
	ConfigurationSetName   string            `json:"ConfigurationSetName"`
	MaxPrice               string            `json:"MaxPrice"`
	Context                map[string]string `json:"Context"`
}

var (
	e164  = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	price = regexp.MustCompile(`^[0-9]{0,2}\.[0-9]{1,5}$`)
)

func invalid(w http.ResponseWriter, msg, field string) {
	writeError(w, 400, "ValidationException", msg, map[string]any{
		"Reason": "INVALID_PARAMETER",
		"Fields": []map[string]string{{"Name": field, "Message": msg}},
	})
}

func (s *Server) send(w http.ResponseWriter, body []byte) {
	var in sendInput
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, 400, "SerializationException", "Unable to parse the request body", nil)
		return
	}
	switch {
	case !e164.MatchString(in.DestinationPhoneNumber):
		invalid(w, "The destination phone number "+in.DestinationPhoneNumber+" is not a valid E.164 number.", "DestinationPhoneNumber")
		return
	case in.MessageBody == "" || utf8.RuneCountInString(in.MessageBody) > 1600:
		invalid(w, "MessageBody must be between 1 and 1600 characters.", "MessageBody")
		return
	case in.MessageType != "" && in.MessageType != "TRANSACTIONAL" && in.MessageType != "PROMOTIONAL":
		invalid(w, "MessageType must be TRANSACTIONAL or PROMOTIONAL.", "MessageType")
		return
	case in.MaxPrice != "" && !price.MatchString(in.MaxPrice):
		invalid(w, "MaxPrice must be a decimal such as 0.50.", "MaxPrice")
		return
	}
	if in.OriginationIdentity != "" && s.opts.OriginationIdentities != nil && !slices.Contains(s.opts.OriginationIdentities, in.OriginationIdentity) {
		writeError(w, 400, "ResourceNotFoundException", "The origination identity was not found.",
			map[string]any{"ResourceType": "phone-number", "ResourceId": in.OriginationIdentity})
		return
	}
	if in.ConfigurationSetName != "" && s.opts.ConfigurationSets != nil && !slices.Contains(s.opts.ConfigurationSets, in.ConfigurationSetName) {
		writeError(w, 400, "ResourceNotFoundException", "The configuration set was not found.",
			map[string]any{"ResourceType": "configuration-set", "ResourceId": in.ConfigurationSetName})
		return
	}
	s.mu.Lock()
	out := s.optedOut[in.DestinationPhoneNumber]
	s.mu.Unlock()
	if out {
		writeError(w, 400, "ConflictException", "The destination phone number "+in.DestinationPhoneNumber+" is opted out.",
			map[string]any{"Reason": "DESTINATION_PHONE_NUMBER_OPTED_OUT", "ResourceType": "opt-out-list", "ResourceId": "Default"})
		return
	}
	m := Message{
		MessageID:              awsfake.RequestID(),
		DestinationPhoneNumber: in.DestinationPhoneNumber,
		OriginationIdentity:    in.OriginationIdentity,
		MessageBody:            in.MessageBody,
		MessageType:            in.MessageType,
		ConfigurationSetName:   in.ConfigurationSetName,
		MaxPrice:               in.MaxPrice,
		Context:                in.Context,
	}
	s.inbox.Add(m)
	writeJSON(w, map[string]string{"MessageId": m.MessageID})
}

// describeConfigurationSets answers DescribeConfigurationSets for the
// names asked (every name exists when Options.ConfigurationSets is not
// set), or ResourceNotFoundException for the first unknown one.
func (s *Server) describeConfigurationSets(w http.ResponseWriter, body []byte) {
	var in struct {
		ConfigurationSetNames []string `json:"ConfigurationSetNames"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, 400, "SerializationException", "Unable to parse the request body", nil)
		return
	}
	names := in.ConfigurationSetNames
	if len(names) == 0 {
		names = s.opts.ConfigurationSets
	}
	sets := []map[string]any{}
	for _, n := range names {
		if s.opts.ConfigurationSets != nil && !slices.Contains(s.opts.ConfigurationSets, n) {
			writeError(w, 400, "ResourceNotFoundException", "The configuration set was not found.",
				map[string]any{"ResourceType": "configuration-set", "ResourceId": n})
			return
		}
		sets = append(sets, map[string]any{
			"ConfigurationSetArn":  "arn:aws:sms-voice:" + s.opts.Region + ":123456789012:configuration-set/" + n,
			"ConfigurationSetName": n, "CreatedTimestamp": 1.7e9, "EventDestinations": []any{},
		})
	}
	writeJSON(w, map[string]any{"ConfigurationSets": sets})
}
