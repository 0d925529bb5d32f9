// Package dispatchwire builds the dispatch function's handler from its
// configuration at cold start: provider keys from Secrets Manager, every
// configured provider, the routing parameter, the idempotency table. It is
// the only place where pkg/config meets pkg/dispatch, so the policy package
// stays free of environment variables.
package dispatchwire

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/cogmail/cogmail/pkg/config"
	"github.com/cogmail/cogmail/pkg/dispatch"
	"github.com/cogmail/cogmail/pkg/dispatch/breaker"
	"github.com/cogmail/cogmail/pkg/idempotency"
	"github.com/cogmail/cogmail/pkg/metrics"
	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/smtp"
	"github.com/cogmail/cogmail/pkg/reputationtable"
	"github.com/cogmail/cogmail/pkg/routing"
	"github.com/cogmail/cogmail/pkg/routing/ssmparam"
	"github.com/cogmail/cogmail/pkg/seal"
	"github.com/cogmail/cogmail/pkg/secretref"
)

// Queue is the part of the SQS client the handler uses; *sqs.Client
// satisfies it.
type Queue interface {
	dispatch.DLQ
	dispatch.Visibility
}

// DynamoDB is the part of the DynamoDB client Build uses (the idempotency
// and reputation tables); *dynamodb.Client satisfies it.
type DynamoDB interface {
	idempotency.Client
	reputationtable.Client
}

// Clients are the AWS clients a Handler is built on. The caller makes them
// (awsclient.Load in Lambda, local endpoints in tests), so the
// endpoint variables such as AWS_ENDPOINT_URL_SESV2 apply.
type Clients struct {
	AWS            aws.Config       // region and credentials, for SES
	SQS            Queue            // required: the DLQ and visibility changes
	KMS            seal.KeyService  // required: opens the envelopes' data keys
	SSM            ssmparam.API     // required with COGMAIL_PROVIDERS_PARAM
	SecretsManager secretref.Reader // required when a *_SECRET variable is set
	DynamoDB       DynamoDB         // required with COGMAIL_IDEMPOTENCY_TABLE or COGMAIL_REPUTATION_TABLE
	HTTPClient     *http.Client     // for SendGrid and Mailgun; default one with pooled connections
	// Suppressions and Recipients, when set, are used instead of the
	// reputation table (the local stack's in-memory list and counters).
	Suppressions dispatch.Suppressions
	Recipients   dispatch.RecipientCounter
}

// Build makes a dispatch.Handler from configuration at cold start: it resolves the
// API keys in Secrets Manager, builds every configured provider, reads the
// routing parameter once, and wires the idempotency table. Every problem is
// returned at once; no error quotes a credential.
func Build(ctx context.Context, c *config.Dispatch, cl Clients, log *slog.Logger, m *metrics.Emitter) (*dispatch.Handler, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var errs []error
	if cl.SQS == nil {
		errs = append(errs, errors.New("an SQS client is required"))
	}
	if cl.KMS == nil {
		errs = append(errs, errors.New("a KMS client is required"))
	}
	if err := Check(c); err != nil {
		errs = append(errs, err)
	}
	for _, w := range Warnings(c) {
		log.WarnContext(ctx, "configuration defeats the retry schedule", "variable", w.Var, "problem", w.Reason)
	}
	senders, err := buildSenders(ctx, c, cl, log)
	if err != nil {
		errs = append(errs, err)
	}
	var available []string
	for _, s := range senders {
		available = append(available, s.Name())
	}

	var routes dispatch.Routes = routing.Static(c.Routing)
	if c.ProvidersParam != "" {
		if cl.SSM == nil {
			errs = append(errs, errors.New("COGMAIL_PROVIDERS_PARAM: an SSM client is required"))
		} else if len(errs) == 0 {
			src, err := routing.NewSource(routing.SourceOptions{
				Client: ssmparam.Reader{Client: cl.SSM}, Parameter: c.ProvidersParam, Fallback: c.Routing, Available: available,
				Refresh: c.ProvidersRefresh, Logger: log,
			})
			if err != nil {
				errs = append(errs, fmt.Errorf("COGMAIL_PROVIDERS: %w", err))
			} else {
				// A parameter that cannot be read yet does not stop the
				// function: COGMAIL_PROVIDERS routes until it can.
				if err := src.Load(ctx); err != nil {
					log.ErrorContext(ctx, "provider parameter not used at cold start; routing by COGMAIL_PROVIDERS", "error", err.Error())
				}
				routes = src
			}
		}
	}

	var store dispatch.Idempotency
	if c.IdempotencyTable != "" {
		if cl.DynamoDB == nil {
			errs = append(errs, errors.New("COGMAIL_IDEMPOTENCY_TABLE: a DynamoDB client is required"))
		} else if s, err := idempotency.New(cl.DynamoDB, idempotency.Options{Table: c.IdempotencyTable, TTL: c.IdempotencyTTL}); err != nil {
			errs = append(errs, err)
		} else {
			store = s
		}
	}
	sup, rec := cl.Suppressions, cl.Recipients
	if t := c.Reputation.Table; t != "" && sup == nil && rec == nil {
		if cl.DynamoDB == nil {
			errs = append(errs, errors.New("COGMAIL_REPUTATION_TABLE: a DynamoDB client is required"))
		} else {
			s, err1 := reputationtable.NewSuppressions(cl.DynamoDB, t, nil)
			r, err2 := reputationtable.NewCounter(cl.DynamoDB, t, nil)
			if err := errors.Join(err1, err2); err != nil {
				errs = append(errs, err)
			} else {
				sup, rec = s, r
			}
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("dispatch: %w", errors.Join(errs...))
	}
	opener, err := seal.NewOpener(seal.OpenerOptions{KMS: cl.KMS})
	if err != nil {
		return nil, fmt.Errorf("dispatch: %w", err)
	}
	d := dispatch.Deps{Senders: senders, Routes: routes, Opener: opener, DLQ: cl.SQS, Visibility: cl.SQS, Idempotency: store,
		Suppressions: sup, Recipients: rec, Logger: log, Metrics: m}
	return dispatch.New(d, Options(c))
}

// buildSenders resolves keys and builds every configured provider.
func buildSenders(ctx context.Context, c *config.Dispatch, cl Clients, log *slog.Logger) ([]dispatch.Sender, error) {
	var errs []error
	o := Options(c).WithDefaults() // the timeouts and concurrency in force
	key := func(variable string, plain config.Secret, ref string) string {
		if ref == "" {
			return plain.Reveal()
		}
		v, err := secretref.Read(ctx, cl.SecretsManager, ref)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s_SECRET: %w", variable, err))
		}
		return v
	}
	hc := cl.HTTPClient
	if hc == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		// Keep a connection per concurrent send: the default two per host
		// would make most sends of a batch open a new TLS connection.
		t.MaxIdleConnsPerHost = max(o.Concurrency, 10)
		hc = &http.Client{Timeout: o.SendTimeout, Transport: t}
	}

	var senders []dispatch.Sender
	for _, sp := range senderSpecs(c, hc, o.SendTimeout, cl.AWS) {
		if sp.unavailable != "" {
			if slices.Contains(c.Routing.Providers, sp.name) {
				errs = append(errs, fmt.Errorf("%s: %s", sp.name, sp.unavailable))
			} else {
				log.InfoContext(ctx, sp.name+" not available: "+sp.unavailable)
			}
			continue
		}
		k := key(sp.variable, sp.plain, sp.ref)
		if sp.variable != "" && k == "" {
			continue // the secret's problem is reported
		}
		s, err := sp.build(k)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		senders = append(senders, s)
	}
	return senders, errors.Join(errs...)
}

// Options are the handler's options as c sets them; what c leaves unset
// stays zero, and dispatch applies its own defaults.
func Options(c *config.Dispatch) dispatch.Options {
	return dispatch.Options{
		DLQURL:         c.DLQURL,
		QueueURL:       c.QueueURL,
		From:           provider.Address{Email: c.SenderEmail, Name: c.SenderName},
		DropExpired:    c.ExpiredAction == config.ExpiredDrop,
		Concurrency:    c.Concurrency,
		SendTimeout:    c.SendTimeout,
		MessageBudget:  c.MessageBudget,
		DeadlineMargin: c.DeadlineMargin,
		BackoffBase:    c.BackoffBase,
		BackoffMax:     c.BackoffMax,
		MaxAge:         c.MaxAge,
		RetryWindows:   c.RetryWindows,
		RecoverySpread: c.RecoverySpread,
		DedupCacheSize: c.DedupCache,
		MaxReceives:    c.MaxReceives,
		Breaker:        breaker.Options{Threshold: c.BreakerThreshold, Cooldown: c.BreakerCooldown},
		Suppression:    c.Reputation.Policy,
		RecipientLimit: c.Reputation.RecipientLimit,
	}
}

// variables names the environment variable of each dispatch.Options field
// that Check can report.
var variables = map[string]string{
	"SendTimeout": "COGMAIL_SEND_TIMEOUT", "MessageBudget": "COGMAIL_MESSAGE_BUDGET",
	"BackoffBase": "COGMAIL_BACKOFF_BASE", "BackoffMax": "COGMAIL_BACKOFF_MAX", "MaxAge": "COGMAIL_MAX_AGE",
	"MaxReceives": "COGMAIL_MAX_RECEIVES",
}

// Check reports the settings that contradict each other once dispatch's
// defaults apply (a send timeout over the default message budget, say),
// each as a *config.Error naming its variable: what config alone cannot
// see, since it does not restate dispatch's defaults. Build runs it, and
// so does `cogmail config check`.
func Check(c *config.Dispatch) error {
	err := Options(c).Validate()
	if err == nil {
		return nil
	}
	var errs []error
	for _, e := range unjoin(err) {
		var oe *dispatch.OptionError
		if errors.As(e, &oe) {
			errs = append(errs, &config.Error{Var: variables[oe.Field], Reason: oe.ReasonAs(variables[oe.Other])})
			continue
		}
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

// Warnings are the settings that work but defeat dispatch's retry
// schedule (dispatch.Options.Warnings), each as a *config.Error naming its
// variable. Build logs them; `cogmail config check` reports them.
func Warnings(c *config.Dispatch) []*config.Error {
	var out []*config.Error
	for _, oe := range Options(c).Warnings() {
		out = append(out, &config.Error{Var: variables[oe.Field], Reason: oe.ReasonAs(variables[oe.Other])})
	}
	return out
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// SMTPPolicy is the smtp provider's TLS policy for COGMAIL_SMTP_TLS; unset
// is the provider's zero policy, mandatory STARTTLS.
func SMTPPolicy(t config.SMTPTLS) smtp.TLSPolicy {
	switch t {
	case config.SMTPStartTLSOpportunistic:
		return smtp.StartTLSOpportunistic
	case config.SMTPImplicitTLS:
		return smtp.ImplicitTLS
	case config.SMTPNoTLS:
		return smtp.NoTLS
	}
	return smtp.StartTLSMandatory // config.SMTPStartTLS or unset
}
