package ping

import (
	"context"
	"errors"
	"strings"

	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/ses"
)

// SES checks the account behind cfg.AWS in its region without sending,
// with the ses provider's own client: its Account (sending enabled,
// production access or the sandbox, the quota), its configuration set when
// cfg names one, and whether sender, an address, or its domain is a
// verified identity. The SES sandbox and a probation are Warnings: mail
// still goes out, within limits.
func SES(ctx context.Context, cfg ses.Config, sender string) Result {
	const name = "ses"
	p, err := ses.New(cfg)
	if err != nil {
		return failed(name, Config, err.Error())
	}
	region := cfg.AWS.Region
	acct, err := p.Account(ctx)
	if err != nil {
		return sesFailure("GetAccount", region, err)
	}
	parts := []Result{account(acct, region)}
	if set := cfg.ConfigurationSetName; set != "" {
		parts = append(parts, configurationSet(p.CheckConfigurationSet(ctx), set, region))
	}
	if sender != "" {
		ids, err := p.SenderIdentities(ctx, sender)
		parts = append(parts, identity(ids, err, sender, region))
	}
	return worst(name, parts...)
}

func account(a ses.Account, region string) Result {
	quota := ""
	if q := a.Quota; q != nil {
		quota = " (quota " + plural(q.Max24HourSend, "per 24 h") + ", " + plural(q.MaxSendRate, "per second") +
			"; " + plural(q.SentLast24Hours, "sent in the last 24 h") + ")"
	}
	status := a.EnforcementStatus
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
	case !a.ProductionAccess:
		return Result{Provider: "ses", Status: Warning, Problem: Account,
			Message: "sending enabled in " + region + quota + ", but the account is in the SES sandbox: it sends only to verified addresses (request production access)"}
	}
	return ok("ses", "sending enabled in "+region+" with production access"+quota)
}

// configurationSet words CheckConfigurationSet's answer.
func configurationSet(err error, set, region string) Result {
	var pe *provider.Error
	switch {
	case err == nil:
		return ok("ses", "configuration set "+set+" exists")
	case errors.As(err, &pe) && pe.Code == "NotFoundException":
		return failed("ses", Config, "the configuration set "+set+" does not exist in "+region+": every send would fail")
	}
	r := sesFailure("GetConfigurationSet", region, err)
	r.Status, r.Message = Warning, "could not check the configuration set "+set+": "+r.Message
	return r
}

// identity words SenderIdentities' answer: SES may send as sender when
// the address itself or its domain is a verified identity.
func identity(ids []ses.Identity, err error, sender, region string) Result {
	if err != nil {
		r := sesFailure("GetEmailIdentity", region, err)
		r.Status, r.Message = Warning, "could not check the sender identity: "+r.Message
		return r
	}
	var seen []string // identities that exist but are not verified, with their status
	for _, id := range ids {
		if id.Verified {
			return ok("ses", "sender identity "+id.Name+" verified")
		}
		seen = append(seen, id.Name+" ("+strings.ToLower(id.Status)+")")
	}
	_, domain, _ := strings.Cut(sender, "@")
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
	"IncompleteSignatureException": true,
}

// sesFailure words a failed SES call from the provider's *provider.Error:
// its HTTP status, AWS error code and class (the API's contract), never
// its message text.
func sesFailure(op, region string, err error) Result {
	const name = "ses"
	var pe *provider.Error
	if !errors.As(err, &pe) {
		return failed(name, Unexpected, op+" failed: "+err.Error())
	}
	status := pe.Status
	if status == 0 {
		return failed(name, Unreachable, "cannot reach SES in "+region+": "+pe.Reason)
	}
	if pe.Code == "" {
		// An answer without an AWS error code: not SES's JSON.
		return failed(name, Unexpected, "the answer to "+op+" is not SES's ("+itoa(status)+" "+pe.Reason+"): is the endpoint right?")
	}
	said := pe.Code
	if pe.Reason != "" {
		said += ": " + pe.Reason
	}
	switch code := pe.Code; {
	case credentialCodes[code]:
		return failed(name, Credentials, "the AWS credentials are rejected ("+said+")")
	case code == "AccessDeniedException" || code == "AccessDenied":
		return failed(name, Permission, "not allowed to call ses:"+op+" ("+said+")")
	case pe.Class == provider.RateLimited:
		return failed(name, Throttled, "SES is throttling this account ("+said+")")
	case status >= 500:
		return failed(name, Unavailable, "SES is failing ("+itoa(status)+" "+said+"): try again later")
	}
	return failed(name, Unexpected, op+" failed ("+itoa(status)+" "+said+")")
}
