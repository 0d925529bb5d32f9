// Package twilio sends SMS through Twilio's Messages API with
// github.com/twilio/twilio-go (a Messaging Service SID or a From number, a
// status callback URL), classifies Twilio's documented error codes for
// failover, and verifies and reads the status callbacks Twilio posts back
// (callback.go).
package twilio

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	twclient "github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"
	messaging "github.com/twilio/twilio-go/rest/messaging/v1"

	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/internal/baseurl"
	"github.com/cogmail/cogmail/pkg/provider/internal/classify"
	"github.com/cogmail/cogmail/pkg/provider/internal/redact"
)

// DefaultBaseURL is Twilio's REST API.
const DefaultBaseURL = "https://api.twilio.com"

// DefaultTimeout bounds one API call.
const DefaultTimeout = 10 * time.Second

// The environment variables this package reads (FromEnv).
const (
	EnvAccountSID          = "COGMAIL_TWILIO_ACCOUNT_SID"           // AC followed by 32 hex digits; required
	EnvAPIKeySID           = "COGMAIL_TWILIO_API_KEY_SID"           // SK...: authenticate with an API key instead of the auth token
	EnvAuthToken           = "COGMAIL_TWILIO_AUTH_TOKEN"            // the auth token (or the API key's secret); a secret
	EnvAuthTokenSecret     = "COGMAIL_TWILIO_AUTH_TOKEN_SECRET"     // Secrets Manager ARN or name holding it, resolved at cold start
	EnvFrom                = "COGMAIL_TWILIO_FROM"                  // an E.164 number or an alphanumeric sender ID
	EnvMessagingServiceSID = "COGMAIL_TWILIO_MESSAGING_SERVICE_SID" // MG followed by 32 hex digits; instead of From
	EnvStatusCallback      = "COGMAIL_TWILIO_STATUS_CALLBACK"       // the public https URL of the events function's /twilio
	EnvBaseURL             = "COGMAIL_TWILIO_BASE_URL"              // default DefaultBaseURL (the fake, locally)
	EnvEdge                = "COGMAIL_TWILIO_EDGE"                  // a Twilio edge location, e.g. dublin
	EnvRegion              = "COGMAIL_TWILIO_REGION"                // a Twilio region, e.g. ie1
)

// MessageIDParam is the query parameter SendSMS adds to the status
// callback URL with the message's ID, so a callback names our message.
const MessageIDParam = "cogmail_message_id"

// Config configures a Provider. Zero values mean the documented defaults.
type Config struct {
	Name                string // Name() of the provider; default "twilio"
	AccountSID          string // EnvAccountSID
	APIKeySID           string // EnvAPIKeySID; optional
	AuthToken           string // EnvAuthToken, or the secret EnvAuthTokenSecret names once resolved
	AuthTokenSecret     string // EnvAuthTokenSecret; the caller resolves it into AuthToken
	From                string // EnvFrom; From or MessagingServiceSID, not both
	MessagingServiceSID string // EnvMessagingServiceSID
	StatusCallback      string // EnvStatusCallback; optional
	BaseURL             string // EnvBaseURL
	Edge, Region        string // EnvEdge, EnvRegion; optional
	// HTTPClient's Transport carries the requests (default: a clone of
	// http.DefaultTransport, the provider's own); its Timeout is replaced
	// by Timeout.
	HTTPClient *http.Client
	Timeout    time.Duration    // per call, default DefaultTimeout
	Now        func() time.Time // clock for a Retry-After date; default time.Now
}

// FromEnv reads the package's variables through getenv into a Config;
// Validate reports what is wrong, naming the variable.
func FromEnv(getenv func(string) string) Config {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	return Config{
		AccountSID:          get(EnvAccountSID),
		APIKeySID:           get(EnvAPIKeySID),
		AuthToken:           get(EnvAuthToken),
		AuthTokenSecret:     get(EnvAuthTokenSecret),
		From:                get(EnvFrom),
		MessagingServiceSID: get(EnvMessagingServiceSID),
		StatusCallback:      get(EnvStatusCallback),
		BaseURL:             get(EnvBaseURL),
		Edge:                get(EnvEdge),
		Region:              get(EnvRegion),
	}
}

var (
	accountSID = regexp.MustCompile(`^AC[0-9a-f]{32}$`)
	apiKeySID  = regexp.MustCompile(`^SK[0-9a-f]{32}$`)
	serviceSID = regexp.MustCompile(`^MG[0-9a-f]{32}$`)
	alphaID    = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
	token      = regexp.MustCompile(`^[A-Za-z0-9]+$`)
	location   = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)
)

// Validate reports every configuration problem at once, in a stable
// order, naming the variable. It never quotes the token.
func (c Config) Validate() error {
	var errs []error
	bad := func(v, msg string) { errs = append(errs, errors.New("twilio: "+v+" "+msg)) }
	switch {
	case c.AccountSID == "":
		bad(EnvAccountSID, "is required")
	case !accountSID.MatchString(c.AccountSID):
		bad(EnvAccountSID, "must be AC followed by 32 lower-case hex digits")
	}
	if c.APIKeySID != "" && !apiKeySID.MatchString(c.APIKeySID) {
		bad(EnvAPIKeySID, "must be SK followed by 32 lower-case hex digits")
	}
	switch {
	case c.AuthToken == "" && c.AuthTokenSecret == "":
		bad(EnvAuthToken, "or "+EnvAuthTokenSecret+" is required")
	case c.AuthToken != "" && !token.MatchString(c.AuthToken):
		bad(EnvAuthToken, "must hold only letters and digits")
	}
	switch {
	case c.From == "" && c.MessagingServiceSID == "":
		bad(EnvFrom, "or "+EnvMessagingServiceSID+" is required")
	case c.From != "" && c.MessagingServiceSID != "":
		bad(EnvFrom, "and "+EnvMessagingServiceSID+" are both set: set one")
	case c.From != "" && !provider.E164(c.From) && !(alphaID.MatchString(c.From) && strings.ContainsAny(strings.ToLower(c.From), "abcdefghijklmnopqrstuvwxyz")):
		bad(EnvFrom, "must be an E.164 number or an alphanumeric sender ID of at most 11 characters")
	case c.MessagingServiceSID != "" && !serviceSID.MatchString(c.MessagingServiceSID):
		bad(EnvMessagingServiceSID, "must be MG followed by 32 lower-case hex digits")
	}
	if c.StatusCallback != "" {
		// A query is allowed (Twilio signs the URL with it); a fragment
		// or user info is not.
		u, err := url.Parse(c.StatusCallback)
		switch {
		case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
			bad(EnvStatusCallback, "must be an http or https URL")
		case u.User != nil || u.Fragment != "":
			bad(EnvStatusCallback, "must not have user info or a fragment")
		}
	}
	if c.BaseURL != "" {
		if err := baseurl.Check(c.BaseURL); err != nil {
			bad(EnvBaseURL, err.Error())
		}
	}
	if c.Edge != "" && !location.MatchString(c.Edge) {
		bad(EnvEdge, "must be a Twilio edge name such as dublin")
	}
	if c.Region != "" && !location.MatchString(c.Region) {
		bad(EnvRegion, "must be a Twilio region such as ie1")
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("twilio: Config.Timeout is negative"))
	}
	return errors.Join(errs...)
}

// Provider sends SMS through Twilio. It is safe for concurrent use.
type Provider struct {
	name      string
	cfg       Config
	user      string
	base      *url.URL // nil: Twilio's own hosts
	transport http.RoundTripper
	timeout   time.Duration
	now       func() time.Time
}

// New validates cfg and returns a Provider. The token must be resolved
// (Config.AuthToken set) by then.
func New(cfg Config) (*Provider, error) {
	err := cfg.Validate()
	if err == nil && cfg.AuthToken == "" {
		err = errors.New("twilio: " + EnvAuthTokenSecret + " is not resolved into the auth token")
	}
	if err != nil {
		return nil, err
	}
	p := &Provider{name: cfg.Name, cfg: cfg, user: cfg.AccountSID, timeout: cfg.Timeout, now: cfg.Now}
	if p.name == "" {
		p.name = "twilio"
	}
	if cfg.APIKeySID != "" {
		p.user = cfg.APIKeySID
	}
	if p.timeout == 0 {
		p.timeout = DefaultTimeout
	}
	if p.now == nil {
		p.now = time.Now
	}
	if cfg.HTTPClient != nil && cfg.HTTPClient.Transport != nil {
		p.transport = cfg.HTTPClient.Transport
	} else {
		// The provider's own connection pool, with the standard
		// library's defaults (proxy from the environment, HTTP/2).
		p.transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	if cfg.BaseURL != "" && cfg.BaseURL != DefaultBaseURL {
		p.base, _ = url.Parse(strings.TrimSuffix(cfg.BaseURL, "/"))
	}
	return p, nil
}

// Name identifies the provider in errors, logs and metrics.
func (p *Provider) Name() string { return p.name }

// call is one request's view of twilio-go: a client bound to ctx whose
// transport remembers the answer's status and headers (twilio-go's errors
// carry neither the Retry-After nor, for a body that is not Twilio's, the
// status).
type call struct {
	ctx  context.Context
	p    *Provider
	mu   sync.Mutex
	resp *http.Response
}

func (c *call) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.WithContext(c.ctx)
	if b := c.p.base; b != nil {
		u := *r.URL
		u.Scheme, u.Host = b.Scheme, b.Host
		u.Path = b.Path + u.Path
		r.URL, r.Host = &u, b.Host
	}
	resp, err := c.p.transport.RoundTrip(r)
	if err == nil {
		c.mu.Lock()
		c.resp = resp
		c.mu.Unlock()
	}
	return resp, err
}

func (c *call) answer() (int, http.Header) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.resp == nil {
		return 0, nil
	}
	return c.resp.StatusCode, c.resp.Header
}

func (p *Provider) service(ctx context.Context) (*api.ApiService, *call) {
	rh, c := p.handler(ctx)
	return api.NewApiService(rh), c
}

// handler is a twilio-go request handler whose every request goes through
// a call bound to ctx.
func (p *Provider) handler(ctx context.Context) (*twclient.RequestHandler, *call) {
	c := &call{ctx: ctx, p: p}
	tw := &twclient.Client{
		Credentials: twclient.NewCredentials(p.user, p.cfg.AuthToken),
		HTTPClient: &http.Client{Transport: c, Timeout: p.timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
	tw.SetAccountSid(p.cfg.AccountSID)
	rh := twclient.NewRequestHandler(tw)
	// twilio-go reads TWILIO_EDGE and TWILIO_REGION from the process's
	// environment; the configuration decides instead.
	rh.Edge, rh.Region = p.cfg.Edge, p.cfg.Region
	return rh, c
}

// SendSMS sends m through the Messages API and returns the message SID.
// With a status callback configured, the callback URL carries m.ID in
// MessageIDParam. A failure is a *provider.Error; see failure for the
// classification table.
func (p *Provider) SendSMS(ctx context.Context, m provider.SMS) (provider.Receipt, error) {
	if err := m.Validate(); err != nil {
		return provider.Receipt{}, classify.Invalid(p.name, err)
	}
	if ctx.Err() != nil {
		return provider.Receipt{}, classify.Transport(ctx, p.name, ctx.Err())
	}
	params := (&api.CreateMessageParams{}).SetTo(m.To).SetBody(m.Text)
	if p.cfg.MessagingServiceSID != "" {
		params.SetMessagingServiceSid(p.cfg.MessagingServiceSID)
	} else {
		params.SetFrom(p.cfg.From)
	}
	if p.cfg.StatusCallback != "" {
		params.SetStatusCallback(callbackURL(p.cfg.StatusCallback, m.ID))
	}
	svc, c := p.service(ctx)
	out, err := svc.CreateMessage(params)
	if err != nil {
		return provider.Receipt{}, p.failure(ctx, c, err, m)
	}
	if out == nil || out.Sid == nil || *out.Sid == "" {
		status, h := c.answer()
		return provider.Receipt{}, &provider.Error{Provider: p.name, Class: provider.Unavailable, Status: status,
			Reason: "answer is not Twilio's (" + contentType(h) + "): no message sid"}
	}
	return provider.Receipt{Provider: p.name, ID: *out.Sid}, nil
}

func callbackURL(base, id string) string {
	if id == "" {
		return base
	}
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	q := u.Query()
	q.Set(MessageIDParam, id)
	u.RawQuery = q.Encode()
	return u.String()
}

// Ping checks the configuration SendSMS uses, without sending:
//   - with the auth token, the account (it exists, the token is its, it is
//     active: else Unavailable with Code "suspended" or "closed"); an API
//     key skips this, as Twilio lets only Main keys read the Accounts
//     resource;
//   - a From number: that it is one of the account's (IncomingPhoneNumbers;
//     else Unavailable, Code "21606", as every send would fail);
//   - a Messaging Service: that it exists (else Unavailable, 20404);
//   - an alphanumeric From with an API key: the key, by listing one of the
//     account's numbers.
//
// A failure is a *provider.Error classified as SendSMS's.
func (p *Provider) Ping(ctx context.Context) error {
	if ctx.Err() != nil {
		return classify.Transport(ctx, p.name, ctx.Err())
	}
	if p.cfg.APIKeySID == "" {
		svc, c := p.service(ctx)
		a, err := svc.FetchAccount(p.cfg.AccountSID)
		if err != nil {
			return p.failure(ctx, c, err, provider.SMS{})
		}
		if a == nil || a.Status == nil {
			status, h := c.answer()
			return &provider.Error{Provider: p.name, Class: provider.Unavailable, Status: status, Reason: "answer is not Twilio's (" + contentType(h) + ")"}
		}
		if *a.Status != "active" {
			return &provider.Error{Provider: p.name, Class: provider.Unavailable, Status: http.StatusOK, Code: redact.Numbers(*a.Status),
				Reason: "the account is not active"}
		}
	}
	switch {
	case p.cfg.MessagingServiceSID != "":
		rh, c := p.handler(ctx)
		if _, err := messaging.NewApiService(rh).FetchService(p.cfg.MessagingServiceSID); err != nil {
			return p.failure(ctx, c, err, provider.SMS{})
		}
	case provider.E164(p.cfg.From) || p.cfg.APIKeySID != "":
		params := (&api.ListIncomingPhoneNumberParams{}).SetPageSize(1)
		if provider.E164(p.cfg.From) {
			params.SetPhoneNumber(p.cfg.From)
		}
		svc, c := p.service(ctx)
		page, err := svc.PageIncomingPhoneNumber(params, "", "")
		if err != nil {
			return p.failure(ctx, c, err, provider.SMS{})
		}
		if provider.E164(p.cfg.From) && (page == nil || len(page.IncomingPhoneNumbers) == 0) {
			status, _ := c.answer()
			return &provider.Error{Provider: p.name, Class: provider.Unavailable, Status: status, Code: strconv.Itoa(CodeFromNotOwned),
				Reason: "the From number is not one of the account's"}
		}
	}
	return nil
}

// Twilio error codes (https://www.twilio.com/docs/api/errors) that
// classify a failed send.
const (
	CodeAuthenticate       = 20003 // bad credentials
	CodeNotFound           = 20404 // no such account (a wrong account SID)
	CodeTooManyRequests    = 20429
	CodeInvalidTo          = 21211
	CodeInvalidFrom        = 21212
	CodeRegionNotEnabled   = 21408 // the account's geographic permissions exclude the To number's country
	CodeFromNotOwned       = 21606
	CodeBodyRequired       = 21602
	CodeFromRequired       = 21603
	CodeUnsubscribed       = 21610 // the recipient replied STOP to this sender
	CodeUnreachableFrom    = 21612 // the To number cannot be reached from this From
	CodeNotMobile          = 21614
	CodeBodyTooLong        = 21617
	CodeServiceNoNumber    = 21703 // the Messaging Service has no sender for this number
	CodeServiceInvalid     = 21701
	CodeFromMismatch       = 21660
	CodeFromNotSMSCapable  = 21659
	CodeServiceUnavailable = 20503
)

// classOf is the classification table for Twilio's codes; codes not in it
// fall back to the HTTP status (classify.HTTP).
var classOf = map[int]provider.Class{
	CodeInvalidTo:    provider.Permanent,
	CodeNotMobile:    provider.Permanent, // and suppress: the number cannot receive SMS
	CodeUnsubscribed: provider.Permanent, // and suppress
	CodeBodyRequired: provider.Permanent,
	CodeBodyTooLong:  provider.Permanent,
	// Our account or configuration, not the message: fail over. 21408
	// in particular: this account's geographic permissions do not cover
	// the country, another provider's may (the operator's country
	// allow-list has been applied before any send).
	CodeRegionNotEnabled:   provider.Unavailable,
	CodeUnreachableFrom:    provider.Unavailable,
	CodeInvalidFrom:        provider.Unavailable,
	CodeFromNotOwned:       provider.Unavailable,
	CodeFromRequired:       provider.Unavailable,
	CodeFromMismatch:       provider.Unavailable,
	CodeFromNotSMSCapable:  provider.Unavailable,
	CodeServiceInvalid:     provider.Unavailable,
	CodeServiceNoNumber:    provider.Unavailable,
	CodeAuthenticate:       provider.Unavailable,
	CodeNotFound:           provider.Unavailable,
	CodeServiceUnavailable: provider.Unavailable,
	CodeTooManyRequests:    provider.RateLimited,
}

// suppresses are the codes that put the number on the suppression list.
var suppresses = map[int]bool{CodeUnsubscribed: true, CodeNotMobile: true}

// failure classifies what twilio-go returned, by Twilio's error code, then
// the HTTP status (429 rate limited, 5xx unavailable), never by text:
// see classOf. An answer that is not Twilio's JSON is Unavailable with its
// status; no answer is Unavailable. Twilio quotes the number in its
// messages ("The 'To' number +1… is not a valid phone number."): the
// reason is scrubbed of it and of every digit run.
func (p *Provider) failure(ctx context.Context, c *call, err error, m provider.SMS) *provider.Error {
	status, header := c.answer()
	var rest *twclient.TwilioRestError
	if status == 0 {
		return classify.Transport(ctx, p.name, err)
	}
	e := &provider.Error{Provider: p.name, Status: status, Err: err}
	if !errors.As(err, &rest) || rest.Code == 0 && rest.Message == "" {
		e.Class = classify.HTTP(status)
		if status < 400 || e.Class == provider.Permanent {
			// A 2xx we cannot read, or a 4xx whose body is not Twilio's:
			// something else answered (a proxy); do not give up on the
			// message for it.
			e.Class = provider.Unavailable
		}
		if status == http.StatusTooManyRequests {
			e.RetryAfter = classify.RetryAfter(header, p.now())
		}
		e.Reason = "answer is not Twilio's (" + contentType(header) + ")"
		return e
	}
	e.Code = strconv.Itoa(rest.Code)
	e.Reason = redact.Reason(redact.Numbers(rest.Message), m.To, m.Text, p.cfg.AuthToken)
	class, ok := classOf[rest.Code]
	switch {
	case ok:
		e.Class = class
	case status == http.StatusTooManyRequests:
		e.Class = provider.RateLimited
	default:
		e.Class = classify.HTTP(status)
	}
	e.Suppress = suppresses[rest.Code]
	if e.Class == provider.RateLimited {
		e.RetryAfter = classify.RetryAfter(header, p.now())
	}
	return e
}

func contentType(h http.Header) string {
	if ct := h.Get("Content-Type"); ct != "" {
		ct, _, _ = strings.Cut(ct, ";")
		return ct
	}
	return "no content type"
}
