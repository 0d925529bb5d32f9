package localstack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/cogmail/cogmail/internal/local/localstack"
	"github.com/cogmail/cogmail/pkg/cognito"
)

// invokeStack is a local stack and a valid event for its ingest function.
func invokeStack(t *testing.T) (*localstack.Stack, []byte) {
	t.Helper()
	ctx := context.Background()
	s, err := localstack.Start(ctx, localstack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ct, err := s.Encrypter.Encrypt(ctx, "654321", localstack.SamplePool)
	if err != nil {
		t.Fatal(err)
	}
	good, err := localstack.Event(localstack.EventSpec{Trigger: cognito.ForgotPassword, Pool: localstack.SamplePool, UserName: "u", Email: "u@example.com"}, ct)
	if err != nil {
		t.Fatal(err)
	}
	return s, good
}

// The Invoke API answers as Lambda does, by invocation type, function name
// form and payload size (raw HTTP; the real clients are below).
func TestInvokeAPIBehavesLikeLambda(t *testing.T) {
	s, good := invokeStack(t)
	arn := "arn:aws:lambda:" + s.Region + ":" + s.KMS.AccountID() + ":function:ingest"
	partial := s.KMS.AccountID() + ":function:ingest"
	big := func(n int) string { return `{"pad":"` + strings.Repeat("x", n) + `"}` }
	cases := []struct {
		name, fn, typ, body string
		status              int
		errType             string // x-amzn-ErrorType
		funcErr             bool
		want                string
	}{
		{"by name", "ingest", "", string(good), 200, "", false, `"trigger":"CustomEmailSender_ForgotPassword"`},
		{"by ARN", arn, "RequestResponse", string(good), 200, "", false, `"trigger"`},
		{"by partial ARN", partial, "", string(good), 200, "", false, `"trigger"`},
		{"$LATEST", "ingest:$LATEST", "", string(good), 200, "", false, `"trigger"`},
		{"alias", arn + ":live", "", string(good), 200, "", false, `"trigger"`},
		{"?Qualifier=", "ingest?Qualifier=live", "", string(good), 200, "", false, `"trigger"`},
		{"function error", "ingest", "", `{"triggerSource":"nope"}`, 200, "", true, `"errorType":"ingest.parse"`},
		{"dry run", "ingest", "DryRun", string(good), 204, "", false, ""},
		{"event", "ingest", "Event", string(good), 202, "", false, ""},
		{"unknown function", "dispatch2", "", string(good), 404, "ResourceNotFoundException", false, "Function not found"},
		{"unknown alias", "ingest:prod", "", string(good), 404, "ResourceNotFoundException", false, "Function not found"},
		{"another account", "999999999999:function:ingest", "", string(good), 404, "ResourceNotFoundException", false, "Function not found"},
		{"bad invocation type", "ingest", "Later", string(good), 400, "InvalidParameterValueException", false, "invocationType"},
		{"sync over 6 MB", "ingest", "", big(6<<20 + 1), 413, "RequestEntityTooLargeException", false, "6291456 bytes"},
		{"sync at 6 MB is read", "ingest", "", big(6<<20 - 20), 200, "", true, "errorMessage"},
		{"event over 256 KB", "ingest", "Event", big(256<<10 + 1), 413, "RequestEntityTooLargeException", false, "262144 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path, query, _ := strings.Cut(tc.fn, "?")
			u := s.URL + "/2015-03-31/functions/" + strings.ReplaceAll(path, "$", "%24") + "/invocations"
			if query != "" {
				u += "?" + query
			}
			req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(tc.body))
			if tc.typ != "" {
				req.Header.Set("X-Amz-Invocation-Type", tc.typ)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("no answer (a reset connection?): %v", err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || resp.Header.Get("x-amzn-ErrorType") != tc.errType ||
				(resp.Header.Get("X-Amz-Function-Error") != "") != tc.funcErr || !strings.Contains(string(b), tc.want) {
				t.Errorf("got %d %q %q %.200s", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), resp.Header.Get("X-Amz-Function-Error"), b)
			}
			if tc.errType != "" {
				var shape struct{ Type, Message string }
				if err := json.Unmarshal(b, &shape); err != nil || shape.Type != "User" || shape.Message == "" {
					t.Errorf("not Lambda's error shape: %s", b)
				}
			}
			if strings.Contains(string(b), "654321") {
				t.Error("the response carries the code")
			}
		})
	}
}

// An Event invocation that fails is accepted (202) all the same; the event
// lands on the ingest failure queue as a Lambda destination record, and the
// logs say so.
func TestFailedEventGoesToTheFailureDestination(t *testing.T) {
	var logs syncBuf
	ctx := context.Background()
	s, err := localstack.Start(ctx, localstack.Options{Logger: newJSONLogger(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/2015-03-31/functions/ingest/invocations", strings.NewReader(`{"triggerSource":"nope"}`))
	req.Header.Set("X-Amz-Invocation-Type", "Event")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d, want 202", resp.StatusCode)
	}
	out, err := s.SQSClient.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.IngestFailureQueueURL), WaitTimeSeconds: 10})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("failure queue: %v, %d messages", err, len(out.Messages))
	}
	var rec struct {
		RequestContext struct {
			Condition   string `json:"condition"`
			FunctionArn string `json:"functionArn"`
		} `json:"requestContext"`
		RequestPayload  map[string]any    `json:"requestPayload"`
		ResponsePayload map[string]string `json:"responsePayload"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.Messages[0].Body)), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.RequestContext.Condition != "RetriesExhausted" || !strings.HasSuffix(rec.RequestContext.FunctionArn, ":function:ingest") ||
		rec.RequestPayload["triggerSource"] != "nope" || rec.ResponsePayload["errorType"] != "ingest.parse" {
		t.Errorf("destination record = %+v", rec)
	}
	if !strings.Contains(logs.String(), "on-failure destination") || !strings.Contains(logs.String(), localstack.IngestFailureQueueName) {
		t.Errorf("no log line for the failed event:\n%s", logs.String())
	}
	// The inbox and its JSON show the failure too.
	var failed []localstack.FailedInvocation
	getJSON(t, s.URL+"/api/invocations/failed", &failed)
	if len(failed) != 1 || failed[0].ErrorType != "ingest.parse" || failed[0].Destination != localstack.IngestFailureQueueName {
		t.Errorf("GET /api/invocations/failed = %+v", failed)
	}
	page := getText(t, s.URL+"/")
	if !strings.Contains(page, "Event invocation failed") || !strings.Contains(page, "ingest.parse") || !strings.Contains(page, localstack.IngestFailureQueueName) {
		t.Errorf("the inbox does not show the failed invocation:\n%s", page)
	}
}

// The real clients: aws CLI v1 and boto3 see what Lambda would answer.
// Both are installed on the project's machines and CI.
func TestInvokeWithRealClients(t *testing.T) {
	s, good := invokeStack(t)
	dir := t.TempDir()
	event := filepath.Join(dir, "event.json")
	if err := os.WriteFile(event, good, 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local", "AWS_DEFAULT_REGION="+s.Region,
		"AWS_REGION="+s.Region, "AWS_CONFIG_FILE="+filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "none"))
	arn := "arn:aws:lambda:" + s.Region + ":" + s.KMS.AccountID() + ":function:ingest"
	huge := filepath.Join(dir, "huge.json")
	if err := os.WriteFile(huge, bytes.Repeat([]byte("x"), 7<<20), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("aws CLI", func(t *testing.T) {
		bin, err := exec.LookPath("aws")
		if err != nil {
			requireTool(t, "aws CLI (pip install awscli)")
		}
		cli := func(args ...string) (string, error) {
			cmd := exec.Command(bin, append([]string{"lambda", "invoke", "--endpoint-url", s.URL}, args...)...)
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		cases := []struct {
			name string
			args []string
			ok   bool
			want string
		}{
			{"sync by name", []string{"--function-name", "ingest", "--payload", "fileb://" + event}, true, `"StatusCode": 200`},
			{"sync by ARN and alias", []string{"--function-name", arn + ":live", "--payload", "fileb://" + event}, true, `"StatusCode": 200`},
			{"qualifier flag", []string{"--function-name", "ingest", "--qualifier", "$LATEST", "--payload", "fileb://" + event}, true, `"StatusCode": 200`},
			{"dry run", []string{"--function-name", "ingest", "--invocation-type", "DryRun", "--payload", "fileb://" + event}, true, `"StatusCode": 204`},
			{"event", []string{"--function-name", "ingest", "--invocation-type", "Event", "--payload", "fileb://" + event}, true, `"StatusCode": 202`},
			{"function error", []string{"--function-name", "ingest", "--payload", `{"triggerSource":"nope"}`}, true, `"FunctionError": "Unhandled"`},
			{"unknown function", []string{"--function-name", "nope", "--payload", "fileb://" + event}, false, "ResourceNotFoundException"},
			{"over 6 MB", []string{"--function-name", "ingest", "--payload", "fileb://" + huge}, false, "RequestEntityTooLargeException"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				out, err := cli(append(tc.args, filepath.Join(dir, "out.json"))...)
				if (err == nil) != tc.ok || !strings.Contains(out, tc.want) {
					t.Errorf("err %v; output lacks %q:\n%s", err, tc.want, out)
				}
			})
		}
	})

	t.Run("boto3", func(t *testing.T) {
		py, err := exec.LookPath("python3")
		if err != nil || exec.Command(py, "-c", "import boto3").Run() != nil {
			requireTool(t, "python3 with boto3 (pip install boto3)")
		}
		script := `
import json, sys, boto3
from botocore.config import Config
c = boto3.client("lambda", endpoint_url=sys.argv[1], config=Config(retries={"max_attempts": 1}))
ev = open(sys.argv[2], "rb").read()
out = {}
def call(name, **kw):
    try:
        r = c.invoke(**kw)
        out[name] = {"status": r["StatusCode"], "functionError": r.get("FunctionError", "")}
    except c.exceptions.ClientError as e:
        out[name] = {"error": e.response["Error"]["Code"], "status": e.response["ResponseMetadata"]["HTTPStatusCode"]}
    except Exception as e:
        out[name] = {"error": type(e).__name__ + ": " + str(e)}
call("sync", FunctionName="ingest", Payload=ev)
call("partial", FunctionName=sys.argv[3] + ":function:ingest:$LATEST", Payload=ev)
call("dryrun", FunctionName="ingest", InvocationType="DryRun", Payload=ev)
call("event", FunctionName="ingest", InvocationType="Event", Payload=ev)
call("eventfails", FunctionName="ingest", InvocationType="Event", Payload=b'{"triggerSource":"nope"}')
call("unknown", FunctionName="nope", Payload=ev)
call("toolarge", FunctionName="ingest", InvocationType="Event", Payload=b"x" * (256 * 1024 + 1))
print(json.dumps(out))
`
		cmd := exec.Command(py, "-c", script, s.URL, event, s.KMS.AccountID())
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%v\n%s", err, stderr.String())
		}
		var got map[string]map[string]any
		if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
			t.Fatalf("%v: %s", err, stdout.String())
		}
		want := map[string]map[string]any{
			"sync":       {"status": 200.0, "functionError": ""},
			"partial":    {"status": 200.0, "functionError": ""},
			"dryrun":     {"status": 204.0, "functionError": ""},
			"event":      {"status": 202.0, "functionError": ""},
			"eventfails": {"status": 202.0, "functionError": ""},
			"unknown":    {"error": "ResourceNotFoundException", "status": 404.0},
			"toolarge":   {"error": "RequestEntityTooLargeException", "status": 413.0},
		}
		for k, w := range want {
			g, _ := json.Marshal(got[k])
			ww, _ := json.Marshal(w)
			if string(g) != string(ww) {
				t.Errorf("%s: got %s, want %s", k, g, ww)
			}
		}
		// The failed Event went to the failure destination.
		out, err := s.SQSClient.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(s.IngestFailureQueueURL), WaitTimeSeconds: 10})
		if err != nil || len(out.Messages) == 0 {
			t.Errorf("the failed Event invocation did not reach the ingest failure queue (%v)", err)
		}
	})
}

// requireTool skips where a real client is missing, except under CI, where
// it must be there.
func requireTool(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required under CI", what)
	}
	t.Skipf("%s not installed: this check needs it", what)
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func newJSONLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }
