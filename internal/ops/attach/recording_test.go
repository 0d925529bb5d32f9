package attach

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogmail/cogmail/internal/testkit/motoserver"
)

// describedPool is a DescribeUserPool answer shaped like real Cognito's,
// with what moto does not model: the deprecated UnusedAccountValidityDays
// beside TemporaryPasswordValidityDays, MFA, the deprecated verification
// messages, issuer and key configuration, read-only fields (Arn, Domain,
// schema, counts), and a pre token generation trigger in both spellings.
const describedPool = `{"UserPool": {
  "Id": "eu-west-1_AbCdEf123", "Name": "users", "Arn": "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbCdEf123",
  "CreationDate": 1767225600, "LastModifiedDate": 1772366400, "EstimatedNumberOfUsers": 1234,
  "Domain": "auth-example", "CustomDomain": "auth.example.com",
  "Policies": {"PasswordPolicy": {"MinimumLength": 12, "RequireUppercase": true, "RequireLowercase": true, "RequireNumbers": true,
    "RequireSymbols": false, "PasswordHistorySize": 3, "TemporaryPasswordValidityDays": 7},
    "SignInPolicy": {"AllowedFirstAuthFactors": ["PASSWORD", "EMAIL_OTP"]}},
  "DeletionProtection": "ACTIVE",
  "LambdaConfig": {
    "PreSignUp": "arn:aws:lambda:eu-west-1:123456789012:function:pre-sign-up",
    "CustomMessage": "arn:aws:lambda:eu-west-1:123456789012:function:custom-message",
    "PreTokenGeneration": "arn:aws:lambda:eu-west-1:123456789012:function:tokens",
    "PreTokenGenerationConfig": {"LambdaArn": "arn:aws:lambda:eu-west-1:123456789012:function:tokens", "LambdaVersion": "V2_0"},
    "CustomSMSSender": {"LambdaArn": "arn:aws:lambda:eu-west-1:123456789012:function:sms-sender", "LambdaVersion": "V1_0"},
    "KMSKeyID": "arn:aws:kms:eu-west-1:123456789012:key/0d7b1c3e-1111-2222-3333-444455556666"},
  "SchemaAttributes": [{"Name": "email", "AttributeDataType": "String", "Mutable": true, "Required": true}],
  "AutoVerifiedAttributes": ["email"], "UsernameAttributes": ["email"],
  "SmsVerificationMessage": "Code {####}", "EmailVerificationMessage": "Your code is {####}", "EmailVerificationSubject": "Your code",
  "VerificationMessageTemplate": {"SmsMessage": "Code {####}", "EmailMessage": "Your code is {####}", "EmailSubject": "Your code",
    "DefaultEmailOption": "CONFIRM_WITH_CODE"},
  "SmsAuthenticationMessage": "Sign-in code {####}",
  "UserAttributeUpdateSettings": {"AttributesRequireVerificationBeforeUpdate": ["email"]},
  "MfaConfiguration": "OPTIONAL",
  "DeviceConfiguration": {"ChallengeRequiredOnNewDevice": true, "DeviceOnlyRememberedOnUserPrompt": false},
  "EmailConfiguration": {"SourceArn": "arn:aws:ses:eu-west-1:123456789012:identity/example.com", "EmailSendingAccount": "DEVELOPER",
    "From": "Example <no-reply@example.com>"},
  "SmsConfiguration": {"SnsCallerArn": "arn:aws:iam::123456789012:role/cognito-sns", "ExternalId": "ext-1", "SnsRegion": "eu-west-1"},
  "UserPoolTags": {"team": "identity"},
  "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": true, "UnusedAccountValidityDays": 7,
    "InviteMessageTemplate": {"SMSMessage": "{username} {####}", "EmailMessage": "Hi {username}: {####}", "EmailSubject": "Welcome"}},
  "UserPoolAddOns": {"AdvancedSecurityMode": "AUDIT"},
  "UsernameConfiguration": {"CaseSensitive": false},
  "AccountRecoverySetting": {"RecoveryMechanisms": [{"Priority": 1, "Name": "verified_email"}]},
  "UserPoolTier": "PLUS",
  "IssuerConfiguration": {"Type": "UPDATED"},
  "KeyConfiguration": {"KeyType": "CUSTOMER_MANAGED_KEY", "KmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"}
}}`

// recorder answers DescribeUserPool from a JSON state and records each
// UpdateUserPool body, applying its LambdaConfig so the read-back matches.
type recorder struct {
	mu      sync.Mutex
	pool    map[string]any
	updates []map[string]any
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch req.Header.Get("X-Amz-Target") {
	case "AWSCognitoIdentityProviderService.DescribeUserPool":
		_ = json.NewEncoder(w).Encode(map[string]any{"UserPool": r.pool})
	case "AWSCognitoIdentityProviderService.UpdateUserPool":
		var in map[string]any
		if err := json.Unmarshal(body, &in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.updates = append(r.updates, in)
		r.pool["LambdaConfig"] = in["LambdaConfig"]
		_, _ = io.WriteString(w, "{}")
	default:
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type":"InvalidAction","message":"unexpected `+req.Header.Get("X-Amz-Target")+`"}`)
	}
}

// updatable is the set of JSON members UpdateUserPool takes, from the SDK's
// input type (its members serialise under their Go names).
func updatable() map[string]bool {
	out := map[string]bool{}
	it := reflect.TypeOf(cip.UpdateUserPoolInput{})
	for i := 0; i < it.NumField(); i++ {
		if it.Field(i).IsExported() {
			out[it.Field(i).Name] = true
		}
	}
	return out
}

func TestRealCognitoShapes(t *testing.T) {
	tests := []struct {
		name string
		// edit adjusts the described pool; nil keeps describedPool.
		edit       func(pool map[string]any)
		wantUnused bool // UnusedAccountValidityDays is sent back
	}{
		{"current pool: the password policy holds the temporary password validity", nil, false},
		{"legacy pool: only UnusedAccountValidityDays", func(pool map[string]any) {
			delete(pool["Policies"].(map[string]any)["PasswordPolicy"].(map[string]any), "TemporaryPasswordValidityDays")
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc map[string]map[string]any
			if err := json.Unmarshal([]byte(describedPool), &doc); err != nil {
				t.Fatal(err)
			}
			described := doc["UserPool"]
			if tt.edit != nil {
				tt.edit(described)
			}
			snapshot, _ := json.Marshal(described)
			rec := &recorder{pool: described}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			cfg := motoserver.Config()
			cfg.Region = "eu-west-1"
			c := cip.NewFromConfig(cfg, func(o *cip.Options) { o.BaseEndpoint = aws.String(srv.URL) })

			ctx := context.Background()
			p, err := Prepare(ctx, c, Request{UserPoolID: poolID, LambdaARN: ingestARN, KMSKeyARN: keyARN})
			if err != nil {
				t.Fatal(err)
			}
			if err := Apply(ctx, c, p); err != nil {
				t.Fatal(err)
			}
			if len(rec.updates) != 1 {
				t.Fatalf("%d updates", len(rec.updates))
			}
			sent := rec.updates[0]
			var orig map[string]any
			_ = json.Unmarshal(snapshot, &orig)

			members := updatable()
			for k := range sent {
				if !members[k] {
					t.Errorf("sent %s, which UpdateUserPool does not take", k)
				}
			}
			for k, v := range orig {
				name := map[string]string{"Id": "UserPoolId", "Name": "PoolName"}[k]
				if name == "" {
					name = k
				}
				if !members[name] {
					if _, ok := sent[k]; ok {
						t.Errorf("read-only %s was sent", k)
					}
					continue
				}
				got := sent[name]
				switch name {
				case "LambdaConfig":
					want := orig["LambdaConfig"].(map[string]any)
					want["CustomEmailSender"] = map[string]any{"LambdaArn": ingestARN, "LambdaVersion": "V1_0"}
					want["KMSKeyID"] = keyARN
					v = want
				case "AdminCreateUserConfig":
					if !tt.wantUnused {
						delete(v.(map[string]any), "UnusedAccountValidityDays")
					}
				}
				if got, v = dropZero(got), dropZero(v); !reflect.DeepEqual(got, v) {
					g, _ := json.Marshal(got)
					w, _ := json.Marshal(v)
					t.Errorf("%s sent as %s\nwant %s", name, g, w)
				}
			}
			notes := strings.Join(p.Notes, "\n")
			if strings.Contains(notes, "UnusedAccountValidityDays") == tt.wantUnused {
				t.Errorf("notes %q", notes)
			}
		})
	}
}

// dropZero removes false and 0 members: the SDK does not serialise
// value-typed booleans and numbers at their zero value, and Cognito reads a
// missing one as that zero value.
func dropZero(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if e == false || e == float64(0) {
				continue
			}
			out[k] = dropZero(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = dropZero(e)
		}
		return out
	}
	return v
}
