package deploytest

// TestDeploy is `make deploy-test`: the stack deployed and run as AWS would,
// with AWS's own tools in place of an account.
//
//  1. `make package` (the zips and dist/template.yaml, as a user builds them;
//     for this machine's architecture, so that they run here);
//  2. translate.py: aws-sam-translator turns the SAM template into plain
//     CloudFormation, as `sam deploy` does;
//  3. moto_server on 127.0.0.1: the zips in its S3, create_stack with the
//     parameters below, CREATE_COMPLETE, then what the stack created is read
//     back: the roles' policies, the key policy's Cognito conditions, the
//     queue's redrive policy, the event source mapping;
//  4. both bootstraps (unzipped from the S3 objects the functions point at)
//     under aws-lambda-rie, each with the environment moto stored on its
//     function plus what Lambda itself sets, pointed at moto;
//  5. a Cognito-shaped event, its code encrypted under the stack's key as
//     Cognito does, through ingest; the stack's queue drained into dispatch
//     by the event source mapping's settings; the email at moto's SES, the
//     queue empty, the idempotency record COMPLETED, and a garbage record
//     dead-lettered with its reason (or reported for retry).
//
// What moto does not create (alarms, EventInvokeConfig, secrets) is named
// in a skipped subtest per resource; moto does not evaluate IAM either, so
// the policies are checked as documents, not enforced.

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/cogmail/cogmail/internal/local/eventsource"
	"github.com/cogmail/cogmail/internal/local/localstack"
	"github.com/cogmail/cogmail/internal/testkit/fixtures"
	"github.com/cogmail/cogmail/internal/testkit/motoserver"
	"github.com/cogmail/cogmail/pkg/codecrypt"
	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/dispatch"
	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/idempotency"
	"github.com/cogmail/cogmail/pkg/initerror"
)

// The deploy's stated parameters: the required ones, plus SesIdentity, which
// the default provider (ses) needs (the template's Rules refuse ses without it).
const (
	stackName   = "cogmail-deploytest"
	codeBucket  = "cogmail-deploytest-code"
	userPoolID  = motoserver.Region + "_DeployTest1"
	senderEmail = "no-reply@example.com"
	sesIdentity = "example.com"
	recipient   = "ana@example.org"
)

// motoGaps are the resource types moto 5.2.1 accepts in a template without
// creating anything: each one in the stack gets a skipped subtest naming it.
var motoGaps = map[string]string{
	"AWS::CloudWatch::Alarm":         "moto's CloudFormation does not create CloudWatch alarms",
	"AWS::Lambda::EventInvokeConfig": "moto's CloudFormation does not create EventInvokeConfig (retries, on-failure destination)",
	"AWS::SecretsManager::Secret":    "moto's CloudFormation does not create Secrets Manager secrets",
	// The reputation guard's wiring (docs/reputation.md); moto 5.2.1's create_stack skips these types.
	"AWS::Lambda::Url":                           "moto's CloudFormation does not create Lambda function URLs",
	"AWS::SQS::QueuePolicy":                      "moto's CloudFormation does not create SQS queue policies",
	"AWS::SNS::TopicPolicy":                      "moto's CloudFormation does not create SNS topic policies",
	"AWS::SNS::Subscription":                     "moto's CloudFormation does not create SNS subscriptions",
	"AWS::SES::ConfigurationSet":                 "moto's CloudFormation does not create SES configuration sets",
	"AWS::SES::ConfigurationSetEventDestination": "moto's CloudFormation does not create SES event destinations",
}

// withoutGapOutputs drops the outputs that read a GetAtt of a resource type
// moto does not create (moto fails the whole create_stack on them), naming
// each one in a skipped subtest.
func withoutGapOutputs(t *testing.T, tpl string) string {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal([]byte(tpl), &doc); err != nil {
		t.Fatalf("translate.py wrote no JSON template: %v", err)
	}
	resources, _ := doc["Resources"].(map[string]any)
	outputs, _ := doc["Outputs"].(map[string]any)
	for _, name := range sortedKeys(outputs) {
		o, _ := outputs[name].(map[string]any)
		v, _ := o["Value"].(map[string]any)
		ga, _ := v["Fn::GetAtt"].([]any)
		if len(ga) != 2 {
			continue
		}
		r, _ := resources[fmt.Sprint(ga[0])].(map[string]any)
		typ := fmt.Sprint(r["Type"])
		if why, ok := motoGaps[typ]; ok {
			delete(outputs, name)
			t.Run("moto's gaps/output "+name, func(t *testing.T) {
				t.Skipf("output %s (GetAtt %v.%v, %s) left out of create_stack: %s", name, ga[0], ga[1], typ, why)
			})
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// coldStartLines are logged while the function initialises, before any
// request exists (RIE initialises on the first invoke).
var coldStartLines = map[string]bool{"provider configuration loaded": true}

func TestDeploy(t *testing.T) {
	root := fixtures.Root()
	python, rie := requireTools(t, root)
	moto := motoserver.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	// 1. make package, for this machine (the template says arm64; moto and
	// RIE run what they are given).
	dist := t.TempDir()
	run(t, root, "make", "package", "DIST="+dist, "GOARCH_LAMBDA="+runtime.GOARCH)

	// 2. the SAM translator.
	cfnTemplate := run(t, root, python, filepath.Join(root, "infra", "deploytest", "translate.py"),
		filepath.Join(dist, "template.yaml"), codeBucket, motoserver.Region)
	cfnTemplate = withoutGapOutputs(t, cfnTemplate)
	var translated struct {
		Resources map[string]struct{ Type, Condition string }
	}
	if err := json.Unmarshal([]byte(cfnTemplate), &translated); err != nil {
		t.Fatalf("translate.py wrote no JSON template: %v", err)
	}

	// 3. create_stack on moto.
	cfg := motoserver.Config()
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = aws.String(moto); o.UsePathStyle = true })
	cfn := cloudformation.NewFromConfig(cfg, func(o *cloudformation.Options) { o.BaseEndpoint = aws.String(moto) })
	iamc := iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(moto) })
	kmsc := kms.NewFromConfig(cfg, func(o *kms.Options) { o.BaseEndpoint = aws.String(moto) })
	sqsc := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(moto) })
	lam := lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = aws.String(moto) })
	ddb := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(moto) })
	sesc := ses.NewFromConfig(cfg, func(o *ses.Options) { o.BaseEndpoint = aws.String(moto) })
	sesv2c := sesv2.NewFromConfig(cfg, func(o *sesv2.Options) { o.BaseEndpoint = aws.String(moto) })

	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(codeBucket)}); err != nil {
		t.Fatalf("create the code bucket: %v", err)
	}
	zips, _ := filepath.Glob(filepath.Join(dist, "*.zip"))
	if len(zips) == 0 {
		t.Fatalf("make package left no zip in %s", dist)
	}
	for _, z := range zips {
		b, err := os.ReadFile(z)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(codeBucket), Key: aws.String(filepath.Base(z)), Body: bytes.NewReader(b)}); err != nil {
			t.Fatalf("upload %s: %v", z, err)
		}
	}
	// Providers is the default (ses), given explicitly: moto 5.2.1 splits a
	// CommaDelimitedList parameter's given value but not its Default, so
	// !Join over the default would join the letters of "ses".
	t.Log("moto gap: a CommaDelimitedList parameter's Default is not split (Providers is passed explicitly)")
	params := map[string]string{"UserPoolId": userPoolID, "SenderEmail": senderEmail, "SesIdentity": sesIdentity, "Providers": "ses"}
	var cfnParams []cfntypes.Parameter
	for k, v := range params {
		cfnParams = append(cfnParams, cfntypes.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(v)})
	}
	if _, err := cfn.CreateStack(ctx, &cloudformation.CreateStackInput{
		StackName: aws.String(stackName), TemplateBody: aws.String(cfnTemplate), Parameters: cfnParams,
		Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityIam, cfntypes.CapabilityCapabilityAutoExpand},
	}); err != nil {
		t.Fatalf("create_stack: %v", err)
	}
	stack := waitForStack(ctx, t, cfn)
	outputs := map[string]string{}
	for _, o := range stack.Outputs {
		outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	res, err := cfn.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: aws.String(stackName)})
	if err != nil {
		t.Fatal(err)
	}
	physical := map[string]string{}
	for _, r := range res.StackResources {
		if id := aws.ToString(r.LogicalResourceId); id != "" {
			physical[id] = aws.ToString(r.PhysicalResourceId)
		}
	}
	t.Run("moto's gaps", func(t *testing.T) {
		t.Run("Rules", func(t *testing.T) {
			t.Skip("moto's create_stack does not evaluate the template's Rules (AWS::CloudFormation rules refusing a provider without its settings): infra/rules_test.go evaluates them")
		})
		t.Run("IAM", func(t *testing.T) {
			t.Skip("moto does not evaluate IAM (AWS::IAM::Role policies, AWS::KMS::Key policy): they are read back and checked as documents below, not enforced on the calls")
		})
		for _, id := range sortedKeys(translated.Resources) {
			typ := translated.Resources[id].Type
			if _, ok := physical[id]; ok {
				continue
			}
			t.Run(id, func(t *testing.T) {
				if c := translated.Resources[id].Condition; c != "" {
					t.Skipf("%s (%s) has Condition %s: not created with this test's parameters", id, typ, c)
				}
				if why, ok := motoGaps[typ]; ok {
					t.Skipf("%s (%s) not created: %s; not checked here (infra/template_test.go checks its template)", id, typ, why)
				}
				t.Errorf("%s (%s) is in the template but create_stack did not create it", id, typ)
			})
		}
	})
	need := func(id string) string {
		t.Helper()
		p := physical[id]
		if p == "" {
			t.Fatalf("the stack has no %s (resources: %v)", id, sortedKeys(physical))
		}
		return p
	}
	out := func(key string) string {
		t.Helper()
		v := outputs[key]
		if v == "" {
			t.Fatalf("the stack has no output %s", key)
		}
		return v
	}
	keyARN := out("CodeKeyArn")
	queueURL, queueARN := out("QueueUrl"), out("QueueArn")
	dlqURL, dlqARN := out("DeadLetterQueueUrl"), out("DeadLetterQueueArn")
	account, region := motoserver.AccountID, motoserver.Region
	tableName := need("IdempotencyTable")
	ingestName, dispatchName := need("IngestFunction"), need("DispatchFunction")

	t.Run("roles", func(t *testing.T) {
		ingest := rolePolicy(ctx, t, iamc, need("IngestRole"), "ingest")
		ingest.require(t, "kms:Decrypt", keyARN, map[string]string{"kms:EncryptionContext:userpool-id": userPoolID})
		ingest.require(t, "kms:GenerateDataKey", keyARN, map[string]string{"kms:EncryptionContext:purpose": "cogmail-envelope"})
		ingest.require(t, "sqs:SendMessage", queueARN, nil)
		ingest.require(t, "sqs:GetQueueAttributes", queueARN, nil) // queue.Publisher.Warm at cold start
		ingest.forbid(t, "ses:SendEmail")

		d := rolePolicy(ctx, t, iamc, need("DispatchRole"), "dispatch")
		d.require(t, "kms:Decrypt", keyARN, map[string]string{"kms:EncryptionContext:purpose": "cogmail-envelope"})
		d.require(t, "ses:SendEmail", fmt.Sprintf("arn:aws:ses:%s:%s:identity/%s", region, account, sesIdentity), nil)
		d.require(t, "sqs:SendMessage", dlqARN, nil)
		for _, a := range []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"} {
			d.require(t, a, queueARN, nil)
		}
		tableARN := fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", region, account, tableName)
		for _, a := range []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"} {
			d.require(t, a, tableARN, nil)
		}
	})

	t.Run("key policy", func(t *testing.T) {
		doc := keyPolicy(ctx, t, moto, keyARN)
		cognito := doc.forPrincipal("cognito-idp.amazonaws.com")
		cognito.require(t, "kms:Encrypt", "*", map[string]string{
			"aws:SourceAccount":                 account,
			"aws:SourceArn":                     fmt.Sprintf("arn:aws:cognito-idp:%s:%s:userpool/%s", region, account, userPoolID),
			"kms:EncryptionContext:userpool-id": userPoolID,
		})
		cognito.forbid(t, "kms:Decrypt")
	})

	t.Run("queue redrive", func(t *testing.T) {
		a, err := sqsc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queueURL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameRedrivePolicy}})
		if err != nil {
			t.Fatal(err)
		}
		var rp struct {
			DeadLetterTargetArn string `json:"deadLetterTargetArn"`
			MaxReceiveCount     any    `json:"maxReceiveCount"`
		}
		raw := a.Attributes[string(sqstypes.QueueAttributeNameRedrivePolicy)]
		if err := json.Unmarshal([]byte(raw), &rp); err != nil {
			t.Fatalf("RedrivePolicy %q: %v", raw, err)
		}
		if want := strconv.Itoa((dispatch.Options{}).MaxReceiveCount()); rp.DeadLetterTargetArn != dlqARN || fmt.Sprint(rp.MaxReceiveCount) != want {
			t.Errorf("RedrivePolicy = %s, want the dead-letter queue %s after %s receives (the retry schedule's)", raw, dlqARN, want)
		}
	})

	// The event source mapping: asserted, then disabled, because moto's own
	// poller would invoke dispatch in docker as soon as ingest enqueues. The
	// test plays the mapping with its settings (eventsource.Poller).
	var batchSize int
	t.Run("event source mapping", func(t *testing.T) {
		m, err := lam.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{FunctionName: aws.String(dispatchName)})
		if err != nil {
			t.Fatal(err)
		}
		var found bool
		for _, e := range m.EventSourceMappings {
			if aws.ToString(e.EventSourceArn) != queueARN {
				continue
			}
			found = true
			if !strings.HasSuffix(aws.ToString(e.FunctionArn), ":function:"+dispatchName) {
				t.Errorf("the mapping of the queue invokes %s, want dispatch (%s)", aws.ToString(e.FunctionArn), dispatchName)
			}
			if !slices.Contains(e.FunctionResponseTypes, "ReportBatchItemFailures") {
				t.Errorf("FunctionResponseTypes = %v: without ReportBatchItemFailures one failed email redelivers the whole batch", e.FunctionResponseTypes)
			}
			batchSize = int(aws.ToInt32(e.BatchSize))
			if _, err := lam.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: e.UUID, Enabled: aws.Bool(false)}); err != nil {
				t.Fatalf("disable moto's own poller: %v", err)
			}
		}
		if !found {
			t.Fatalf("no event source mapping from the queue %s to dispatch (%d mappings on dispatch)", queueARN, len(m.EventSourceMappings))
		}
	})
	if t.Failed() {
		t.FailNow() // nothing below means anything on a stack that is wrong
	}

	// 4. the bootstraps under RIE.
	fnEnv := func(name string) []string {
		c, err := lam.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatalf("GetFunctionConfiguration %s: %v", name, err)
		}
		env := []string{
			// What Lambda sets for every function (RIE adds the rest).
			"AWS_REGION=" + region, "AWS_DEFAULT_REGION=" + region,
			"AWS_LAMBDA_FUNCTION_NAME=" + name,
			fmt.Sprintf("AWS_LAMBDA_FUNCTION_TIMEOUT=%d", aws.ToInt32(c.Timeout)),
			fmt.Sprintf("AWS_LAMBDA_FUNCTION_MEMORY_SIZE=%d", aws.ToInt32(c.MemorySize)),
			"AWS_LAMBDA_LOG_FORMAT=JSON", // the template's LoggingConfig (moto does not keep it)
			// The role's credentials, and moto as every AWS endpoint (the SDK's
			// AWS_ENDPOINT_URL, which both functions' clients honour).
			"AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing",
			"AWS_ENDPOINT_URL=" + moto,
		}
		if c.Environment == nil || len(c.Environment.Variables) == 0 {
			t.Fatalf("%s has no environment", name)
		}
		for _, k := range sortedKeys(c.Environment.Variables) {
			env = append(env, k+"="+c.Environment.Variables[k])
		}
		return env
	}
	bootstrap := func(name string) string {
		return unzipBootstrap(ctx, t, s3c, name+".zip")
	}
	// The SES identity the SesIdentity parameter names is verified, as the
	// operator does before deploying.
	if _, err := sesv2c.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(sesIdentity)}); err != nil {
		t.Fatal(err)
	}
	ingestFn := startRIE(t, rie, "ingest", bootstrap("ingest"), fnEnv(ingestName))
	dispatchFn := startRIE(t, rie, "dispatch", bootstrap("dispatch"), fnEnv(dispatchName))

	// 5. Cognito's event through ingest.
	code := localstack.NewCode(cognito.SignUp)
	enc, err := codecrypt.NewKMSEncrypter(ctx, kmsc, keyARN)
	if err != nil {
		t.Fatal(err)
	}
	ciphertext, err := enc.Encrypt(ctx, code, userPoolID)
	if err != nil {
		t.Fatalf("encrypt under the stack's key: %v", err)
	}
	event, err := localstack.Event(localstack.EventSpec{Trigger: cognito.SignUp, Pool: userPoolID, UserName: "ana", Email: recipient, Locale: "en"}, ciphertext)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ingestFn.invoke(ctx, event); err != nil {
		t.Fatalf("ingest: %v", err)
	}
	// A record dispatch cannot use, beside the real one.
	garbage, err := sqsc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String(`{"not":"a cogmail envelope"}`)})
	if err != nil {
		t.Fatal(err)
	}
	garbageID := aws.ToString(garbage.MessageId)

	var reported []string
	handler := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		payload, err := json.Marshal(ev)
		if err != nil {
			return events.SQSEventResponse{}, err
		}
		body, err := dispatchFn.invoke(ctx, payload)
		if err != nil {
			return events.SQSEventResponse{}, err
		}
		var r events.SQSEventResponse
		if err := json.Unmarshal(body, &r); err != nil {
			return r, fmt.Errorf("dispatch answered %q: %w", body, err)
		}
		for _, f := range r.BatchItemFailures {
			reported = append(reported, f.ItemIdentifier)
		}
		return r, nil
	}
	poller, err := eventsource.NewPoller(sqsc, handler, eventsource.PollerOptions{
		QueueURL: queueURL, QueueARN: queueARN, BatchSize: batchSize, WaitTime: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	received := 0
	for i := 0; received < 2 && i < 10; i++ {
		r, err := poller.Poll(ctx)
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		if r.Received > 0 && r.Deleted+r.Retried != r.Received {
			t.Fatalf("poll %+v: the batch failed as a whole", r)
		}
		received += r.Received
	}
	if received != 2 {
		t.Fatalf("dispatch received %d records from the stack's queue, want 2 (the email and the garbage)", received)
	}

	t.Run("email reached SES", func(t *testing.T) {
		// moto keeps sent messages in its SES backend; its only view of them
		// without docker is the send statistics (/moto-api/data.json fails
		// once a Lambda function exists and docker does not).
		st, err := sesc.GetSendStatistics(ctx, &ses.GetSendStatisticsInput{})
		if err != nil {
			t.Fatal(err)
		}
		var attempts int64
		for _, p := range st.SendDataPoints {
			attempts += p.DeliveryAttempts
		}
		if attempts != 1 {
			t.Errorf("SES counted %d delivery attempts, want 1", attempts)
		}
		var sent bool
		for _, rec := range dispatchFn.logLines() {
			if rec["provider"] == "ses" && rec["message"] == "sent" {
				sent = true
			}
		}
		if !sent {
			t.Errorf("dispatch logged no delivery through ses")
		}
	})
	t.Run("queue empty", func(t *testing.T) {
		a, err := sqsc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queueURL), AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
		if err != nil {
			t.Fatal(err)
		}
		left := a.Attributes["ApproximateNumberOfMessages"] + "/" + a.Attributes["ApproximateNumberOfMessagesNotVisible"]
		want := "0/0"
		if slices.Contains(reported, garbageID) {
			want = "0/1" // the garbage, reported for retry, waits out its visibility timeout
		}
		if left != want {
			t.Errorf("queue holds %s messages (visible/in flight), want %s", left, want)
		}
	})
	t.Run("idempotency record", func(t *testing.T) {
		sc, err := ddb.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(tableName)})
		if err != nil {
			t.Fatal(err)
		}
		var statuses []string
		for _, it := range sc.Items {
			s, _ := it[idempotency.AttrStatus].(*ddbtypes.AttributeValueMemberS)
			if s == nil {
				statuses = append(statuses, "(none)")
				continue
			}
			statuses = append(statuses, s.Value)
		}
		if !slices.Equal(statuses, []string{idempotency.StatusCompleted}) {
			t.Errorf("idempotency table statuses = %v, want one %s", statuses, idempotency.StatusCompleted)
		}
	})
	t.Run("garbage record", func(t *testing.T) {
		if slices.Contains(reported, garbageID) {
			t.Logf("dispatch reported the garbage record %s in batchItemFailures", garbageID)
			return
		}
		m, err := sqsc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(dlqURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Messages) != 1 {
			t.Fatalf("the DLQ holds %d messages, want the garbage record", len(m.Messages))
		}
		reason := aws.ToString(m.Messages[0].MessageAttributes[envelope.AttrReason].StringValue)
		if aws.ToString(m.Messages[0].Body) != `{"not":"a cogmail envelope"}` || reason == "" {
			t.Errorf("DLQ message %q with reason %q, want the garbage with a reason", aws.ToString(m.Messages[0].Body), reason)
		}
		t.Logf("the garbage record was dead-lettered with %s=%s", envelope.AttrReason, reason)
	})
	t.Run("no code in the logs", func(t *testing.T) {
		for _, fn := range []*emulated{ingestFn, dispatchFn} {
			if strings.Contains(fn.output.String(), code) {
				t.Errorf("%s's output holds the code", fn.name)
			}
		}
	})
	// A configuration the function rejects, as Lambda would show it: the
	// reason through the Runtime API's init-error call, not only an exit.
	t.Run("init error shows the reason", func(t *testing.T) {
		var env []string
		for _, kv := range fnEnv(dispatchName) {
			if !strings.HasPrefix(kv, "COGMAIL_SENDER_EMAIL=") {
				env = append(env, kv)
			}
		}
		broken := startRIE(t, rie, "dispatch without COGMAIL_SENDER_EMAIL", bootstrap("dispatch"), env)
		_, err := broken.invoke(ctx, []byte(`{"Records":[]}`))
		var fe *functionError
		if !errors.As(err, &fe) || fe.Type != initerror.TypeConfiguration || !strings.Contains(fe.Message, "COGMAIL_SENDER_EMAIL") {
			t.Errorf("invoke = %v, want %s naming COGMAIL_SENDER_EMAIL", err, initerror.TypeConfiguration)
		}
	})
	t.Run("dispatch log lines carry the request id", func(t *testing.T) {
		lines := dispatchFn.logLines()
		if len(lines) == 0 {
			t.Fatal("dispatch wrote no JSON log line")
		}
		for _, rec := range lines {
			if rec["requestId"] == nil && !coldStartLines[fmt.Sprint(rec["message"])] {
				t.Errorf("log line without requestId: %v", rec)
			}
		}
	})
}

// requireTools returns python3 (with aws-sam-translator) and the path of the
// aws-lambda-rie the module pins (go tool, no download step). Missing tools
// skip the test, or fail it under CI.
func requireTools(t *testing.T, root string) (python, rie string) {
	t.Helper()
	missing := func(what string, err error) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI: %v", what, err)
		}
		t.Skipf("%s not available: %v", what, err)
	}
	if runtime.GOOS != "linux" {
		missing("Linux (aws-lambda-rie runs Linux bootstraps)", errors.New(runtime.GOOS))
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		missing("python3", errNoTool)
	}
	if b, err := exec.Command(python, "-c", "import samtranslator").CombinedOutput(); err != nil {
		missing("aws-sam-translator (pip install aws-sam-translator)", fmt.Errorf("%v: %s", err, b))
	}
	if _, err := exec.LookPath("make"); err != nil {
		missing("make", errNoTool)
	}
	cmd := exec.Command("go", "tool", "-n", "aws-lambda-rie")
	cmd.Dir = root
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("go tool -n aws-lambda-rie (pinned in go.mod): %v", err)
	}
	return python, strings.TrimSpace(string(b))
}

// run runs a command in dir and returns its stdout; it fails the test with
// the output on error.
func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s\n%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	t.Logf("%s %s (%s)", filepath.Base(name), strings.Join(args, " "), time.Since(start).Round(time.Second))
	return stdout.String()
}

func waitForStack(ctx context.Context, t *testing.T, cfn *cloudformation.Client) cfntypes.Stack {
	t.Helper()
	for {
		d, err := cfn.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stackName)})
		if err != nil {
			t.Fatal(err)
		}
		s := d.Stacks[0]
		switch s.StackStatus {
		case cfntypes.StackStatusCreateComplete:
			return s
		case cfntypes.StackStatusCreateInProgress:
		default:
			ev, _ := cfn.DescribeStackEvents(ctx, &cloudformation.DescribeStackEventsInput{StackName: aws.String(stackName)})
			var reasons []string
			if ev != nil {
				for _, e := range ev.StackEvents {
					if r := aws.ToString(e.ResourceStatusReason); r != "" {
						reasons = append(reasons, aws.ToString(e.LogicalResourceId)+": "+r)
					}
				}
			}
			t.Fatalf("stack %s: %s (%s)\n%s", stackName, s.StackStatus, aws.ToString(s.StackStatusReason), strings.Join(reasons, "\n"))
		}
		select {
		case <-ctx.Done():
			t.Fatalf("stack %s: still %s: %v", stackName, s.StackStatus, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// unzipBootstrap fetches a function's zip from moto's S3 (the object its
// Code points at) and returns the bootstrap it holds, written to a temp dir.
func unzipBootstrap(ctx context.Context, t *testing.T, s3c *s3.Client, key string) string {
	t.Helper()
	obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(codeBucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get s3://%s/%s: %v", codeBucket, key, err)
	}
	b, err := io.ReadAll(obj.Body)
	obj.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	for _, f := range zr.File {
		if f.Name != "bootstrap" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		path := filepath.Join(t.TempDir(), "bootstrap")
		w, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o755)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(w, rc); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return path
	}
	t.Fatalf("%s holds no bootstrap", key)
	return ""
}

// policy is a list of IAM statements, read back from moto.
type policy []statement

type statement struct {
	Effect    string
	Principal any
	Action    any
	Resource  any
	Condition map[string]map[string]any
}

func parsePolicy(t *testing.T, doc string) policy {
	t.Helper()
	if d, err := url.QueryUnescape(doc); err == nil && strings.HasPrefix(strings.TrimSpace(d), "{") {
		doc = d // IAM returns policy documents URL-encoded
	}
	if strings.HasPrefix(doc, "{'") {
		// moto 5.2.1 returns the inline policies of a role that
		// CloudFormation created as a Python dict's repr, not JSON.
		t.Logf("moto gap: AWS::IAM::Role inline policy returned as a Python repr; read with ast.literal_eval")
		cmd := exec.Command("python3", "-c", "import ast, json, sys; json.dump(ast.literal_eval(sys.stdin.read()), sys.stdout)")
		cmd.Stdin = strings.NewReader(doc)
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("policy %q: %v", doc, err)
		}
		doc = string(b)
	}
	var p struct{ Statement []statement }
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		t.Fatalf("policy %q: %v", doc, err)
	}
	return p.Statement
}

// keyPolicy reads the key's default policy. moto 5.2.1 answers GetKeyPolicy
// for a key CloudFormation created with the policy as a JSON object where KMS
// sends a string, which the SDK refuses to decode; so the call is made here
// and both shapes are read.
func keyPolicy(ctx context.Context, t *testing.T, moto, keyARN string) policy {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"KeyId": keyARN, "PolicyName": "default"})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, moto, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "TrentService.GetKeyPolicy")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/"+motoserver.Region+"/kms/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Policy json.RawMessage }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GetKeyPolicy: HTTP %d: %v", resp.StatusCode, err)
	}
	doc := string(out.Policy)
	var s string
	if json.Unmarshal(out.Policy, &s) == nil {
		doc = s
	} else {
		t.Logf("moto gap: AWS::KMS::Key policy returned as a JSON object, not a string; read as it is")
	}
	return parsePolicy(t, doc)
}

func rolePolicy(ctx context.Context, t *testing.T, c *iam.Client, role, name string) policy {
	t.Helper()
	p, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(name)})
	if err != nil {
		t.Fatalf("role %s policy %s: %v", role, name, err)
	}
	return parsePolicy(t, aws.ToString(p.PolicyDocument))
}

func (p policy) forPrincipal(service string) policy {
	var out policy
	for _, s := range p {
		if pr, ok := s.Principal.(map[string]any); ok && slices.Contains(list(pr["Service"]), service) {
			out = append(out, s)
		}
	}
	return out
}

// require fails unless an Allow statement grants action on resource, with
// at least the given StringEquals conditions.
func (p policy) require(t *testing.T, action, resource string, conds map[string]string) {
	t.Helper()
	for _, s := range p {
		if s.Effect != "Allow" || !slices.Contains(list(s.Action), action) || !slices.Contains(list(s.Resource), resource) {
			continue
		}
		ok := true
		for k, v := range conds {
			if fmt.Sprint(s.Condition["StringEquals"][k]) != v {
				ok = false
			}
		}
		if ok {
			return
		}
	}
	t.Errorf("no statement allows %s on %s with %v; the policy: %+v", action, resource, conds, p)
}

func (p policy) forbid(t *testing.T, action string) {
	t.Helper()
	for _, s := range p {
		if s.Effect == "Allow" && slices.Contains(list(s.Action), action) {
			t.Errorf("a statement allows %s: %+v", action, s)
		}
	}
}

func list(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
