package sqslocal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cogmail/cogmail/internal/local/sqslocal"
)

// FuzzHandler feeds arbitrary targets and bodies to a server holding a
// queue, its DLQ and a message: it must never panic and must always answer
// 2xx or 4xx with a JSON object.
func FuzzHandler(f *testing.F) {
	const q = `"QueueUrl":"http://localhost/000000000000/fuzz"`
	seeds := []struct{ target, body string }{
		{"AmazonSQS.CreateQueue", `{"QueueName":"q2","Attributes":{"VisibilityTimeout":"5","RedrivePolicy":"{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:000000000000:fuzz-dlq\",\"maxReceiveCount\":\"2\"}"}}`},
		{"AmazonSQS.SendMessage", `{` + q + `,"MessageBody":"hi","DelaySeconds":3,"MessageAttributes":{"b":{"DataType":"Binary","BinaryValue":"AAEC"},"n":{"DataType":"Number","StringValue":"1e3"}}}`},
		{"AmazonSQS.SendMessageBatch", `{` + q + `,"Entries":[{"Id":"a","MessageBody":"x"},{"Id":"a","MessageBody":"y"}]}`},
		{"AmazonSQS.ReceiveMessage", `{` + q + `,"WaitTimeSeconds":1,"VisibilityTimeout":0,"MaxNumberOfMessages":10,"MessageAttributeNames":["All","x.*"],"AttributeNames":["All"]}`},
		{"AmazonSQS.DeleteMessageBatch", `{` + q + `,"Entries":[{"Id":"a","ReceiptHandle":"ZnV6ei94L3k"}]}`},
		{"AmazonSQS.ChangeMessageVisibility", `{` + q + `,"ReceiptHandle":"Zm9vL2Jhci9iYXo","VisibilityTimeout":-1}`},
		{"AmazonSQS.GetQueueAttributes", `{` + q + `,"AttributeNames":["All","Bogus"]}`},
		{"AmazonSQS.SetQueueAttributes", `{` + q + `,"Attributes":{"RedrivePolicy":"{\"deadLetterTargetArn\":\"x\",\"maxReceiveCount\":1e400}"}}`},
		{"AmazonSQS.StartMessageMoveTask", `{"SourceArn":"arn:aws:sqs:us-east-1:000000000000:fuzz-dlq","MaxNumberOfMessagesPerSecond":1}`},
		{"AmazonSQS.ListQueues", `{"MaxResults":1,"NextToken":"!!"}`},
		{"AmazonSQS.PurgeQueue", `{"QueueUrl":"/x/y/z/"}`},
		{"AmazonSQS.Nope", `{`},
		{"", `null`},
	}
	for _, s := range seeds {
		f.Add(s.target, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, target string, body []byte) {
		s := sqslocal.New(sqslocal.Options{})
		defer s.Close()
		for _, setup := range []struct{ target, body string }{
			{"AmazonSQS.CreateQueue", `{"QueueName":"fuzz-dlq"}`},
			{"AmazonSQS.CreateQueue", `{"QueueName":"fuzz","Attributes":{"RedrivePolicy":"{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:000000000000:fuzz-dlq\",\"maxReceiveCount\":1}"}}`},
			{"AmazonSQS.SendMessage", `{` + q + `,"MessageBody":"seed","MessageAttributes":{"x.y":{"DataType":"String","StringValue":"v"}}}`},
		} {
			if code := serve(t, s, context.Background(), setup.target, []byte(setup.body)); code != http.StatusOK {
				t.Fatalf("setup %s: %d", setup.target, code)
			}
		}
		// Long polls end with the request, as when a client goes away.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		serve(t, s, ctx, target, body)
	})
}

func serve(t *testing.T, h http.Handler, ctx context.Context, target string, body []byte) int {
	t.Helper()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "http://localhost/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", target)
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK && (rec.Code < 400 || rec.Code > 499) {
		t.Fatalf("%q %q: status %d", target, body, rec.Code)
	}
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%q %q: response is not a JSON object: %q", target, body, rec.Body.Bytes())
	}
	if rec.Code != http.StatusOK {
		typ, _ := out["__type"].(string)
		msg, _ := out["message"].(string)
		if !strings.HasPrefix(typ, "com.amazonaws.sqs#") || msg == "" || rec.Header().Get("x-amzn-query-error") == "" {
			t.Fatalf("%q %q: error response %d %v", target, body, rec.Code, out)
		}
	}
	return rec.Code
}
