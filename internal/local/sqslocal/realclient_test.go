package sqslocal_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/cogmail/cogmail/internal/local/sqslocal"
)

// boto3Phase runs one step of TestSQSLimitsWithBoto3 in boto3: between
// steps the test moves the endpoint's clock. Each call's outcome is "ok",
// a value, or the error as boto3 reports it: the exception class boto3
// matched (client.exceptions.X) and the code.
const boto3Phase = `
import json, sys, boto3
from botocore.config import Config
c = boto3.client("sqs", endpoint_url=sys.argv[1], region_name="us-east-1",
    aws_access_key_id="local", aws_secret_access_key="local", config=Config(retries={"max_attempts": 1}))
phase, state = sys.argv[2], json.loads(sys.argv[3])
out = {}
def call(name, fn):
    try:
        out[name] = fn()
    except c.exceptions.ClientError as e:
        known = [n for n in ("PurgeQueueInProgress", "InvalidAttributeValue") if isinstance(e, getattr(c.exceptions, n))]
        out[name] = {"error": e.response["Error"]["Code"], "class": known[0] if known else type(e).__name__}
if phase == "create":
    call("create 1 MiB", lambda: bool(c.create_queue(QueueName="big", Attributes={"MaximumMessageSize": "1048576"})["QueueUrl"]))
    q = c.create_queue(QueueName="big")["QueueUrl"]  # so the other checks run even if that failed
    out["url"] = q
    call("size", lambda: c.get_queue_attributes(QueueUrl=q, AttributeNames=["MaximumMessageSize"])["Attributes"]["MaximumMessageSize"])
    call("create over 1 MiB", lambda: c.create_queue(QueueName="bigger", Attributes={"MaximumMessageSize": "1048577"}))
    call("send 1 MiB", lambda: bool(c.send_message(QueueUrl=q, MessageBody="x" * 1048576)["MessageId"]))
    call("send 1 MiB + 1", lambda: c.send_message(QueueUrl=q, MessageBody="x" * 1048577))
    def recv():
        ms = c.receive_message(QueueUrl=q, VisibilityTimeout=43200).get("Messages")
        if not ms:  # the 1 MiB send failed: a small one, so the visibility check still runs
            c.send_message(QueueUrl=q, MessageBody="small")
            ms = c.receive_message(QueueUrl=q, VisibilityTimeout=43200)["Messages"]
        m = ms[0]
        out["receipt"] = m["ReceiptHandle"]
        return len(m["Body"])
    call("receive", recv)
    call("visibility 12 h at receipt", lambda: c.change_message_visibility(QueueUrl=q, ReceiptHandle=out["receipt"], VisibilityTimeout=43200) and "ok")
    call("purge", lambda: c.purge_queue(QueueUrl=q) and "ok")
    call("purge again", lambda: c.purge_queue(QueueUrl=q) and "ok")
elif phase == "later":
    q = state["url"]
    call("purge", lambda: c.purge_queue(QueueUrl=q) and "ok")
    call("send", lambda: bool(c.send_message(QueueUrl=q, MessageBody="later")["MessageId"]))
    def recv():
        out["receipt"] = c.receive_message(QueueUrl=q, VisibilityTimeout=43200)["Messages"][0]["ReceiptHandle"]
        return "ok"
    call("receive", recv)
elif phase == "visibility":
    q, r = state["url"], state["receipt"]
    call("past 12 h from receipt", lambda: c.change_message_visibility(QueueUrl=q, ReceiptHandle=r, VisibilityTimeout=43200) and "ok")
    call("up to 12 h from receipt", lambda: c.change_message_visibility(QueueUrl=q, ReceiptHandle=r, VisibilityTimeout=43200 - 3600) and "ok")
print(json.dumps(out))
`

// TestSQSLimitsWithBoto3: where the endpoint once differed from SQS, boto3
// now sees what SQS answers: MaximumMessageSize up to 1 MiB (and a 1 MiB
// message sent and received), PurgeQueueInProgress for a second purge
// within 60 s, and no visibility timeout past 12 hours from the receive.
// The clock is the endpoint's injected one: nothing waits.
func TestSQSLimitsWithBoto3(t *testing.T) {
	py := requireBoto3(t)
	clk := newClock()
	url := startLocal(t, sqslocal.Options{Now: clk.Now})
	dir := t.TempDir()
	state := map[string]any{}
	phase := func(name string) map[string]any {
		t.Helper()
		st, _ := json.Marshal(state)
		cmd := exec.Command(py, "-c", boto3Phase, url, name, string(st))
		cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE="+filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "none"))
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, stderr.String())
		}
		var out map[string]any
		if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
			t.Fatalf("%s: %v: %s", name, err, stdout.String())
		}
		for _, k := range []string{"url", "receipt"} {
			if v, ok := out[k]; ok {
				state[k] = v
				delete(out, k)
			}
		}
		return out
	}
	check := func(name string, got, want map[string]any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %v\nwant %v", name, got, want)
		}
	}
	inProgress := map[string]any{"error": "AWS.SimpleQueueService.PurgeQueueInProgress", "class": "PurgeQueueInProgress"}
	check("create", phase("create"), map[string]any{
		"create 1 MiB":               true,
		"size":                       "1048576",
		"create over 1 MiB":          map[string]any{"error": "InvalidAttributeValue", "class": "InvalidAttributeValue"},
		"send 1 MiB":                 true,
		"send 1 MiB + 1":             map[string]any{"error": "InvalidParameterValue", "class": "ClientError"},
		"receive":                    float64(1 << 20),
		"visibility 12 h at receipt": "ok",
		"purge":                      "ok",
		"purge again":                inProgress,
	})
	clk.Add(59 * time.Second)
	check("59 s later", phase("later"), map[string]any{"purge": inProgress, "send": true, "receive": "ok"})
	clk.Add(time.Second)
	check("60 s later", phase("later"), map[string]any{"purge": "ok", "send": true, "receive": "ok"})
	clk.Add(time.Hour)
	check("an hour after the receive", phase("visibility"), map[string]any{
		"past 12 h from receipt":  map[string]any{"error": "InvalidParameterValue", "class": "ClientError"},
		"up to 12 h from receipt": "ok",
	})
}

// requireBoto3 returns python3 when it has boto3: installed on the
// project's machines and CI (required there), skipped elsewhere.
func requireBoto3(t *testing.T) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err == nil && exec.Command(py, "-c", "import boto3").Run() == nil {
		return py
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("python3 with boto3 is required under CI (pip install boto3)")
	}
	t.Skip("python3 with boto3 not installed (pip install boto3): this check needs it")
	return ""
}
