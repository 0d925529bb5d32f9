package ping

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	"github.com/cogmail/cogmail/pkg/awsclient"
	"github.com/cogmail/cogmail/pkg/provider/ses"
)

// SES checks the account behind cfg.AWS in its region without sending:
// GetAccount (sending enabled, production access or the sandbox, the
// quota), the configuration set when cfg names one, and whether sender, an
// address, or its domain is a verified identity. The SES sandbox and a
// probation are Warnings: mail still goes out, within limits.
func SES(ctx context.Context, cfg ses.Config, sender string) Result {
	name := "ses"
	if err := cfg.Validate(); err != nil {
		return failed(name, Config, err.Error())
	}
	region := cfg.AWS.Region
	client := sesv2.NewFromConfig(cfg.AWS, func(o *sesv2.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.RetryMaxAttempts = 1 // a check reports what it sees; the operator retries
		if cfg.Timeout > 0 {
			o.HTTPClient = awsclient.Bounded(cfg.AWS.HTTPClient, cfg.Timeout)
		} else {
			o.HTTPClient = awsclient.Wrap(cfg.AWS.HTTPClient)
		}
	})
	acct, err := client.GetAccount(ctx, &sesv2.GetAccountInput{})
	if err != nil {
		return awsFailure(name, "GetAccount", region, err)
	}
	parts := []Result{account(acct, region)}
	if cfg.ConfigurationSetName != "" {
		parts = append(parts, configurationSet(ctx, client, cfg.ConfigurationSetName, region))
	}
	if sender != "" {
		parts = append(parts, identity(ctx, client, sender, region))
	}
	return worst(name, parts...)
}

func account(a *sesv2.GetAccountOutput, region string) Result {
	status := aws.ToString(a.EnforcementStatus)
	quota := ""
	if q := a.SendQuota; q != nil {
		quota = " (quota " + plural(q.Max24HourSend, "per 24 h") + ", " + plural(q.MaxSendRate, "per second") +
			"; " + plural(q.SentLast24Hours, "sent in the last 24 h") + ")"
	}
	switch {
	case !a.SendingEnabled:
		msg := "sending is disabled for this account in " + region
		if status != "" {
			msg += " (enforcement status " + status + ")"
		}
		return failed("ses", Account, msg)
	case strings.EqualFold(status, "SHUTDOWN"):
		return failed("ses", Account, "the account is shut down in "+region+" (enforcement status SHUTDOWN)")
	case strings.EqualFold(status, "PROBATION"):
		return Result{Provider: "ses", Status: Warning, Problem: Account,
			Message: "sending enabled in " + region + quota + ", but the account is on probation: watch its bounce and complaint rates"}
	case !a.ProductionAccessEnabled:
		return Result{Provider: "ses", Status: Warning, Problem: Account,
			Message: "sending enabled in " + region + quota + ", but the account is in the SES sandbox: it sends only to verified addresses (request production access)"}
	}
	return ok("ses", "sending enabled in "+region+" with production access"+quota)
}

func configurationSet(ctx context.Context, c *sesv2.Client, set, region string) Result {
	_, err := c.GetConfigurationSet(ctx, &sesv2.GetConfigurationSetInput{ConfigurationSetName: aws.String(set)})
	var nf *types.NotFoundException
	switch {
	case err == nil:
		return ok("ses", "configuration set "+set+" exists")
	case errors.As(err, &nf):
		return failed("ses", Config, "the configuration set "+set+" does not exist in "+region+": every send would fail")
	}
	r := awsFailure("ses", "GetConfigurationSet", region, err)
	r.Status, r.Message = Warning, "could not check the configuration set "+set+": "+r.Message
	return r
}

// identity checks that SES may send as sender: the address itself or its
// domain is a verified identity.
func identity(ctx context.Context, c *sesv2.Client, sender, region string) Result {
	_, domain, _ := strings.Cut(sender, "@")
	var seen []string // identities that exist but are not verified, with their status
	for _, id := range []string{sender, domain} {
		if id == "" {
			continue
		}
		out, err := c.GetEmailIdentity(ctx, &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String(id)})
		var nf *types.NotFoundException
		switch {
		case err == nil && out.VerifiedForSendingStatus:
			return ok("ses", "sender identity "+id+" verified")
		case err == nil:
			seen = append(seen, id+" ("+strings.ToLower(string(out.VerificationStatus))+")")
		case errors.As(err, &nf):
		default:
			r := awsFailure("ses", "GetEmailIdentity", region, err)
			r.Status, r.Message = Warning, "could not check the sender identity: "+r.Message
			return r
		}
	}
	msg := "the sender " + sender + " is not a verified identity in SES " + region + ": verify the address or the domain " + domain
	if len(seen) > 0 {
		msg = "the sender " + sender + " is not verified in SES " + region + ": " + strings.Join(seen, ", ")
	}
	return failed("ses", Sender, msg)
}

// Error codes AWS answers when it does not accept the credentials.
var credentialCodes = map[string]bool{
	"UnrecognizedClientException": true, "InvalidClientTokenId": true, "SignatureDoesNotMatch": true,
	"InvalidSignatureException": true, "ExpiredToken": true, "ExpiredTokenException": true,
	"MissingAuthenticationToken": true, "MissingAuthenticationTokenException": true, "IncompleteSignature": true,
}

var throttles = retry.IsErrorThrottles(retry.DefaultThrottles)

// awsFailure describes a failed SES call by its HTTP status and AWS error
// code (the API's contract), never by its message text.
func awsFailure(name, op, region string, err error) Result {
	var (
		re    *awshttp.ResponseError
		api   smithy.APIError
		deser *smithy.DeserializationError
	)
	if !errors.As(err, &re) || re.HTTPStatusCode() == 0 {
		return failed(name, Unreachable, "cannot reach SES in "+region+": "+netReason(err))
	}
	status := re.HTTPStatusCode()
	if !errors.As(err, &api) {
		if errors.As(err, &deser) {
			return failed(name, Unexpected, "the answer to "+op+" is not SES's: is the endpoint right?")
		}
		return failed(name, Unexpected, op+" failed with status "+itoa(status))
	}
	said := api.ErrorCode()
	if m := api.ErrorMessage(); m != "" {
		said += ": " + m
	}
	switch code := api.ErrorCode(); {
	case credentialCodes[code]:
		return failed(name, Credentials, "the AWS credentials are rejected ("+said+")")
	case code == "AccessDeniedException" || code == "AccessDenied":
		return failed(name, Permission, "not allowed to call ses:"+op+" ("+said+")")
	case throttles.IsErrorThrottle(err) == aws.TrueTernary || status == 429:
		return failed(name, Throttled, "SES is throttling this account ("+said+")")
	case status >= 500:
		return failed(name, Unavailable, "SES is failing ("+itoa(status)+" "+said+"): try again later")
	}
	return failed(name, Unexpected, op+" failed ("+itoa(status)+" "+said+")")
}
