// Package localstack assembles cogmail's local stack: the AWS emulators on
// one loopback listener and the real function handlers wired to them through
// the real AWS SDK clients, exactly as they are wired in AWS. `cogmail local`
// (and so `make run`) runs it; tests use it too.
package localstack

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/cogmail/cogmail/functions/ingest/ingestwire"
	"github.com/cogmail/cogmail/internal/local/awslocal"
	"github.com/cogmail/cogmail/internal/local/kmslocal"
	"github.com/cogmail/cogmail/internal/local/sqslocal"
	"github.com/cogmail/cogmail/internal/local/ssmlocal"
	"github.com/cogmail/cogmail/pkg/awsclient"
	"github.com/cogmail/cogmail/pkg/codecrypt"
	"github.com/cogmail/cogmail/pkg/config"
	"github.com/cogmail/cogmail/pkg/dispatch"
	"github.com/cogmail/cogmail/pkg/ingest"
	"github.com/cogmail/cogmail/pkg/metrics"
)

// Queue names the stack creates.
const (
	QueueName = "cogmail-emails"
	DLQName   = "cogmail-emails-dlq"
	// IngestFailureQueueName plays the ingest function's on-failure
	// destination: failed Event invocations land there.
	IngestFailureQueueName = "cogmail-ingest-failures"
)

// MaxReceiveCount is the queue's maxReceiveCount and dispatch's
// COGMAIL_MAX_RECEIVES: the number the stack in infra/ uses, derived from
// dispatch's default retry schedule (a day at a 5 min cap, plus a reserve).
var MaxReceiveCount = dispatch.Options{}.MaxReceiveCount()

// Options configure the stack. The zero value runs on embedded defaults:
// 127.0.0.1 on a free port, a generated KMS key in local-kms.
type Options struct {
	Addr string // listen address, default "127.0.0.1:0"

	KMSSeed    []byte // local-kms seed (YAML); default: one generated key
	KMSAccount string // default 111122223333
	KMSRegion  string // default us-east-1
	KMSKeyARN  string // the code key; default the seed's first key

	// AES selects the raw-AES keyring for codes instead of KMS.
	AES *codecrypt.RawAESKey

	// BrandsFile is a brand document (YAML or JSON, docs/brands.md): each
	// app client gets its brand. Ingest reads it as COGMAIL_BRANDS_FILE and
	// the routing parameter carries it for dispatch's provider orders.
	BrandsFile string

	// UserPoolIDs, when set, are the only pools whose events ingest takes
	// (COGMAIL_USER_POOL_IDS); the samples then use the first. Default: any.
	UserPoolIDs []string

	// Env adds or overrides ingest settings (COGMAIL_* variables).
	Env map[string]string

	Logger  *slog.Logger // the functions' logs, each line with a "function" attribute; default discarded
	Metrics io.Writer    // the functions' EMF lines; default discarded

	// Providers is the initial routing in COGMAIL_PROVIDERS form
	// (default DefaultProviders); `cogmail providers set` changes it live.
	Providers string
	// Faults injects provider failures (`--fail sendgrid=0.5,mailgun=429`).
	Faults map[string]Fault
	// DispatchEnv adds or overrides dispatch settings.
	DispatchEnv map[string]string

	// SendGridWebhookPublicKey (base64 DER, as SendGrid shows it) and
	// MailgunWebhookSigningKey turn on POST /webhooks/sendgrid and
	// /webhooks/mailgun, which run the real events handler.
	SendGridWebhookPublicKey string
	MailgunWebhookSigningKey string
	// RecipientLimit is the per-address limit, "N/DURATION" ("3/1h");
	// default off, so the samples and tests that mail one address often
	// are not throttled.
	RecipientLimit string
}

// Stack is a running local stack.
type Stack struct {
	URL       string // the one endpoint for every emulator
	Region    string
	KMSKeyARN string
	QueueURL  string
	DLQURL    string
	// IngestFailureQueueURL receives failed Event invocations of ingest.
	IngestFailureQueueURL string

	KMS       *kmslocal.Server
	SQS       *sqslocal.Server
	SSM       *ssmlocal.Server
	SQSClient *sqs.Client
	KMSClient *kms.Client
	Ingest    *ingest.Handler
	Encrypter *codecrypt.Encrypter // encrypts sample codes as Cognito would
	// Mux serves everything that is not an AWS JSON request: the Lambda
	// Invoke API for ingest, and the pages and APIs added to it.
	Mux *http.ServeMux

	SSMClient *ssm.Client
	Dispatch  *dispatch.Handler

	srv       *http.Server
	providers *providers
	rep       *reputation
	observer  *failoverObserver
	timeline  *timeline
	inbox     *inbox
	log       *slog.Logger // the functions' logger, for the Invoke API's own lines
	// samplePool is the pool of the sample events: SamplePool, or the
	// first of Options.UserPoolIDs.
	samplePool string
	// ingestEnv and dispatchEnv are the environments the functions were
	// built from, published by Wiring.
	ingestEnv, dispatchEnv map[string]string
	failed                 failedInvocations
	stop                   context.CancelFunc
	wg                     sync.WaitGroup
}

// Start brings the stack up.
func Start(ctx context.Context, o Options) (_ *Stack, err error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Stack{timeline: newTimeline(), log: o.Logger, samplePool: SamplePool}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	s.KMS, err = kmslocal.New(kmslocal.Options{AccountID: o.KMSAccount, Region: o.KMSRegion, Seed: o.KMSSeed})
	if err != nil {
		return nil, err
	}
	s.Region = s.KMS.Region()
	s.KMSKeyARN = o.KMSKeyARN
	if s.KMSKeyARN == "" {
		s.KMSKeyARN = s.KMS.KeyARN()
	}
	s.SQS = sqslocal.New(sqslocal.Options{AccountID: s.KMS.AccountID(), Region: s.Region})

	s.Mux = http.NewServeMux()
	s.Mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", s.invokeHandler)
	router := &awslocal.Router{Fallback: s.Mux}
	router.Handle("TrentService.", s.KMS.Handler())
	router.Handle("AmazonSQS.", s.SQS)
	s.SSM = ssmlocal.New(ssmlocal.Options{AccountID: s.KMS.AccountID(), Region: s.Region})
	router.Handle("AmazonSSM.", s.SSM)
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("localstack: listen %s: %w", o.Addr, err)
	}
	tcp, ok := ln.Addr().(*net.TCPAddr)
	if !ok || !tcp.IP.IsLoopback() {
		_ = ln.Close()
		return nil, fmt.Errorf("localstack: %s is not a loopback address; the local stack listens on 127.0.0.1 only", o.Addr)
	}
	s.URL = "http://" + ln.Addr().String()
	// Loopback is not enough: a page in the user's browser can reach it too
	// (DNS rebinding, cross-origin POSTs). OwnOrigin keeps pages out.
	s.srv = &http.Server{Handler: awslocal.OwnOrigin(tcp, router), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()

	awsCfg := awsclient.Config(s.Region, credentials.NewStaticCredentialsProvider("local", "local", ""))
	s.SQSClient = sqs.NewFromConfig(awsCfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(s.URL) })
	s.KMSClient = kms.NewFromConfig(awsCfg, func(o *kms.Options) { o.BaseEndpoint = aws.String(s.URL) })

	if err := s.createQueues(ctx); err != nil {
		return nil, err
	}

	env := map[string]string{
		"COGMAIL_QUEUE_URL":    s.QueueURL,
		"COGMAIL_KEYRING":      string(config.KeyringKMS),
		"COGMAIL_KMS_KEY_ARN":  s.KMSKeyARN,
		"COGMAIL_SEAL_KEY_ID":  s.KMSKeyARN,
		"COGMAIL_PRODUCT_NAME": "cogmail local",
	}
	if o.AES != nil {
		env["COGMAIL_KEYRING"] = string(config.KeyringRawAES)
		env["COGMAIL_AES_KEY_HEX"] = hex.EncodeToString(o.AES.Key)
		env["COGMAIL_AES_KEY_NAMESPACE"] = o.AES.Namespace
		env["COGMAIL_AES_KEY_NAME"] = o.AES.Name
	}
	if o.BrandsFile != "" {
		env["COGMAIL_BRANDS_FILE"] = o.BrandsFile
	}
	if len(o.UserPoolIDs) > 0 {
		env["COGMAIL_USER_POOL_IDS"] = strings.Join(o.UserPoolIDs, ",")
		s.samplePool = o.UserPoolIDs[0]
	}
	for k, v := range o.Env {
		env[k] = v
	}
	s.ingestEnv = env
	cfg, err := config.LoadIngest(func(k string) string { return env[k] })
	if err != nil {
		return nil, err
	}
	ingestLog := slog.New(&timelineHandler{tl: s.timeline, function: "ingest", next: o.Logger.Handler().WithAttrs([]slog.Attr{slog.String("function", "ingest")})})
	s.Ingest, err = ingestwire.Build(ctx, cfg, ingestwire.Clients{KMS: s.KMSClient, SQS: s.SQSClient}, ingestLog, metrics.New(o.Metrics, "ingest", nil))
	if err != nil {
		return nil, err
	}
	if err := s.startReputation(ctx, o, o.Logger); err != nil {
		return nil, err
	}
	if err := s.startDispatch(ctx, o); err != nil {
		return nil, err
	}
	s.routes()
	s.reputationRoutes()
	if o.AES != nil {
		s.Encrypter, err = codecrypt.NewRawAESEncrypter(ctx, *o.AES)
	} else {
		s.Encrypter, err = codecrypt.NewKMSEncrypter(ctx, s.KMSClient, s.KMSKeyARN)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Stack) createQueues(ctx context.Context) error {
	dlq, err := s.SQSClient.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(DLQName),
		Attributes: map[string]string{"MessageRetentionPeriod": "1209600"}})
	if err != nil {
		return fmt.Errorf("localstack: create DLQ: %w", err)
	}
	s.DLQURL = aws.ToString(dlq.QueueUrl)
	attrs, err := s.SQSClient.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: dlq.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return fmt.Errorf("localstack: DLQ arn: %w", err)
	}
	q, err := s.SQSClient.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(QueueName), Attributes: map[string]string{
		"VisibilityTimeout": "180",
		"RedrivePolicy":     fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":%d}`, attrs.Attributes["QueueArn"], MaxReceiveCount),
	}})
	if err != nil {
		return fmt.Errorf("localstack: create queue: %w", err)
	}
	s.QueueURL = aws.ToString(q.QueueUrl)
	f, err := s.SQSClient.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(IngestFailureQueueName),
		Attributes: map[string]string{"MessageRetentionPeriod": "1209600"}})
	if err != nil {
		return fmt.Errorf("localstack: create the ingest failure queue: %w", err)
	}
	s.IngestFailureQueueURL = aws.ToString(f.QueueUrl)
	return nil
}

// Exports are the shell lines that point AWS clients at the stack.
func (s *Stack) Exports() []string {
	return []string{
		"export AWS_ENDPOINT_URL_KMS=" + s.URL,
		"export AWS_ENDPOINT_URL_SQS=" + s.URL,
		"export AWS_ENDPOINT_URL_SSM=" + s.URL,
		"export AWS_REGION=" + s.Region,
		"export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local",
		"export COGMAIL_QUEUE_URL=" + s.QueueURL,
		"export COGMAIL_DLQ_URL=" + s.DLQURL,
		"export COGMAIL_KMS_KEY_ARN=" + s.KMSKeyARN,
	}
}

// Close stops the listener and the emulators.
func (s *Stack) Close() error {
	var errs []error
	if s.stop != nil {
		s.stop()
		s.wg.Wait()
	}
	if s.providers != nil {
		s.providers.close()
	}
	if s.srv != nil {
		errs = append(errs, s.srv.Close())
	}
	if s.SQS != nil {
		errs = append(errs, s.SQS.Close())
	}
	if s.KMS != nil {
		errs = append(errs, s.KMS.Close())
	}
	return errors.Join(errs...)
}
