package dispatchwire_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cogmail/cogmail/functions/dispatch/dispatchwire"
	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/config"
	"github.com/cogmail/cogmail/pkg/dispatch"
	"github.com/cogmail/cogmail/pkg/provider/smtp"
)

func load(t *testing.T, extra map[string]string) *config.Dispatch {
	t.Helper()
	env := map[string]string{
		"COGMAIL_PROVIDERS":    "ses",
		"COGMAIL_SENDER_EMAIL": "no-reply@example.com",
		"COGMAIL_DLQ_URL":      "https://sqs.us-east-1.amazonaws.com/111122223333/cogmail-dlq",
	}
	for k, v := range extra {
		env[k] = v
	}
	c, err := config.LoadDispatch(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCheck: settings that contradict dispatch's defaults are reported with
// their variable, though config itself knows no default.
func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want []string // variables reported
	}{
		{"defaults", nil, nil},
		{"timeout within the default budget", map[string]string{"COGMAIL_SEND_TIMEOUT": "15s"}, nil},
		{"timeout over the default budget", map[string]string{"COGMAIL_SEND_TIMEOUT": "30s"}, []string{"COGMAIL_SEND_TIMEOUT"}},
		{"timeout within a raised budget", map[string]string{"COGMAIL_SEND_TIMEOUT": "30s", "COGMAIL_MESSAGE_BUDGET": "40s"}, nil},
		{"backoff base over the cap", map[string]string{"COGMAIL_BACKOFF_BASE": "2h", "COGMAIL_BACKOFF_MAX": "1h"}, []string{"COGMAIL_BACKOFF_BASE"}},
		{"backoff base over the default cap", map[string]string{"COGMAIL_BACKOFF_BASE": "20m"}, []string{"COGMAIL_BACKOFF_BASE"}},
		{"max age over SQS's retention", map[string]string{"COGMAIL_MAX_AGE": "400h"}, []string{"COGMAIL_MAX_AGE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := dispatchwire.Check(load(t, tt.env))
			for _, v := range tt.want {
				var ce *config.Error
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), v+": ") {
					t.Errorf("Check = %v, want a *config.Error for %s naming the other variable", err, v)
				}
			}
			if len(tt.want) == 0 && err != nil {
				t.Errorf("Check = %v, want nil", err)
			}
		})
	}
}

// TestUnsetSettingsTakeDispatchDefaults: what config leaves unset reaches
// dispatch as zero and comes out as dispatch's documented default.
func TestUnsetSettingsTakeDispatchDefaults(t *testing.T) {
	t.Parallel()
	o := dispatchwire.Options(load(t, map[string]string{"COGMAIL_SEND_TIMEOUT": "5s"})).WithDefaults()
	if o.SendTimeout != 5*time.Second || o.MessageBudget != dispatch.DefaultMessageBudget || o.Concurrency != dispatch.DefaultConcurrency ||
		o.BackoffMax != dispatch.DefaultBackoffMax || o.DedupCacheSize != dispatch.DefaultDedupCache {
		t.Fatalf("options with defaults: %+v", o)
	}
}

// TestRetrySettingsReachDispatch: the retry schedule's variables become
// dispatch's options, and what they leave unset its documented defaults.
func TestRetrySettingsReachDispatch(t *testing.T) {
	t.Parallel()
	o := dispatchwire.Options(load(t, map[string]string{
		"COGMAIL_BACKOFF_MAX": "2m", "COGMAIL_MAX_AGE": "12h", "COGMAIL_RETRY_WINDOW": "SignUp=6h, AdminCreateUser=2h",
	})).WithDefaults()
	if o.BackoffMax != 2*time.Minute || o.MaxAge != 12*time.Hour || o.RecoverySpread != dispatch.DefaultRecoverySpread ||
		o.RetryWindows[cognito.SignUp] != 6*time.Hour || o.RetryWindows[cognito.AdminCreateUser] != 2*time.Hour || len(o.RetryWindows) != 2 {
		t.Fatalf("options: %+v", o)
	}
	d := dispatchwire.Options(load(t, nil)).WithDefaults()
	if d.BackoffMax != 5*time.Minute || d.MaxAge != 24*time.Hour || d.RetryWindows != nil {
		t.Fatalf("defaults: %+v", d)
	}
}

// TestWarnings: a COGMAIL_MAX_RECEIVES under the retry schedule is
// reported, naming the variable, but does not stop Check.
func TestWarnings(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		env  map[string]string
		want bool
	}{
		{"the stack's count", map[string]string{"COGMAIL_MAX_RECEIVES": "700"}, false},
		{"under the schedule", map[string]string{"COGMAIL_MAX_RECEIVES": "5"}, true},
		{"covering a shorter max age", map[string]string{"COGMAIL_MAX_RECEIVES": "40", "COGMAIL_MAX_AGE": "1h"}, false},
		{"off", nil, false},
	} {
		c := load(t, tt.env)
		w := dispatchwire.Warnings(c)
		if got := len(w) == 1 && w[0].Var == "COGMAIL_MAX_RECEIVES" && strings.Contains(w[0].Reason, "COGMAIL_MAX_AGE"); got != tt.want || !tt.want && len(w) != 0 {
			t.Errorf("%s: warnings %v", tt.name, w)
		}
		if err := dispatchwire.Check(c); err != nil {
			t.Errorf("%s: Check = %v", tt.name, err)
		}
	}
}

// TestBuildRefusesAClearPasswordToARelay: TLS none with a password to a
// relay other than localhost fails the cold start, naming the variable, as
// `cogmail config check` reports it, rather than every send failing at AUTH.
func TestBuildRefusesAClearPasswordToARelay(t *testing.T) {
	t.Parallel()
	for host, refused := range map[string]bool{"smtp.example.com": true, "localhost": false} {
		c := load(t, map[string]string{"COGMAIL_PROVIDERS": "smtp", "COGMAIL_SMTP_HOST": host, "COGMAIL_SMTP_TLS": "none",
			"COGMAIL_SMTP_USERNAME": "u", "COGMAIL_SMTP_PASSWORD": "p-secret"})
		_, err := dispatchwire.Build(context.Background(), c, dispatchwire.Clients{}, nil, nil)
		if got := err != nil && strings.Contains(err.Error(), "COGMAIL_SMTP_TLS: "+smtp.ErrClearPassword.Error()); got != refused {
			t.Errorf("%s: Build error %v; refused for the clear password: %v, want %v", host, err, got, refused)
		}
		if err != nil && strings.Contains(err.Error(), "p-secret") {
			t.Errorf("%s: the error quotes the password: %v", host, err)
		}
	}
}

// TestCheckNamesTheOtherVariable: the reason names the setting it
// contradicts by its variable, worded by dispatch (no text is edited).
func TestCheckNamesTheOtherVariable(t *testing.T) {
	t.Parallel()
	err := dispatchwire.Check(load(t, map[string]string{"COGMAIL_SEND_TIMEOUT": "25s", "COGMAIL_BACKOFF_BASE": "13h", "COGMAIL_BACKOFF_MAX": "12h"}))
	for _, want := range []string{"COGMAIL_SEND_TIMEOUT: must not exceed COGMAIL_MESSAGE_BUDGET (20s)", "COGMAIL_BACKOFF_BASE: must not exceed COGMAIL_BACKOFF_MAX (12h0m0s)"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check = %v, want %q", err, want)
		}
	}
}

// TestCheckProviders: the providers' own validation, without a secret read
// or an AWS configuration: what `cogmail config check` runs.
func TestCheckProviders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want string // "" means no problem
	}{
		{"ses alone", nil, ""},
		{"mailgun key in Secrets Manager", map[string]string{"COGMAIL_MAILGUN_API_KEY_SECRET": "mg", "COGMAIL_MAILGUN_DOMAIN": "mg.example.com"}, ""},
		{"mailgun domain", map[string]string{"COGMAIL_MAILGUN_API_KEY": "k", "COGMAIL_MAILGUN_DOMAIN": "not a domain"}, "mailgun: Config.Domain is not a domain name"},
		{"smtp host with a port", map[string]string{"COGMAIL_SMTP_HOST": "smtp.example.com:587"}, "smtp: Config.Host must be a host name or IP address without a port"},
		{"smtp clear password", map[string]string{"COGMAIL_SMTP_HOST": "smtp.example.com", "COGMAIL_SMTP_TLS": "none", "COGMAIL_SMTP_USERNAME": "u", "COGMAIL_SMTP_PASSWORD_SECRET": "pw"},
			"COGMAIL_SMTP_TLS: none would send the password in clear to smtp.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := dispatchwire.CheckProviders(load(t, tt.env))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("CheckProviders = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CheckProviders = %v, want %q", err, tt.want)
			}
		})
	}
}
