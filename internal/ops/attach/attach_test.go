package attach

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

const (
	poolID    = "eu-west-1_AbCdEf123"
	ingestARN = "arn:aws:lambda:eu-west-1:123456789012:function:cogmail-IngestFunction-1AB2"
	keyARN    = "arn:aws:kms:eu-west-1:123456789012:key/0d7b1c3e-1111-2222-3333-444455556666"
	otherKey  = "arn:aws:kms:eu-west-1:123456789012:key/99999999-1111-2222-3333-444455556666"
	preSignUp = "arn:aws:lambda:eu-west-1:123456789012:function:pre-sign-up"
	smsSender = "arn:aws:lambda:eu-west-1:123456789012:function:sms-sender"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		req     Request
		wantErr []string
	}{
		{"attach", Request{UserPoolID: poolID, LambdaARN: ingestARN, KMSKeyARN: keyARN}, nil},
		{"attach to an alias-qualified function", Request{UserPoolID: "us-gov-west-1_x1", LambdaARN: "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f:live", KMSKeyARN: "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/abc"}, nil},
		{"detach", Request{UserPoolID: poolID, Detach: true}, nil},
		{"everything wrong", Request{UserPoolID: "pool", LambdaARN: "ingest", KMSKeyARN: "alias/cogmail"},
			[]string{`user pool id "pool"`, `Lambda ARN "ingest"`, `KMS key ARN "alias/cogmail"`}},
		{"a key alias ARN", Request{UserPoolID: poolID, LambdaARN: ingestARN, KMSKeyARN: "arn:aws:kms:eu-west-1:123456789012:alias/cogmail"}, []string{"does not take an alias"}},
		{"missing ARNs", Request{UserPoolID: poolID}, []string{"Lambda ARN", "KMS key ARN"}},
		{"detach with ARNs", Request{UserPoolID: poolID, Detach: true, LambdaARN: ingestARN}, []string{"detach takes no"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.req.Validate()
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
		})
	}
	if got := PoolRegion("ap-southeast-2_Zz9"); got != "ap-southeast-2" {
		t.Errorf("PoolRegion = %q", got)
	}
}

func basePool(lc *types.LambdaConfigType) *types.UserPoolType {
	mod := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return &types.UserPoolType{
		Id: aws.String(poolID), Name: aws.String("users"), LastModifiedDate: &mod,
		LambdaConfig:           lc,
		Policies:               &types.UserPoolPolicyType{PasswordPolicy: &types.PasswordPolicyType{MinimumLength: aws.Int32(12), TemporaryPasswordValidityDays: 3}},
		MfaConfiguration:       types.UserPoolMfaTypeOptional,
		AutoVerifiedAttributes: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail},
		UserPoolTags:           map[string]string{"team": "identity"},
		DeletionProtection:     types.DeletionProtectionTypeActive,
	}
}

func TestPrepareAndApply(t *testing.T) {
	attach := Request{UserPoolID: poolID, LambdaARN: ingestARN, KMSKeyARN: keyARN}
	detach := Request{UserPoolID: poolID, Detach: true}
	attached := &types.LambdaConfigType{
		PreSignUp:         aws.String(preSignUp),
		CustomEmailSender: &types.CustomEmailLambdaVersionConfigType{LambdaArn: aws.String(ingestARN), LambdaVersion: types.CustomEmailSenderLambdaVersionTypeV10},
		KMSKeyID:          aws.String(keyARN),
	}
	withSMS := func(key string) *types.LambdaConfigType {
		return &types.LambdaConfigType{
			PreSignUp:       aws.String(preSignUp),
			CustomSMSSender: &types.CustomSMSLambdaVersionConfigType{LambdaArn: aws.String(smsSender), LambdaVersion: types.CustomSMSSenderLambdaVersionTypeV10},
			KMSKeyID:        aws.String(key),
		}
	}
	tests := []struct {
		name     string
		before   *types.LambdaConfigType
		req      Request
		want     *types.LambdaConfigType // after; nil with wantErr
		changed  bool
		wantErr  error
		wantNote string
	}{
		{"attach to a pool with no triggers", nil, attach,
			&types.LambdaConfigType{CustomEmailSender: attached.CustomEmailSender, KMSKeyID: aws.String(keyARN)}, true, nil, ""},
		{"attach beside another trigger", &types.LambdaConfigType{PreSignUp: aws.String(preSignUp)}, attach, attached, true, nil, ""},
		{"already attached", attached, attach, attached, false, nil, ""},
		{"replace another sender", &types.LambdaConfigType{
			PreSignUp:         aws.String(preSignUp),
			CustomEmailSender: &types.CustomEmailLambdaVersionConfigType{LambdaArn: aws.String("arn:aws:lambda:eu-west-1:123456789012:function:old"), LambdaVersion: types.CustomEmailSenderLambdaVersionTypeV10},
			KMSKeyID:          aws.String(otherKey),
		}, attach, attached, true, nil, "replaces the current Custom Email Sender arn:aws:lambda:eu-west-1:123456789012:function:old"},
		{"SMS sender on the same key", withSMS(keyARN), attach, &types.LambdaConfigType{
			PreSignUp: aws.String(preSignUp), CustomEmailSender: attached.CustomEmailSender, CustomSMSSender: withSMS(keyARN).CustomSMSSender, KMSKeyID: aws.String(keyARN),
		}, true, nil, ""},
		{"SMS sender on another key", withSMS(otherKey), attach, nil, false, ErrKeyConflict, ""},
		{"detach", attached, detach, &types.LambdaConfigType{PreSignUp: aws.String(preSignUp)}, true, nil, ""},
		{"detach keeps the SMS sender's key", &types.LambdaConfigType{
			PreSignUp: aws.String(preSignUp), CustomEmailSender: attached.CustomEmailSender, CustomSMSSender: withSMS(keyARN).CustomSMSSender, KMSKeyID: aws.String(keyARN),
		}, detach, withSMS(keyARN), true, nil, "KMSKeyID is kept"},
		{"detach when nothing is attached", &types.LambdaConfigType{PreSignUp: aws.String(preSignUp)}, detach, &types.LambdaConfigType{PreSignUp: aws.String(preSignUp)}, false, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := &fakeCognito{pool: basePool(tt.before)}
			orig := clonePool(f.pool)
			p, err := Prepare(ctx, f, tt.req)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Changed() != tt.changed {
				t.Errorf("Changed() = %v, want %v", p.Changed(), tt.changed)
			}
			if tt.wantNote != "" && !strings.Contains(strings.Join(p.Notes, "\n"), tt.wantNote) {
				t.Errorf("notes %q lack %q", p.Notes, tt.wantNote)
			}
			if len(f.updates) != 0 {
				t.Fatal("Prepare updated the pool")
			}
			if err := Apply(ctx, f, p); err != nil {
				t.Fatal(err)
			}
			got := f.pool
			if !reflect.DeepEqual(got.LambdaConfig, tt.want) {
				t.Errorf("LambdaConfig after:\n%s\nwant:\n%s", emailSender(deref(got.LambdaConfig)), emailSender(*tt.want))
			}
			// Everything else survived the reset-on-omission update.
			got.LambdaConfig, orig.LambdaConfig = nil, nil
			if !reflect.DeepEqual(got, orig) {
				t.Errorf("other settings changed:\n got %+v\nwant %+v", got, orig)
			}
		})
	}
}

func deref(lc *types.LambdaConfigType) types.LambdaConfigType {
	if lc == nil {
		return types.LambdaConfigType{}
	}
	return *lc
}

func TestApplyRefusesAStalePlan(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *types.UserPoolType)
	}{
		{"another trigger added", func(p *types.UserPoolType) { p.LambdaConfig.PostConfirmation = aws.String(preSignUp) }},
		{"another setting changed", func(p *types.UserPoolType) {
			later := p.LastModifiedDate.Add(time.Minute)
			p.LastModifiedDate = &later
			p.MfaConfiguration = types.UserPoolMfaTypeOn
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeCognito{pool: basePool(&types.LambdaConfigType{PreSignUp: aws.String(preSignUp)})}
			f.beforeDescribe = func(n int, p *types.UserPoolType) {
				if n == 2 { // after Prepare, before Apply
					tt.change(p)
				}
			}
			p, err := Prepare(context.Background(), f, Request{UserPoolID: poolID, LambdaARN: ingestARN, KMSKeyARN: keyARN})
			if err != nil {
				t.Fatal(err)
			}
			if err := Apply(context.Background(), f, p); !errors.Is(err, ErrPoolChanged) {
				t.Fatalf("Apply = %v, want ErrPoolChanged", err)
			}
			if len(f.updates) != 0 {
				t.Error("the stale plan was applied")
			}
		})
	}
}

func TestApplyChecksTheResult(t *testing.T) {
	f := &fakeCognito{pool: basePool(nil)}
	p, err := Prepare(context.Background(), f, Request{UserPoolID: poolID, LambdaARN: ingestARN, KMSKeyARN: keyARN})
	if err != nil {
		t.Fatal(err)
	}
	f.beforeDescribe = func(n int, p *types.UserPoolType) {
		if n == 3 { // the read-back: pretend the update did not take
			p.LambdaConfig = nil
		}
	}
	err = Apply(context.Background(), f, p)
	if err == nil || !strings.Contains(err.Error(), "reports no Custom Email Sender") {
		t.Fatalf("Apply = %v, want a mismatch error", err)
	}
}

func TestErrorsNameThePool(t *testing.T) {
	tests := []struct {
		name string
		f    *fakeCognito
		req  Request
		want string
	}{
		{"unknown pool", &fakeCognito{pool: basePool(nil)}, Request{UserPoolID: "eu-west-1_Nope", LambdaARN: ingestARN, KMSKeyARN: keyARN}, "describe user pool eu-west-1_Nope"},
		{"update denied", &fakeCognito{pool: basePool(nil), updateErr: errors.New("AccessDeniedException")}, Request{UserPoolID: poolID, LambdaARN: ingestARN, KMSKeyARN: keyARN}, "update user pool " + poolID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Prepare(context.Background(), tt.f, tt.req)
			if err == nil {
				err = Apply(context.Background(), tt.f, p)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one with %q", err, tt.want)
			}
		})
	}
}

func TestWriteDiff(t *testing.T) {
	f := &fakeCognito{pool: basePool(&types.LambdaConfigType{
		PreSignUp:                aws.String(preSignUp),
		PreTokenGenerationConfig: &types.PreTokenGenerationVersionConfigType{LambdaArn: aws.String("arn:aws:lambda:eu-west-1:123456789012:function:tokens"), LambdaVersion: types.PreTokenGenerationLambdaVersionTypeV20},
	})}
	p, err := Prepare(context.Background(), f, Request{UserPoolID: poolID, LambdaARN: ingestARN, KMSKeyARN: keyARN})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	p.WriteDiff(&b)
	want := `LambdaConfig of user pool eu-west-1_AbCdEf123 (users):
- CustomEmailSender.LambdaArn             (unset)
+ CustomEmailSender.LambdaArn             arn:aws:lambda:eu-west-1:123456789012:function:cogmail-IngestFunction-1AB2
- CustomEmailSender.LambdaVersion         (unset)
+ CustomEmailSender.LambdaVersion         V1_0
- KMSKeyID                                (unset)
+ KMSKeyID                                arn:aws:kms:eu-west-1:123456789012:key/0d7b1c3e-1111-2222-3333-444455556666
  PreSignUp                               arn:aws:lambda:eu-west-1:123456789012:function:pre-sign-up
  PreTokenGenerationConfig.LambdaArn      arn:aws:lambda:eu-west-1:123456789012:function:tokens
  PreTokenGenerationConfig.LambdaVersion  V2_0
Every other setting of the pool is sent back as DescribeUserPool returned it.
`
	if b.String() != want {
		t.Errorf("diff:\n%s\nwant:\n%s", b.String(), want)
	}
}
