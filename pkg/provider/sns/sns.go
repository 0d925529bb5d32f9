// Package sns sends SMS through Amazon SNS Publish to a phone number
// (github.com/aws/aws-sdk-go-v2/service/sns), as a Transactional message
// with an optional sender ID, origination number and maximum price, and
// classifies its errors by type, code and HTTP status for failover. SNS
// direct publishes have no delivery-event feed: an opt-out is learnt by
// asking SNS before the publish (Config.CheckOptOut).
package sns

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
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
// credentials come from the AWS configuration (AWS_REGION, the Lambda's
// role).
const (
	EnvSenderID          = "COGMAIL_SNS_SENDER_ID"          // AWS.SNS.SMS.SenderID: 3-11 letters and digits, at least one letter
	EnvOriginationNumber = "COGMAIL_SNS_ORIGINATION_NUMBER" // AWS.MM.SMS.OriginationNumber: an E.164 number the account owns
	EnvMaxPrice          = "COGMAIL_SNS_MAX_PRICE"          // AWS.SNS.SMS.MaxPrice: USD per message, e.g. 0.50
	EnvCheckOptOut       = "COGMAIL_SNS_CHECK_OPT_OUT"      // true (default) or false
	EnvEndpoint          = "COGMAIL_SNS_ENDPOINT"           // an SNS endpoint URL (moto, the fake, a VPC endpoint)
)

// Config configures a Provider. Zero values mean the documented defaults.
type Config struct {
	Name string // Name() of the provider; default "sns"
	// AWS holds the region and credentials (awsclient.Load in Lambda);
	// both are required.
	AWS               aws.Config
	Endpoint          string // EnvEndpoint
	SenderID          string // EnvSenderID; optional (many countries ignore or forbid it)
	OriginationNumber string // EnvOriginationNumber; optional
	MaxPrice          string // EnvMaxPrice; optional, a decimal number of USD
	// SkipOptOutCheck turns off the CheckIfPhoneNumberIsOptedOut call made
	// before each publish (EnvCheckOptOut=false). SNS accepts a publish to
	// an opted-out number and drops it without telling the publisher, so
	// without the check such a message counts as sent and its code never
	// arrives; with it, the send fails Permanent and the number is
	// suppressed. The check costs one more request per message.
	SkipOptOutCheck bool
	Timeout         time.Duration // per call, default DefaultTimeout; unused when AWS.HTTPClient is set
	// MaxAttempts is the SDK's attempts per call; default 1, because the
	// dispatcher owns retries and failover within the Lambda deadline.
	MaxAttempts int
	Now         func() time.Time // clock for a Retry-After date; default time.Now

	badCheckOptOut bool // EnvCheckOptOut was neither true nor false
}

// FromEnv reads the package's variables through getenv into a Config
// with awsCfg; Validate reports what is wrong, naming the variable.
func FromEnv(getenv func(string) string, awsCfg aws.Config) Config {
	c := Config{
		AWS:               awsCfg,
		Endpoint:          strings.TrimSpace(getenv(EnvEndpoint)),
		SenderID:          strings.TrimSpace(getenv(EnvSenderID)),
		OriginationNumber: strings.TrimSpace(getenv(EnvOriginationNumber)),
		MaxPrice:          strings.TrimSpace(getenv(EnvMaxPrice)),
	}
	if v := strings.TrimSpace(getenv(EnvCheckOptOut)); v != "" {
		check, err := strconv.ParseBool(v)
		c.SkipOptOutCheck = err == nil && !check
		if err != nil {
			c.badCheckOptOut = true
		}
	}
	return c
}

var senderID = regexp.MustCompile(`^[A-Za-z0-9]{3,11}$`)

// Validate reports every configuration problem at once, in a stable
// order, naming the variable.
func (c Config) Validate() error {
	var errs []error
	if c.AWS.Region == "" {
		errs = append(errs, errors.New("sns: AWS_REGION is required"))
	}
	if c.AWS.Credentials == nil {
		errs = append(errs, errors.New("sns: AWS credentials are required"))
	}
	if c.Endpoint != "" {
		if err := baseurl.Check(c.Endpoint); err != nil {
			errs = append(errs, errors.New("sns: "+EnvEndpoint+" "+err.Error()))
		}
	}
	if c.SenderID != "" && (!senderID.MatchString(c.SenderID) || !strings.ContainsAny(strings.ToLower(c.SenderID), "abcdefghijklmnopqrstuvwxyz")) {
		errs = append(errs, errors.New("sns: "+EnvSenderID+" must be 3 to 11 letters and digits with at least one letter"))
	}
	if c.OriginationNumber != "" && !provider.E164(c.OriginationNumber) {
		errs = append(errs, errors.New("sns: "+EnvOriginationNumber+" must be an E.164 number such as +12065550100"))
	}
	if c.MaxPrice != "" {
		if v, err := strconv.ParseFloat(c.MaxPrice, 64); err != nil || v <= 0 || v > 100 {
			errs = append(errs, errors.New("sns: "+EnvMaxPrice+" must be a price in USD above 0 and at most 100, such as 0.50"))
		}
	}
	if c.badCheckOptOut {
		errs = append(errs, errors.New("sns: "+EnvCheckOptOut+" must be true or false"))
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("sns: Config.Timeout is negative"))
	}
	if c.MaxAttempts < 0 {
		errs = append(errs, errors.New("sns: Config.MaxAttempts is negative"))
	}
	return errors.Join(errs...)
}

// Provider sends SMS through SNS. It is safe for concurrent use.
type Provider struct {
	name   string
	cfg    Config
	now    func() time.Time
	client *sns.Client
}

// New validates cfg and returns a Provider.
func New(cfg Config) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Provider{name: cfg.Name, cfg: cfg, now: cfg.Now}
	if p.name == "" {
		p.name = "sns"
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
	p.client = sns.NewFromConfig(cfg.AWS, func(o *sns.Options) {
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

// Message attribute names SNS reads for SMS.
const (
	AttrSMSType           = "AWS.SNS.SMS.SMSType"
	AttrSenderID          = "AWS.SNS.SMS.SenderID"
	AttrOriginationNumber = "AWS.MM.SMS.OriginationNumber"
	AttrMaxPrice          = "AWS.SNS.SMS.MaxPrice"
)

// SendSMS publishes m to its number and returns SNS's MessageId. Unless
// Config.SkipOptOutCheck, it first asks CheckIfPhoneNumberIsOptedOut: an
// opted-out number fails Permanent with provider.Suppresses true and Code
// "OptedOut", and nothing is published. A failure is a *provider.Error;
// see failure for the classification table.
func (p *Provider) SendSMS(ctx context.Context, m provider.SMS) (provider.Receipt, error) {
	if err := m.Validate(); err != nil {
		return provider.Receipt{}, classify.Invalid(p.name, err)
	}
	if ctx.Err() != nil {
		return provider.Receipt{}, classify.Transport(ctx, p.name, ctx.Err())
	}
	if !p.cfg.SkipOptOutCheck {
		out, err := p.client.CheckIfPhoneNumberIsOptedOut(ctx, &sns.CheckIfPhoneNumberIsOptedOutInput{PhoneNumber: aws.String(m.To)})
		if err != nil {
			return provider.Receipt{}, p.failure(ctx, err, m)
		}
		if out.IsOptedOut {
			return provider.Receipt{}, &provider.Error{Provider: p.name, Class: provider.Permanent, Status: http.StatusOK,
				Code: "OptedOut", Reason: "the number opted out of SMS from this account", Suppress: true}
		}
	}
	out, err := p.client.Publish(ctx, p.input(m))
	if err != nil {
		return provider.Receipt{}, p.failure(ctx, err, m)
	}
	return provider.Receipt{Provider: p.name, ID: aws.ToString(out.MessageId)}, nil
}

func (p *Provider) input(m provider.SMS) *sns.PublishInput {
	str := func(v string) types.MessageAttributeValue {
		return types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	attrs := map[string]types.MessageAttributeValue{AttrSMSType: str("Transactional")}
	if p.cfg.SenderID != "" {
		attrs[AttrSenderID] = str(p.cfg.SenderID)
	}
	if p.cfg.OriginationNumber != "" {
		attrs[AttrOriginationNumber] = str(p.cfg.OriginationNumber)
	}
	if p.cfg.MaxPrice != "" {
		attrs[AttrMaxPrice] = types.MessageAttributeValue{DataType: aws.String("Number"), StringValue: aws.String(p.cfg.MaxPrice)}
	}
	return &sns.PublishInput{PhoneNumber: aws.String(m.To), Message: aws.String(m.Text), MessageAttributes: attrs}
}

// PingNumber is the number Ping asks the opt-out check about: a
// fictitious one (555-01xx numbers are reserved for fiction), so the
// check's permission is tested without naming a real person.
const PingNumber = "+12065550100"

// Ping checks the credentials and the region without sending: it reads
// the account's SMS attributes (GetSMSAttributes) and, unless
// Config.SkipOptOutCheck, makes the opt-out check SendSMS makes (for
// PingNumber), so a role without sns:CheckIfPhoneNumberIsOptedOut shows
// here rather than on every send. A failure is a *provider.Error
// classified as SendSMS's.
func (p *Provider) Ping(ctx context.Context) error {
	if ctx.Err() != nil {
		return classify.Transport(ctx, p.name, ctx.Err())
	}
	if _, err := p.client.GetSMSAttributes(ctx, &sns.GetSMSAttributesInput{}); err != nil {
		return p.failure(ctx, err, provider.SMS{})
	}
	if !p.cfg.SkipOptOutCheck {
		if _, err := p.client.CheckIfPhoneNumberIsOptedOut(ctx, &sns.CheckIfPhoneNumberIsOptedOutInput{PhoneNumber: aws.String(PingNumber)}); err != nil {
			return p.failure(ctx, err, provider.SMS{})
		}
	}
	return nil
}

// throttles is the SDK's own list of throttling error codes.
var throttles = retry.IsErrorThrottles(retry.DefaultThrottles)

// failure reads the SDK error by type, code and status, never by its text:
//
//	InvalidParameter, ParameterValueInvalid,
//	  ValidationException (a bad number or text)  Permanent
//	OptedOut                                      Permanent, Suppress
//	Throttled, KMSThrottling, any SDK throttle
//	  code, HTTP 429                              RateLimited
//	AuthorizationError, InvalidClientTokenId,
//	  SignatureDoesNotMatch, KMS*, NotFound        Unavailable (our account or configuration: fail over)
//	InternalError, 5xx                            Unavailable
//	other codes                                   by HTTP status (classify.HTTP)
//	an answer that is not SNS's XML               Unavailable
//	no answer                                     Unavailable
//
// SNS quotes the number in some messages ("PhoneNumber Reason: +1… is not
// valid"): the reason is scrubbed of it and of every digit run.
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
		e.Reason = "answer is not SNS's (" + contentType(header) + ")"
		return e
	}
	e.Code = redact.Numbers(apiErr.ErrorCode())
	e.Reason = redact.Reason(redact.Numbers(apiErr.ErrorMessage()), m.To, m.Text)
	var (
		invalid      *types.InvalidParameterException
		invalidValue *types.InvalidParameterValueException
		validation   *types.ValidationException
		optedOut     *types.OptedOutException
		throttled    *types.ThrottledException
		kmsThrottled *types.KMSThrottlingException
		authz        *types.AuthorizationErrorException
		internal     *types.InternalErrorException
	)
	switch {
	case errors.As(err, &optedOut) || e.Code == "OptedOut":
		e.Class, e.Suppress = provider.Permanent, true
	case errors.As(err, &invalid), errors.As(err, &invalidValue), errors.As(err, &validation):
		e.Class = provider.Permanent
	case errors.As(err, &throttled), errors.As(err, &kmsThrottled), e.Code == "Throttled",
		throttles.IsErrorThrottle(err) == aws.TrueTernary, e.Status == http.StatusTooManyRequests:
		e.Class = provider.RateLimited
		e.RetryAfter = classify.RetryAfter(header, p.now())
	case errors.As(err, &authz), errors.As(err, &internal), strings.HasPrefix(e.Code, "KMS"), e.Code == "NotFound":
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
