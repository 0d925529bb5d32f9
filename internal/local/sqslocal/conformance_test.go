package sqslocal_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/cogmail/cogmail/internal/local/sqslocal"
	"github.com/cogmail/cogmail/internal/testkit/motoserver"
)

// The conformance suite runs the same cases against sqslocal and against
// moto_server, the reference emulator: where they agree, the local stack
// behaves as the code under test will see SQS behave.
//
// Waits are real (moto has no clock to move); visibility timeouts stay at
// one second, moto's granularity.

func TestConformance(t *testing.T) {
	t.Run("sqslocal", func(t *testing.T) {
		runConformance(t, newClient(startLocal(t, sqslocal.Options{})))
	})
	t.Run("moto", func(t *testing.T) {
		runConformance(t, newClient(motoserver.Shared(t)))
	})
}

// conformanceCases are the behaviours both endpoints must share.
var conformanceCases = []struct {
	name string
	run  func(t *testing.T, c *sqs.Client)
}{
	{"CreateQueueIsIdempotent", testCreateQueueIsIdempotent},
	{"MissingQueue", testMissingQueue},
	{"ListQueuesByPrefix", testListQueuesByPrefix},
	{"DeleteQueue", testDeleteQueue},
	{"QueueAttributes", testQueueAttributes},
	{"SendReceiveAttributesAndMD5", testSendReceiveAttributesAndMD5},
	{"ReceiveCountAndPerRequestVisibility", testReceiveCountAndVisibility},
	{"RedriveAfterMaxReceiveCount", testRedrive},
	{"BatchPartialFailures", testBatchPartialFailures},
	{"BatchRequestErrors", testBatchRequestErrors},
	{"DeleteMessage", testDeleteMessage},
	{"DeleteWithOutdatedHandleSucceeds", testDeleteWithOutdatedHandle},
	{"ChangeVisibilityToZero", testChangeVisibilityToZero},
	{"PurgeQueue", testPurgeQueue},
	{"DelayedMessage", testDelayedMessage},
	{"LongPollWakesOnSend", testLongPollWakesOnSend},
	{"LongPollEmpty", testLongPollEmpty},
	{"ReceiveParameterLimits", testReceiveParameterLimits},
	{"MaxNumberOfMessages", testMaxNumberOfMessages},
}

func runConformance(t *testing.T, c *sqs.Client) {
	for _, tc := range conformanceCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, c)
		})
	}
}

// --- helpers shared by every test file ---

func startLocal(t testing.TB, opts sqslocal.Options) string {
	t.Helper()
	s := sqslocal.New(opts)
	url, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return url
}

func newClient(url string) *sqs.Client {
	return sqs.NewFromConfig(motoserver.Config(), func(o *sqs.Options) { o.BaseEndpoint = aws.String(url) })
}

var (
	runTag  = strconv.FormatInt(time.Now().UnixNano()%1e10, 36)
	nameSeq atomic.Int64
)

// uniqueName keeps queue names distinct within the shared moto_server,
// across cases and across -count runs.
func uniqueName(base string) string {
	return fmt.Sprintf("%s-%s-%d", base, runTag, nameSeq.Add(1))
}

// createQueue makes a fresh queue and returns its URL and ARN.
func createQueue(t testing.TB, c *sqs.Client, base string, attrs map[string]string) (string, string) {
	t.Helper()
	ctx := context.Background()
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(uniqueName(base)), Attributes: attrs})
	if err != nil {
		t.Fatalf("CreateQueue %s: %v", base, err)
	}
	url := aws.ToString(out.QueueUrl)
	return url, queueAttrs(t, c, url, "QueueArn")["QueueArn"]
}

func queueAttrs(t testing.TB, c *sqs.Client, url string, names ...types.QueueAttributeName) map[string]string {
	t.Helper()
	out, err := c.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: names})
	if err != nil {
		t.Fatalf("GetQueueAttributes %v: %v", names, err)
	}
	return out.Attributes
}

// wantCounts checks the approximate counts (visible, in flight, delayed).
func wantCounts(t *testing.T, c *sqs.Client, url string, visible, inFlight, delayed int) {
	t.Helper()
	got := queueAttrs(t, c, url, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed")
	want := map[string]string{
		"ApproximateNumberOfMessages":           strconv.Itoa(visible),
		"ApproximateNumberOfMessagesNotVisible": strconv.Itoa(inFlight),
		"ApproximateNumberOfMessagesDelayed":    strconv.Itoa(delayed),
	}
	if !maps.Equal(got, want) {
		t.Fatalf("counts = %v, want %v", got, want)
	}
}

func send(t testing.TB, c *sqs.Client, url, body string) *sqs.SendMessageOutput {
	t.Helper()
	out, err := c.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)})
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	return out
}

func receive(t testing.TB, c *sqs.Client, in *sqs.ReceiveMessageInput) []types.Message {
	t.Helper()
	out, err := c.ReceiveMessage(context.Background(), in)
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	return out.Messages
}

// receiveOne expects exactly one message and returns it.
func receiveOne(t testing.TB, c *sqs.Client, url string, vt int32) types.Message {
	t.Helper()
	msgs := receive(t, c, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(url), VisibilityTimeout: vt,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
	})
	if len(msgs) != 1 {
		t.Fatalf("received %d messages, want 1", len(msgs))
	}
	return msgs[0]
}

func wantNone(t testing.TB, c *sqs.Client, url string) {
	t.Helper()
	if msgs := receive(t, c, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url)}); len(msgs) != 0 {
		t.Fatalf("received %d messages, want none: %v", len(msgs), aws.ToString(msgs[0].Body))
	}
}

func makeVisible(t testing.TB, c *sqs.Client, url string, m types.Message) {
	t.Helper()
	if _, err := c.ChangeMessageVisibility(context.Background(), &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0,
	}); err != nil {
		t.Fatalf("ChangeMessageVisibility 0: %v", err)
	}
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// errorAs asserts err is a *T and returns it.
func errorAs[T error](t testing.TB, err error) T {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("error = %v (%T), want %T", err, err, target)
	}
	return target
}

// wantCode asserts err is an API error with the given (query) code.
func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v, want API error %s", err, code)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("error code = %q (%v), want %q", ae.ErrorCode(), err, code)
	}
}

// sampleAttrs covers every data type, a custom type label and non-ASCII.
var sampleAttrs = map[string]types.MessageAttributeValue{
	"trigger":  {DataType: aws.String("String"), StringValue: aws.String("CustomEmailSender_SignUp")},
	"attempt":  {DataType: aws.String("Number"), StringValue: aws.String("3")},
	"sealed":   {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2, 0xfe, 0xff}},
	"trace.id": {DataType: aws.String("String.custom"), StringValue: aws.String("héllo ✓")},
}

// MD5OfMessageAttributes of sampleAttrs and of subsets, as moto_server
// computes them (the same figures come from both endpoints).
const (
	md5SampleAll     = "37838eb67b026822f2567504549a1dd9"
	md5SampleTrace   = "d65d0551cb4d8bffce94ed31eab503fc"
	md5SampleTwoAttr = "590218d98665afd30277b88466433011"
)

// --- cases ---

func testCreateQueueIsIdempotent(t *testing.T, c *sqs.Client) {
	ctx := context.Background()
	name := uniqueName("idem")
	create := func(vt string) (*sqs.CreateQueueOutput, error) {
		return c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: map[string]string{"VisibilityTimeout": vt}})
	}
	first, err := create("5")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(aws.ToString(first.QueueUrl), "/"+name) {
		t.Fatalf("QueueUrl %q does not end in /%s", aws.ToString(first.QueueUrl), name)
	}
	again, err := create("5")
	if err != nil {
		t.Fatalf("same attributes again: %v", err)
	}
	if aws.ToString(again.QueueUrl) != aws.ToString(first.QueueUrl) {
		t.Fatalf("QueueUrl changed: %q then %q", aws.ToString(first.QueueUrl), aws.ToString(again.QueueUrl))
	}
	_, err = create("6")
	errorAs[*types.QueueNameExists](t, err)
	wantCode(t, err, "QueueAlreadyExists")
}

func testMissingQueue(t *testing.T, c *sqs.Client) {
	ctx := context.Background()
	url, _ := createQueue(t, c, "missing", nil)
	missing := url[:strings.LastIndexByte(url, '/')+1] + uniqueName("nope")

	_, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(uniqueName("nope"))})
	errorAs[*types.QueueDoesNotExist](t, err)
	wantCode(t, err, "AWS.SimpleQueueService.NonExistentQueue")

	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(missing), MessageBody: aws.String("x")})
	errorAs[*types.QueueDoesNotExist](t, err)
	_, err = c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(missing)})
	errorAs[*types.QueueDoesNotExist](t, err)
}

func testListQueuesByPrefix(t *testing.T, c *sqs.Client) {
	prefix := uniqueName("lst")
	var want []string
	for _, suffix := range []string{"a", "b"} {
		out, err := c.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(prefix + suffix)})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, aws.ToString(out.QueueUrl))
	}
	createQueue(t, c, "lsx", nil) // must not be listed
	out, err := c.ListQueues(context.Background(), &sqs.ListQueuesInput{QueueNamePrefix: aws.String(prefix)})
	if err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(slices.Values(out.QueueUrls))
	if !slices.Equal(got, want) {
		t.Fatalf("ListQueues(%s) = %v, want %v", prefix, got, want)
	}
}

func testDeleteQueue(t *testing.T, c *sqs.Client) {
	ctx := context.Background()
	url, _ := createQueue(t, c, "del", nil)
	if _, err := c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(url)}); err != nil {
		t.Fatal(err)
	}
	name := url[strings.LastIndexByte(url, '/')+1:]
	_, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	errorAs[*types.QueueDoesNotExist](t, err)
}

func testQueueAttributes(t *testing.T, c *sqs.Client) {
	ctx := context.Background()
	url, _ := createQueue(t, c, "attrs", map[string]string{
		"VisibilityTimeout": "7", "MessageRetentionPeriod": "3600", "DelaySeconds": "0", "ReceiveMessageWaitTimeSeconds": "0",
	})
	name := url[strings.LastIndexByte(url, '/')+1:]
	all := queueAttrs(t, c, url, types.QueueAttributeNameAll)
	want := map[string]string{
		"VisibilityTimeout": "7", "MessageRetentionPeriod": "3600", "DelaySeconds": "0", "ReceiveMessageWaitTimeSeconds": "0",
		"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0", "ApproximateNumberOfMessagesDelayed": "0",
	}
	for k, v := range want {
		if all[k] != v {
			t.Errorf("All: %s = %q, want %q", k, all[k], v)
		}
	}
	if arn := all["QueueArn"]; !strings.HasPrefix(arn, "arn:aws:sqs:"+motoserver.Region+":") || !strings.HasSuffix(arn, ":"+name) {
		t.Errorf("QueueArn = %q", arn)
	}
	for _, k := range []string{"CreatedTimestamp", "LastModifiedTimestamp"} {
		ts, err := strconv.ParseFloat(all[k], 64) // moto adds a fraction; SQS sends whole seconds
		if err != nil || time.Unix(int64(ts), 0).Year() < 2020 {
			t.Errorf("%s = %q, want Unix seconds", k, all[k])
		}
	}
	if _, ok := all["RedrivePolicy"]; ok {
		t.Errorf("RedrivePolicy reported for a queue without one: %q", all["RedrivePolicy"])
	}

	if _, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: map[string]string{"VisibilityTimeout": "9"}}); err != nil {
		t.Fatal(err)
	}
	if got := queueAttrs(t, c, url, "VisibilityTimeout"); !maps.Equal(got, map[string]string{"VisibilityTimeout": "9"}) {
		t.Fatalf("after SetQueueAttributes: %v", got)
	}
	_, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{"Bogus"}})
	errorAs[*types.InvalidAttributeName](t, err)
}

func testSendReceiveAttributesAndMD5(t *testing.T, c *sqs.Client) {
	ctx := context.Background()
	url, _ := createQueue(t, c, "md5", nil)
	body := `{"v":1,"note":"tab\there ✓ <&>"}`
	sent, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body), MessageAttributes: sampleAttrs})
	if err != nil {
		t.Fatal(err) // the SDK has already checked MD5OfMessageBody
	}
	if got := aws.ToString(sent.MD5OfMessageBody); got != md5Hex(body) {
		t.Fatalf("MD5OfMessageBody = %s, want %s", got, md5Hex(body))
	}
	if got := aws.ToString(sent.MD5OfMessageAttributes); got != md5SampleAll {
		t.Fatalf("MD5OfMessageAttributes = %s, want %s", got, md5SampleAll)
	}

	tests := []struct {
		name   string
		names  []string
		want   []string
		md5    string
		sysAll bool
	}{
		{"All", []string{"All"}, []string{"attempt", "sealed", "trace.id", "trigger"}, md5SampleAll, true},
		{"DotStar", []string{".*"}, []string{"attempt", "sealed", "trace.id", "trigger"}, md5SampleAll, false},
		{"Prefix", []string{"trace.*"}, []string{"trace.id"}, md5SampleTrace, false},
		{"List", []string{"attempt", "sealed", "absent"}, []string{"attempt", "sealed"}, md5SampleTwoAttr, false},
		{"None", nil, nil, "", false},
	}
	for i, tt := range tests {
		in := &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MessageAttributeNames: tt.names}
		if tt.sysAll {
			in.MessageSystemAttributeNames = []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}
		} else {
			in.AttributeNames = []types.QueueAttributeName{"ApproximateReceiveCount"} // the deprecated spelling
		}
		msgs := receive(t, c, in)
		if len(msgs) != 1 {
			t.Fatalf("%s: received %d messages", tt.name, len(msgs))
		}
		m := msgs[0]
		if aws.ToString(m.Body) != body || aws.ToString(m.MessageId) != aws.ToString(sent.MessageId) || aws.ToString(m.MD5OfBody) != md5Hex(body) {
			t.Fatalf("%s: got id %s body %q md5 %s", tt.name, aws.ToString(m.MessageId), aws.ToString(m.Body), aws.ToString(m.MD5OfBody))
		}
		if got := slices.Sorted(maps.Keys(m.MessageAttributes)); !slices.Equal(got, tt.want) {
			t.Fatalf("%s: attributes %v, want %v", tt.name, got, tt.want)
		}
		for name, v := range m.MessageAttributes {
			w := sampleAttrs[name]
			if aws.ToString(v.DataType) != aws.ToString(w.DataType) || aws.ToString(v.StringValue) != aws.ToString(w.StringValue) || string(v.BinaryValue) != string(w.BinaryValue) {
				t.Fatalf("%s: attribute %s = %+v, want %+v", tt.name, name, v, w)
			}
		}
		if got := aws.ToString(m.MD5OfMessageAttributes); got != tt.md5 {
			t.Fatalf("%s: MD5OfMessageAttributes = %q, want %q", tt.name, got, tt.md5)
		}
		if got := m.Attributes["ApproximateReceiveCount"]; got != strconv.Itoa(i+1) {
			t.Fatalf("%s: ApproximateReceiveCount = %q, want %d", tt.name, got, i+1)
		}
		if tt.sysAll {
			for _, k := range []string{"SenderId", "SentTimestamp", "ApproximateFirstReceiveTimestamp"} {
				if m.Attributes[k] == "" {
					t.Fatalf("%s: system attribute %s missing from %v", tt.name, k, m.Attributes)
				}
			}
		} else if len(m.Attributes) != 1 {
			t.Fatalf("%s: system attributes %v, want only ApproximateReceiveCount", tt.name, m.Attributes)
		}
		makeVisible(t, c, url, m)
	}
}

func testReceiveCountAndVisibility(t *testing.T, c *sqs.Client) {
	url, _ := createQueue(t, c, "vis", nil)
	sent := send(t, c, url, "count me")
	first := receiveOne(t, c, url, 1)
	if got := first.Attributes["ApproximateReceiveCount"]; got != "1" {
		t.Fatalf("first ApproximateReceiveCount = %q", got)
	}
	wantNone(t, c, url) // in flight for the per-request second
	wantCounts(t, c, url, 0, 1, 0)

	time.Sleep(1500 * time.Millisecond)
	second := receiveOne(t, c, url, 1)
	if got := second.Attributes["ApproximateReceiveCount"]; got != "2" {
		t.Fatalf("second ApproximateReceiveCount = %q", got)
	}
	if aws.ToString(second.MessageId) != aws.ToString(sent.MessageId) {
		t.Fatalf("MessageId changed: %s then %s", aws.ToString(sent.MessageId), aws.ToString(second.MessageId))
	}
	if aws.ToString(second.ReceiptHandle) == aws.ToString(first.ReceiptHandle) {
		t.Fatal("receipt handle reused across receives")
	}
	if a, b := first.Attributes["ApproximateFirstReceiveTimestamp"], second.Attributes["ApproximateFirstReceiveTimestamp"]; a != b {
		t.Fatalf("ApproximateFirstReceiveTimestamp changed: %s then %s", a, b)
	}
	if a, b := first.Attributes["SentTimestamp"], second.Attributes["SentTimestamp"]; a != b {
		t.Fatalf("SentTimestamp changed: %s then %s", a, b)
	}
}

func testRedrive(t *testing.T, c *sqs.Client) {
	ctx := context.Background()
	dlqURL, dlqARN := createQueue(t, c, "rd-dlq", nil)
	policy := fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"2"}`, dlqARN)
	srcURL, _ := createQueue(t, c, "rd-src", map[string]string{"RedrivePolicy": policy})

	var rp struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		MaxReceiveCount     int    `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(queueAttrs(t, c, srcURL, "RedrivePolicy")["RedrivePolicy"]), &rp); err != nil {
		t.Fatalf("RedrivePolicy attribute: %v", err)
	}
	if rp.DeadLetterTargetArn != dlqARN || rp.MaxReceiveCount != 2 {
		t.Fatalf("RedrivePolicy = %+v", rp)
	}

	sent, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(srcURL), MessageBody: aws.String("poison"), MessageAttributes: sampleAttrs})
	if err != nil {
		t.Fatal(err)
	}
	var sentAt string
	for i := 1; i <= 2; i++ {
		m := receiveOne(t, c, srcURL, 30)
		if got := m.Attributes["ApproximateReceiveCount"]; got != strconv.Itoa(i) {
			t.Fatalf("receive %d: ApproximateReceiveCount = %q", i, got)
		}
		sentAt = m.Attributes["SentTimestamp"]
		makeVisible(t, c, srcURL, m)
	}
	wantNone(t, c, srcURL) // the third receive moves it instead of delivering it
	wantCounts(t, c, srcURL, 0, 0, 0)

	dead := receiveOne(t, c, dlqURL, 30)
	if aws.ToString(dead.MessageId) != aws.ToString(sent.MessageId) || aws.ToString(dead.Body) != "poison" {
		t.Fatalf("DLQ message %s %q, want %s %q", aws.ToString(dead.MessageId), aws.ToString(dead.Body), aws.ToString(sent.MessageId), "poison")
	}
	if got := slices.Sorted(maps.Keys(dead.MessageAttributes)); len(got) != len(sampleAttrs) {
		t.Fatalf("DLQ message attributes %v", got)
	}
	if aws.ToString(dead.MD5OfMessageAttributes) != md5SampleAll {
		t.Fatalf("DLQ MD5OfMessageAttributes = %s", aws.ToString(dead.MD5OfMessageAttributes))
	}
	if dead.Attributes["SentTimestamp"] != sentAt {
		t.Fatalf("DLQ SentTimestamp = %s, want the original %s", dead.Attributes["SentTimestamp"], sentAt)
	}

	src, err := c.ListDeadLetterSourceQueues(ctx, &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: aws.String(dlqURL)})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(src.QueueUrls, []string{srcURL}) {
		t.Fatalf("ListDeadLetterSourceQueues = %v, want [%s]", src.QueueUrls, srcURL)
	}
}

// testBatchPartialFailures covers per-entry failures of the delete and
// change-visibility batches. A failed SendMessageBatch entry is tested on
// sqslocal only: moto 5.2.1 sends its SenderFault as the string "true",
// which the SDK refuses to deserialize.
func testBatchPartialFailures(t *testing.T, c *sqs.Client) {
	ctx := context.Background()
	url, _ := createQueue(t, c, "batch", nil)
	out, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("a"), MessageBody: aws.String("first"), MessageAttributes: sampleAttrs},
		{Id: aws.String("b_2"), MessageBody: aws.String("second")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Successful) != 2 || len(out.Failed) != 0 {
		t.Fatalf("SendMessageBatch: %d successful, %d failed", len(out.Successful), len(out.Failed))
	}
	want := map[string][2]string{"a": {md5Hex("first"), md5SampleAll}, "b_2": {md5Hex("second"), ""}}
	for _, s := range out.Successful {
		w := want[aws.ToString(s.Id)]
		if aws.ToString(s.MD5OfMessageBody) != w[0] || aws.ToString(s.MD5OfMessageAttributes) != w[1] || aws.ToString(s.MessageId) == "" {
			t.Fatalf("Successful entry %s: body MD5 %s, attributes MD5 %s, want %v", aws.ToString(s.Id), aws.ToString(s.MD5OfMessageBody), aws.ToString(s.MD5OfMessageAttributes), w)
		}
	}

	msgs := receive(t, c, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 30})
	if len(msgs) != 2 {
		t.Fatalf("received %d messages, want 2", len(msgs))
	}
	garbage := aws.String("garbage!handle")
	del, err := c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.DeleteMessageBatchRequestEntry{
		{Id: aws.String("ok"), ReceiptHandle: msgs[0].ReceiptHandle},
		{Id: aws.String("bad"), ReceiptHandle: garbage},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(del.Successful) != 1 || aws.ToString(del.Successful[0].Id) != "ok" || len(del.Failed) != 1 ||
		aws.ToString(del.Failed[0].Id) != "bad" || aws.ToString(del.Failed[0].Code) != "ReceiptHandleIsInvalid" || !del.Failed[0].SenderFault {
		t.Fatalf("DeleteMessageBatch = %+v / %+v", del.Successful, del.Failed)
	}
	chg, err := c.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(url), Entries: []types.ChangeMessageVisibilityBatchRequestEntry{
		{Id: aws.String("ok"), ReceiptHandle: msgs[1].ReceiptHandle, VisibilityTimeout: 0},
		{Id: aws.String("bad"), ReceiptHandle: garbage, VisibilityTimeout: 0},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(chg.Successful) != 1 || aws.ToString(chg.Successful[0].Id) != "ok" || len(chg.Failed) != 1 ||
		aws.ToString(chg.Failed[0].Id) != "bad" || aws.ToString(chg.Failed[0].Code) != "ReceiptHandleIsInvalid" {
		t.Fatalf("ChangeMessageVisibilityBatch = %+v / %+v", chg.Successful, chg.Failed)
	}
	again := receiveOne(t, c, url, 30)
	if aws.ToString(again.MessageId) != aws.ToString(msgs[1].MessageId) {
		t.Fatalf("after the batch, received %s, want %s", aws.ToString(again.MessageId), aws.ToString(msgs[1].MessageId))
	}
}

func testBatchRequestErrors(t *testing.T, c *sqs.Client) {
	ctx := context.Background()
	url, _ := createQueue(t, c, "batcherr", nil)
	entries := func(ids ...string) []types.SendMessageBatchRequestEntry {
		var out []types.SendMessageBatchRequestEntry
		for _, id := range ids {
			out = append(out, types.SendMessageBatchRequestEntry{Id: aws.String(id), MessageBody: aws.String("b")})
		}
		return out
	}
	eleven := make([]string, 11)
	for i := range eleven {
		eleven[i] = "m" + strconv.Itoa(i)
	}
	tests := []struct {
		name    string
		entries []types.SendMessageBatchRequestEntry
		check   func(t *testing.T, err error)
	}{
		{"Empty", []types.SendMessageBatchRequestEntry{}, func(t *testing.T, err error) { errorAs[*types.EmptyBatchRequest](t, err) }},
		{"Duplicate", entries("x", "y", "x"), func(t *testing.T, err error) { errorAs[*types.BatchEntryIdsNotDistinct](t, err) }},
		{"Eleven", entries(eleven...), func(t *testing.T, err error) { errorAs[*types.TooManyEntriesInBatchRequest](t, err) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: tt.entries})
			tt.check(t, err)
		})
	}
	wantCounts(t, c, url, 0, 0, 0) // nothing of a rejected batch is sent
}

func testDeleteMessage(t *testing.T, c *sqs.Client) {
	ctx := context.Background()
	url, _ := createQueue(t, c, "delmsg", nil)
	send(t, c, url, "bye")
	m := receiveOne(t, c, url, 30)
	for i := range 2 { // deleting twice with the same handle succeeds
		if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
			t.Fatalf("DeleteMessage #%d: %v", i+1, err)
		}
	}
	wantCounts(t, c, url, 0, 0, 0)
}

func testDeleteWithOutdatedHandle(t *testing.T, c *sqs.Client) {
	ctx := context.Background()
	url, _ := createQueue(t, c, "oldhandle", nil)
	send(t, c, url, "twice")
	first := receiveOne(t, c, url, 30)
	makeVisible(t, c, url, first)
	second := receiveOne(t, c, url, 30)
	// SQS accepts the outdated handle without deleting; moto deletes.
	// Both must answer success (sqslocal's no-op is tested on its own).
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: first.ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage with outdated handle: %v", err)
	}
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: second.ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage with current handle: %v", err)
	}
	wantCounts(t, c, url, 0, 0, 0)
}

func testChangeVisibilityToZero(t *testing.T, c *sqs.Client) {
	url, _ := createQueue(t, c, "cmv", nil)
	send(t, c, url, "again")
	m := receiveOne(t, c, url, 30)
	wantNone(t, c, url)
	makeVisible(t, c, url, m)
	again := receiveOne(t, c, url, 30)
	if got := again.Attributes["ApproximateReceiveCount"]; got != "2" {
		t.Fatalf("ApproximateReceiveCount = %q, want 2", got)
	}
}

func testPurgeQueue(t *testing.T, c *sqs.Client) {
	url, _ := createQueue(t, c, "purge", nil)
	for i := range 3 {
		send(t, c, url, "p"+strconv.Itoa(i))
	}
	receiveOne(t, c, url, 30)
	wantCounts(t, c, url, 2, 1, 0)
	if _, err := c.PurgeQueue(context.Background(), &sqs.PurgeQueueInput{QueueUrl: aws.String(url)}); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, c, url, 0, 0, 0)
	wantNone(t, c, url)
}

func testDelayedMessage(t *testing.T, c *sqs.Client) {
	url, _ := createQueue(t, c, "delay", nil)
	if _, err := c.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("later"), DelaySeconds: 1}); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, c, url, 0, 0, 1)
	wantNone(t, c, url)
	time.Sleep(1500 * time.Millisecond)
	if m := receiveOne(t, c, url, 30); aws.ToString(m.Body) != "later" {
		t.Fatalf("body = %q", aws.ToString(m.Body))
	}
}

func testLongPollWakesOnSend(t *testing.T, c *sqs.Client) {
	url, _ := createQueue(t, c, "poll", nil)
	// The poll may wait 20 s; the context ends it after 10 s, so a poll that
	// does not wake on the send fails instead of returning late.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan *sqs.ReceiveMessageOutput, 1)
	errc := make(chan error, 1)
	go func() {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 20})
		errc <- err
		got <- out
	}()
	time.Sleep(200 * time.Millisecond) // let the poll start waiting (correct either way)
	send(t, c, url, "wake up")
	if err := <-errc; err != nil {
		t.Fatalf("long poll: %v", err)
	}
	if out := <-got; len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != "wake up" {
		t.Fatalf("long poll returned %+v", out.Messages)
	}
}

func testLongPollEmpty(t *testing.T, c *sqs.Client) {
	url, _ := createQueue(t, c, "pollempty", nil)
	msgs := receive(t, c, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 1})
	if len(msgs) != 0 {
		t.Fatalf("received %d messages from an empty queue", len(msgs))
	}
}

func testReceiveParameterLimits(t *testing.T, c *sqs.Client) {
	url, _ := createQueue(t, c, "limits", nil)
	tests := []struct {
		name string
		in   sqs.ReceiveMessageInput
	}{
		{"MaxNumberOfMessages11", sqs.ReceiveMessageInput{MaxNumberOfMessages: 11}},
		{"MaxNumberOfMessagesNegative", sqs.ReceiveMessageInput{MaxNumberOfMessages: -1}},
		{"WaitTimeSeconds21", sqs.ReceiveMessageInput{WaitTimeSeconds: 21}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.QueueUrl = aws.String(url)
			_, err := c.ReceiveMessage(context.Background(), &in)
			wantCode(t, err, "InvalidParameterValue")
		})
	}
}

func testMaxNumberOfMessages(t *testing.T, c *sqs.Client) {
	ctx := context.Background()
	url, _ := createQueue(t, c, "maxn", nil)
	var entries []types.SendMessageBatchRequestEntry
	for i := range 5 {
		entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String("e" + strconv.Itoa(i)), MessageBody: aws.String("m" + strconv.Itoa(i))})
	}
	if _, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries}); err != nil {
		t.Fatal(err)
	}
	first := receive(t, c, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 3})
	rest := receive(t, c, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
	if len(first) != 3 || len(rest) != 2 {
		t.Fatalf("received %d then %d, want 3 then 2", len(first), len(rest))
	}
	seen := map[string]bool{}
	for _, m := range slices.Concat(first, rest) {
		seen[aws.ToString(m.Body)] = true
	}
	if len(seen) != 5 {
		t.Fatalf("distinct bodies received: %v", seen)
	}
}
