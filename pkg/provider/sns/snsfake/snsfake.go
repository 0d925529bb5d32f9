// Package snsfake is a fake Amazon SNS endpoint for SMS on 127.0.0.1,
// speaking the protocol the SDK speaks (awsquery: a form-encoded POST with
// Action and Version, answered in XML): Publish to a PhoneNumber,
// CheckIfPhoneNumberIsOptedOut and GetSMSAttributes. It checks the SigV4
// header (and, given the credentials, the signature), validates a publish
// the way SNS documents (E.164 number, message size, the AWS.SNS.SMS.*
// attributes), answers errors as SNS does (the status and an ErrorResponse
// document with Type, Code and Message), and injects faults. A publish to a
// number on the opted-out list is accepted and dropped, as SNS does (the
// delivery log says so; the publisher is not told). It is safe for
// concurrent use and has no test dependencies, so a local stack can run it.
package snsfake

import (
	"encoding/xml"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/cogmail/cogmail/pkg/provider/internal/awsfake"
	"github.com/cogmail/cogmail/pkg/provider/internal/fakehttp"
)

// Options configures a Server. The zero value accepts any signed request.
type Options struct {
	// Credentials, if set, are checked: another access key id gets 403
	// InvalidClientTokenId, a wrong signature 403 SignatureDoesNotMatch.
	Credentials *aws.Credentials
	Region      string // default "us-east-1"
	// OptedOut lists E.164 numbers that opted out: CheckIfPhoneNumberIsOptedOut
	// answers true for them, and a publish to them is accepted and dropped.
	OptedOut []string
	// Denied lists actions ("CheckIfPhoneNumberIsOptedOut") the caller's
	// IAM policy does not allow: they get 403 AuthorizationError.
	Denied   []string
	Listener net.Listener // default: a new listener on 127.0.0.1:0
}

// Fault is injected into the next Count requests (0: every request until
// SetFault(Fault{})). Latency applies first; then Reset, Hang, Garbage or
// the error, the first one set.
type Fault struct {
	Code    string      // SNS error code, e.g. "Throttled", "InvalidParameter"; default from Status
	Status  int         // HTTP status; default SNS's status for Code
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

// SMS is a text message the fake accepted.
type SMS struct {
	MessageID         string
	PhoneNumber       string
	Message           string
	SMSType           string // AWS.SNS.SMS.SMSType; "" when not sent
	SenderID          string // AWS.SNS.SMS.SenderID
	OriginationNumber string // AWS.MM.SMS.OriginationNumber
	MaxPrice          string // AWS.SNS.SMS.MaxPrice
	Dropped           bool   // the number had opted out: SNS accepted it and did not deliver
}

// Server is the fake.
type Server struct {
	opts   Options
	http   *fakehttp.Server
	faults fakehttp.Schedule[Fault]
	sent   fakehttp.Store[SMS]

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

// URL is the endpoint to give the client (sns.Options.BaseEndpoint).
func (s *Server) URL() string { return s.http.URL() }

// Messages returns the delivered messages in arrival order (not the
// dropped ones).
func (s *Server) Messages() []SMS {
	var out []SMS
	for _, m := range s.sent.All() {
		if !m.Dropped {
			out = append(out, m)
		}
	}
	return out
}

// Dropped returns the publishes SNS accepted for opted-out numbers.
func (s *Server) Dropped() []SMS {
	var out []SMS
	for _, m := range s.sent.All() {
		if m.Dropped {
			out = append(out, m)
		}
	}
	return out
}

// OptOut adds a number to the opted-out list, as a STOP reply would.
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

// Statuses and senders (Type) of SNS's errors, from the API model and the
// common query errors.
var statusOf = map[string]int{
	"AuthorizationError":          403,
	"InternalError":               500,
	"InvalidParameter":            400,
	"ParameterValueInvalid":       400,
	"ValidationException":         400,
	"NotFound":                    404,
	"OptedOut":                    400,
	"Throttled":                   429,
	"InvalidClientTokenId":        403,
	"SignatureDoesNotMatch":       403,
	"MissingAuthenticationToken":  403,
	"IncompleteSignature":         400,
	"InvalidAction":               400,
	"ServiceUnavailable":          503,
	"KMSThrottling":               400,
	"EndpointDisabled":            400,
	"PlatformApplicationDisabled": 400,
}

var codeOf = map[int]string{
	400: "InvalidParameter",
	403: "AuthorizationError",
	404: "NotFound",
	429: "Throttled",
	500: "InternalError",
	503: "ServiceUnavailable",
}

var messageOf = map[string]string{
	"AuthorizationError":    "User is not authorized to perform: SNS:Publish",
	"InternalError":         "Internal Error",
	"Throttled":             "Rate exceeded",
	"OptedOut":              "Phone number is opted out",
	"InvalidClientTokenId":  "The security token included in the request is invalid.",
	"SignatureDoesNotMatch": "The request signature we calculated does not match the signature you provided.",
	"ServiceUnavailable":    "Service is unavailable.",
}

// The query protocol's AWS-wide codes have their own names (the JSON
// protocols' UnrecognizedClientException is InvalidClientTokenId here).
var queryCode = map[string]string{
	"UnrecognizedClientException":         "InvalidClientTokenId",
	"MissingAuthenticationTokenException": "MissingAuthenticationToken",
	"IncompleteSignatureException":        "IncompleteSignature",
}

const xmlns = "http://sns.amazonaws.com/doc/2010-03-31/"

type errorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	if msg == "" {
		msg = messageOf[code]
	}
	if msg == "" {
		msg = code
	}
	var e errorResponse
	e.Xmlns = xmlns
	e.Error.Type = "Sender"
	if status >= 500 {
		e.Error.Type = "Receiver"
	}
	e.Error.Code, e.Error.Message, e.RequestID = code, msg, awsfake.RequestID()
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", e.RequestID)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, xml.Header)
	_ = xml.NewEncoder(w).Encode(e)
}

func writeResult(w http.ResponseWriter, action, inner string) {
	id := awsfake.RequestID()
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", id)
	_, _ = io.WriteString(w, xml.Header+`<`+action+`Response xmlns="`+xmlns+`"><`+action+`Result>`+inner+
		`</`+action+`Result><ResponseMetadata><RequestId>`+id+`</RequestId></ResponseMetadata></`+action+`Response>`)
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
			code = cmpOr(codeOf[status], "UnknownError")
		}
		if status == 0 {
			status = cmpOr(statusOf[code], 400)
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

func cmpOr[T comparable](v, d T) T {
	var zero T
	if v == zero {
		return d
	}
	return v
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if f, ok := s.faults.Next(); ok {
		fakehttp.Wait(r, f.Latency, s.http.Closed())
		if s.fault(w, r, f) {
			return
		}
	}
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		writeError(w, 400, "InvalidAction", "The action or operation requested is invalid.")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		writeError(w, 400, "ValidationException", "Request is too large.")
		return
	}
	if _, code, msg := awsfake.Authenticate(r, body, s.opts.Credentials, s.opts.Region); code != "" {
		code = cmpOr(queryCode[code], code)
		writeError(w, cmpOr(statusOf[code], 403), code, msg)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeError(w, 400, "MalformedQueryString", "The query string is malformed.")
		return
	}
	if a := form.Get("Action"); slices.Contains(s.opts.Denied, a) {
		writeError(w, 403, "AuthorizationError", "User: arn:aws:iam::123456789012:user/cogmail is not authorized to perform: SNS:"+a)
		return
	}
	switch form.Get("Action") {
	case "Publish":
		s.publish(w, form)
	case "CheckIfPhoneNumberIsOptedOut":
		n := form.Get("phoneNumber")
		if !e164.MatchString(n) {
			writeError(w, 400, "InvalidParameter", "Invalid parameter: PhoneNumber Reason: "+n+" is not a valid phone number")
			return
		}
		s.mu.Lock()
		out := s.optedOut[n]
		s.mu.Unlock()
		writeResult(w, "CheckIfPhoneNumberIsOptedOut", "<isOptedOut>"+strconv.FormatBool(out)+"</isOptedOut>")
	case "GetSMSAttributes":
		writeResult(w, "GetSMSAttributes", "<attributes><entry><key>DefaultSMSType</key><value>Transactional</value></entry>"+
			"<entry><key>MonthlySpendLimit</key><value>1</value></entry></attributes>")
	default:
		writeError(w, 400, "InvalidAction", "Could not find operation "+form.Get("Action")+" for version "+form.Get("Version"))
	}
}

var (
	e164     = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	senderID = regexp.MustCompile(`^[A-Za-z0-9]{3,11}$`)
	letter   = regexp.MustCompile(`[A-Za-z]`)
)

// maxSMSBytes is SNS's limit for one SMS publish.
const maxSMSBytes = 1600

func (s *Server) publish(w http.ResponseWriter, form url.Values) {
	n := form.Get("PhoneNumber")
	if n == "" {
		writeError(w, 400, "InvalidParameter", "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter")
		return
	}
	if !e164.MatchString(n) {
		writeError(w, 400, "InvalidParameter", "Invalid parameter: PhoneNumber Reason: "+n+" is not valid to publish to")
		return
	}
	msg := form.Get("Message")
	switch {
	case msg == "":
		writeError(w, 400, "InvalidParameter", "Invalid parameter: Empty message")
		return
	case len(msg) > maxSMSBytes || !utf8.ValidString(msg):
		writeError(w, 400, "InvalidParameter", "Invalid parameter: Message too long")
		return
	}
	attrs := map[string]string{}
	for i := 1; ; i++ {
		p := "MessageAttributes.entry." + strconv.Itoa(i) + "."
		name := form.Get(p + "Name")
		if name == "" {
			break
		}
		if dt := form.Get(p + "Value.DataType"); dt != "String" && dt != "Number" {
			writeError(w, 400, "ParameterValueInvalid", "The message attribute '"+name+"' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.")
			return
		}
		attrs[name] = form.Get(p + "Value.StringValue")
	}
	m := SMS{
		PhoneNumber:       n,
		Message:           msg,
		SMSType:           attrs["AWS.SNS.SMS.SMSType"],
		SenderID:          attrs["AWS.SNS.SMS.SenderID"],
		OriginationNumber: attrs["AWS.MM.SMS.OriginationNumber"],
		MaxPrice:          attrs["AWS.SNS.SMS.MaxPrice"],
	}
	if m.SMSType != "" && !slices.Contains([]string{"Promotional", "Transactional"}, m.SMSType) {
		writeError(w, 400, "ParameterValueInvalid", "The message attribute 'AWS.SNS.SMS.SMSType' has an invalid value "+m.SMSType)
		return
	}
	if m.SenderID != "" && (!senderID.MatchString(m.SenderID) || !letter.MatchString(m.SenderID)) {
		writeError(w, 400, "ParameterValueInvalid", "The message attribute 'AWS.SNS.SMS.SenderID' must be 3-11 alphanumeric characters with at least one letter")
		return
	}
	if m.OriginationNumber != "" && !e164.MatchString(m.OriginationNumber) {
		writeError(w, 400, "ParameterValueInvalid", "The message attribute 'AWS.MM.SMS.OriginationNumber' is not a valid phone number")
		return
	}
	if m.MaxPrice != "" {
		if v, err := strconv.ParseFloat(m.MaxPrice, 64); err != nil || v < 0 {
			writeError(w, 400, "ParameterValueInvalid", "The message attribute 'AWS.SNS.SMS.MaxPrice' is not a valid price")
			return
		}
	}
	s.mu.Lock()
	m.Dropped = s.optedOut[n]
	s.mu.Unlock()
	m.MessageID = awsfake.RequestID()
	s.sent.Add(m)
	writeResult(w, "Publish", "<MessageId>"+m.MessageID+"</MessageId>")
}
