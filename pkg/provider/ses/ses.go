// Package ses sends email through Amazon SES v2 SendEmail
// (github.com/aws/aws-sdk-go-v2/service/sesv2) and classifies its errors by
// their type, error code and HTTP status for failover.
package ses

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	"github.com/cogmail/cogmail/pkg/awsclient"
	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/internal/baseurl"
	"github.com/cogmail/cogmail/pkg/provider/internal/classify"
	"github.com/cogmail/cogmail/pkg/provider/internal/redact"
)

// DefaultTimeout bounds one API call when Config.AWS.HTTPClient is not set.
const DefaultTimeout = 10 * time.Second

// MessageIDTag is the email tag that carries Message.ID.
const MessageIDTag = "cogmail_message_id"

// Config configures a Provider. Zero values mean the documented defaults.
type Config struct {
	Name string // Name() of the provider; default "ses"
	// AWS holds the region and credentials (awsclient.Load in
	// Lambda); Region and Credentials are required.
	AWS aws.Config
	// Endpoint overrides the SES endpoint (a fake, moto, a VPC endpoint).
	Endpoint             string
	ConfigurationSetName string        // optional: SES configuration set for event publishing
	Timeout              time.Duration // per call, default DefaultTimeout; unused when AWS.HTTPClient is set
	// MaxAttempts is the SDK's attempts per send; default 1, because the
	// dispatcher owns retries and failover within the Lambda deadline.
	MaxAttempts int
	Now         func() time.Time // clock for a Retry-After date; default time.Now
}

// Validate reports every configuration problem at once, naming the field.
func (c Config) Validate() error {
	var errs []error
	if c.AWS.Region == "" {
		errs = append(errs, errors.New("ses: Config.AWS.Region is required"))
	}
	if c.AWS.Credentials == nil {
		errs = append(errs, errors.New("ses: Config.AWS.Credentials is required"))
	}
	if c.Endpoint != "" {
		if err := baseurl.Check(c.Endpoint); err != nil {
			errs = append(errs, fmt.Errorf("ses: Config.Endpoint %w", err))
		}
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("ses: Config.Timeout is negative"))
	}
	if c.MaxAttempts < 0 {
		errs = append(errs, errors.New("ses: Config.MaxAttempts is negative"))
	}
	return errors.Join(errs...)
}

// Provider sends through SES. It is safe for concurrent use.
type Provider struct {
	name      string
	configSet string
	now       func() time.Time
	client    *sesv2.Client
}

// New validates cfg and returns a Provider.
func New(cfg Config) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Provider{name: cfg.Name, configSet: cfg.ConfigurationSetName, now: cfg.Now}
	if p.name == "" {
		p.name = "ses"
	}
	if p.now == nil {
		p.now = time.Now
	}
	attempts := cfg.MaxAttempts
	if attempts == 0 {
		attempts = 1
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	p.client = sesv2.NewFromConfig(cfg.AWS, func(o *sesv2.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.RetryMaxAttempts = attempts
		o.HTTPClient = awsclient.Bounded(cfg.AWS.HTTPClient, timeout)
	})
	return p, nil
}

// Name identifies the provider in errors, logs and metrics.
func (p *Provider) Name() string { return p.name }

// UTF8Recipients reports that SES does not take an address with a
// non-ASCII local part: SES does not support SMTPUTF8 (RFC 6531), so an
// address must be 7-bit ASCII, with the domain in Punycode and no Punycode
// in the local part (Amazon SES API reference, Destination). Dispatch never
// hands it such an address.
func (p *Provider) UTF8Recipients(context.Context) (bool, error) { return false, nil }

// Send sends m and returns SES's MessageId. A failure is a
// *provider.Error; see failure for the classification table.
func (p *Provider) Send(ctx context.Context, m provider.Message) (provider.Receipt, error) {
	if err := m.Validate(); err != nil {
		return provider.Receipt{}, classify.Invalid(p.name, err)
	}
	if ctx.Err() != nil {
		return provider.Receipt{}, classify.Transport(ctx, p.name, ctx.Err())
	}
	out, err := p.client.SendEmail(ctx, p.input(m))
	if err != nil {
		return provider.Receipt{}, p.failure(ctx, err)
	}
	return provider.Receipt{Provider: p.name, ID: aws.ToString(out.MessageId)}, nil
}

// Ping checks the credentials, the region and the account without sending:
// Account, with the client Send uses. A failure is a *provider.Error
// classified as Send's (rejected credentials or access denied: Unavailable
// with the status; throttling RateLimited; no answer Unavailable); an
// account whose sending is disabled is Unavailable with Code
// "SendingPaused", as SES would answer SendEmail.
func (p *Provider) Ping(ctx context.Context) error {
	a, err := p.Account(ctx)
	if err != nil {
		return err
	}
	if !a.SendingEnabled {
		return &provider.Error{Provider: p.name, Class: provider.Unavailable, Status: http.StatusOK, Code: "SendingPaused",
			Reason: "sending is disabled for this account"}
	}
	return nil
}

// Account is the account's sending state in the client's region, as
// GetAccount reports it.
type Account struct {
	SendingEnabled bool
	// ProductionAccess is false in the SES sandbox, where the account may
	// send only to verified identities.
	ProductionAccess  bool
	EnforcementStatus string // HEALTHY, PROBATION or SHUTDOWN
	Quota             *Quota // nil when SES gave none
}

// Quota is the account's sending quota.
type Quota struct {
	Max24HourSend   float64 // messages per 24 hours
	MaxSendRate     float64 // messages per second
	SentLast24Hours float64
}

// Account reads the account's sending state (GetAccount) with the client
// Send uses. A failure is a *provider.Error classified as Send's.
func (p *Provider) Account(ctx context.Context) (Account, error) {
	if ctx.Err() != nil {
		return Account{}, classify.Transport(ctx, p.name, ctx.Err())
	}
	out, err := p.client.GetAccount(ctx, &sesv2.GetAccountInput{})
	if err != nil {
		return Account{}, p.failure(ctx, err)
	}
	a := Account{SendingEnabled: out.SendingEnabled, ProductionAccess: out.ProductionAccessEnabled, EnforcementStatus: aws.ToString(out.EnforcementStatus)}
	if q := out.SendQuota; q != nil {
		a.Quota = &Quota{Max24HourSend: q.Max24HourSend, MaxSendRate: q.MaxSendRate, SentLast24Hours: q.SentLast24Hours}
	}
	return a, nil
}

// CheckConfigurationSet checks that Config.ConfigurationSetName exists
// (GetConfigurationSet); nil when it does or none is configured. A missing
// set is a *provider.Error with Code "NotFoundException", Unavailable, as
// every SendEmail naming it would fail; other failures are classified as
// Send's.
func (p *Provider) CheckConfigurationSet(ctx context.Context) error {
	if p.configSet == "" {
		return nil
	}
	if ctx.Err() != nil {
		return classify.Transport(ctx, p.name, ctx.Err())
	}
	_, err := p.client.GetConfigurationSet(ctx, &sesv2.GetConfigurationSetInput{ConfigurationSetName: aws.String(p.configSet)})
	if err != nil {
		return p.failure(ctx, err)
	}
	return nil
}

// Identity is an SES identity (an address or a domain) and whether the
// account may send as it.
type Identity struct {
	Name     string
	Verified bool   // VerifiedForSendingStatus: SES lets the account send as it
	Status   string // VerificationStatus: SUCCESS, PENDING, FAILED, TEMPORARY_FAILURE, NOT_STARTED
}

// SenderIdentities looks up the identities that would let the account send
// as sender (GetEmailIdentity): the address itself, then its domain,
// stopping at the first verified one. It returns those that exist, in that
// order: the sender may be used when the last one is Verified. A failure
// other than "no such identity" is a *provider.Error classified as Send's.
func (p *Provider) SenderIdentities(ctx context.Context, sender string) ([]Identity, error) {
	_, domain, _ := strings.Cut(sender, "@")
	var found []Identity
	for _, name := range []string{sender, domain} {
		if name == "" {
			continue
		}
		if ctx.Err() != nil {
			return found, classify.Transport(ctx, p.name, ctx.Err())
		}
		out, err := p.client.GetEmailIdentity(ctx, &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String(name)})
		var notFound *types.NotFoundException
		switch {
		case errors.As(err, &notFound):
			continue
		case err != nil:
			return found, p.failure(ctx, err)
		}
		id := Identity{Name: name, Verified: out.VerifiedForSendingStatus, Status: string(out.VerificationStatus)}
		found = append(found, id)
		if id.Verified {
			break
		}
	}
	return found, nil
}

func (p *Provider) input(m provider.Message) *sesv2.SendEmailInput {
	utf8 := aws.String("UTF-8")
	body := &types.Body{}
	if m.Text != "" {
		body.Text = &types.Content{Data: aws.String(m.Text), Charset: utf8}
	}
	if m.HTML != "" {
		body.Html = &types.Content{Data: aws.String(m.HTML), Charset: utf8}
	}
	simple := &types.Message{Subject: &types.Content{Data: aws.String(m.Subject), Charset: utf8}, Body: body}
	for _, k := range slices.Sorted(maps.Keys(m.Headers)) {
		simple.Headers = append(simple.Headers, types.MessageHeader{Name: aws.String(k), Value: aws.String(m.Headers[k])})
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(m.From.String()),
		Destination:      &types.Destination{ToAddresses: []string{m.To}},
		Content:          &types.EmailContent{Simple: simple},
	}
	if !m.ReplyTo.IsZero() {
		in.ReplyToAddresses = []string{m.ReplyTo.String()}
	}
	if p.configSet != "" {
		in.ConfigurationSetName = aws.String(p.configSet)
	}
	for _, k := range slices.Sorted(maps.Keys(m.Tags)) {
		in.EmailTags = append(in.EmailTags, tag(k, m.Tags[k]))
	}
	if m.ID != "" {
		in.EmailTags = append(in.EmailTags, tag(MessageIDTag, m.ID))
	}
	return in
}

// tag makes an SES email tag: names and values may only hold ASCII letters,
// digits, underscores and dashes, at most 256 of them.
func tag(name, value string) types.MessageTag {
	return types.MessageTag{Name: aws.String(tagText(name)), Value: aws.String(tagText(value))}
}

func tagText(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b[:min(len(b), 256)])
}

// throttles is the SDK's own list of throttling error codes
// (ThrottlingException, TooManyRequestsException, LimitExceededException, ...).
var throttles = retry.IsErrorThrottles(retry.DefaultThrottles)

// failure reads the SDK error by type, code and status, never by its text:
//
//	MessageRejected, BadRequestException          Permanent (this message is refused)
//	TooManyRequestsException, LimitExceededException,
//	  any SDK throttle code, HTTP 429              RateLimited
//	AccountSuspendedException, SendingPausedException,
//	  MailFromDomainNotVerifiedException,
//	  NotFoundException (configuration set)        Unavailable (our account or configuration: fail over)
//	other codes                                    by HTTP status (classify.HTTP): 400/413 Permanent,
//	                                               401/403 (credentials) and 5xx Unavailable
//	an answer that is not SES's JSON               Unavailable
//	no answer                                      Unavailable
func (p *Provider) failure(ctx context.Context, err error) *provider.Error {
	var (
		respErr *awshttp.ResponseError
		apiErr  smithy.APIError
		deser   *smithy.DeserializationError
	)
	// The SDK wraps transport failures in a ResponseError too, with no
	// status: only a status means SES (or something) answered.
	if !errors.As(err, &respErr) || respErr.HTTPStatusCode() == 0 {
		return classify.Transport(ctx, p.name, err)
	}
	e := &provider.Error{Provider: p.name, Status: respErr.HTTPStatusCode(), Err: err}
	header := http.Header{}
	if respErr.Response != nil {
		header = respErr.Response.Header
	}
	if !errors.As(err, &apiErr) {
		e.Class = provider.Unavailable
		switch {
		case errors.As(err, &deser):
			e.Reason = "answer is not SES's (" + contentType(header) + ")"
		default:
			e.Reason = http.StatusText(e.Status)
		}
		return e
	}
	e.Code = apiErr.ErrorCode()
	e.Reason = redact.Reason(apiErr.ErrorMessage())
	var (
		rejected    *types.MessageRejected
		badRequest  *types.BadRequestException
		suspended   *types.AccountSuspendedException
		paused      *types.SendingPausedException
		mailFrom    *types.MailFromDomainNotVerifiedException
		notFound    *types.NotFoundException
		tooMany     *types.TooManyRequestsException
		limitExceed *types.LimitExceededException
	)
	switch {
	case errors.As(err, &rejected), errors.As(err, &badRequest):
		e.Class = provider.Permanent
	case errors.As(err, &tooMany), errors.As(err, &limitExceed), throttles.IsErrorThrottle(err) == aws.TrueTernary:
		e.Class = provider.RateLimited
	case errors.As(err, &suspended), errors.As(err, &paused), errors.As(err, &mailFrom), errors.As(err, &notFound):
		e.Class = provider.Unavailable
	default:
		e.Class = classify.HTTP(e.Status)
	}
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
