// Package mailgun sends email through the Mailgun Messages API
// (github.com/mailgun/mailgun-go/v4) and classifies its answers for failover.
package mailgun

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

	mg "github.com/mailgun/mailgun-go/v4"

	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/internal/baseurl"
	"github.com/cogmail/cogmail/pkg/provider/internal/classify"
	"github.com/cogmail/cogmail/pkg/provider/internal/redact"
)

// Base URLs of the two Mailgun regions (without the /v3 suffix).
const (
	USBaseURL = "https://api.mailgun.net"
	EUBaseURL = "https://api.eu.mailgun.net"
)

// DefaultTimeout bounds one API call when Config.HTTPClient is not set.
const DefaultTimeout = 10 * time.Second

// MessageIDVariable is the v: variable that carries Message.ID.
const MessageIDVariable = "cogmail-message-id"

// BaseURLFor is the base URL for COGMAIL_MAILGUN_REGION and
// COGMAIL_MAILGUN_BASE_URL: the base URL when set (a fake, a proxy), else
// EUBaseURL for region "eu", else "" (Config's default, USBaseURL). A key
// works only in its region, so dispatch and its ping must agree on this.
func BaseURLFor(region, baseURL string) string {
	if baseURL == "" && region == "eu" {
		return EUBaseURL
	}
	return baseURL
}

// Config configures a Provider. Zero values mean the documented defaults.
type Config struct {
	Name       string           // Name() of the provider; default "mailgun"
	APIKey     string           // required
	Domain     string           // sending domain, required
	BaseURL    string           // default USBaseURL; EUBaseURL, or a fake's URL (a trailing /v3 is accepted)
	Timeout    time.Duration    // per call, default DefaultTimeout; unused when HTTPClient is set
	HTTPClient *http.Client     // optional; give it a Timeout
	TestMode   bool             // o:testmode: Mailgun accepts the message but does not deliver it
	Now        func() time.Time // clock for X-RateLimit-Reset; default time.Now
}

// Validate reports every configuration problem at once, naming the field.
func (c Config) Validate() error {
	var errs []error
	if strings.TrimSpace(c.APIKey) == "" {
		errs = append(errs, errors.New("mailgun: Config.APIKey is required"))
	}
	switch {
	case strings.TrimSpace(c.Domain) == "":
		errs = append(errs, errors.New("mailgun: Config.Domain is required"))
	case strings.ContainsAny(c.Domain, ":&'@(),!?#;%+=<>/ "):
		errs = append(errs, errors.New("mailgun: Config.Domain is not a domain name"))
	}
	if c.BaseURL != "" {
		if err := baseurl.Check(c.BaseURL); err != nil {
			errs = append(errs, fmt.Errorf("mailgun: Config.BaseURL %w", err))
		}
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("mailgun: Config.Timeout is negative"))
	}
	return errors.Join(errs...)
}

// Provider sends through Mailgun. It is safe for concurrent use.
type Provider struct {
	name     string
	key      string
	testMode bool
	now      func() time.Time
	mg       *mg.MailgunImpl
}

// New validates cfg and returns a Provider.
func New(cfg Config) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Provider{name: cfg.Name, key: cfg.APIKey, testMode: cfg.TestMode, now: cfg.Now}
	if p.name == "" {
		p.name = "mailgun"
	}
	if p.now == nil {
		p.now = time.Now
	}
	base := strings.TrimSuffix(strings.TrimRight(cfg.BaseURL, "/"), "/v3")
	if base == "" {
		base = USBaseURL
	}
	hc := &http.Client{Timeout: cfg.Timeout}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		hc = &c
	} else if hc.Timeout == 0 {
		hc.Timeout = DefaultTimeout
	}
	// mailgun-go keeps only the status and body of an error answer; the
	// transport records the headers (Retry-After) for the one call that
	// asked for them through its context.
	hc.Transport = &recorder{base: hc.Transport}
	p.mg = mg.NewMailgun(cfg.Domain, cfg.APIKey)
	p.mg.SetAPIBase(base + "/v3")
	p.mg.SetClient(hc)
	return p, nil
}

// Name identifies the provider in errors, logs and metrics.
func (p *Provider) Name() string { return p.name }

// UTF8Recipients reports that Mailgun takes an address with a non-ASCII
// local part: its Messages API sends to internationalized addresses with
// SMTPUTF8 (documentation.mailgun.com, User Manual, Internationalization;
// the recipient's mailbox provider must support SMTPUTF8 too, or the
// message bounces). Dispatch asks before it hands it such an address.
func (p *Provider) UTF8Recipients(context.Context) (bool, error) { return true, nil }

// Send sends m and returns Mailgun's message id. A failure is a
// *provider.Error: 400/413 Permanent, 429 RateLimited with the wait from
// Retry-After (or X-RateLimit-Reset), everything else (401/403/404
// misconfiguration, 5xx, no answer, an answer that is not Mailgun's)
// Unavailable.
func (p *Provider) Send(ctx context.Context, m provider.Message) (provider.Receipt, error) {
	if err := m.Validate(); err != nil {
		return provider.Receipt{}, classify.Invalid(p.name, err)
	}
	if ctx.Err() != nil {
		return provider.Receipt{}, classify.Transport(ctx, p.name, ctx.Err())
	}
	msg := mg.NewMessage(m.From.String(), m.Subject, m.Text, m.To)
	if m.HTML != "" {
		msg.SetHtml(m.HTML)
	}
	if !m.ReplyTo.IsZero() {
		msg.SetReplyTo(m.ReplyTo.String())
	}
	for k, v := range m.Headers {
		msg.AddHeader(k, v)
	}
	var tags []string
	for _, k := range slices.Sorted(maps.Keys(m.Tags)) {
		v := m.Tags[k]
		if err := msg.AddVariable(k, v); err != nil {
			return provider.Receipt{}, classify.Invalid(p.name, err)
		}
		if v != "" && len(tags) < 3 && !slices.Contains(tags, v) {
			tags = append(tags, v)
		}
	}
	if len(tags) > 0 {
		if err := msg.AddTag(tags...); err != nil {
			return provider.Receipt{}, classify.Invalid(p.name, err)
		}
	}
	if m.ID != "" {
		if err := msg.AddVariable(MessageIDVariable, m.ID); err != nil {
			return provider.Receipt{}, classify.Invalid(p.name, err)
		}
	}
	if p.testMode {
		msg.EnableTestMode()
	}

	var rec answer
	_, id, err := p.mg.Send(context.WithValue(ctx, answerKey{}, &rec), msg)
	if err == nil {
		return provider.Receipt{Provider: p.name, ID: strings.Trim(id, "<>")}, nil
	}
	return provider.Receipt{}, p.failure(ctx, err, rec)
}

// failure classifies a failed call by mailgun-go's error and what the
// recorder saw of the answer.
func (p *Provider) failure(ctx context.Context, err error, rec answer) *provider.Error {
	var ure *mg.UnexpectedResponseError
	switch {
	case errors.As(err, &ure):
		e := &provider.Error{
			Provider: p.name,
			Class:    classify.HTTP(ure.Actual),
			Status:   ure.Actual,
			Reason:   redact.Reason(reason(ure), p.key),
			Err:      err,
		}
		if e.Class == provider.RateLimited {
			e.RetryAfter = classify.RetryAfter(rec.header, p.now())
		}
		return e
	case rec.status != 0:
		// Mailgun answered with a success status but not its JSON (a captive
		// proxy, say): we cannot tell whether Mailgun has the message.
		return &provider.Error{
			Provider: p.name, Class: provider.Unavailable, Status: rec.status,
			Reason: "answer is not Mailgun's (" + contentType(rec.header) + ")", Err: err,
		}
	}
	return classify.Transport(ctx, p.name, err)
}

// Ping checks the key and the domain without sending: GET
// /v3/domains/{domain} with the client, base URL and region Send uses. A
// failure is a *provider.Error classified as Send's: 401 (wrong key) and
// 404 (the domain is not in this account or region) Unavailable with the
// status, 429 RateLimited, no answer Unavailable.
func (p *Provider) Ping(ctx context.Context) error {
	if ctx.Err() != nil {
		return classify.Transport(ctx, p.name, ctx.Err())
	}
	var rec answer
	if _, err := p.mg.GetDomain(context.WithValue(ctx, answerKey{}, &rec), p.mg.Domain()); err != nil {
		return p.failure(ctx, err, rec)
	}
	return nil
}

// reason is Mailgun's {"message": "..."} or the status text.
func reason(e *mg.UnexpectedResponseError) string {
	var body struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(e.Data, &body) == nil && body.Message != "" {
		return body.Message
	}
	return http.StatusText(e.Actual)
}

func contentType(h http.Header) string {
	if ct := h.Get("Content-Type"); ct != "" {
		ct, _, _ = strings.Cut(ct, ";")
		return ct
	}
	return "no content type"
}

type answerKey struct{}

// answer is what the recorder saw of the HTTP answer to one call.
type answer struct {
	status int
	header http.Header
}

type recorder struct{ base http.RoundTripper }

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	base := r.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if a, ok := req.Context().Value(answerKey{}).(*answer); ok && err == nil {
		a.status, a.header = resp.StatusCode, resp.Header.Clone()
	}
	return resp, err
}
