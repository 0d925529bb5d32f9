package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/provider/registry"
	"github.com/cogmail/cogmail/pkg/queue"
	"github.com/cogmail/cogmail/pkg/routing"
	"github.com/cogmail/cogmail/pkg/secret"
)

// Secret is a credential read from the environment: secret.Code, the
// one redacted type, so every formatting path prints it as REDACTED and a
// configuration dump cannot leak it. Reveal gives the value to the one
// place that needs it, the provider's Config.
type Secret = secret.Code

// Redacted is what a Secret prints as.
const Redacted = secret.Redacted

// ExpiredAction is what dispatch does with a message past its expiry.
type ExpiredAction string

// The expired actions.
const (
	ExpiredDLQ  ExpiredAction = "dlq"  // dead-letter it with reason "expired" (default)
	ExpiredDrop ExpiredAction = "drop" // delete it; it is still counted
)

// SMTPTLS is the SMTP relay's encryption policy.
type SMTPTLS string

// The SMTP TLS policies.
const (
	SMTPStartTLS              SMTPTLS = "starttls"               // STARTTLS required (default; port 587)
	SMTPStartTLSOpportunistic SMTPTLS = "starttls-opportunistic" // STARTTLS when offered
	SMTPImplicitTLS           SMTPTLS = "tls"                    // TLS from the first byte (port 465)
	SMTPNoTLS                 SMTPTLS = "none"                   // never encrypt: local relays and tests
)

// Dispatch is the dispatch function's configuration. docs/configuration.md
// lists every key. A setting left unset is zero: the package that uses it
// applies and documents its default (dispatch.Options, breaker.Options,
// idempotency.Options, routing.SourceOptions), so no default is
// written twice.
type Dispatch struct {
	// Routing is COGMAIL_PROVIDERS (ordered, or "name=weight,...") with
	// COGMAIL_STRATEGY (failover, the default, or weighted).
	Routing          routing.Config
	ProvidersParam   string        // COGMAIL_PROVIDERS_PARAM: SSM parameter with the live routing (optional)
	ProvidersRefresh time.Duration // COGMAIL_PROVIDERS_REFRESH: at most 60s

	SenderEmail string // COGMAIL_SENDER_EMAIL (required)
	SenderName  string // COGMAIL_SENDER_NAME

	DLQURL   string // COGMAIL_DLQ_URL (required)
	QueueURL string // COGMAIL_QUEUE_URL: the source queue (default: from each record's event source ARN)

	IdempotencyTable string        // COGMAIL_IDEMPOTENCY_TABLE (optional)
	IdempotencyTTL   time.Duration // COGMAIL_IDEMPOTENCY_TTL
	// Reputation is the suppression list and recipient limit (optional:
	// COGMAIL_REPUTATION_TABLE turns them on).
	Reputation       Reputation
	ExpiredAction    ExpiredAction // COGMAIL_EXPIRED_ACTION: dlq or drop (unset: dispatch dead-letters)
	Concurrency      int           // COGMAIL_CONCURRENCY
	SendTimeout      time.Duration // COGMAIL_SEND_TIMEOUT: one provider call
	MessageBudget    time.Duration // COGMAIL_MESSAGE_BUDGET: one message within an invocation
	DeadlineMargin   time.Duration // COGMAIL_DEADLINE_MARGIN: kept before the Lambda deadline
	BreakerThreshold int           // COGMAIL_BREAKER_THRESHOLD: consecutive failures that open a breaker
	BreakerCooldown  time.Duration // COGMAIL_BREAKER_COOLDOWN
	BackoffBase      time.Duration // COGMAIL_BACKOFF_BASE
	BackoffMax       time.Duration // COGMAIL_BACKOFF_MAX: visibility backoff cap
	MaxAge           time.Duration // COGMAIL_MAX_AGE: the longest any message is retried
	// RetryWindows is COGMAIL_RETRY_WINDOW's entries (TRIGGER=DURATION,...):
	// triggers retried for less than their code's life.
	RetryWindows   map[cognito.Trigger]time.Duration
	RecoverySpread time.Duration // COGMAIL_RECOVERY_SPREAD: held messages come back over this when a provider recovers
	DedupCache     int           // COGMAIL_DEDUP_CACHE: dedup keys remembered per container
	MaxReceives    int           // COGMAIL_MAX_RECEIVES: dead-letter with reasons on this delivery (default 0: leave it to the redrive policy)

	SendGrid *SendGrid // nil when neither named nor configured
	Mailgun  *Mailgun
	SES      *SES // always set: SES needs only the function's role
	SMTP     *SMTP
}

// SendGrid is the SendGrid provider's configuration.
type SendGrid struct {
	APIKey       Secret // COGMAIL_SENDGRID_API_KEY
	APIKeySecret string // COGMAIL_SENDGRID_API_KEY_SECRET: Secrets Manager ARN or name, resolved at cold start
	BaseURL      string // COGMAIL_SENDGRID_BASE_URL (default https://api.sendgrid.com)
	Sandbox      bool   // COGMAIL_SENDGRID_SANDBOX
}

// Mailgun is the Mailgun provider's configuration.
type Mailgun struct {
	APIKey       Secret // COGMAIL_MAILGUN_API_KEY
	APIKeySecret string // COGMAIL_MAILGUN_API_KEY_SECRET
	Domain       string // COGMAIL_MAILGUN_DOMAIN (required)
	Region       string // COGMAIL_MAILGUN_REGION: us or eu (unset: the mailgun provider's US base URL)
	BaseURL      string // COGMAIL_MAILGUN_BASE_URL (overrides the region)
	TestMode     bool   // COGMAIL_MAILGUN_TESTMODE
}

// SES is the Amazon SES v2 provider's configuration. Its endpoint comes
// from AWS_ENDPOINT_URL_SESV2 through the AWS configuration, or COGMAIL_SES_ENDPOINT.
type SES struct {
	ConfigurationSet string // COGMAIL_SES_CONFIGURATION_SET
	Endpoint         string // COGMAIL_SES_ENDPOINT (optional)
	// Identity is the verified SES identity (domain or address) the
	// function's role may send as: the stack's SesIdentity parameter
	// (COGMAIL_SES_IDENTITY). Sending does not need it; `cogmail config
	// check` compares it with the routing and the sender.
	Identity string
}

// SMTP is the SMTP relay's configuration.
type SMTP struct {
	Host           string  // COGMAIL_SMTP_HOST (required)
	Port           int     // COGMAIL_SMTP_PORT (unset: the smtp provider's 587, or 465 with tls)
	Username       string  // COGMAIL_SMTP_USERNAME
	Password       Secret  // COGMAIL_SMTP_PASSWORD
	PasswordSecret string  // COGMAIL_SMTP_PASSWORD_SECRET
	TLS            SMTPTLS // COGMAIL_SMTP_TLS (unset: the smtp provider's mandatory STARTTLS)
}

// Providers lists the providers this configuration builds.
func (c *Dispatch) Providers() []string {
	var out []string
	if c.SendGrid != nil {
		out = append(out, registry.SendGrid)
	}
	if c.Mailgun != nil {
		out = append(out, registry.Mailgun)
	}
	if c.SES != nil {
		out = append(out, registry.SES)
	}
	if c.SMTP != nil {
		out = append(out, registry.SMTP)
	}
	return out
}

// LoadDispatch reads and validates the dispatch configuration. A provider
// named in COGMAIL_PROVIDERS must have its settings and key; a provider not
// named but configured is built too, so the SSM parameter can switch to it.
func LoadDispatch(getenv Getenv) (*Dispatch, error) {
	r := reader{getenv: getenv}
	c := &Dispatch{
		ProvidersParam:   r.str("COGMAIL_PROVIDERS_PARAM", ""),
		ProvidersRefresh: r.duration("COGMAIL_PROVIDERS_REFRESH", 0),
		SenderEmail:      r.str("COGMAIL_SENDER_EMAIL", ""),
		SenderName:       r.str("COGMAIL_SENDER_NAME", ""),
		DLQURL:           r.url("COGMAIL_DLQ_URL", true),
		QueueURL:         r.url("COGMAIL_QUEUE_URL", false),
		IdempotencyTable: r.str("COGMAIL_IDEMPOTENCY_TABLE", ""),
		IdempotencyTTL:   r.duration("COGMAIL_IDEMPOTENCY_TTL", 0),
		Reputation:       r.reputation(false),
		ExpiredAction:    ExpiredAction(strings.ToLower(r.str("COGMAIL_EXPIRED_ACTION", ""))),
		Concurrency:      r.int("COGMAIL_CONCURRENCY", 0),
		SendTimeout:      r.duration("COGMAIL_SEND_TIMEOUT", 0),
		MessageBudget:    r.duration("COGMAIL_MESSAGE_BUDGET", 0),
		DeadlineMargin:   r.duration("COGMAIL_DEADLINE_MARGIN", 0),
		BreakerThreshold: r.int("COGMAIL_BREAKER_THRESHOLD", 0),
		BreakerCooldown:  r.duration("COGMAIL_BREAKER_COOLDOWN", 0),
		BackoffBase:      r.duration("COGMAIL_BACKOFF_BASE", 0),
		BackoffMax:       r.duration("COGMAIL_BACKOFF_MAX", 0),
		MaxAge:           r.duration("COGMAIL_MAX_AGE", 0),
		RetryWindows:     r.expiry("COGMAIL_RETRY_WINDOW"),
		RecoverySpread:   r.duration("COGMAIL_RECOVERY_SPREAD", 0),
		DedupCache:       r.int("COGMAIL_DEDUP_CACHE", 0),
		MaxReceives:      r.optionalInt("COGMAIL_MAX_RECEIVES"),
	}

	switch {
	case c.SenderEmail == "":
		r.fail("COGMAIL_SENDER_EMAIL", "is required")
	case !BareAddress(c.SenderEmail):
		r.fail("COGMAIL_SENDER_EMAIL", "is not a bare email address (put the display name in COGMAIL_SENDER_NAME)")
	}
	if strings.ContainsAny(c.SenderName, "\r\n") {
		r.fail("COGMAIL_SENDER_NAME", "contains a line break")
	}
	if c.ProvidersRefresh > routing.MaxRefresh {
		r.fail("COGMAIL_PROVIDERS_REFRESH", "must be at most 60s (a switch must take effect within a minute)")
	}
	if c.ExpiredAction != "" && c.ExpiredAction != ExpiredDLQ && c.ExpiredAction != ExpiredDrop {
		r.fail("COGMAIL_EXPIRED_ACTION", fmt.Sprintf("%q is not dlq or drop", c.ExpiredAction))
	}
	if c.Concurrency > 1000 {
		r.fail("COGMAIL_CONCURRENCY", "must be at most 1000")
	}
	// How these fit together once dispatch's defaults apply (a timeout over
	// the default budget) is checked by dispatchwire.Check.
	if c.BackoffMax > queue.MaxVisibility {
		r.fail("COGMAIL_BACKOFF_MAX", "must be at most 12h (SQS's longest visibility timeout)")
	}

	c.SendGrid = r.sendGrid()
	c.Mailgun = r.mailgun()
	c.SES = &SES{ConfigurationSet: r.str("COGMAIL_SES_CONFIGURATION_SET", ""), Endpoint: r.url("COGMAIL_SES_ENDPOINT", false),
		Identity: r.str("COGMAIL_SES_IDENTITY", "")}
	c.SMTP = r.smtp()

	strategy := routing.Strategy(strings.ToLower(r.str("COGMAIL_STRATEGY", "")))
	if strategy != "" && strategy != routing.Failover && strategy != routing.Weighted {
		r.fail("COGMAIL_STRATEGY", fmt.Sprintf("%q is not failover or weighted", strategy))
		strategy = ""
	}
	list := r.str("COGMAIL_PROVIDERS", "")
	if list == "" {
		r.fail("COGMAIL_PROVIDERS", `is required: the providers in order, e.g. "ses,sendgrid", or with weights "sendgrid=3,mailgun=1"`)
	} else {
		routing, err := routing.ParseList(list, strategy)
		if err != nil {
			r.fail("COGMAIL_PROVIDERS", strings.ReplaceAll(err.Error(), "\n", "; "))
		}
		if err := routing.Validate(nil); err != nil {
			r.fail("COGMAIL_PROVIDERS", strings.ReplaceAll(err.Error(), "\n", "; "))
		}
		r.requireProviders(c, routing.Providers)
		c.Routing = routing.Normalize()
	}
	return c, r.err()
}

// requireProviders fails for every named provider that lacks its settings,
// naming the variables to set.
func (r *reader) requireProviders(c *Dispatch, names []string) {
	for _, p := range names {
		switch p {
		case registry.SendGrid:
			if c.SendGrid == nil {
				r.fail("COGMAIL_SENDGRID_API_KEY", "or COGMAIL_SENDGRID_API_KEY_SECRET is required: sendgrid is in COGMAIL_PROVIDERS")
			}
		case registry.Mailgun:
			if c.Mailgun == nil {
				r.fail("COGMAIL_MAILGUN_API_KEY", "or COGMAIL_MAILGUN_API_KEY_SECRET, and COGMAIL_MAILGUN_DOMAIN, are required: mailgun is in COGMAIL_PROVIDERS")
			}
		case registry.SMTP:
			if c.SMTP == nil {
				r.fail("COGMAIL_SMTP_HOST", "is required: smtp is in COGMAIL_PROVIDERS")
			}
		}
	}
}

// key reads a credential given either in clear (NAME) or as a Secrets
// Manager reference (NAME_SECRET). Values are never echoed.
func (r *reader) key(name string) (Secret, string, bool) {
	plain, ref := r.str(name, ""), r.str(name+"_SECRET", "")
	if plain != "" && ref != "" {
		r.fail(name, "and "+name+"_SECRET are both set; set one")
	}
	return secret.New(plain), ref, plain != "" || ref != ""
}

func (r *reader) sendGrid() *SendGrid {
	key, ref, ok := r.key("COGMAIL_SENDGRID_API_KEY")
	base := r.url("COGMAIL_SENDGRID_BASE_URL", false)
	sandbox := r.bool("COGMAIL_SENDGRID_SANDBOX")
	if !ok {
		if base != "" || sandbox {
			r.fail("COGMAIL_SENDGRID_API_KEY", "or COGMAIL_SENDGRID_API_KEY_SECRET is required when other COGMAIL_SENDGRID_ settings are set")
		}
		return nil
	}
	return &SendGrid{APIKey: key, APIKeySecret: ref, BaseURL: base, Sandbox: sandbox}
}

func (r *reader) mailgun() *Mailgun {
	key, ref, ok := r.key("COGMAIL_MAILGUN_API_KEY")
	m := &Mailgun{
		APIKey: key, APIKeySecret: ref,
		Domain:   r.str("COGMAIL_MAILGUN_DOMAIN", ""),
		Region:   strings.ToLower(r.str("COGMAIL_MAILGUN_REGION", "")),
		BaseURL:  r.url("COGMAIL_MAILGUN_BASE_URL", false),
		TestMode: r.bool("COGMAIL_MAILGUN_TESTMODE"),
	}
	if m.Region != "" && m.Region != "us" && m.Region != "eu" {
		r.fail("COGMAIL_MAILGUN_REGION", fmt.Sprintf("%q is not us or eu", m.Region))
	}
	if !ok && m.Domain == "" {
		if m.BaseURL != "" || m.TestMode {
			r.fail("COGMAIL_MAILGUN_API_KEY", "or COGMAIL_MAILGUN_API_KEY_SECRET is required when other COGMAIL_MAILGUN_ settings are set")
		}
		return nil
	}
	if !ok {
		r.fail("COGMAIL_MAILGUN_API_KEY", "or COGMAIL_MAILGUN_API_KEY_SECRET is required with COGMAIL_MAILGUN_DOMAIN")
		return nil
	}
	if m.Domain == "" {
		r.fail("COGMAIL_MAILGUN_DOMAIN", "is required with a Mailgun API key")
		return nil
	}
	return m
}

func (r *reader) smtp() *SMTP {
	pass, ref, hasPass := r.key("COGMAIL_SMTP_PASSWORD")
	s := &SMTP{
		Host:     r.str("COGMAIL_SMTP_HOST", ""),
		Username: r.str("COGMAIL_SMTP_USERNAME", ""),
		Password: pass, PasswordSecret: ref,
		TLS: SMTPTLS(strings.ToLower(r.str("COGMAIL_SMTP_TLS", ""))),
	}
	if s.TLS != "" && !slices.Contains([]SMTPTLS{SMTPStartTLS, SMTPStartTLSOpportunistic, SMTPImplicitTLS, SMTPNoTLS}, s.TLS) {
		r.fail("COGMAIL_SMTP_TLS", fmt.Sprintf("%q is not starttls, starttls-opportunistic, tls or none", s.TLS))
	}
	if v := r.str("COGMAIL_SMTP_PORT", ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 65535 {
			r.fail("COGMAIL_SMTP_PORT", fmt.Sprintf("%q is not a port (1-65535)", v))
		}
		s.Port = n
	}
	if s.Host == "" {
		if s.Username != "" || hasPass {
			r.fail("COGMAIL_SMTP_HOST", "is required when other COGMAIL_SMTP_ settings are set")
		}
		return nil
	}
	if s.Username != "" && !hasPass {
		r.fail("COGMAIL_SMTP_PASSWORD", "or COGMAIL_SMTP_PASSWORD_SECRET is required with COGMAIL_SMTP_USERNAME")
	}
	if hasPass && s.Username == "" {
		r.fail("COGMAIL_SMTP_USERNAME", "is required with a password")
	}
	return s
}

func (r *reader) bool(name string) bool {
	v := r.str(name, "")
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(name, fmt.Sprintf("%q is not true or false", v))
	}
	return b
}

// optionalInt reads a whole number ≥ 0 whose default is 0 (off).
func (r *reader) optionalInt(name string) int {
	v := r.str(name, "")
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		r.fail(name, fmt.Sprintf("%q is not a whole number ≥ 0", v))
		return 0
	}
	return n
}

// BareAddress accepts "local@domain" without a display name or brackets:
// the form COGMAIL_SENDER_EMAIL takes, and `cogmail config check --ping-to`.
func BareAddress(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1 && !strings.ContainsAny(s, " <>,;\"\t\r\n") && !strings.Contains(s[at+1:], "@")
}
