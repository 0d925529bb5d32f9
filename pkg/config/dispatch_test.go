package config_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cogmail/cogmail/pkg/config"
	"github.com/cogmail/cogmail/pkg/routing"
	"github.com/cogmail/cogmail/pkg/secret"
)

// minimal is the smallest valid dispatch environment.
func minimal(extra map[string]string) map[string]string {
	m := map[string]string{
		"COGMAIL_PROVIDERS":    "ses",
		"COGMAIL_SENDER_EMAIL": "no-reply@example.com",
		"COGMAIL_DLQ_URL":      "https://sqs.us-east-1.amazonaws.com/111122223333/cogmail-dlq",
	}
	maps.Copy(m, extra)
	for k, v := range m {
		if v == "-" {
			delete(m, k)
		}
	}
	return m
}

func TestLoadDispatchDefaults(t *testing.T) {
	t.Parallel()
	c, err := config.LoadDispatch(env(minimal(nil)))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"routing", c.Routing, routing.Config{Providers: []string{"ses"}, Strategy: routing.Failover}},
		// Unset settings stay zero: dispatch, breaker, idempotency and
		// routing apply their own defaults (dispatchwire's tests).
		{"refresh", c.ProvidersRefresh, time.Duration(0)},
		{"idempotency TTL", c.IdempotencyTTL, time.Duration(0)},
		{"expired action", c.ExpiredAction, config.ExpiredAction("")},
		{"concurrency", c.Concurrency, 0},
		{"send timeout", c.SendTimeout, time.Duration(0)},
		{"message budget", c.MessageBudget, time.Duration(0)},
		{"deadline margin", c.DeadlineMargin, time.Duration(0)},
		{"breaker threshold", c.BreakerThreshold, 0},
		{"breaker cooldown", c.BreakerCooldown, time.Duration(0)},
		{"backoff base", c.BackoffBase, time.Duration(0)},
		{"backoff max", c.BackoffMax, time.Duration(0)},
		{"dedup cache", c.DedupCache, 0},
		{"max receives", c.MaxReceives, 0},
		{"providers built", c.Providers(), []string{"ses"}},
		{"no table", c.IdempotencyTable, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Fatalf("%v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestLoadDispatchProviders(t *testing.T) {
	t.Parallel()
	all := map[string]string{
		"COGMAIL_PROVIDERS":              "sendgrid=3,mailgun=1,smtp=0",
		"COGMAIL_SENDGRID_API_KEY":       "SG.plain-key",
		"COGMAIL_SENDGRID_BASE_URL":      "https://api.eu.sendgrid.com",
		"COGMAIL_SENDGRID_SANDBOX":       "true",
		"COGMAIL_MAILGUN_API_KEY_SECRET": "arn:aws:secretsmanager:us-east-1:111122223333:secret:mailgun-AbCdEf",
		"COGMAIL_MAILGUN_DOMAIN":         "mg.example.com",
		"COGMAIL_MAILGUN_REGION":         "EU",
		"COGMAIL_MAILGUN_TESTMODE":       "1",
		"COGMAIL_SES_CONFIGURATION_SET":  "cogmail",
		"COGMAIL_SMTP_HOST":              "smtp.example.com",
		"COGMAIL_SMTP_TLS":               "tls",
		"COGMAIL_SMTP_USERNAME":          "relay",
		"COGMAIL_SMTP_PASSWORD_SECRET":   "cogmail/smtp",
		"COGMAIL_PROVIDERS_PARAM":        "/cogmail/providers",
		"COGMAIL_PROVIDERS_REFRESH":      "15s",
		"COGMAIL_IDEMPOTENCY_TABLE":      "cogmail-idempotency",
		"COGMAIL_EXPIRED_ACTION":         "drop",
		"COGMAIL_MAX_RECEIVES":           "5",
	}
	c, err := config.LoadDispatch(env(minimal(all)))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"weighted routing", c.Routing, routing.Config{Providers: []string{"sendgrid", "mailgun", "smtp"},
			Strategy: routing.Weighted, Weights: map[string]int{"sendgrid": 3, "mailgun": 1, "smtp": 0}}},
		{"sendgrid", *c.SendGrid, config.SendGrid{APIKey: secret.New("SG.plain-key"), BaseURL: "https://api.eu.sendgrid.com", Sandbox: true}},
		{"mailgun", *c.Mailgun, config.Mailgun{APIKeySecret: all["COGMAIL_MAILGUN_API_KEY_SECRET"], Domain: "mg.example.com", Region: "eu", TestMode: true}},
		{"ses", *c.SES, config.SES{ConfigurationSet: "cogmail"}},
		{"smtp: the port is left to the provider", *c.SMTP, config.SMTP{Host: "smtp.example.com", Username: "relay", PasswordSecret: "cogmail/smtp", TLS: config.SMTPImplicitTLS}},
		{"every provider built", c.Providers(), []string{"sendgrid", "mailgun", "ses", "smtp"}},
		{"param", c.ProvidersParam, "/cogmail/providers"},
		{"refresh", c.ProvidersRefresh, 15 * time.Second},
		{"drop", c.ExpiredAction, config.ExpiredDrop},
		{"max receives", c.MaxReceives, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Fatalf("%+v, want %+v", tt.got, tt.want)
			}
		})
	}
}

func TestLoadDispatchErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want []string // variable names that must each appear in an error
	}{
		{"nothing set", map[string]string{"COGMAIL_PROVIDERS": "-", "COGMAIL_SENDER_EMAIL": "-", "COGMAIL_DLQ_URL": "-"},
			[]string{"COGMAIL_PROVIDERS", "COGMAIL_SENDER_EMAIL", "COGMAIL_DLQ_URL"}},
		{"sender with a display name", map[string]string{"COGMAIL_SENDER_EMAIL": "Acme <no-reply@example.com>"}, []string{"COGMAIL_SENDER_EMAIL"}},
		{"a named provider without its key", map[string]string{"COGMAIL_PROVIDERS": "sendgrid,mailgun,smtp"},
			[]string{"COGMAIL_SENDGRID_API_KEY", "COGMAIL_MAILGUN_API_KEY", "COGMAIL_SMTP_HOST"}},
		{"an unknown provider", map[string]string{"COGMAIL_PROVIDERS": "ses,postmark"}, []string{"COGMAIL_PROVIDERS"}},
		{"a provider twice", map[string]string{"COGMAIL_PROVIDERS": "ses,ses"}, []string{"COGMAIL_PROVIDERS"}},
		{"weights with failover", map[string]string{"COGMAIL_PROVIDERS": "ses=1", "COGMAIL_STRATEGY": "failover"}, []string{"COGMAIL_PROVIDERS"}},
		{"bad strategy", map[string]string{"COGMAIL_STRATEGY": "roundrobin"}, []string{"COGMAIL_STRATEGY"}},
		{"key in clear and in Secrets Manager", map[string]string{"COGMAIL_SENDGRID_API_KEY": "k", "COGMAIL_SENDGRID_API_KEY_SECRET": "s"},
			[]string{"COGMAIL_SENDGRID_API_KEY"}},
		{"sendgrid settings without a key", map[string]string{"COGMAIL_SENDGRID_SANDBOX": "true"}, []string{"COGMAIL_SENDGRID_API_KEY"}},
		{"mailgun key without a domain", map[string]string{"COGMAIL_MAILGUN_API_KEY": "k"}, []string{"COGMAIL_MAILGUN_DOMAIN"}},
		{"mailgun domain without a key", map[string]string{"COGMAIL_MAILGUN_DOMAIN": "mg.example.com"}, []string{"COGMAIL_MAILGUN_API_KEY"}},
		{"mailgun region", map[string]string{"COGMAIL_MAILGUN_REGION": "apac"}, []string{"COGMAIL_MAILGUN_REGION"}},
		{"smtp", map[string]string{"COGMAIL_SMTP_HOST": "h", "COGMAIL_SMTP_PORT": "70000", "COGMAIL_SMTP_TLS": "ssl", "COGMAIL_SMTP_USERNAME": "u"},
			[]string{"COGMAIL_SMTP_PORT", "COGMAIL_SMTP_TLS", "COGMAIL_SMTP_PASSWORD"}},
		{"smtp password without a user", map[string]string{"COGMAIL_SMTP_HOST": "h", "COGMAIL_SMTP_PASSWORD": "p"}, []string{"COGMAIL_SMTP_USERNAME"}},
		{"smtp settings without a host", map[string]string{"COGMAIL_SMTP_USERNAME": "u"}, []string{"COGMAIL_SMTP_HOST"}},
		{"refresh over a minute", map[string]string{"COGMAIL_PROVIDERS_REFRESH": "5m"}, []string{"COGMAIL_PROVIDERS_REFRESH"}},
		{"durations and numbers", map[string]string{"COGMAIL_SEND_TIMEOUT": "soon", "COGMAIL_CONCURRENCY": "0", "COGMAIL_BREAKER_THRESHOLD": "-1",
			"COGMAIL_DEDUP_CACHE": "many", "COGMAIL_MAX_RECEIVES": "-2", "COGMAIL_IDEMPOTENCY_TTL": "0s"},
			[]string{"COGMAIL_SEND_TIMEOUT", "COGMAIL_CONCURRENCY", "COGMAIL_BREAKER_THRESHOLD", "COGMAIL_DEDUP_CACHE", "COGMAIL_MAX_RECEIVES", "COGMAIL_IDEMPOTENCY_TTL"}},
		{"backoff cap over SQS's limit", map[string]string{"COGMAIL_BACKOFF_MAX": "13h"}, []string{"COGMAIL_BACKOFF_MAX"}},
		{"expired action", map[string]string{"COGMAIL_EXPIRED_ACTION": "ignore"}, []string{"COGMAIL_EXPIRED_ACTION"}},
		{"DLQ URL", map[string]string{"COGMAIL_DLQ_URL": "cogmail-dlq"}, []string{"COGMAIL_DLQ_URL"}},
		{"boolean", map[string]string{"COGMAIL_SENDGRID_API_KEY": "k", "COGMAIL_SENDGRID_SANDBOX": "yes please"}, []string{"COGMAIL_SENDGRID_SANDBOX"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.LoadDispatch(env(minimal(tt.env)))
			if err == nil {
				t.Fatal("LoadDispatch accepted it")
			}
			var vars []string
			for e := range leaves(err) {
				var ce *config.Error
				if errors.As(e, &ce) {
					vars = append(vars, ce.Var)
				}
			}
			for _, w := range tt.want {
				found := false
				for _, v := range vars {
					found = found || v == w
				}
				if !found {
					t.Errorf("no error for %s in %v (%v)", w, vars, err)
				}
			}
		})
	}
}

// leaves yields the errors joined inside err.
func leaves(err error) func(func(error) bool) {
	return func(yield func(error) bool) {
		var walk func(error) bool
		walk = func(e error) bool {
			if j, ok := e.(interface{ Unwrap() []error }); ok {
				for _, x := range j.Unwrap() {
					if !walk(x) {
						return false
					}
				}
				return true
			}
			if w := errors.Unwrap(e); w != nil {
				if _, ok := e.(*config.Error); !ok {
					return walk(w)
				}
			}
			return yield(e)
		}
		walk(err)
	}
}

func TestLoadDispatchNeverEchoesSecrets(t *testing.T) {
	t.Parallel()
	const (
		sgKey = "SG.sEcReT-sendgrid-key"
		mgKey = "key-sEcReT-mailgun"
		pass  = "sEcReT-smtp-password"
	)
	// Broken around the keys, so that every provider's errors are reported.
	c, err := config.LoadDispatch(env(minimal(map[string]string{
		"COGMAIL_PROVIDERS":        "sendgrid,mailgun,smtp",
		"COGMAIL_SENDGRID_API_KEY": sgKey, "COGMAIL_SENDGRID_API_KEY_SECRET": "arn:x", "COGMAIL_SENDGRID_BASE_URL": "ftp://relay.example.com",
		"COGMAIL_MAILGUN_API_KEY": mgKey, "COGMAIL_MAILGUN_DOMAIN": "mg.example.com", "COGMAIL_MAILGUN_REGION": "mars",
		"COGMAIL_SMTP_HOST": "smtp.example.com", "COGMAIL_SMTP_PASSWORD": pass, "COGMAIL_SMTP_PORT": "x",
	})))
	if err == nil {
		t.Fatal("LoadDispatch accepted it")
	}
	var dump bytes.Buffer
	fmt.Fprintf(&dump, "%v %+v %#v %v", err, c, c, c.SMTP)
	fmt.Fprintf(&dump, "%v %+v %#v", *c.SendGrid, *c.Mailgun, c.Mailgun)
	b, _ := json.Marshal(c)
	dump.Write(b)
	slog.New(slog.NewJSONHandler(&dump, nil)).Info("config", "sendgrid", c.SendGrid, "smtp", *c.SMTP, "key", c.Mailgun.APIKey)
	for _, s := range []string{sgKey, mgKey, pass, "sEcReT"} {
		if strings.Contains(dump.String(), s) {
			t.Errorf("a secret is printed: %q in %s", s, dump.String())
		}
	}
	if !strings.Contains(dump.String(), config.Redacted) {
		t.Error("the dump never says REDACTED")
	}
}
