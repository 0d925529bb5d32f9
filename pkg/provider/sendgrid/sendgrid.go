// Package sendgrid sends email through the Twilio SendGrid v3 Mail Send API
// (github.com/sendgrid/sendgrid-go) and classifies its answers for failover.
package sendgrid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sendgrid/rest"
	sg "github.com/sendgrid/sendgrid-go"
	sgmail "github.com/sendgrid/sendgrid-go/helpers/mail"

	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/internal/baseurl"
	"github.com/cogmail/cogmail/pkg/provider/internal/classify"
	"github.com/cogmail/cogmail/pkg/provider/internal/redact"
)

// Base URLs: the global API and the EU data-residency API (EU subusers only).
const (
	GlobalBaseURL = "https://api.sendgrid.com"
	EUBaseURL     = "https://api.eu.sendgrid.com"
)

// DefaultTimeout bounds one API call when Config.HTTPClient is not set.
const DefaultTimeout = 10 * time.Second

// MessageIDArg is the custom_args key that carries Message.ID.
const MessageIDArg = "cogmail_message_id"

const (
	sendPath   = "/v3/mail/send"
	scopesPath = "/v3/scopes"
)

// Config configures a Provider. Zero values mean the documented defaults.
type Config struct {
	Name       string           // Name() of the provider; default "sendgrid"
	APIKey     string           // required
	BaseURL    string           // default GlobalBaseURL; EUBaseURL for EU residency, or a fake's URL
	Timeout    time.Duration    // per call, default DefaultTimeout; unused when HTTPClient is set
	HTTPClient *http.Client     // optional; give it a Timeout (sendgrid-go's default client has none)
	Sandbox    bool             // mail_settings.sandbox_mode: SendGrid validates and answers 200 but sends nothing
	Now        func() time.Time // clock for X-RateLimit-Reset; default time.Now
}

// Validate reports every configuration problem at once, naming the field.
func (c Config) Validate() error {
	var errs []error
	if strings.TrimSpace(c.APIKey) == "" {
		errs = append(errs, errors.New("sendgrid: Config.APIKey is required"))
	}
	if c.BaseURL != "" {
		if err := baseurl.Check(c.BaseURL); err != nil {
			errs = append(errs, fmt.Errorf("sendgrid: Config.BaseURL %w", err))
		}
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("sendgrid: Config.Timeout is negative"))
	}
	return errors.Join(errs...)
}

// Provider sends through SendGrid. It is safe for concurrent use: each send
// builds its own request (a sendgrid-go Client holds one and is not).
type Provider struct {
	name    string
	key     string
	baseURL string
	sandbox bool
	now     func() time.Time
	client  *rest.Client
}

// New validates cfg and returns a Provider.
func New(cfg Config) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Provider{
		name:    cfg.Name,
		key:     cfg.APIKey,
		baseURL: strings.TrimRight(cfg.BaseURL, "/"),
		sandbox: cfg.Sandbox,
		now:     cfg.Now,
	}
	if p.name == "" {
		p.name = "sendgrid"
	}
	if p.baseURL == "" {
		p.baseURL = GlobalBaseURL
	}
	if p.now == nil {
		p.now = time.Now
	}
	hc := cfg.HTTPClient
	if hc == nil {
		t := cfg.Timeout
		if t == 0 {
			t = DefaultTimeout
		}
		hc = &http.Client{Timeout: t}
	}
	p.client = &rest.Client{HTTPClient: hc}
	return p, nil
}

// Name identifies the provider in errors, logs and metrics.
func (p *Provider) Name() string { return p.name }

// UTF8Recipients reports that SendGrid is not taken to deliver to an
// address with a non-ASCII local part: its v3 Mail Send reference documents
// no SMTPUTF8 support, and its maintainers long answered such addresses with
// 400 "Invalid email address" (sendgrid/sendgrid-python#100, #119). See
// docs/dispatch.md (International addresses). Dispatch never hands it such an
// address.
func (p *Provider) UTF8Recipients(context.Context) (bool, error) { return false, nil }

// Send sends m and returns SendGrid's X-Message-Id. A failure is a
// *provider.Error: 400/413 Permanent, 429 RateLimited with the wait from
// X-RateLimit-Reset, everything else (401/403, 5xx, no answer, an answer
// that is not SendGrid's) Unavailable.
func (p *Provider) Send(ctx context.Context, m provider.Message) (provider.Receipt, error) {
	if err := m.Validate(); err != nil {
		return provider.Receipt{}, classify.Invalid(p.name, err)
	}
	if ctx.Err() != nil {
		return provider.Receipt{}, classify.Transport(ctx, p.name, ctx.Err())
	}
	req := sg.GetRequest(p.key, sendPath, p.baseURL)
	req.Method = rest.Post
	req.Body = sgmail.GetRequestBody(p.mail(m))
	resp, err := p.client.SendWithContext(ctx, req)
	if err != nil {
		return provider.Receipt{}, classify.Transport(ctx, p.name, err)
	}
	h := http.Header(resp.Headers)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// SendGrid answers 202 (200 in sandbox mode) with an empty body. A
		// success status with some other body came from something else (a
		// captive proxy): we cannot tell whether SendGrid has the message.
		if b := strings.TrimSpace(resp.Body); b != "" && !json.Valid([]byte(b)) {
			return provider.Receipt{}, &provider.Error{
				Provider: p.name, Class: provider.Unavailable, Status: resp.StatusCode,
				Reason: "answer is not SendGrid's (" + contentType(h) + ")",
			}
		}
		return provider.Receipt{Provider: p.name, ID: h.Get("X-Message-Id")}, nil
	}
	return provider.Receipt{}, p.failure(resp)
}

// failure classifies an answer that is not a success.
func (p *Provider) failure(resp *rest.Response) *provider.Error {
	e := &provider.Error{
		Provider: p.name,
		Class:    classify.HTTP(resp.StatusCode),
		Status:   resp.StatusCode,
		Reason:   redact.Reason(reason(resp), p.key),
	}
	if e.Class == provider.RateLimited {
		e.RetryAfter = classify.RetryAfter(http.Header(resp.Headers), p.now())
	}
	return e
}

// Ping checks the API key without sending: GET /v3/scopes with the client
// and base URL Send uses, and the key must hold the mail.send scope. A
// failure is a *provider.Error classified as Send's: 401/403 (a wrong or
// revoked key) Unavailable with the status, 429 RateLimited, no answer
// Unavailable; a key without mail.send is Unavailable with Code
// "mail.send" (a misconfiguration).
func (p *Provider) Ping(ctx context.Context) error {
	if ctx.Err() != nil {
		return classify.Transport(ctx, p.name, ctx.Err())
	}
	req := sg.GetRequest(p.key, scopesPath, p.baseURL)
	req.Method = rest.Get
	resp, err := p.client.SendWithContext(ctx, req)
	if err != nil {
		return classify.Transport(ctx, p.name, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return p.failure(resp)
	}
	var body struct {
		Scopes []string `json:"scopes"`
	}
	if json.Unmarshal([]byte(resp.Body), &body) != nil {
		return &provider.Error{
			Provider: p.name, Class: provider.Unavailable, Status: resp.StatusCode,
			Reason: "answer is not SendGrid's (" + contentType(http.Header(resp.Headers)) + ")",
		}
	}
	if !slices.Contains(body.Scopes, "mail.send") {
		return &provider.Error{
			Provider: p.name, Class: provider.Unavailable, Status: resp.StatusCode, Code: "mail.send",
			Reason: "the API key lacks the mail.send scope",
		}
	}
	return nil
}

func (p *Provider) mail(m provider.Message) *sgmail.SGMailV3 {
	v := sgmail.NewV3Mail()
	v.SetFrom(sgmail.NewEmail(m.From.Name, m.From.Email))
	v.Subject = m.Subject
	pz := sgmail.NewPersonalization()
	pz.AddTos(sgmail.NewEmail("", m.To))
	v.AddPersonalizations(pz)
	// SendGrid wants text/plain before text/html.
	if m.Text != "" {
		v.AddContent(sgmail.NewContent("text/plain", m.Text))
	}
	if m.HTML != "" {
		v.AddContent(sgmail.NewContent("text/html", m.HTML))
	}
	if !m.ReplyTo.IsZero() {
		v.SetReplyTo(sgmail.NewEmail(m.ReplyTo.Name, m.ReplyTo.Email))
	}
	for k, val := range m.Headers {
		v.SetHeader(k, val)
	}
	for _, k := range slices.Sorted(maps.Keys(m.Tags)) {
		v.SetCustomArg(k, m.Tags[k])
		if len(v.Categories) < 10 && !slices.Contains(v.Categories, m.Tags[k]) && m.Tags[k] != "" {
			v.AddCategories(m.Tags[k])
		}
	}
	if m.ID != "" {
		v.SetCustomArg(MessageIDArg, m.ID)
	}
	if p.sandbox {
		v.SetMailSettings(sgmail.NewMailSettings().SetSandboxMode(sgmail.NewSetting(true)))
	}
	return v
}

// reason summarises SendGrid's {"errors":[{"message","field"}]} body, or
// falls back to the status text when the body is something else.
func reason(resp *rest.Response) string {
	var body struct {
		Errors []struct {
			Message string  `json:"message"`
			Field   *string `json:"field"`
		} `json:"errors"`
	}
	if json.Unmarshal([]byte(resp.Body), &body) != nil || len(body.Errors) == 0 {
		return http.StatusText(resp.StatusCode)
	}
	var parts []string
	for i, e := range body.Errors {
		if i == 3 {
			parts = append(parts, "…")
			break
		}
		if e.Field != nil && *e.Field != "" {
			parts = append(parts, *e.Field+": "+e.Message)
		} else {
			parts = append(parts, e.Message)
		}
	}
	return strings.Join(parts, "; ")
}

func contentType(h http.Header) string {
	if ct := h.Get("Content-Type"); ct != "" {
		ct, _, _ = strings.Cut(ct, ";")
		return ct
	}
	return "no content type"
}
