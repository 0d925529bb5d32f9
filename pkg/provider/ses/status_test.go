package ses_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/cogmail/cogmail/internal/testkit/motoserver"
	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/ses"
	"github.com/cogmail/cogmail/pkg/provider/ses/sesfake"
)

func newStatusProvider(t *testing.T, opts sesfake.Options, fault sesfake.Fault, configSet string) *ses.Provider {
	t.Helper()
	opts.Credentials = &aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey}
	fake := sesfake.New(opts)
	t.Cleanup(fake.Close)
	fake.SetFault(fault)
	p, err := ses.New(ses.Config{AWS: awsConfig(accessKey, secretKey), Endpoint: fake.URL(), ConfigurationSetName: configSet})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAccount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		opts  sesfake.Options
		fault sesfake.Fault
		want  ses.Account
		code  string // a failure's error code
	}{
		{"production", sesfake.Options{}, sesfake.Fault{},
			ses.Account{SendingEnabled: true, ProductionAccess: true, EnforcementStatus: "HEALTHY", Quota: &ses.Quota{Max24HourSend: 50000, MaxSendRate: 14}}, ""},
		{"sandbox on probation", sesfake.Options{Sandbox: true, EnforcementStatus: "PROBATION"}, sesfake.Fault{},
			ses.Account{SendingEnabled: true, EnforcementStatus: "PROBATION", Quota: &ses.Quota{Max24HourSend: 50000, MaxSendRate: 14}}, ""},
		{"sending disabled", sesfake.Options{SendingDisabled: true, EnforcementStatus: "SHUTDOWN"}, sesfake.Fault{},
			ses.Account{ProductionAccess: true, EnforcementStatus: "SHUTDOWN", Quota: &ses.Quota{Max24HourSend: 50000, MaxSendRate: 14}}, ""},
		{"access denied", sesfake.Options{}, sesfake.Fault{Code: "AccessDeniedException"}, ses.Account{}, "AccessDeniedException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, err := newStatusProvider(t, tt.opts, tt.fault, "").Account(context.Background())
			if tt.code != "" {
				var pe *provider.Error
				if !errors.As(err, &pe) || pe.Code != tt.code || pe.Status != 403 || pe.Class != provider.Unavailable {
					t.Fatalf("Account: %v, want an Unavailable 403 %s", err, tt.code)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(a, tt.want) {
				t.Fatalf("Account = %+v (quota %+v), %v; want %+v (quota %+v)", a, a.Quota, err, tt.want, tt.want.Quota)
			}
		})
	}
}

func TestCheckConfigurationSet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		set    string
		code   string
		status int
	}{
		{"none configured", "", "", 0},
		{"exists", "cogmail", "", 0},
		{"missing", "other", "NotFoundException", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A fault on every call shows that no call is made without a set.
			var fault sesfake.Fault
			if tt.set == "" {
				fault = sesfake.Fault{Code: "InternalFailure"}
			}
			err := newStatusProvider(t, sesfake.Options{ConfigurationSets: []string{"cogmail"}}, fault, tt.set).CheckConfigurationSet(context.Background())
			if tt.code == "" {
				if err != nil {
					t.Fatalf("CheckConfigurationSet: %v", err)
				}
				return
			}
			var pe *provider.Error
			if !errors.As(err, &pe) || pe.Code != tt.code || pe.Status != tt.status || pe.Class != provider.Unavailable {
				t.Fatalf("CheckConfigurationSet: %v, want an Unavailable %d %s", err, tt.status, tt.code)
			}
		})
	}
}

func TestSenderIdentities(t *testing.T) {
	t.Parallel()
	const sender = "no-reply@example.com"
	tests := []struct {
		name  string
		opts  sesfake.Options
		fault sesfake.Fault
		want  []ses.Identity
		code  string
	}{
		{"address verified: the domain is not looked up", sesfake.Options{VerifiedIdentities: []string{sender, "example.com"}}, sesfake.Fault{},
			[]ses.Identity{{Name: sender, Verified: true, Status: "SUCCESS"}}, ""},
		{"domain verified", sesfake.Options{VerifiedIdentities: []string{"example.com"}}, sesfake.Fault{},
			[]ses.Identity{{Name: "example.com", Verified: true, Status: "SUCCESS"}}, ""},
		{"address pending, domain verified", sesfake.Options{VerifiedIdentities: []string{"example.com"}, PendingIdentities: []string{sender}}, sesfake.Fault{},
			[]ses.Identity{{Name: sender, Status: "PENDING"}, {Name: "example.com", Verified: true, Status: "SUCCESS"}}, ""},
		{"domain pending", sesfake.Options{VerifiedIdentities: []string{"other.example"}, PendingIdentities: []string{"example.com"}}, sesfake.Fault{},
			[]ses.Identity{{Name: "example.com", Status: "PENDING"}}, ""},
		{"neither exists", sesfake.Options{VerifiedIdentities: []string{"other.example"}}, sesfake.Fault{}, nil, ""},
		{"throttled", sesfake.Options{}, sesfake.Fault{Code: "TooManyRequestsException"}, nil, "TooManyRequestsException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := newStatusProvider(t, tt.opts, tt.fault, "").SenderIdentities(context.Background(), sender)
			if tt.code != "" {
				var pe *provider.Error
				if !errors.As(err, &pe) || pe.Code != tt.code || pe.Class != provider.RateLimited {
					t.Fatalf("SenderIdentities: %v, want a RateLimited %s", err, tt.code)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("SenderIdentities = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// TestMotoStatus reads identities and configuration sets from moto_server,
// the reference emulator, over SES's wire format (the identity is an
// escaped path segment; a missing one is a NotFoundException). moto 5.2.1
// has no GetAccount; it answers VerifiedForSendingStatus false for every
// identity it holds (with VerificationStatus SUCCESS), so Verified is not
// asserted; and its GetConfigurationSet answer for an existing set holds
// "SendingEnabled": {} where the API has a boolean, which the SDK cannot
// read, so only a missing set is checked here (sesfake covers the rest).
func TestMotoStatus(t *testing.T) {
	url := motoserver.Shared(t)
	ctx := context.Background()
	cfg := motoserver.Config()
	admin := sesv2.NewFromConfig(cfg, func(o *sesv2.Options) { o.BaseEndpoint = aws.String(url) })
	if _, err := admin.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("status@moto-status.example")}); err != nil {
		t.Fatalf("CreateEmailIdentity: %v", err)
	}
	provider := func(set string) *ses.Provider {
		p, err := ses.New(ses.Config{AWS: cfg, Endpoint: url, ConfigurationSetName: set})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	ids, err := provider("").SenderIdentities(ctx, "status@moto-status.example")
	if err != nil || len(ids) == 0 || ids[0].Name != "status@moto-status.example" || ids[0].Status != "SUCCESS" {
		t.Errorf("SenderIdentities(created) = %+v, %v; want the address with status SUCCESS first", ids, err)
	}
	if ids, err := provider("").SenderIdentities(ctx, "nobody@moto-unknown.example"); err != nil || len(ids) != 0 {
		t.Errorf("SenderIdentities(unknown) = %+v, %v; want none", ids, err)
	}
	err = provider("cogmail-missing").CheckConfigurationSet(ctx)
	if code := codeOf(err); code != "NotFoundException" {
		t.Errorf("CheckConfigurationSet(missing): %v, want NotFoundException", err)
	}
}

func codeOf(err error) string {
	var pe *provider.Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}
