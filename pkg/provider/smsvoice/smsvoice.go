// Package smsvoice sends SMS through AWS End User Messaging SMS, the
// pinpoint-sms-voice-v2 API's SendTextMessage
// (github.com/aws/aws-sdk-go-v2/service/pinpointsmsvoicev2), which AWS now
// steers SMS senders to: an origination identity, a configuration set
// (whose event destination carries delivery events), MessageType
// TRANSACTIONAL and a maximum price. Its errors are classified by type,
// Reason and HTTP status for failover.
package smsvoice

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/pinpointsmsvoicev2"
	"github.com/aws/aws-sdk-go-v2/service/pinpointsmsvoicev2/types"
	"github.com/aws/smithy-go"

	"github.com/cogmail/cogmail/pkg/awsclient"
	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/internal/baseurl"
	"github.com/cogmail/cogmail/pkg/provider/internal/classify"
	"github.com/cogmail/cogmail/pkg/provider/internal/redact"
)

// DefaultTimeout bounds one API call when Config.AWS.HTTPClient is not set.
const DefaultTimeout = 10 * time.Second

// The environment variables this package reads (FromEnv). The region and
// credentials come from the AWS configuration (AWS_REGION, the role).
const (
	EnvOriginationIdentity = "COGMAIL_SMSVOICE_ORIGINATION_IDENTITY" // phone number, sender ID, pool id or ARN
	EnvConfigurationSet    = "COGMAIL_SMSVOICE_CONFIGURATION_SET"    // name or ARN; its event destination feeds delivery events
	EnvMaxPrice            = "COGMAIL_SMSVOICE_MAX_PRICE"            // USD per message part, e.g. 0.50
	EnvEndpoint            = "COGMAIL_SMSVOICE_ENDPOINT"             // another endpoint (the fake, a VPC endpoint)
)

// Context keys sent with each message; End User Messaging echoes the
// Context in the configuration set's events, so an event names our message.
const (
	ContextMessageID = "cogmail_message_id"
	ContextTrigger   = "cogmail_trigger"
)

// Config configures a Provider. Zero values mean the documented defaults.
type Config struct {
	Name string // Name() of the provider; default "smsvoice"
	// AWS holds the region and credentials (awsclient.Load in Lambda);
	// both are required.
	AWS                 aws.Config
	Endpoint            string // EnvEndpoint
	OriginationIdentity string // EnvOriginationIdentity; optional (the service picks one of the account's)
	ConfigurationSet    string // EnvConfigurationSet; optional
	MaxPrice            string // EnvMaxPrice; optional
	Timeout             time.Duration
	// MaxAttempts is the SDK's attempts per call; default 1, because the
	// dispatcher owns retries and failover within the Lambda deadline.
	MaxAttempts int
	Now         func() time.Time // clock for a Retry-After date; default time.Now
}

// FromEnv reads the package's variables through getenv into a Config with
// awsCfg; Validate reports what is wrong, naming the variable.
func FromEnv(getenv func(string) string, awsCfg aws.Config) Config {
	return Config{
		AWS:                 awsCfg,
		Endpoint:            strings.TrimSpace(getenv(EnvEndpoint)),
		OriginationIdentity: strings.TrimSpace(getenv(EnvOriginationIdentity)),
		ConfigurationSet:    strings.TrimSpace(getenv(EnvConfigurationSet)),
		MaxPrice:            strings.TrimSpace(getenv(EnvMaxPrice)),
	}
}

// The API's patterns: MaxPrice is [0-9]{0,2}\.[0-9]{1,5}; identities and
// configuration sets are names or ARNs without spaces.
var (
	maxPrice = regexp.MustCompile(`^[0-9]{0,2}\.[0-9]{1,5}$`)
	resource = regexp.MustCompile(`^[A-Za-z0-9_:/+.-]{1,256}$`)
)

// Validate reports every configuration problem at once, in a stable
// order, naming the variable.
func (c Config) Validate() error {
	var errs []error
	if c.AWS.Region == "" {
		errs = append(errs, errors.New("smsvoice: AWS_REGION is required"))
	}
	if c.AWS.Credentials == nil {
		errs = append(errs, errors.New("smsvoice: AWS credentials are required"))
	}
	if c.Endpoint != "" {
		if err := baseurl.Check(c.Endpoint); err != nil {
			errs = append(errs, errors.New("smsvoice: "+EnvEndpoint+" "+err.Error()))
		}
	}
	if c.OriginationIdentity != "" && !resource.MatchString(c.OriginationIdentity) {
		errs = append(errs, errors.New("smsvoice: "+EnvOriginationIdentity+" must be a phone number, sender ID, pool id or ARN"))
	}
	if c.ConfigurationSet != "" && !resource.MatchString(c.ConfigurationSet) {
		errs = append(errs, errors.New("smsvoice: "+EnvConfigurationSet+" must be a configuration set name or ARN"))
	}
	if c.MaxPrice != "" && !maxPrice.MatchString(c.MaxPrice) {
		errs = append(errs, errors.New("smsvoice: "+EnvMaxPrice+" must be a price in USD such as 0.50 (at most 2 digits before the point, 5 after)"))
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("smsvoice: Config.Timeout is negative"))
	}
	if c.MaxAttempts < 0 {
		errs = append(errs, errors.New("smsvoice: Config.MaxAttempts is negative"))
	}
	return errors.Join(errs...)
}

// Provider sends SMS through End User Messaging. It is safe for concurrent use.
type Provider struct {
	name   string
	cfg    Config
	now    func() time.Time
	client *pinpointsmsvoicev2.Client
}

// New validates cfg and returns a Provider.
func New(cfg Config) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Provider{name: cfg.Name, cfg: cfg, now: cfg.Now}
	if p.name == "" {
		p.name = "smsvoice"
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
	p.client = pinpointsmsvoicev2.NewFromConfig(cfg.AWS, func(o *pinpointsmsvoicev2.Options) {
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

// SendSMS sends m as a TRANSACTIONAL text message and returns the
// service's MessageId. A failure is a *provider.Error; see failure for the
// classification table.
func (p *Provider) SendSMS(ctx context.Context, m provider.SMS) (provider.Receipt, error) {
	if err := m.Validate(); err != nil {
		return provider.Receipt{}, classify.Invalid(p.name, err)
	}
	if ctx.Err() != nil {
		return provider.Receipt{}, classify.Transport(ctx, p.name, ctx.Err())
	}
	in := &pinpointsmsvoicev2.SendTextMessageInput{
		DestinationPhoneNumber: aws.String(m.To),
		MessageBody:            aws.String(m.Text),
		MessageType:            types.MessageTypeTransactional,
	}
	if p.cfg.OriginationIdentity != "" {
		in.OriginationIdentity = aws.String(p.cfg.OriginationIdentity)
	}
	if p.cfg.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(p.cfg.ConfigurationSet)
	}
	if p.cfg.MaxPrice != "" {
		in.MaxPrice = aws.String(p.cfg.MaxPrice)
	}
	if m.ID != "" || m.Trigger != "" {
		in.Context = map[string]string{}
		if m.ID != "" {
			in.Context[ContextMessageID] = m.ID
		}
		if m.Trigger != "" {
			in.Context[ContextTrigger] = m.Trigger
		}
	}
	out, err := p.client.SendTextMessage(ctx, in)
	if err != nil {
		return provider.Receipt{}, p.failure(ctx, err, m)
	}
	return provider.Receipt{Provider: p.name, ID: aws.ToString(out.MessageId)}, nil
}

// Ping checks the credentials and the region without sending
// (DescribeAccountAttributes) and, when one is configured, that the
// configuration set exists (DescribeConfigurationSets): every send naming
// a missing one would fail. A failure is a *provider.Error classified as
// SendSMS's (a missing set: Unavailable, ResourceNotFoundException).
func (p *Provider) Ping(ctx context.Context) error {
	if ctx.Err() != nil {
		return classify.Transport(ctx, p.name, ctx.Err())
	}
	if _, err := p.client.DescribeAccountAttributes(ctx, &pinpointsmsvoicev2.DescribeAccountAttributesInput{}); err != nil {
		return p.failure(ctx, err, provider.SMS{})
	}
	if p.cfg.ConfigurationSet != "" {
		_, err := p.client.DescribeConfigurationSets(ctx, &pinpointsmsvoicev2.DescribeConfigurationSetsInput{ConfigurationSetNames: []string{p.cfg.ConfigurationSet}})
		if err != nil {
			return p.failure(ctx, err, provider.SMS{})
		}
	}
	return nil
}

var throttles = retry.IsErrorThrottles(retry.DefaultThrottles)

// authCodes are the AWS-wide codes of a request the service did not
// authenticate: our credentials, not the message (the JSON protocols
// answer them with 400).
var authCodes = map[string]bool{
	"UnrecognizedClientException":         true,
	"InvalidSignatureException":           true,
	"SignatureDoesNotMatch":               true,
	"IncompleteSignatureException":        true,
	"MissingAuthenticationTokenException": true,
	"ExpiredTokenException":               true,
	"InvalidClientTokenId":                true,
}

// unreachable are Reasons that say this account cannot send to the
// destination's country (not enabled, blocked by our protect
// configuration, no identity for it): another provider may reach it, so
// they fail over. They are ours to fix, not the message's.
var unreachable = map[string]bool{
	string(types.ValidationExceptionReasonCountryNotEnabled):                             true,
	string(types.ValidationExceptionReasonDestinationCountryBlocked):                     true,
	string(types.ValidationExceptionReasonInvalidIdentityForDestinationCountry):          true,
	string(types.ValidationExceptionReasonCountryCodeMismatch):                           true,
	string(types.ConflictExceptionReasonDestinationCountryBlockedByProtectConfiguration): true,
	string(types.ConflictExceptionReasonDestinationPhoneNumberNotVerified):               true, // the account's sandbox
}

// failure reads the SDK error by type, Reason and status, never by its text:
//
//	ConflictException DESTINATION_PHONE_NUMBER_OPTED_OUT    Permanent, Suppress
//	ConflictException DESTINATION_PHONE_NUMBER_BLOCKED_BY_PROTECT_NUMBER_OVERRIDE
//	                                                        Permanent (we blocked this number)
//	ValidationException PRICE_OVER_THRESHOLD                Permanent (over MaxPrice: the spend guard holds everywhere)
//	reasons in unreachable (country not enabled or blocked,
//	  no identity for it, sandbox destination)              Unavailable (fail over: another provider may reach it)
//	other ValidationException (a bad number or body)        Permanent
//	other ConflictException, ResourceNotFoundException,
//	  AccessDeniedException, ServiceQuotaExceededException
//	  (the monthly spend limit), authentication codes        Unavailable (our account or configuration)
//	ThrottlingException, any SDK throttle code, HTTP 429    RateLimited
//	InternalServerException, 5xx, no answer, not JSON       Unavailable
//	other codes                                             by HTTP status (classify.HTTP)
//
// The service may quote the number in its messages: the reason is scrubbed
// of it and of every digit run. Code is the exception's name, then the
// Reason when it has one ("ConflictException/DESTINATION_PHONE_NUMBER_OPTED_OUT").
func (p *Provider) failure(ctx context.Context, err error, m provider.SMS) *provider.Error {
	var (
		respErr *awshttp.ResponseError
		apiErr  smithy.APIError
	)
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
		e.Reason = "answer is not End User Messaging's (" + contentType(header) + ")"
		return e
	}
	code := redact.Numbers(apiErr.ErrorCode())
	e.Code = code
	e.Reason = redact.Reason(redact.Numbers(apiErr.ErrorMessage()), m.To, m.Text)
	var (
		validation *types.ValidationException
		conflict   *types.ConflictException
		notFound   *types.ResourceNotFoundException
		denied     *types.AccessDeniedException
		quota      *types.ServiceQuotaExceededException
		throttled  *types.ThrottlingException
		internal   *types.InternalServerException
	)
	reason := ""
	switch {
	case errors.As(err, &validation):
		reason = string(validation.Reason)
	case errors.As(err, &conflict):
		reason = string(conflict.Reason)
	case errors.As(err, &quota):
		reason = string(quota.Reason)
	}
	if reason != "" {
		e.Code = code + "/" + redact.Numbers(reason)
	}
	switch {
	case reason == string(types.ConflictExceptionReasonDestinationPhoneNumberOptedOut):
		e.Class, e.Suppress = provider.Permanent, true
	case reason == string(types.ConflictExceptionReasonDestinationPhoneNumberBlockedByProtectNumberOverride),
		reason == string(types.ValidationExceptionReasonPriceOverThreshold):
		e.Class = provider.Permanent
	case unreachable[reason]:
		e.Class = provider.Unavailable
	case validation != nil:
		e.Class = provider.Permanent
	case errors.As(err, &throttled), throttles.IsErrorThrottle(err) == aws.TrueTernary, e.Status == http.StatusTooManyRequests:
		e.Class = provider.RateLimited
		e.RetryAfter = classify.RetryAfter(header, p.now())
	case conflict != nil, quota != nil, errors.As(err, &notFound), errors.As(err, &denied), errors.As(err, &internal), authCodes[code]:
		e.Class = provider.Unavailable
	default:
		e.Class = classify.HTTP(e.Status)
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
