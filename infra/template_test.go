package infra

import (
	"fmt"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cogmail/cogmail/functions/dispatch/dispatchwire"
	"github.com/cogmail/cogmail/pkg/config"
	"github.com/cogmail/cogmail/pkg/queue"
	"github.com/cogmail/cogmail/pkg/routing"
)

const poolArn = "Sub(arn:${AWS::Partition}:cognito-idp:${AWS::Region}:${AWS::AccountId}:userpool/${UserPoolId})"

func TestTemplateParses(t *testing.T) {
	s := loadStack(t, templatePath)
	if got := s.raw["Transform"]; got != "AWS::Serverless-2016-10-31" {
		t.Errorf("Transform = %v, want the SAM transform", got)
	}
	want := map[string]string{
		"CodeKey":                         "AWS::KMS::Key",
		"CodeKeyAlias":                    "AWS::KMS::Alias",
		"Queue":                           "AWS::SQS::Queue",
		"DeadLetterQueue":                 "AWS::SQS::Queue",
		"IngestFailureQueue":              "AWS::SQS::Queue",
		"IngestFunction":                  "AWS::Serverless::Function",
		"IngestRole":                      "AWS::IAM::Role",
		"IngestInvokeConfig":              "AWS::Lambda::EventInvokeConfig",
		"IngestCognitoPermission":         "AWS::Lambda::Permission",
		"DispatchFunction":                "AWS::Serverless::Function",
		"DispatchRole":                    "AWS::IAM::Role",
		"DispatchEventSource":             "AWS::Lambda::EventSourceMapping",
		"SendGridApiKeySecret":            "AWS::SecretsManager::Secret",
		"MailgunApiKeySecret":             "AWS::SecretsManager::Secret",
		"SmtpPasswordSecret":              "AWS::SecretsManager::Secret",
		"ProvidersParameter":              "AWS::SSM::Parameter",
		"IdempotencyTable":                "AWS::DynamoDB::Table",
		"DeadLetterQueueNotEmptyAlarm":    "AWS::CloudWatch::Alarm",
		"QueueOldestMessageAlarm":         "AWS::CloudWatch::Alarm",
		"HeldMessageAgeAlarm":             "AWS::CloudWatch::Alarm",
		"FailoverRateAlarm":               "AWS::CloudWatch::Alarm",
		"IngestErrorsAlarm":               "AWS::CloudWatch::Alarm",
		"IngestFailureQueueNotEmptyAlarm": "AWS::CloudWatch::Alarm",
		"DispatchErrorsAlarm":             "AWS::CloudWatch::Alarm",
		"IngestLogGroup":                  "AWS::Logs::LogGroup",
		"DispatchLogGroup":                "AWS::Logs::LogGroup",
		"Dashboard":                       "AWS::CloudWatch::Dashboard",
		// The reputation guard (docs/reputation.md).
		"ReputationTable":                "AWS::DynamoDB::Table",
		"SesEventsTopic":                 "AWS::SNS::Topic",
		"SesEventsTopicPolicy":           "AWS::SNS::TopicPolicy",
		"SesEventsConfigurationSet":      "AWS::SES::ConfigurationSet",
		"SesEventsDestination":           "AWS::SES::ConfigurationSetEventDestination",
		"SesEventsSubscription":          "AWS::SNS::Subscription",
		"EventsQueue":                    "AWS::SQS::Queue",
		"EventsDeadLetterQueue":          "AWS::SQS::Queue",
		"EventsQueuePolicy":              "AWS::SQS::QueuePolicy",
		"MailgunWebhookSigningKeySecret": "AWS::SecretsManager::Secret",
		"EventsLogGroup":                 "AWS::Logs::LogGroup",
		"EventsRole":                     "AWS::IAM::Role",
		"EventsFunction":                 "AWS::Serverless::Function",
		"EventsEventSource":              "AWS::Lambda::EventSourceMapping",
		"SesBounceRateAlarm":             "AWS::CloudWatch::Alarm",
		"SesComplaintRateAlarm":          "AWS::CloudWatch::Alarm",
		"SuppressedAlarm":                "AWS::CloudWatch::Alarm",
		"ThrottledAlarm":                 "AWS::CloudWatch::Alarm",
	}
	for id, typ := range want {
		if r, ok := s.tpl.Resources[id]; !ok {
			t.Errorf("resource %s missing", id)
		} else if r.AWSCloudFormationType() != typ {
			t.Errorf("%s is %s, want %s", id, r.AWSCloudFormationType(), typ)
		}
	}
	for id := range s.tpl.Resources {
		if _, ok := want[id]; !ok {
			t.Errorf("resource %s is not covered by these tests: add it to the table and test what it grants", id)
		}
	}
}

func TestParameters(t *testing.T) {
	s := loadStack(t, templatePath)
	t.Run("required", func(t *testing.T) {
		for _, name := range []string{"UserPoolId", "SenderEmail"} {
			p, ok := s.tpl.Parameters[name]
			if !ok {
				t.Fatalf("parameter %s missing", name)
			}
			if p.Default != nil {
				t.Errorf("%s has a default (%v): an existing pool and a sender must be named", name, p.Default)
			}
			if p.AllowedPattern == nil {
				t.Errorf("%s has no AllowedPattern", name)
			}
		}
		pat := regexp.MustCompile("^(?:" + *s.tpl.Parameters["UserPoolId"].AllowedPattern + ")$")
		for _, id := range []string{"eu-west-1_AbCdEf123", "us-east-1_x"} {
			if !pat.MatchString(id) {
				t.Errorf("UserPoolId pattern rejects %s", id)
			}
		}
		if pat.MatchString("arn:aws:cognito-idp:eu-west-1:1:userpool/eu-west-1_x") {
			t.Error("UserPoolId pattern accepts an ARN")
		}
	})
	t.Run("secrets are NoEcho and optional", func(t *testing.T) {
		for _, name := range []string{"SendGridApiKey", "MailgunApiKey", "SmtpPassword"} {
			p := s.tpl.Parameters[name]
			if p.NoEcho == nil || !*p.NoEcho {
				t.Errorf("%s is not NoEcho", name)
			}
			if p.Default != "" {
				t.Errorf("%s default = %v, want empty (the secret may be put later)", name, p.Default)
			}
		}
		for name, p := range s.tpl.Parameters {
			lower := strings.ToLower(name)
			if (strings.Contains(lower, "key") && !strings.Contains(lower, "arn")) || strings.Contains(lower, "password") {
				if p.NoEcho == nil || !*p.NoEcho {
					t.Errorf("parameter %s looks secret but is not NoEcho", name)
				}
			}
		}
	})
	t.Run("provider choice", func(t *testing.T) {
		if got := s.tpl.Parameters["Strategy"].AllowedValues; !reflect.DeepEqual(got, []any{"failover", "weighted"}) {
			t.Errorf("Strategy AllowedValues = %v", got)
		}
		if got := s.tpl.Parameters["Providers"].Default; got == nil || got == "" {
			t.Error("Providers has no default")
		}
	})
}

func TestCodeKeyPolicy(t *testing.T) {
	s := loadStack(t, templatePath)
	key, err := s.tpl.GetKMSKeyWithName("CodeKey")
	if err != nil {
		t.Fatal(err)
	}
	if key.KeySpec == nil || *key.KeySpec != "SYMMETRIC_DEFAULT" || key.KeyUsage == nil || *key.KeyUsage != "ENCRYPT_DECRYPT" {
		t.Errorf("the key must be symmetric ENCRYPT_DECRYPT (Cognito's requirement), got %v/%v", key.KeySpec, key.KeyUsage)
	}
	if key.EnableKeyRotation == nil || !*key.EnableKeyRotation {
		t.Error("key rotation is off")
	}
	sts := statements("CodeKey", key.KeyPolicy)
	cognito := map[string]statement{}
	for _, st := range sts {
		if st.effect != "Allow" {
			t.Errorf("%s: effect %q", st.sid, st.effect)
		}
		switch p := st.principal.(type) {
		case map[string]any:
			if svc, ok := p["Service"]; ok {
				if svc != "cognito-idp.amazonaws.com" {
					t.Errorf("%s: service principal %v may use the key", st.sid, svc)
				}
				for _, a := range st.actions {
					cognito[a] = st
				}
				continue
			}
			if aws := p["AWS"]; aws != sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root") {
				t.Errorf("%s: principal %v, want only this account's root (IAM delegation) or Cognito", st.sid, aws)
			}
		default:
			t.Errorf("%s: principal %v is not a named account or service", st.sid, st.principal)
		}
	}
	var cognitoActions []string
	for a := range cognito {
		cognitoActions = append(cognitoActions, a)
	}
	sort.Strings(cognitoActions)
	if want := []string{"kms:CreateGrant", "kms:Encrypt"}; !reflect.DeepEqual(cognitoActions, want) {
		t.Fatalf("Cognito may %v, want exactly %v", cognitoActions, want)
	}
	tests := []struct {
		action string
		want   map[string]any // StringEquals
	}{
		{"kms:Encrypt", map[string]any{
			"aws:SourceAccount":                 ref("AWS::AccountId"),
			"aws:SourceArn":                     poolArn,
			"kms:EncryptionContext:userpool-id": ref("UserPoolId"),
		}},
		{"kms:CreateGrant", map[string]any{
			"aws:SourceAccount": ref("AWS::AccountId"),
			"aws:SourceArn":     poolArn,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			st := cognito[tt.action]
			if len(st.actions) != 1 {
				t.Errorf("%s shares statement %s with %v: each Cognito action has its own conditions", tt.action, st.sid, st.actions)
			}
			if len(st.condition) != 1 {
				t.Errorf("conditions %v, want StringEquals only", st.condition)
			}
			if got := st.condition["StringEquals"]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("StringEquals = %v\nwant %v", got, tt.want)
			}
		})
	}
	t.Run("alias", func(t *testing.T) {
		a, err := s.tpl.GetKMSAliasWithName("CodeKeyAlias")
		if err != nil {
			t.Fatal(err)
		}
		if a.TargetKeyId != ref("CodeKey") || !strings.HasPrefix(a.AliasName, "Sub(alias/") {
			t.Errorf("alias %s -> %s", a.AliasName, a.TargetKeyId)
		}
	})
}

// allowedWildcardResources lists where Resource "*" is allowed and why.
var allowedWildcardResources = map[string]string{
	"CodeKey (key policy)": `a key policy's Resource can only be "*", meaning the key itself`,
}

// actionsWithoutResources have no resource type in the IAM service
// authorization reference, so "*" is the only Resource they accept; a
// statement of these actions alone may name "*".
var actionsWithoutResources = []string{"xray:PutTelemetryRecords", "xray:PutTraceSegments"}

func TestLeastPrivilege(t *testing.T) {
	s := loadStack(t, templatePath)
	sts := s.allStatements(t)
	if len(sts) < 15 {
		t.Fatalf("found only %d statements: the walk is broken", len(sts))
	}
	for _, st := range sts {
		name := st.where + "/" + st.sid
		for _, k := range st.keys {
			if k == "NotAction" || k == "NotResource" || k == "NotPrincipal" {
				t.Errorf("%s uses %s", name, k)
			}
		}
		if st.effect != "Allow" {
			t.Errorf("%s: effect %q", name, st.effect)
		}
		if len(st.actions) == 0 {
			t.Errorf("%s: no action", name)
		}
		for _, a := range st.actions {
			if strings.Contains(a, "*") {
				t.Errorf("%s: wildcard action %q", name, a)
			}
		}
		trust := strings.HasSuffix(st.where, "(trust policy)")
		if !trust && len(st.resources) == 0 {
			t.Errorf("%s: no resource", name)
		}
		for _, r := range st.resources {
			if !strings.Contains(r, "*") {
				continue
			}
			onlyUnscoped := !slices.ContainsFunc(st.actions, func(a string) bool { return !slices.Contains(actionsWithoutResources, a) })
			if onlyUnscoped && r == "*" {
				continue
			}
			if _, ok := allowedWildcardResources[st.where]; !ok || r != "*" {
				t.Errorf("%s: wildcard resource %q", name, r)
			}
		}
		if p, ok := st.principal.(string); ok && p == "*" {
			t.Errorf("%s: principal *", name)
		}
		if aws, ok := dig(st.principal, "AWS").(string); ok && aws == "*" {
			t.Errorf("%s: principal AWS *", name)
		}
	}
	t.Run("trust policies name Lambda only", func(t *testing.T) {
		for _, st := range sts {
			if !strings.HasSuffix(st.where, "(trust policy)") {
				continue
			}
			if !reflect.DeepEqual(st.actions, []string{"sts:AssumeRole"}) || dig(st.principal, "Service") != "lambda.amazonaws.com" {
				t.Errorf("%s: %v for %v", st.where, st.actions, st.principal)
			}
		}
	})
	t.Run("conditional statements only ever add", func(t *testing.T) {
		// The typed walk sees the true branch of every Fn::If; that is the
		// larger grant only if each else branch grants nothing.
		for _, role := range s.resourcesOfType("AWS::IAM::Role") {
			var walk func(v any)
			walk = func(v any) {
				switch x := v.(type) {
				case map[string]any:
					if args, ok := x["Fn::If"].([]any); ok {
						if len(args) != 3 || !reflect.DeepEqual(args[2], map[string]any{"Ref": "AWS::NoValue"}) {
							t.Errorf("%s: Fn::If %v: the else branch must be AWS::NoValue", role, args[0])
						}
					}
					for _, e := range x {
						walk(e)
					}
				case []any:
					for _, e := range x {
						walk(e)
					}
				}
			}
			walk(dig(s.rawProps(role), "Policies"))
		}
	})
}

// grants renders a role's statements as "action on resource [conditions]".
func grants(sts []statement) []string {
	var out []string
	for _, st := range sts {
		cond := ""
		if len(st.condition) > 0 {
			var parts []string
			for op, kv := range st.condition {
				m, _ := kv.(map[string]any)
				for k, v := range m {
					parts = append(parts, fmt.Sprintf("%s %s=%v", op, k, v))
				}
			}
			sort.Strings(parts)
			cond = " [" + strings.Join(parts, "; ") + "]"
		}
		for _, a := range st.actions {
			for _, r := range st.resources {
				out = append(out, a+" on "+r+cond)
			}
		}
	}
	sort.Strings(out)
	return out
}

func TestRolePermissions(t *testing.T) {
	s := loadStack(t, templatePath)
	tests := []struct {
		role string
		want []string
	}{
		{"IngestRole", []string{
			"kms:Decrypt on GetAtt(CodeKey.Arn) [StringEquals kms:EncryptionContext:userpool-id=Ref(UserPoolId)]",
			"kms:GenerateDataKey on GetAtt(CodeKey.Arn) [StringEquals kms:EncryptionContext:purpose=cogmail-envelope]",
			"logs:CreateLogStream on GetAtt(IngestLogGroup.Arn)",
			"logs:PutLogEvents on GetAtt(IngestLogGroup.Arn)",
			"sqs:GetQueueAttributes on GetAtt(Queue.Arn)",
			"sqs:SendMessage on GetAtt(IngestFailureQueue.Arn)",
			"sqs:SendMessage on GetAtt(Queue.Arn)",
			"xray:PutTelemetryRecords on *",
			"xray:PutTraceSegments on *",
		}},
		{"DispatchRole", []string{
			"dynamodb:BatchGetItem on GetAtt(ReputationTable.Arn)",
			"dynamodb:DeleteItem on GetAtt(IdempotencyTable.Arn)",
			"dynamodb:GetItem on GetAtt(IdempotencyTable.Arn)",
			"dynamodb:PutItem on GetAtt(IdempotencyTable.Arn)",
			"dynamodb:UpdateItem on GetAtt(IdempotencyTable.Arn)",
			"dynamodb:UpdateItem on GetAtt(ReputationTable.Arn)",
			"kms:Decrypt on GetAtt(CodeKey.Arn) [StringEquals kms:EncryptionContext:purpose=cogmail-envelope]",
			"logs:CreateLogStream on GetAtt(DispatchLogGroup.Arn)",
			"logs:PutLogEvents on GetAtt(DispatchLogGroup.Arn)",
			"secretsmanager:GetSecretValue on Ref(MailgunApiKeySecret)",
			"secretsmanager:GetSecretValue on Ref(SendGridApiKeySecret)",
			"secretsmanager:GetSecretValue on Ref(SmtpPasswordSecret)",
			"ses:SendEmail on Sub(arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/${SesConfigurationSet})",
			"ses:SendEmail on Sub(arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/${SesEventsConfigurationSet})",
			"ses:SendEmail on Sub(arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SesIdentity})",
			"sqs:ChangeMessageVisibility on GetAtt(Queue.Arn)",
			"sqs:DeleteMessage on GetAtt(Queue.Arn)",
			"sqs:GetQueueAttributes on GetAtt(Queue.Arn)",
			"sqs:ReceiveMessage on GetAtt(Queue.Arn)",
			"sqs:SendMessage on GetAtt(DeadLetterQueue.Arn)",
			"ssm:GetParameter on Sub(arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/cogmail/${AWS::StackName}/providers)",
			"xray:PutTelemetryRecords on *",
			"xray:PutTraceSegments on *",
		}},
		{"EventsRole", []string{
			"dynamodb:DeleteItem on GetAtt(ReputationTable.Arn)",
			"dynamodb:PutItem on GetAtt(ReputationTable.Arn)",
			"logs:CreateLogStream on GetAtt(EventsLogGroup.Arn)",
			"logs:PutLogEvents on GetAtt(EventsLogGroup.Arn)",
			"secretsmanager:GetSecretValue on Ref(MailgunWebhookSigningKeySecret)",
			"sqs:ChangeMessageVisibility on GetAtt(EventsQueue.Arn)",
			"sqs:DeleteMessage on GetAtt(EventsQueue.Arn)",
			"sqs:GetQueueAttributes on GetAtt(EventsQueue.Arn)",
			"sqs:ReceiveMessage on GetAtt(EventsQueue.Arn)",
			"xray:PutTelemetryRecords on *",
			"xray:PutTraceSegments on *",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.role, func(t *testing.T) {
			got := grants(s.roleStatements(t, tt.role))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s grants:\n  %s\nwant exactly:\n  %s", tt.role, strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
			r, _ := s.tpl.GetIAMRoleWithName(tt.role)
			if len(r.ManagedPolicyArns) > 0 {
				t.Errorf("managed policies %v: they grant more than the statements above", r.ManagedPolicyArns)
			}
		})
	}
	t.Run("the SSM grant names the provider parameter", func(t *testing.T) {
		p, err := s.tpl.GetSSMParameterWithName("ProvidersParameter")
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(*p.Name, "Sub("), ")")
		if !strings.HasPrefix(name, "/") {
			t.Fatalf("parameter name %s must start with / for the ARN below", name)
		}
		want := "ssm:GetParameter on Sub(arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter" + name + ")"
		if !slices.Contains(grants(s.roleStatements(t, "DispatchRole")), want) {
			t.Errorf("dispatch cannot read %s", name)
		}
	})
	t.Run("SES and the table are granted only when they exist", func(t *testing.T) {
		policies := fmt.Sprint(dig(s.rawProps("DispatchRole"), "Policies"))
		for _, cond := range []string{"UseSes", "CreateIdempotencyTable", "UseSesConfigurationSet"} {
			if !strings.Contains(policies, "Fn::If:["+cond+" ") {
				t.Errorf("no Fn::If on %s in the dispatch policy", cond)
			}
		}
	})
}

func TestFunctions(t *testing.T) {
	s := loadStack(t, templatePath)
	tests := []struct {
		id, role, logGroup, zip string
		env                     []string
	}{
		{"IngestFunction", "IngestRole", "IngestLogGroup", "../dist/ingest.zip", []string{
			"COGMAIL_QUEUE_URL", "COGMAIL_KEYRING", "COGMAIL_KMS_KEY_ARN", "COGMAIL_SEAL_KEY_ID",
			"COGMAIL_RECIPIENT_ATTRIBUTES", "COGMAIL_DEFAULT_LOCALE", "COGMAIL_PRODUCT_NAME",
			"COGMAIL_SUPPORT_URL", "COGMAIL_LOGO_URL", "COGMAIL_EXPIRY", "COGMAIL_BRANDS", "COGMAIL_USER_POOL_IDS",
		}},
		{"EventsFunction", "EventsRole", "EventsLogGroup", "../dist/events.zip", []string{
			"COGMAIL_REPUTATION_TABLE", "COGMAIL_SENDGRID_WEBHOOK_PUBLIC_KEY", "COGMAIL_MAILGUN_WEBHOOK_SIGNING_KEY_SECRET",
		}},
		{"DispatchFunction", "DispatchRole", "DispatchLogGroup", "../dist/dispatch.zip", []string{
			"COGMAIL_PROVIDERS", "COGMAIL_STRATEGY", "COGMAIL_PROVIDERS_PARAM", "COGMAIL_SENDER_EMAIL",
			"COGMAIL_SENDER_NAME", "COGMAIL_DLQ_URL", "COGMAIL_IDEMPOTENCY_TABLE",
			"COGMAIL_QUEUE_URL", "COGMAIL_MAX_RECEIVES", // pkg/config/dispatch.go reads these too
			"COGMAIL_BACKOFF_MAX", "COGMAIL_MAX_AGE", // the retry schedule maxReceiveCount is derived from
			"COGMAIL_REPUTATION_TABLE", "COGMAIL_RECIPIENT_LIMIT",
			"COGMAIL_SENDGRID_API_KEY_SECRET", "COGMAIL_MAILGUN_API_KEY_SECRET", "COGMAIL_MAILGUN_DOMAIN",
			"COGMAIL_MAILGUN_REGION", "COGMAIL_SES_CONFIGURATION_SET", "COGMAIL_SES_IDENTITY", "COGMAIL_SMTP_HOST",
			"COGMAIL_SMTP_PORT", "COGMAIL_SMTP_USERNAME", "COGMAIL_SMTP_PASSWORD_SECRET",
			"COGMAIL_SMTP_TLS", "COGMAIL_CONCURRENCY",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			f, err := s.tpl.GetServerlessFunctionWithName(tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if f.Runtime == nil || *f.Runtime != "provided.al2023" {
				t.Errorf("Runtime = %v", f.Runtime)
			}
			if !reflect.DeepEqual(f.Architectures, []string{"arm64"}) {
				t.Errorf("Architectures = %v", f.Architectures)
			}
			if f.Handler == nil || *f.Handler != "bootstrap" {
				t.Errorf("Handler = %v", f.Handler)
			}
			if f.CodeUri == nil || f.CodeUri.String == nil || *f.CodeUri.String != tt.zip {
				t.Errorf("CodeUri = %v, want %s", f.CodeUri, tt.zip)
			}
			if f.Role == nil || *f.Role != getAtt(tt.role+".Arn") {
				t.Errorf("Role = %v, want the stack's own %s", f.Role, tt.role)
			}
			if f.Policies != nil {
				t.Error("SAM Policies would add a generated role's grants; the role is explicit")
			}
			// Active tracing; SAM adds no X-Ray grant to an explicit role, so
			// the role's own (TestRolePermissions) is what lets it upload.
			if f.Tracing == nil || *f.Tracing != "Active" {
				t.Errorf("Tracing = %v, want Active", f.Tracing)
			}
			if !slices.Contains(grants(s.roleStatements(t, tt.role)), "xray:PutTraceSegments on *") {
				t.Errorf("%s may not upload traces: Lambda refuses active tracing without xray:PutTraceSegments", tt.role)
			}
			if f.Timeout == nil || *f.Timeout <= 0 || f.MemorySize == nil {
				t.Errorf("Timeout %v, MemorySize %v", f.Timeout, f.MemorySize)
			}
			var got []string
			for k := range f.Environment.Variables {
				got = append(got, k)
			}
			sort.Strings(got)
			want := slices.Clone(tt.env)
			sort.Strings(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("environment %v\nwant exactly %v", got, want)
			}
			lc := dig(s.rawProps(tt.id), "LoggingConfig")
			if want := map[string]any{"LogFormat": "JSON", "LogGroup": map[string]any{"Ref": tt.logGroup}}; !reflect.DeepEqual(lc, want) {
				t.Errorf("LoggingConfig = %v, want %v", lc, want)
			}
			lg, err := s.tpl.GetLogsLogGroupWithName(tt.logGroup)
			if err != nil || lg.RetentionInDays == nil {
				t.Errorf("log group %s: %v, retention %v", tt.logGroup, err, lg)
			}
		})
	}
}

// The ingest environment the template sets is one that config.LoadIngest
// accepts, with the stack's resources stood in for by realistic values.
func TestIngestEnvironmentLoads(t *testing.T) {
	s := loadStack(t, templatePath)
	tests := []struct {
		name   string
		params map[string]string
	}{
		{"defaults", nil},
		{"branded", map[string]string{"ProductName": "Acme", "SupportUrl": "https://acme.example/help", "LogoUrl": "https://acme.example/logo.png",
			"DefaultLocale": "de", "RecipientAttributes": "custom:contact_email,email", "CodeExpiry": "ForgotPassword=30m,SignUp=12h"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params := maps.Clone(tt.params)
			if params == nil {
				params = map[string]string{}
			}
			params["UserPoolId"] = "eu-west-1_AbCdEf123"
			env := s.evaluate(params).environment(t, "IngestFunction")
			c, err := config.LoadIngest(func(k string) string { return env[k] })
			if err != nil {
				t.Fatalf("config.LoadIngest rejects the template's environment: %v", err)
			}
			if !slices.Equal(c.UserPoolIDs, []string{"eu-west-1_AbCdEf123"}) {
				t.Errorf("COGMAIL_USER_POOL_IDS gives %q, want the UserPoolId parameter", c.UserPoolIDs)
			}
			if c.Keyring != config.KeyringKMS || c.SealKeyID != c.KMSKeyARN || !strings.HasPrefix(c.KMSKeyARN, "arn:aws:kms:") {
				t.Errorf("keyring %s, seal key %s, code key %s", c.Keyring, c.SealKeyID, c.KMSKeyARN)
			}
			if c.QueueURL != env["COGMAIL_QUEUE_URL"] || c.DefaultLocale != env["COGMAIL_DEFAULT_LOCALE"] {
				t.Errorf("queue %s, locale %s", c.QueueURL, c.DefaultLocale)
			}
		})
	}
}

// The dispatch environment, for each way of choosing providers, is one
// that config.LoadDispatch accepts and that configures exactly the
// providers given; naming a provider without its settings fails at cold
// start with the variable to set.
func TestDispatchEnvironmentLoads(t *testing.T) {
	s := loadStack(t, templatePath)
	base := map[string]string{"UserPoolId": "eu-west-1_AbCdEf123", "SenderEmail": "no-reply@example.com"}
	with := func(kv ...string) map[string]string {
		m := maps.Clone(base)
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name      string
		params    map[string]string
		providers []string // the providers dispatch builds
		secrets   []string // the *_SECRET variables set
		wantErr   string
	}{
		{"defaults: ses", with(), []string{"ses"}, nil, ""},
		{"sendgrid then ses", with("Providers", "sendgrid,ses", "SendGridApiKey", "SG.x"), []string{"sendgrid", "ses"},
			[]string{"COGMAIL_SENDGRID_API_KEY_SECRET"}, ""},
		{"mailgun eu", with("Providers", "mailgun,ses", "MailgunApiKey", "key-x", "MailgunDomain", "mg.example.com", "MailgunRegion", "eu"),
			[]string{"mailgun", "ses"}, []string{"COGMAIL_MAILGUN_API_KEY_SECRET"}, ""},
		{"smtp with a password", with("Providers", "smtp", "SmtpHost", "smtp.example.com", "SmtpUsername", "u", "SmtpPassword", "p", "SmtpTls", "tls"),
			[]string{"ses", "smtp"}, []string{"COGMAIL_SMTP_PASSWORD_SECRET"}, ""},
		{"all four, weighted", with("Providers", "sendgrid,mailgun,ses,smtp", "Strategy", "weighted", "SendGridApiKey", "SG.x",
			"MailgunApiKey", "key-x", "MailgunDomain", "mg.example.com", "SmtpHost", "smtp.example.com"),
			[]string{"mailgun", "sendgrid", "ses", "smtp"}, []string{"COGMAIL_MAILGUN_API_KEY_SECRET", "COGMAIL_SENDGRID_API_KEY_SECRET"}, ""},
		{"mailgun key without its domain", with("Providers", "mailgun", "MailgunApiKey", "key-x"), nil, nil, "COGMAIL_MAILGUN_API_KEY"},
		{"sendgrid named without a key", with("Providers", "sendgrid"), nil, nil, "COGMAIL_SENDGRID_API_KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := s.evaluate(tt.params)
			env := e.environment(t, "DispatchFunction")
			c, err := config.LoadDispatch(func(k string) string { return env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("config.LoadDispatch rejects the template's environment: %v", err)
			}
			got := c.Providers()
			sort.Strings(got)
			if !reflect.DeepEqual(got, tt.providers) {
				t.Errorf("providers built %v, want %v", got, tt.providers)
			}
			var secrets []string
			for k, v := range env {
				if strings.HasSuffix(k, "_SECRET") && v != "" {
					secrets = append(secrets, k)
					if !strings.HasPrefix(v, "arn:aws:secretsmanager:") {
						t.Errorf("%s = %s, want a secret ARN", k, v)
					}
				}
			}
			sort.Strings(secrets)
			if !reflect.DeepEqual(secrets, tt.secrets) {
				t.Errorf("secret references %v, want %v", secrets, tt.secrets)
			}
			if c.MaxReceives != 700 || c.QueueURL == "" || c.ProvidersParam != "/cogmail/cogmail/providers" {
				t.Errorf("MaxReceives %d (want MaxReceiveCount, 700), QueueURL %q, ProvidersParam %q", c.MaxReceives, c.QueueURL, c.ProvidersParam)
			}
			if c.IdempotencyTable == "" {
				t.Error("the idempotency table is not passed on")
			}

			// The provider parameter starts as the same routing.
			ssm, err := e.str(dig(s.rawProps("ProvidersParameter"), "Value"))
			if err != nil {
				t.Fatal(err)
			}
			fromSSM, err := routing.Parse([]byte(ssm), nil)
			if err != nil {
				t.Fatalf("the provider parameter %s does not parse: %v", ssm, err)
			}
			if !reflect.DeepEqual(fromSSM, c.Routing) {
				t.Errorf("parameter routing %+v, environment routing %+v", fromSSM, c.Routing)
			}
		})
	}
	t.Run("no idempotency table", func(t *testing.T) {
		env := s.evaluate(with("EnableIdempotencyTable", "false")).environment(t, "DispatchFunction")
		if v, ok := env["COGMAIL_IDEMPOTENCY_TABLE"]; !ok || v != "" {
			t.Errorf("COGMAIL_IDEMPOTENCY_TABLE = %q, want empty", v)
		}
	})
}

func TestIngestInvocation(t *testing.T) {
	s := loadStack(t, templatePath)
	t.Run("only Cognito, for this pool, may invoke", func(t *testing.T) {
		var perms []string
		for _, id := range s.resourcesOfType("AWS::Lambda::Permission") {
			perms = append(perms, id)
		}
		if !reflect.DeepEqual(perms, []string{"IngestCognitoPermission"}) {
			t.Fatalf("permissions %v", perms)
		}
		p, _ := s.tpl.GetLambdaPermissionWithName("IngestCognitoPermission")
		got := []string{p.Action, p.FunctionName, p.Principal, deref(p.SourceArn), deref(p.SourceAccount)}
		want := []string{"lambda:InvokeFunction", getAtt("IngestFunction.Arn"), "cognito-idp.amazonaws.com", poolArn, ref("AWS::AccountId")}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("permission %v\nwant %v", got, want)
		}
	})
	t.Run("failed events are kept", func(t *testing.T) {
		c, err := s.tpl.GetLambdaEventInvokeConfigWithName("IngestInvokeConfig")
		if err != nil {
			t.Fatal(err)
		}
		if c.FunctionName != ref("IngestFunction") || c.Qualifier != "$LATEST" {
			t.Errorf("applies to %s:%s", c.FunctionName, c.Qualifier)
		}
		if c.MaximumRetryAttempts == nil || *c.MaximumRetryAttempts < 1 || *c.MaximumRetryAttempts > 2 {
			t.Errorf("MaximumRetryAttempts = %v, want 1 or 2", c.MaximumRetryAttempts)
		}
		if c.MaximumEventAgeInSeconds == nil || *c.MaximumEventAgeInSeconds < 60 || *c.MaximumEventAgeInSeconds > 21600 {
			t.Errorf("MaximumEventAgeInSeconds = %v", c.MaximumEventAgeInSeconds)
		}
		if c.DestinationConfig == nil || c.DestinationConfig.OnFailure == nil || c.DestinationConfig.OnFailure.Destination != getAtt("IngestFailureQueue.Arn") {
			t.Errorf("OnFailure = %+v, want the ingest failure queue", c.DestinationConfig)
		}
	})
}

func TestQueues(t *testing.T) {
	s := loadStack(t, templatePath)
	queue := func(id string) (int, int) {
		q, err := s.tpl.GetSQSQueueWithName(id)
		if err != nil {
			t.Fatal(err)
		}
		if (q.SqsManagedSseEnabled == nil || !*q.SqsManagedSseEnabled) && q.KmsMasterKeyId == nil {
			t.Errorf("%s is not encrypted at rest", id)
		}
		if q.MessageRetentionPeriod == nil {
			t.Fatalf("%s: no MessageRetentionPeriod", id)
		}
		vis := 30
		if q.VisibilityTimeout != nil {
			vis = *q.VisibilityTimeout
		}
		return *q.MessageRetentionPeriod, vis
	}
	srcRetention, visibility := queue("Queue")
	dlqRetention, _ := queue("DeadLetterQueue")
	failRetention, _ := queue("IngestFailureQueue")

	t.Run("retention", func(t *testing.T) {
		tests := []struct {
			name string
			got  int
			min  int
		}{
			{"DLQ longer than the source", dlqRetention, srcRetention + 1},
			{"DLQ 14 days", dlqRetention, 14 * 24 * 3600},
			{"ingest failures 14 days", failRetention, 14 * 24 * 3600},
			{"source at least 1 day", srcRetention, 24 * 3600},
		}
		for _, tt := range tests {
			if tt.got < tt.min {
				t.Errorf("%s: %d s, want >= %d s", tt.name, tt.got, tt.min)
			}
		}
	})
	t.Run("visibility timeout >= 6x dispatch timeout + batching window", func(t *testing.T) {
		f, _ := s.tpl.GetServerlessFunctionWithName("DispatchFunction")
		esm, _ := s.tpl.GetLambdaEventSourceMappingWithName("DispatchEventSource")
		window := 0
		if esm.MaximumBatchingWindowInSeconds != nil {
			window = *esm.MaximumBatchingWindowInSeconds
		}
		if want := 6**f.Timeout + window; visibility < want {
			t.Errorf("VisibilityTimeout %d < 6 x %d + %d", visibility, *f.Timeout, window)
		}
	})
	t.Run("redrive", func(t *testing.T) {
		got := dig(s.rawProps("Queue"), "RedrivePolicy")
		want := map[string]any{
			"deadLetterTargetArn": map[string]any{"Fn::GetAtt": "DeadLetterQueue.Arn"},
			"maxReceiveCount":     map[string]any{"Ref": "MaxReceiveCount"},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("RedrivePolicy = %v, want %v", got, want)
		}
		p := s.tpl.Parameters["MaxReceiveCount"]
		if p.Type != "Number" || p.MinValue == nil || *p.MinValue < 1 || p.Default == nil {
			t.Errorf("MaxReceiveCount parameter %+v", p)
		}
		for _, id := range []string{"DeadLetterQueue", "IngestFailureQueue"} {
			if dig(s.rawProps(id), "RedrivePolicy") != nil {
				t.Errorf("%s redrives somewhere: a DLQ is the end of the line", id)
			}
		}
	})
}

func TestDispatchEventSource(t *testing.T) {
	s := loadStack(t, templatePath)
	esm, err := s.tpl.GetLambdaEventSourceMappingWithName("DispatchEventSource")
	if err != nil {
		t.Fatal(err)
	}
	if esm.EventSourceArn == nil || *esm.EventSourceArn != getAtt("Queue.Arn") || esm.FunctionName != ref("DispatchFunction") {
		t.Errorf("maps %v to %s", esm.EventSourceArn, esm.FunctionName)
	}
	if esm.BatchSize == nil || *esm.BatchSize < 1 || *esm.BatchSize > 10 {
		t.Errorf("BatchSize = %v (1..10 keeps a batch within one invocation's deadline)", esm.BatchSize)
	}
	if esm.MaximumBatchingWindowInSeconds == nil || *esm.MaximumBatchingWindowInSeconds > 5 {
		t.Errorf("MaximumBatchingWindowInSeconds = %v: codes are time-critical", esm.MaximumBatchingWindowInSeconds)
	}
	if !slices.Contains(esm.FunctionResponseTypes, "ReportBatchItemFailures") {
		t.Errorf("FunctionResponseTypes = %v: without ReportBatchItemFailures one failure redelivers the whole batch", esm.FunctionResponseTypes)
	}
	if esm.ScalingConfig == nil || esm.ScalingConfig.MaximumConcurrency == nil || *esm.ScalingConfig.MaximumConcurrency < 2 {
		t.Errorf("ScalingConfig = %+v", esm.ScalingConfig)
	}
	if got := dig(s.rawProps("DispatchEventSource"), "ScalingConfig", "MaximumConcurrency"); !reflect.DeepEqual(got, map[string]any{"Ref": "DispatchMaxConcurrency"}) {
		t.Errorf("MaximumConcurrency = %v, want the DispatchMaxConcurrency parameter", got)
	}
}

func TestSecretsAndProviderConfiguration(t *testing.T) {
	s := loadStack(t, templatePath)
	d, _ := s.tpl.GetServerlessFunctionWithName("DispatchFunction")
	tests := []struct {
		secret, param, condition, env, envCondition string
	}{
		{"SendGridApiKeySecret", "SendGridApiKey", "HasSendGridApiKey", "COGMAIL_SENDGRID_API_KEY_SECRET", "HasSendGridApiKey"},
		{"MailgunApiKeySecret", "MailgunApiKey", "HasMailgunApiKey", "COGMAIL_MAILGUN_API_KEY_SECRET", "UseMailgun"},
		{"SmtpPasswordSecret", "SmtpPassword", "HasSmtpPassword", "COGMAIL_SMTP_PASSWORD_SECRET", "HasSmtpPassword"},
	}
	for _, tt := range tests {
		t.Run(tt.secret, func(t *testing.T) {
			if _, err := s.tpl.GetSecretsManagerSecretWithName(tt.secret); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"Fn::If": []any{tt.condition, map[string]any{"Ref": tt.param}, map[string]any{"Ref": "AWS::NoValue"}}}
			if got := dig(s.rawProps(tt.secret), "SecretString"); !reflect.DeepEqual(got, want) {
				t.Errorf("SecretString = %v, want %v (empty unless the parameter is given)", got, want)
			}
			cond := fmt.Sprint(dig(s.raw, "Conditions", tt.condition))
			if cond != fmt.Sprintf("map[Fn::Not:[map[Fn::Equals:[map[Ref:%s] ]]]]", tt.param) {
				t.Errorf("condition %s = %s", tt.condition, cond)
			}
			if got := dig(s.rawProps("DispatchFunction"), "Environment", "Variables", tt.env); !reflect.DeepEqual(got,
				map[string]any{"Fn::If": []any{tt.envCondition, map[string]any{"Ref": tt.secret}, ""}}) {
				t.Errorf("%s = %v, want the secret's ARN when %s", tt.env, got, tt.envCondition)
			}
			if strings.Contains(fmt.Sprint(d.Environment.Variables), ref(tt.param)) {
				t.Errorf("the %s parameter reaches the function's environment in clear", tt.param)
			}
		})
	}
	t.Run("provider parameter", func(t *testing.T) {
		p, err := s.tpl.GetSSMParameterWithName("ProvidersParameter")
		if err != nil {
			t.Fatal(err)
		}
		if p.Type != "String" || p.Value == "" {
			t.Errorf("type %s value %q", p.Type, p.Value)
		}
		if got := d.Environment.Variables["COGMAIL_PROVIDERS_PARAM"]; got != ref("ProvidersParameter") {
			t.Errorf("COGMAIL_PROVIDERS_PARAM = %s", got)
		}
	})
	t.Run("idempotency table", func(t *testing.T) {
		tbl, err := s.tpl.GetDynamoDBTableWithName("IdempotencyTable")
		if err != nil {
			t.Fatal(err)
		}
		if tbl.AWSCloudFormationCondition != "CreateIdempotencyTable" {
			t.Errorf("Condition = %q", tbl.AWSCloudFormationCondition)
		}
		if cond := fmt.Sprint(dig(s.raw, "Conditions", "CreateIdempotencyTable")); cond != "map[Fn::Equals:[map[Ref:EnableIdempotencyTable] true]]" {
			t.Errorf("CreateIdempotencyTable = %s", cond)
		}
		if tbl.TimeToLiveSpecification == nil || !tbl.TimeToLiveSpecification.Enabled || tbl.TimeToLiveSpecification.AttributeName == nil {
			t.Errorf("TTL = %+v", tbl.TimeToLiveSpecification)
		}
		if tbl.BillingMode == nil || *tbl.BillingMode != "PAY_PER_REQUEST" {
			t.Errorf("BillingMode = %v", tbl.BillingMode)
		}
		want := map[string]any{"Fn::If": []any{"CreateIdempotencyTable", map[string]any{"Ref": "IdempotencyTable"}, ""}}
		if got := dig(s.rawProps("DispatchFunction"), "Environment", "Variables", "COGMAIL_IDEMPOTENCY_TABLE"); !reflect.DeepEqual(got, want) {
			t.Errorf("COGMAIL_IDEMPOTENCY_TABLE = %v", got)
		}
	})
}

func TestAlarms(t *testing.T) {
	s := loadStack(t, templatePath)
	tests := []struct {
		id, namespace, metric string
		dims                  map[string]string // for a Metrics Insights alarm, the WHERE clause
	}{
		{"DeadLetterQueueNotEmptyAlarm", "AWS/SQS", "ApproximateNumberOfMessagesVisible", map[string]string{"QueueName": getAtt("DeadLetterQueue.QueueName")}},
		{"QueueOldestMessageAlarm", "AWS/SQS", "ApproximateAgeOfOldestMessage", map[string]string{"QueueName": getAtt("Queue.QueueName")}},
		{"FailoverRateAlarm", "cogmail", "Failover", map[string]string{"Function": "dispatch"}},
		{"IngestErrorsAlarm", "AWS/Lambda", "Errors", map[string]string{"FunctionName": ref("IngestFunction")}},
		{"IngestFailureQueueNotEmptyAlarm", "AWS/SQS", "ApproximateNumberOfMessagesVisible", map[string]string{"QueueName": getAtt("IngestFailureQueue.QueueName")}},
		{"DispatchErrorsAlarm", "AWS/Lambda", "Errors", map[string]string{"FunctionName": ref("DispatchFunction")}},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			a, err := s.tpl.GetCloudWatchAlarmWithName(tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Metrics) > 0 {
				// A Metrics Insights query: it sums the metric over every extra
				// dimension dispatch adds (Primary, Provider).
				if len(a.Metrics) != 1 || a.Metrics[0].Expression == nil || a.Metrics[0].ReturnData == nil || !*a.Metrics[0].ReturnData || a.Metrics[0].Period == nil {
					t.Fatalf("want one returned query with a period, got %+v", a.Metrics)
				}
				q := *a.Metrics[0].Expression
				var where []string
				for k, v := range tt.dims {
					where = append(where, fmt.Sprintf("WHERE %s = '%s'", k, v))
				}
				for _, part := range append(where, "SELECT SUM("+tt.metric+")", `FROM "`+tt.namespace+`"`) {
					if !strings.Contains(q, part) {
						t.Errorf("query %q lacks %q", q, part)
					}
				}
				if a.Namespace != nil || a.MetricName != nil || a.Statistic != nil {
					t.Error("a query alarm takes no Namespace, MetricName or Statistic")
				}
			} else {
				if deref(a.Namespace) != tt.namespace || deref(a.MetricName) != tt.metric {
					t.Errorf("metric %s/%s, want %s/%s", deref(a.Namespace), deref(a.MetricName), tt.namespace, tt.metric)
				}
				dims := map[string]string{}
				for _, d := range a.Dimensions {
					dims[d.Name] = d.Value
				}
				if !reflect.DeepEqual(dims, tt.dims) {
					t.Errorf("dimensions %v, want %v", dims, tt.dims)
				}
				if a.Period == nil || a.Statistic == nil {
					t.Errorf("no period or statistic: %+v", a)
				}
			}
			if a.Threshold == nil || a.EvaluationPeriods < 1 || a.ComparisonOperator == "" {
				t.Errorf("incomplete alarm %+v", a)
			}
			if deref(a.TreatMissingData) != "notBreaching" {
				t.Errorf("TreatMissingData = %v: a quiet queue is healthy", deref(a.TreatMissingData))
			}
			if !reflect.DeepEqual(a.AlarmActions, []string{ref("AlarmTopicArn")}) {
				t.Errorf("AlarmActions = %v, want the AlarmTopicArn parameter", a.AlarmActions)
			}
		})
	}
	t.Run("held mail: the oldest HeldAge over the threshold", func(t *testing.T) {
		a, err := s.tpl.GetCloudWatchAlarmWithName("HeldMessageAgeAlarm")
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Metrics) != 1 || deref(a.Metrics[0].Expression) != `SELECT MAX(HeldAge) FROM "cogmail" WHERE Function = 'dispatch'` ||
			a.Metrics[0].ReturnData == nil || !*a.Metrics[0].ReturnData || a.Metrics[0].Period == nil || *a.Metrics[0].Period != 60 {
			t.Fatalf("metrics %+v", a.Metrics)
		}
		if a.ComparisonOperator != "GreaterThanThreshold" || deref(a.TreatMissingData) != "notBreaching" ||
			!reflect.DeepEqual(a.AlarmActions, []string{ref("AlarmTopicArn")}) {
			t.Errorf("alarm %+v", a)
		}
	})
	t.Run("the DLQ alarm fires on the first message", func(t *testing.T) {
		a, _ := s.tpl.GetCloudWatchAlarmWithName("DeadLetterQueueNotEmptyAlarm")
		if *a.Threshold != 0 || a.ComparisonOperator != "GreaterThanThreshold" {
			t.Errorf("threshold %v %s", *a.Threshold, a.ComparisonOperator)
		}
	})
}

func TestOutputs(t *testing.T) {
	s := loadStack(t, templatePath)
	values := map[string]bool{}
	for _, o := range s.tpl.Outputs {
		values[fmt.Sprint(o.Value)] = true
	}
	// What each resource type must expose: its ARN and, where it has one, its URL or name.
	expose := map[string][]func(id string) string{
		"AWS::SQS::Queue":                 {ref, func(id string) string { return getAtt(id + ".Arn") }},
		"AWS::Serverless::Function":       {ref, func(id string) string { return getAtt(id + ".Arn") }},
		"AWS::KMS::Key":                   {func(id string) string { return getAtt(id + ".Arn") }},
		"AWS::KMS::Alias":                 {ref},
		"AWS::IAM::Role":                  {func(id string) string { return getAtt(id + ".Arn") }},
		"AWS::SecretsManager::Secret":     {ref},
		"AWS::SSM::Parameter":             {ref},
		"AWS::DynamoDB::Table":            {ref, func(id string) string { return getAtt(id + ".Arn") }},
		"AWS::Logs::LogGroup":             {ref},
		"AWS::Lambda::EventSourceMapping": {ref},
	}
	for typ, fns := range expose {
		for _, id := range s.resourcesOfType(typ) {
			for _, fn := range fns {
				if want := fn(id); !values[want] {
					t.Errorf("no output has %s", want)
				}
			}
		}
	}
	for _, name := range []string{"IdempotencyTableName", "IdempotencyTableArn"} {
		if o := s.tpl.Outputs[name]; o.Condition == nil || *o.Condition != "CreateIdempotencyTable" {
			t.Errorf("output %s must carry the table's condition", name)
		}
	}
	if v := fmt.Sprint(s.tpl.Outputs["UserPoolArn"].Value); v != poolArn {
		t.Errorf("UserPoolArn = %s", v)
	}
	attach := fmt.Sprint(s.tpl.Outputs["AttachCommand"].Value)
	for _, part := range []string{"cogmail attach", "--user-pool-id ${UserPoolId}", "--lambda-arn ${IngestFunction.Arn}", "--kms-key-arn ${CodeKey.Arn}"} {
		if !strings.Contains(attach, part) {
			t.Errorf("AttachCommand %s lacks %q", attach, part)
		}
	}
}

// The zips the template deploys are the ones `make build` produces.
func TestCodeURIsMatchMakeBuild(t *testing.T) {
	mk, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^FUNCTIONS\s*:=\s*(.+)$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("no FUNCTIONS in the Makefile")
	}
	var want []string
	for _, f := range strings.Fields(string(m[1])) {
		want = append(want, "../dist/"+f+".zip")
	}
	s := loadStack(t, templatePath)
	var got []string
	for _, id := range s.resourcesOfType("AWS::Serverless::Function") {
		f, _ := s.tpl.GetServerlessFunctionWithName(id)
		got = append(got, *f.CodeUri.String)
	}
	sort.Strings(got)
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("template CodeUris %v, make build zips %v", got, want)
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// TestRetryScheduleFitsTheQueue proves the redrive arithmetic from the
// template itself: with the backoff cap and maximum age dispatch gets, the
// longest retry window needs Schedule(MaxAge).Receives receives, and
// maxReceiveCount must be at least that (or a message still in its window
// would be dead-lettered as retries-exhausted), at most SQS's 1,000; every
// visibility stays within SQS's 12 h; the queue keeps a message longer
// than it is retried.
func TestRetryScheduleFitsTheQueue(t *testing.T) {
	s := loadStack(t, templatePath)
	env := s.evaluate(map[string]string{"UserPoolId": "eu-west-1_AbCdEf123", "SenderEmail": "no-reply@example.com"}).environment(t, "DispatchFunction")
	c, err := config.LoadDispatch(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	o := dispatchwire.Options(c).WithDefaults()
	need := o.Schedule(o.MaxAge)
	p := s.tpl.Parameters["MaxReceiveCount"]
	if p.Default == nil || p.MinValue == nil || p.MaxValue == nil {
		t.Fatalf("MaxReceiveCount parameter %+v", p)
	}
	def, err := strconv.Atoi(fmt.Sprint(p.Default))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("a %v window at a %v cap: %v, %d receives; maxReceiveCount %d (min %v)", o.MaxAge, o.BackoffMax, need, need.Receives, def, *p.MinValue)
	tests := []struct {
		name string
		ok   bool
	}{
		{fmt.Sprintf("MinValue %v >= the %d receives of a %v window", *p.MinValue, need.Receives, o.MaxAge), int(*p.MinValue) >= need.Receives},
		{fmt.Sprintf("Default %d is dispatch's MaxReceiveCount %d", def, o.MaxReceiveCount()), def == o.MaxReceiveCount()},
		{fmt.Sprintf("Default %d within MinValue..MaxValue", def), float64(def) >= *p.MinValue && float64(def) <= *p.MaxValue},
		{fmt.Sprintf("MaxValue %v <= SQS's %d", *p.MaxValue, queue.MaxReceiveCount), int(*p.MaxValue) <= queue.MaxReceiveCount},
		{fmt.Sprintf("COGMAIL_MAX_RECEIVES %d is maxReceiveCount", c.MaxReceives), c.MaxReceives == def},
		{fmt.Sprintf("the backoff cap %v <= SQS's %v visibility", o.BackoffMax, queue.MaxVisibility), o.BackoffMax <= queue.MaxVisibility},
		{"the template sets the cap and the age it is derived from", env["COGMAIL_BACKOFF_MAX"] != "" && env["COGMAIL_MAX_AGE"] != ""},
	}
	for _, tt := range tests {
		if !tt.ok {
			t.Error(tt.name)
		}
	}
	q, err := s.tpl.GetSQSQueueWithName("Queue")
	if err != nil {
		t.Fatal(err)
	}
	if retention := time.Duration(*q.MessageRetentionPeriod) * time.Second; retention <= o.MaxAge {
		t.Errorf("the queue keeps a message %v, not longer than dispatch retries it (%v)", retention, o.MaxAge)
	}
	// The arithmetic in the template's comment, by hand: 9 climbing, one
	// per 150 s after, and the last receive.
	climb := 1 + 1 + 2 + 4 + 8 + 16 + 32 + 64 + 128
	if hand := 1 + 9 + (86400-climb-1)/150 + 1; o.MaxAge == 24*time.Hour && o.BackoffMax == 5*time.Minute && hand != need.Receives {
		t.Errorf("by hand %d receives, Schedule says %d", hand, need.Receives)
	}
}
