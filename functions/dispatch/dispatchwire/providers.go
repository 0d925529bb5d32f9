package dispatchwire

import (
	"errors"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/cogmail/cogmail/pkg/awsclient"
	"github.com/cogmail/cogmail/pkg/config"
	"github.com/cogmail/cogmail/pkg/dispatch"
	"github.com/cogmail/cogmail/pkg/provider/mailgun"
	"github.com/cogmail/cogmail/pkg/provider/registry"
	"github.com/cogmail/cogmail/pkg/provider/sendgrid"
	"github.com/cogmail/cogmail/pkg/provider/ses"
	"github.com/cogmail/cogmail/pkg/provider/smtp"
)

// senderSpec is one provider the configuration sets: how to build it once
// its key is known.
type senderSpec struct {
	name string
	// variable, plain and ref are the provider's key: in clear, or the
	// Secrets Manager reference in variable_SECRET; variable is "" for a
	// provider without a key (SES signs with the function's role).
	variable string
	plain    config.Secret
	ref      string
	// unavailable, when set, says why the provider cannot be built here.
	unavailable string
	build       func(key string) (dispatch.Sender, error)
}

// senderSpecs lists the providers c configures, each with the Config its
// settings give: the one place that turns provider settings into
// providers, for Build and for CheckProviders (`cogmail config check`).
func senderSpecs(c *config.Dispatch, hc *http.Client, timeout time.Duration, awsCfg aws.Config) []senderSpec {
	var out []senderSpec
	if sg := c.SendGrid; sg != nil {
		out = append(out, senderSpec{name: registry.SendGrid, variable: "COGMAIL_SENDGRID_API_KEY", plain: sg.APIKey, ref: sg.APIKeySecret,
			build: func(key string) (dispatch.Sender, error) {
				return sendgrid.New(sendgrid.Config{APIKey: key, BaseURL: sg.BaseURL, Sandbox: sg.Sandbox, HTTPClient: hc})
			}})
	}
	if mg := c.Mailgun; mg != nil {
		out = append(out, senderSpec{name: registry.Mailgun, variable: "COGMAIL_MAILGUN_API_KEY", plain: mg.APIKey, ref: mg.APIKeySecret,
			build: func(key string) (dispatch.Sender, error) {
				return mailgun.New(mailgun.Config{APIKey: key, Domain: mg.Domain, BaseURL: mailgun.BaseURLFor(mg.Region, mg.BaseURL), TestMode: mg.TestMode, HTTPClient: hc})
			}})
	}
	if sc := c.SES; sc != nil {
		sp := senderSpec{name: registry.SES, build: func(string) (dispatch.Sender, error) {
			return ses.New(ses.Config{AWS: awsCfg, Endpoint: sc.Endpoint, ConfigurationSetName: sc.ConfigurationSet, Timeout: timeout})
		}}
		if awsCfg.Region == "" || awsCfg.Credentials == nil {
			sp.unavailable = "the AWS configuration has no region or credentials"
		}
		out = append(out, sp)
	}
	if sm := c.SMTP; sm != nil {
		out = append(out, senderSpec{name: registry.SMTP, variable: "COGMAIL_SMTP_PASSWORD", plain: sm.Password, ref: sm.PasswordSecret,
			build: func(pass string) (dispatch.Sender, error) {
				// The provider's rule, reported with its variable.
				if err := smtp.CheckClearPassword(sm.Host, SMTPPolicy(sm.TLS), sm.Username); err != nil {
					return nil, &config.Error{Var: "COGMAIL_SMTP_TLS", Reason: err.Error()}
				}
				return smtp.New(smtp.Config{Host: sm.Host, Port: sm.Port, Username: sm.Username, Password: pass, TLS: SMTPPolicy(sm.TLS), Timeout: timeout})
			}})
	}
	for i := range out {
		if out[i].variable != "" && out[i].plain.IsZero() && out[i].ref == "" {
			// SMTP without AUTH: no key to resolve.
			out[i].variable = ""
		}
	}
	return out
}

// CheckProviders validates each configured provider's Config as Build's
// constructors do at cold start, without reading a secret (a key in
// Secrets Manager stands as a placeholder) or the caller's AWS
// configuration (SES gets a placeholder region and credentials):
// `cogmail config check` runs the Lambda's own provider validation, and
// adds only what needs the network.
func CheckProviders(c *config.Dispatch) error {
	placeholder := awsclient.Config("us-east-1", credentials.NewStaticCredentialsProvider("check", "check", ""))
	var errs []error
	for _, sp := range senderSpecs(c, http.DefaultClient, 0, placeholder) {
		key := sp.plain.Reveal()
		if sp.ref != "" {
			key = "from-secrets-manager"
		}
		if _, err := sp.build(key); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
