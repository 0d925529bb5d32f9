package attach

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogmail/cogmail/internal/testkit/motoserver"
)

func motoClient(t *testing.T) *cip.Client {
	t.Helper()
	url := motoserver.Shared(t)
	return cip.NewFromConfig(motoserver.Config(), func(o *cip.Options) { o.BaseEndpoint = aws.String(url) })
}

const (
	motoKey       = "arn:aws:kms:us-east-1:123456789012:key/0d7b1c3e-1111-2222-3333-444455556666"
	motoIngest    = "arn:aws:lambda:us-east-1:123456789012:function:cogmail-IngestFunction-1AB2"
	motoPreSignUp = "arn:aws:lambda:us-east-1:123456789012:function:pre-sign-up"
	motoMessage   = "arn:aws:lambda:us-east-1:123456789012:function:custom-message"
	motoTokens    = "arn:aws:lambda:us-east-1:123456789012:function:pre-token"
	motoSMS       = "arn:aws:lambda:us-east-1:123456789012:function:sms-sender"
	motoConfirm   = "arn:aws:lambda:us-east-1:123456789012:function:post-confirmation"
)

// richPool is a pool with other triggers and most settings a team sets.
// What moto cannot show (it keeps MfaConfiguration and the pool name from
// creation, derives the three deprecated verification messages from the
// template, and drops IssuerConfiguration and KeyConfiguration) is checked
// against a recording endpoint in TestRealCognitoShapes instead.
func richPool(name string, sms bool) *cip.CreateUserPoolInput {
	lc := &types.LambdaConfigType{
		PreSignUp:                aws.String(motoPreSignUp),
		CustomMessage:            aws.String(motoMessage),
		PostConfirmation:         aws.String(motoConfirm),
		PreTokenGeneration:       aws.String(motoTokens),
		PreTokenGenerationConfig: &types.PreTokenGenerationVersionConfigType{LambdaArn: aws.String(motoTokens), LambdaVersion: types.PreTokenGenerationLambdaVersionTypeV20},
	}
	if sms {
		lc.CustomSMSSender = &types.CustomSMSLambdaVersionConfigType{LambdaArn: aws.String(motoSMS), LambdaVersion: types.CustomSMSSenderLambdaVersionTypeV10}
		lc.KMSKeyID = aws.String(motoKey)
	}
	return &cip.CreateUserPoolInput{
		PoolName:     aws.String(name),
		LambdaConfig: lc,
		Policies: &types.UserPoolPolicyType{PasswordPolicy: &types.PasswordPolicyType{
			MinimumLength: aws.Int32(14), RequireLowercase: true, RequireNumbers: true, RequireUppercase: false, RequireSymbols: false,
			TemporaryPasswordValidityDays: 2, PasswordHistorySize: aws.Int32(5),
		}},
		AutoVerifiedAttributes: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail},
		MfaConfiguration:       types.UserPoolMfaTypeOptional,
		SmsConfiguration: &types.SmsConfigurationType{
			SnsCallerArn: aws.String("arn:aws:iam::123456789012:role/cognito-sns"), ExternalId: aws.String("ext-1"), SnsRegion: aws.String("us-east-1"),
		},
		SmsAuthenticationMessage: aws.String("Your sign-in code is {####}"),
		EmailConfiguration: &types.EmailConfigurationType{
			EmailSendingAccount: types.EmailSendingAccountTypeDeveloper,
			SourceArn:           aws.String("arn:aws:ses:us-east-1:123456789012:identity/example.com"),
			From:                aws.String("Example <no-reply@example.com>"),
			ReplyToEmailAddress: aws.String("help@example.com"),
			ConfigurationSet:    aws.String("cognito"),
		},
		VerificationMessageTemplate: &types.VerificationMessageTemplateType{
			DefaultEmailOption: types.DefaultEmailOptionTypeConfirmWithCode,
			EmailMessage:       aws.String("Your code is {####}"), EmailSubject: aws.String("Your code"),
			SmsMessage: aws.String("Code {####}"),
		},
		EmailVerificationMessage: aws.String("Your code is {####}"),
		EmailVerificationSubject: aws.String("Your code"),
		SmsVerificationMessage:   aws.String("Code {####}"),
		AdminCreateUserConfig: &types.AdminCreateUserConfigType{
			AllowAdminCreateUserOnly: true,
			InviteMessageTemplate: &types.MessageTemplateType{
				EmailMessage: aws.String("Hi {username}, your password is {####}"), EmailSubject: aws.String("Welcome"), SMSMessage: aws.String("{username} {####}"),
			},
		},
		DeviceConfiguration:         &types.DeviceConfigurationType{ChallengeRequiredOnNewDevice: true, DeviceOnlyRememberedOnUserPrompt: true},
		UserAttributeUpdateSettings: &types.UserAttributeUpdateSettingsType{AttributesRequireVerificationBeforeUpdate: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail}},
		AccountRecoverySetting: &types.AccountRecoverySettingType{RecoveryMechanisms: []types.RecoveryOptionType{
			{Name: types.RecoveryOptionNameTypeVerifiedEmail, Priority: aws.Int32(1)},
		}},
		DeletionProtection: types.DeletionProtectionTypeActive,
		UserPoolAddOns:     &types.UserPoolAddOnsType{AdvancedSecurityMode: types.AdvancedSecurityModeTypeAudit},
		UserPoolTier:       types.UserPoolTierTypePlus,
		UserPoolTags:       map[string]string{"team": "identity", "cost-center": "42"},
	}
}

// settings is the pool without what attach changes (LambdaConfig's email
// sender and key) and without what Cognito itself maintains.
func settings(t *testing.T, p *types.UserPoolType) map[string]any {
	t.Helper()
	cp := clonePool(p)
	cp.LastModifiedDate = nil
	if cp.LambdaConfig != nil {
		lc := *cp.LambdaConfig
		lc.CustomEmailSender, lc.KMSKeyID = nil, nil
		cp.LambdaConfig = &lc
		if reflect.ValueOf(lc).IsZero() {
			cp.LambdaConfig = nil
		}
	}
	// moto does not mirror the deprecated UnusedAccountValidityDays from the
	// password policy as Cognito does (see TestRealCognitoShapes).
	if cp.AdminCreateUserConfig != nil && cp.Policies != nil && cp.Policies.PasswordPolicy != nil && cp.Policies.PasswordPolicy.TemporaryPasswordValidityDays != 0 {
		cp.AdminCreateUserConfig.UnusedAccountValidityDays = 0
	}
	b, err := json.Marshal(cp)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func describeMoto(t *testing.T, c *cip.Client, id string) *types.UserPoolType {
	t.Helper()
	out, err := c.DescribeUserPool(context.Background(), &cip.DescribeUserPoolInput{UserPoolId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	return out.UserPool
}

// The premise: moto, like Cognito, resets what UpdateUserPool omits. Without
// it the test below would prove nothing.
func TestMotoResetsOmittedSettings(t *testing.T) {
	c := motoClient(t)
	ctx := context.Background()
	created, err := c.CreateUserPool(ctx, richPool("premise", false))
	if err != nil {
		t.Fatal(err)
	}
	id := created.UserPool.Id
	naive := &cip.UpdateUserPoolInput{UserPoolId: id, LambdaConfig: &types.LambdaConfigType{
		CustomEmailSender: &types.CustomEmailLambdaVersionConfigType{LambdaArn: aws.String(motoIngest), LambdaVersion: types.CustomEmailSenderLambdaVersionTypeV10},
		KMSKeyID:          aws.String(motoKey),
	}}
	if _, err := c.UpdateUserPool(ctx, naive); err != nil {
		t.Fatal(err)
	}
	after := describeMoto(t, c, *id)
	if after.LambdaConfig.PreSignUp != nil || after.UserPoolTags != nil || aws.ToInt32(after.Policies.PasswordPolicy.MinimumLength) == 14 {
		t.Fatalf("moto kept omitted settings (pre sign-up %v, tags %v, min length %v): it no longer models UpdateUserPool's reset",
			after.LambdaConfig.PreSignUp, after.UserPoolTags, after.Policies.PasswordPolicy.MinimumLength)
	}
}

func TestAttachAgainstMoto(t *testing.T) {
	c := motoClient(t)
	tests := []struct {
		name       string
		create     *cip.CreateUserPoolInput
		keepKeyOff bool // detach removes KMSKeyID (no SMS sender keeps it)
	}{
		{"rich pool", richPool("rich", false), true},
		{"rich pool with a custom SMS sender on the same key", richPool("rich-sms", true), false},
		{"pool on moto's defaults", &cip.CreateUserPoolInput{PoolName: aws.String("plain")}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			created, err := c.CreateUserPool(ctx, tt.create)
			if err != nil {
				t.Fatal(err)
			}
			id := aws.ToString(created.UserPool.Id)
			original := describeMoto(t, c, id)
			want := settings(t, original)

			// A dry run (Prepare alone) changes nothing.
			plan, err := Prepare(ctx, c, Request{UserPoolID: id, LambdaARN: motoIngest, KMSKeyARN: motoKey})
			if err != nil {
				t.Fatal(err)
			}
			if got := settings(t, describeMoto(t, c, id)); !reflect.DeepEqual(got, want) {
				t.Fatal("Prepare changed the pool")
			}
			if !plan.Changed() {
				t.Fatal("the plan changes nothing")
			}
			if err := Apply(ctx, c, plan); err != nil {
				t.Fatal(err)
			}
			attached := describeMoto(t, c, id)
			if cs := attached.LambdaConfig.CustomEmailSender; cs == nil || aws.ToString(cs.LambdaArn) != motoIngest || cs.LambdaVersion != types.CustomEmailSenderLambdaVersionTypeV10 {
				t.Errorf("CustomEmailSender = %+v", cs)
			}
			if got := aws.ToString(attached.LambdaConfig.KMSKeyID); got != motoKey {
				t.Errorf("KMSKeyID = %s", got)
			}
			assertSame(t, "after attach", settings(t, attached), want)

			// Attaching again is a no-op plan.
			again, err := Prepare(ctx, c, Request{UserPoolID: id, LambdaARN: motoIngest, KMSKeyARN: motoKey})
			if err != nil {
				t.Fatal(err)
			}
			if again.Changed() {
				t.Errorf("a second attach would change %v", again.Diff())
			}

			detach, err := Prepare(ctx, c, Request{UserPoolID: id, Detach: true})
			if err != nil {
				t.Fatal(err)
			}
			if err := Apply(ctx, c, detach); err != nil {
				t.Fatal(err)
			}
			detached := describeMoto(t, c, id)
			if detached.LambdaConfig != nil && detached.LambdaConfig.CustomEmailSender != nil {
				t.Error("the Custom Email Sender is still set")
			}
			var key *string
			if detached.LambdaConfig != nil {
				key = detached.LambdaConfig.KMSKeyID
			}
			if tt.keepKeyOff == (key != nil) {
				t.Errorf("KMSKeyID after detach = %v", aws.ToString(key))
			}
			assertSame(t, "after detach", settings(t, detached), want)
		})
	}
}

func TestAttachRefusesAnotherSMSKeyAgainstMoto(t *testing.T) {
	c := motoClient(t)
	ctx := context.Background()
	created, err := c.CreateUserPool(ctx, richPool("sms-other-key", true))
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(created.UserPool.Id)
	other := strings.Replace(motoKey, "0d7b1c3e", "99999999", 1)
	if _, err := Prepare(ctx, c, Request{UserPoolID: id, LambdaARN: motoIngest, KMSKeyARN: other}); err == nil || !strings.Contains(err.Error(), motoKey) {
		t.Fatalf("Prepare = %v, want a key conflict naming %s", err, motoKey)
	}
}

func assertSame(t *testing.T, when string, got, want map[string]any) {
	t.Helper()
	for k := range mergeKeys(got, want) {
		if !reflect.DeepEqual(got[k], want[k]) {
			g, _ := json.Marshal(got[k])
			w, _ := json.Marshal(want[k])
			t.Errorf("%s, %s changed:\n got %s\nwant %s", when, k, g, w)
		}
	}
}

func mergeKeys(a, b map[string]any) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}
