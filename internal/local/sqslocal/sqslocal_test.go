package sqslocal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/cogmail/cogmail/internal/local/sqslocal"
	"github.com/cogmail/cogmail/internal/testkit/motoserver"
)

// Tests of sqslocal alone: behaviour moto lacks or gets wrong, the injected
// clock, the protocol edges and concurrency.

// clock is a manual clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func localClient(t testing.TB) *sqs.Client {
	t.Helper()
	return newClient(startLocal(t, sqslocal.Options{}))
}

func clockClient(t testing.TB) (*sqs.Client, *clock) {
	t.Helper()
	clk := newClock()
	return newClient(startLocal(t, sqslocal.Options{Now: clk.Now})), clk
}

func TestVisibilityAndDelayFollowTheClock(t *testing.T) {
	c, clk := clockClient(t)
	url, _ := createQueue(t, c, "clock", map[string]string{"VisibilityTimeout": "30"})
	sent := send(t, c, url, "tick")
	m := receiveOne(t, c, url, 0) // 0: the queue's 30 s
	if got, want := m.Attributes["SentTimestamp"], strconv.FormatInt(clk.Now().UnixMilli(), 10); got != want {
		t.Fatalf("SentTimestamp = %s, want %s", got, want)
	}
	clk.Add(29 * time.Second)
	wantNone(t, c, url)
	wantCounts(t, c, url, 0, 1, 0)
	clk.Add(time.Second)
	again := receiveOne(t, c, url, 0)
	if aws.ToString(again.MessageId) != aws.ToString(sent.MessageId) || again.Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("after the timeout: %s count %s", aws.ToString(again.MessageId), again.Attributes["ApproximateReceiveCount"])
	}

	delayed, _ := createQueue(t, c, "clockdelay", map[string]string{"DelaySeconds": "60"})
	send(t, c, delayed, "queue default delay")
	wantCounts(t, c, delayed, 0, 0, 1)
	clk.Add(59 * time.Second)
	wantNone(t, c, delayed)
	clk.Add(time.Second)
	wantCounts(t, c, delayed, 1, 0, 0)
}

func TestRetentionExpiry(t *testing.T) {
	c, clk := clockClient(t)
	url, _ := createQueue(t, c, "ret", map[string]string{"MessageRetentionPeriod": "60"})
	send(t, c, url, "short-lived")
	clk.Add(59 * time.Second)
	wantCounts(t, c, url, 1, 0, 0)
	clk.Add(time.Second)
	wantCounts(t, c, url, 0, 0, 0)
	wantNone(t, c, url)
}

func TestDeadLetterRetentionCountsFromTheOriginalSend(t *testing.T) {
	c, clk := clockClient(t)
	dlqURL, dlqARN := createQueue(t, c, "retdlq", map[string]string{"MessageRetentionPeriod": "120"})
	srcURL, _ := createQueue(t, c, "retsrc", map[string]string{
		"VisibilityTimeout": "30",
		"RedrivePolicy":     fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":1}`, dlqARN),
	})
	send(t, c, srcURL, "old")
	receiveOne(t, c, srcURL, 0)
	clk.Add(100 * time.Second)
	wantNone(t, c, srcURL) // moved, not delivered a second time
	wantCounts(t, c, dlqURL, 1, 0, 0)
	clk.Add(20 * time.Second) // 120 s after the send, 20 s after the move
	wantCounts(t, c, dlqURL, 0, 0, 0)
}

func TestOutdatedReceiptHandles(t *testing.T) {
	ctx := context.Background()
	c := localClient(t)
	url, _ := createQueue(t, c, "handles", nil)
	other, _ := createQueue(t, c, "handles-other", nil)
	send(t, c, url, "keep me")
	first := receiveOne(t, c, url, 30)
	makeVisible(t, c, url, first)
	second := receiveOne(t, c, url, 30)

	// As in SQS: the outdated handle deletes nothing, and succeeds.
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: first.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, c, url, 0, 1, 0)

	_, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: first.ReceiptHandle, VisibilityTimeout: 0})
	wantCode(t, err, "InvalidParameterValue")

	_, err = c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(other), ReceiptHandle: second.ReceiptHandle})
	errorAs[*types.ReceiptHandleIsInvalid](t, err)

	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: second.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, c, url, 0, 0, 0)
}

// TestSendBatchPartialFailure runs here only: moto 5.2.1 encodes the failed
// entry's SenderFault as a string, which the SDK cannot decode.
func TestSendBatchPartialFailure(t *testing.T) {
	c := localClient(t)
	url, _ := createQueue(t, c, "sendbatch", nil)
	out, err := c.SendMessageBatch(context.Background(), &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("ok"), MessageBody: aws.String("fine")},
		{Id: aws.String("delay"), MessageBody: aws.String("x"), DelaySeconds: 901},
		{Id: aws.String("nul"), MessageBody: aws.String("a\x00b")},
		{Id: aws.String("reserved"), MessageBody: aws.String("x"), MessageAttributes: map[string]types.MessageAttributeValue{
			"AWS.mine": {DataType: aws.String("String"), StringValue: aws.String("v")},
		}},
		{Id: aws.String("ok2"), MessageBody: aws.String("also fine")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var ok []string
	for _, s := range out.Successful {
		ok = append(ok, aws.ToString(s.Id))
	}
	if !slices.Equal(ok, []string{"ok", "ok2"}) {
		t.Fatalf("Successful = %v", ok)
	}
	failed := map[string]string{}
	for _, f := range out.Failed {
		if !f.SenderFault || aws.ToString(f.Message) == "" {
			t.Fatalf("Failed entry %+v", f)
		}
		failed[aws.ToString(f.Id)] = aws.ToString(f.Code)
	}
	want := map[string]string{"delay": "InvalidParameterValue", "nul": "InvalidMessageContents", "reserved": "InvalidParameterValue"}
	if !maps.Equal(failed, want) {
		t.Fatalf("Failed = %v, want %v", failed, want)
	}
	wantCounts(t, c, url, 2, 0, 0)
}

func TestValidation(t *testing.T) {
	ctx := context.Background()
	c := localClient(t)
	url, _ := createQueue(t, c, "valid", nil)
	str := func(v string) types.MessageAttributeValue {
		return types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	sendAttrs := func(attrs map[string]types.MessageAttributeValue) error {
		_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("b"), MessageAttributes: attrs})
		return err
	}
	createWith := func(name string, attrs map[string]string) error {
		_, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
		return err
	}
	code := func(code string) func(*testing.T, error) {
		return func(t *testing.T, err error) { wantCode(t, err, code) }
	}
	eleven := map[string]types.MessageAttributeValue{}
	for i := range 11 {
		eleven["a"+strconv.Itoa(i)] = str("v")
	}
	big := strings.Repeat("x", 1<<20) // SQS's limit since 2025: 1 MiB
	tests := []struct {
		name  string
		call  func() error
		check func(*testing.T, error)
	}{
		{"QueueName", func() error { return createWith("bad name!", nil) }, code("InvalidParameterValue")},
		{"FIFO", func() error { return createWith(uniqueName("q")+".fifo", nil) }, code("InvalidParameterValue")},
		{"VisibilityTimeoutRange", func() error { return createWith(uniqueName("v"), map[string]string{"VisibilityTimeout": "43201"}) },
			func(t *testing.T, err error) { errorAs[*types.InvalidAttributeValue](t, err) }},
		{"RetentionRange", func() error { return createWith(uniqueName("v"), map[string]string{"MessageRetentionPeriod": "59"}) },
			func(t *testing.T, err error) { errorAs[*types.InvalidAttributeValue](t, err) }},
		{"UnknownAttribute", func() error { return createWith(uniqueName("v"), map[string]string{"Colour": "blue"}) },
			func(t *testing.T, err error) { errorAs[*types.InvalidAttributeName](t, err) }},
		{"ReadOnlyAttribute", func() error { return createWith(uniqueName("v"), map[string]string{"QueueArn": "x"}) },
			func(t *testing.T, err error) { errorAs[*types.InvalidAttributeName](t, err) }},
		{"RedriveToMissingQueue", func() error {
			return createWith(uniqueName("v"), map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:nope","maxReceiveCount":3}`})
		}, code("InvalidParameterValue")},
		{"RedriveMaxReceiveCount", func() error {
			return createWith(uniqueName("v"), map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:x","maxReceiveCount":0}`})
		}, code("InvalidParameterValue")},
		{"RedriveNotJSON", func() error { return createWith(uniqueName("v"), map[string]string{"RedrivePolicy": `{`}) }, code("InvalidParameterValue")},
		{"InvalidCharacter", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("\x01")})
			return err
		}, func(t *testing.T, err error) { errorAs[*types.InvalidMessageContents](t, err) }},
		{"EmptyBody", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("")})
			return err
		}, code("MissingParameter")},
		{"DelayRange", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("b"), DelaySeconds: 901})
			return err
		}, code("InvalidParameterValue")},
		{"TooLarge", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(big + "y")})
			return err
		}, code("InvalidParameterValue")},
		{"AttributesCountTowardsSize", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(big[:len(big)-4]), MessageAttributes: map[string]types.MessageAttributeValue{"k": str("v")}})
			return err
		}, code("InvalidParameterValue")},
		{"ReservedAttributeName", func() error { return sendAttrs(map[string]types.MessageAttributeValue{"amazon.x": str("v")}) }, code("InvalidParameterValue")},
		{"AttributeType", func() error {
			return sendAttrs(map[string]types.MessageAttributeValue{"f": {DataType: aws.String("Float"), StringValue: aws.String("1")}})
		}, code("InvalidParameterValue")},
		{"NumberValue", func() error {
			return sendAttrs(map[string]types.MessageAttributeValue{"n": {DataType: aws.String("Number"), StringValue: aws.String("abc")}})
		}, code("InvalidParameterValue")},
		{"EmptyBinary", func() error {
			return sendAttrs(map[string]types.MessageAttributeValue{"b": {DataType: aws.String("Binary")}})
		}, code("InvalidParameterValue")},
		{"ElevenAttributes", func() error { return sendAttrs(eleven) }, code("InvalidParameterValue")},
		{"DeduplicationIdOnStandardQueue", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("b"), MessageDeduplicationId: aws.String("d")})
			return err
		}, code("InvalidParameterValue")},
		{"BatchTooLong", func() error {
			_, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.SendMessageBatchRequestEntry{
				{Id: aws.String("a"), MessageBody: aws.String(big[:700<<10])},
				{Id: aws.String("b"), MessageBody: aws.String(big[:400<<10])},
			}})
			return err
		}, func(t *testing.T, err error) { errorAs[*types.BatchRequestTooLong](t, err) }},
		{"BatchEntryId", func() error {
			_, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.SendMessageBatchRequestEntry{
				{Id: aws.String("a b"), MessageBody: aws.String("x")},
			}})
			return err
		}, func(t *testing.T, err error) { errorAs[*types.InvalidBatchEntryId](t, err) }},
		{"GarbageReceiptHandle", func() error {
			_, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String("garbage!")})
			return err
		}, func(t *testing.T, err error) { errorAs[*types.ReceiptHandleIsInvalid](t, err) }},
		{"ChangeVisibilityRange", func() error {
			_, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String("x"), VisibilityTimeout: 43201})
			return err
		}, code("InvalidParameterValue")},
		{"ReceiveVisibilityRange", func() error {
			_, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), VisibilityTimeout: 43201})
			return err
		}, code("InvalidParameterValue")},
		{"QueueOfAnotherAccount", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(strings.Replace(url, sqslocal.DefaultAccountID, "111111111111", 1)), MessageBody: aws.String("b")})
			return err
		}, func(t *testing.T, err error) { errorAs[*types.QueueDoesNotExist](t, err) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil {
				t.Fatal("no error")
			}
			tt.check(t, err)
		})
	}
	wantCounts(t, c, url, 0, 0, 0) // no rejected message was kept
}

func TestCreateQueueIdempotencyNormalisesValues(t *testing.T) {
	ctx := context.Background()
	c := localClient(t)
	_, dlqARN := createQueue(t, c, "norm-dlq", nil)
	name := uniqueName("norm")
	for _, policy := range []string{
		fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"3"}`, dlqARN),
		fmt.Sprintf(`{"maxReceiveCount": 3, "deadLetterTargetArn": %q}`, dlqARN),
	} {
		if _, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: map[string]string{"RedrivePolicy": policy, "VisibilityTimeout": "010"}}); err != nil {
			t.Fatalf("CreateQueue with %s: %v", policy, err)
		}
	}
}

func TestRemovingRedrivePolicy(t *testing.T) {
	ctx := context.Background()
	c := localClient(t)
	dlqURL, dlqARN := createQueue(t, c, "rm-dlq", nil)
	srcURL, _ := createQueue(t, c, "rm-src", map[string]string{"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":1}`, dlqARN)})
	if _, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(srcURL), Attributes: map[string]string{"RedrivePolicy": ""}}); err != nil {
		t.Fatal(err)
	}
	if got := queueAttrs(t, c, srcURL, types.QueueAttributeNameAll); got["RedrivePolicy"] != "" {
		t.Fatalf("RedrivePolicy still %q", got["RedrivePolicy"])
	}
	out, err := c.ListDeadLetterSourceQueues(ctx, &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: aws.String(dlqURL)})
	if err != nil || len(out.QueueUrls) != 0 {
		t.Fatalf("ListDeadLetterSourceQueues = %v, %v", out.QueueUrls, err)
	}
}

func TestSystemAttributes(t *testing.T) {
	ctx := context.Background()
	c := localClient(t)
	dlqURL, dlqARN := createQueue(t, c, "sys-dlq", nil)
	srcURL, srcARN := createQueue(t, c, "sys-src", map[string]string{"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":1}`, dlqARN)})
	out, err := c.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: aws.String(srcURL), MessageBody: aws.String("traced"),
		MessageSystemAttributes: map[string]types.MessageSystemAttributeValue{
			"AWSTraceHeader": {DataType: aws.String("String"), StringValue: aws.String("Root=1-5759e988-bd862e3fe1be46a994272793")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.MD5OfMessageSystemAttributes) == "" {
		t.Fatal("no MD5OfMessageSystemAttributes")
	}
	m := receiveOne(t, c, srcURL, 30)
	if got := m.Attributes["AWSTraceHeader"]; got != "Root=1-5759e988-bd862e3fe1be46a994272793" {
		t.Fatalf("AWSTraceHeader = %q", got)
	}
	if _, ok := m.Attributes["DeadLetterQueueSourceArn"]; ok {
		t.Fatal("DeadLetterQueueSourceArn on a message that was never redriven")
	}
	makeVisible(t, c, srcURL, m)
	wantNone(t, c, srcURL)
	dead := receiveOne(t, c, dlqURL, 30)
	if got := dead.Attributes["DeadLetterQueueSourceArn"]; got != srcARN {
		t.Fatalf("DeadLetterQueueSourceArn = %q, want %q", got, srcARN)
	}
	if got := dead.Attributes["ApproximateReceiveCount"]; got != "2" {
		t.Fatalf("DLQ ApproximateReceiveCount = %q, want 2 (the count carries over, as in moto)", got)
	}
}

func TestListQueuesPagination(t *testing.T) {
	ctx := context.Background()
	c := localClient(t)
	prefix := uniqueName("page")
	var want []string
	for i := range 5 {
		out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(prefix + strconv.Itoa(i))})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, aws.ToString(out.QueueUrl))
	}
	var got []int
	var urls []string
	p := sqs.NewListQueuesPaginator(c, &sqs.ListQueuesInput{QueueNamePrefix: aws.String(prefix), MaxResults: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, len(page.QueueUrls))
		urls = append(urls, page.QueueUrls...)
	}
	if !slices.Equal(got, []int{2, 2, 1}) || !slices.Equal(urls, want) {
		t.Fatalf("pages %v, urls %v, want [2 2 1] and %v", got, urls, want)
	}
}

func TestTags(t *testing.T) {
	ctx := context.Background()
	c := localClient(t)
	name := uniqueName("tags")
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Tags: map[string]string{"app": "cogmail", "tier": "dev"}})
	if err != nil {
		t.Fatal(err)
	}
	url := out.QueueUrl
	if _, err := c.TagQueue(ctx, &sqs.TagQueueInput{QueueUrl: url, Tags: map[string]string{"owner": "ops"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagQueue(ctx, &sqs.UntagQueueInput{QueueUrl: url, TagKeys: []string{"tier"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: url})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"app": "cogmail", "owner": "ops"}; !maps.Equal(tags.Tags, want) {
		t.Fatalf("tags = %v, want %v", tags.Tags, want)
	}
}

// --- message move tasks (the DLQ redrive API; moto answers 500) ---

type redriveSetup struct {
	c                      *sqs.Client
	srcURL, srcARN         string
	dlqURL, dlqARN         string
	destURL, destARN       string
	redrivenIDs, directIDs []string
}

// newRedriveSetup fills a DLQ with n messages redriven from src and m sent
// straight into it.
func newRedriveSetup(t *testing.T, n, m int) *redriveSetup {
	t.Helper()
	r := &redriveSetup{c: localClient(t)}
	r.dlqURL, r.dlqARN = createQueue(t, r.c, "mv-dlq", nil)
	r.srcURL, r.srcARN = createQueue(t, r.c, "mv-src", map[string]string{"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":1}`, r.dlqARN)})
	r.destURL, r.destARN = createQueue(t, r.c, "mv-dest", nil)
	for i := range n {
		r.redrivenIDs = append(r.redrivenIDs, aws.ToString(send(t, r.c, r.srcURL, "redriven "+strconv.Itoa(i)).MessageId))
	}
	for range n {
		makeVisible(t, r.c, r.srcURL, receiveOne(t, r.c, r.srcURL, 30))
	}
	if n > 0 {
		if msgs := receive(t, r.c, &sqs.ReceiveMessageInput{QueueUrl: aws.String(r.srcURL), MaxNumberOfMessages: 10}); len(msgs) != 0 {
			t.Fatalf("source still delivers %d messages", len(msgs))
		}
	}
	for i := range m {
		r.directIDs = append(r.directIDs, aws.ToString(send(t, r.c, r.dlqURL, "direct "+strconv.Itoa(i)).MessageId))
	}
	wantCounts(t, r.c, r.dlqURL, n+m, 0, 0)
	return r
}

func (r *redriveSetup) start(t *testing.T, in *sqs.StartMessageMoveTaskInput) string {
	t.Helper()
	if in.SourceArn == nil {
		in.SourceArn = aws.String(r.dlqARN)
	}
	out, err := r.c.StartMessageMoveTask(context.Background(), in)
	if err != nil {
		t.Fatalf("StartMessageMoveTask: %v", err)
	}
	if aws.ToString(out.TaskHandle) == "" {
		t.Fatal("empty TaskHandle")
	}
	return aws.ToString(out.TaskHandle)
}

// latest returns the newest task of the DLQ.
func (r *redriveSetup) latest(t *testing.T) types.ListMessageMoveTasksResultEntry {
	t.Helper()
	out, err := r.c.ListMessageMoveTasks(context.Background(), &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(r.dlqARN)})
	if err != nil {
		t.Fatalf("ListMessageMoveTasks: %v", err)
	}
	if len(out.Results) != 1 {
		t.Fatalf("ListMessageMoveTasks returned %d results", len(out.Results))
	}
	return out.Results[0]
}

// waitDone polls until the newest task leaves RUNNING.
func (r *redriveSetup) waitDone(t *testing.T) types.ListMessageMoveTasksResultEntry {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		e := r.latest(t)
		if aws.ToString(e.Status) != "RUNNING" {
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("task still RUNNING: %+v", e)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ids(t *testing.T, c *sqs.Client, url string) []string {
	t.Helper()
	var out []string
	for {
		msgs := receive(t, c, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 600,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}})
		if len(msgs) == 0 {
			slices.Sort(out)
			return out
		}
		for _, m := range msgs {
			if got := m.Attributes["ApproximateReceiveCount"]; got != "1" {
				t.Fatalf("moved message %s has ApproximateReceiveCount %s, want a fresh 1", aws.ToString(m.MessageId), got)
			}
			out = append(out, aws.ToString(m.MessageId))
		}
	}
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }

func TestMoveTaskBackToSource(t *testing.T) {
	r := newRedriveSetup(t, 3, 1) // the direct one goes to the only source
	r.start(t, &sqs.StartMessageMoveTaskInput{})
	e := r.latest(t)
	if aws.ToString(e.Status) != "COMPLETED" || e.ApproximateNumberOfMessagesMoved != 4 || aws.ToInt64(e.ApproximateNumberOfMessagesToMove) != 4 ||
		aws.ToString(e.SourceArn) != r.dlqARN || e.DestinationArn != nil || e.TaskHandle != nil || e.StartedTimestamp == 0 {
		t.Fatalf("task = %+v", e)
	}
	wantCounts(t, r.c, r.dlqURL, 0, 0, 0)
	if got, want := ids(t, r.c, r.srcURL), sorted(slices.Concat(r.redrivenIDs, r.directIDs)); !slices.Equal(got, want) {
		t.Fatalf("source holds %v, want %v", got, want)
	}
}

func TestMoveTaskToDestination(t *testing.T) {
	r := newRedriveSetup(t, 2, 0)
	r.start(t, &sqs.StartMessageMoveTaskInput{DestinationArn: aws.String(r.destARN)})
	if e := r.latest(t); aws.ToString(e.Status) != "COMPLETED" || aws.ToString(e.DestinationArn) != r.destARN {
		t.Fatalf("task = %+v", e)
	}
	if got := ids(t, r.c, r.destURL); !slices.Equal(got, sorted(r.redrivenIDs)) {
		t.Fatalf("destination holds %v, want %v", got, r.redrivenIDs)
	}
	wantCounts(t, r.c, r.srcURL, 0, 0, 0)
}

func TestMoveTaskRateLimited(t *testing.T) {
	r := newRedriveSetup(t, 5, 0)
	r.start(t, &sqs.StartMessageMoveTaskInput{MaxNumberOfMessagesPerSecond: aws.Int32(100)})
	e := r.waitDone(t)
	if aws.ToString(e.Status) != "COMPLETED" || e.ApproximateNumberOfMessagesMoved != 5 || aws.ToInt32(e.MaxNumberOfMessagesPerSecond) != 100 {
		t.Fatalf("task = %+v", e)
	}
	if got := ids(t, r.c, r.srcURL); !slices.Equal(got, sorted(r.redrivenIDs)) {
		t.Fatalf("source holds %v", got)
	}
}

func TestMoveTaskCancel(t *testing.T) {
	ctx := context.Background()
	r := newRedriveSetup(t, 5, 0)
	handle := r.start(t, &sqs.StartMessageMoveTaskInput{MaxNumberOfMessagesPerSecond: aws.Int32(1)})
	if e := r.latest(t); aws.ToString(e.Status) != "RUNNING" || aws.ToString(e.TaskHandle) != handle {
		t.Fatalf("running task = %+v", e)
	}
	_, err := r.c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(r.dlqARN)})
	wantCode(t, err, "InvalidParameterValue") // one running task per source

	out, err := r.c.CancelMessageMoveTask(ctx, &sqs.CancelMessageMoveTaskInput{TaskHandle: aws.String(handle)})
	if err != nil {
		t.Fatal(err)
	}
	e := r.waitDone(t)
	if aws.ToString(e.Status) != "CANCELLED" || e.ApproximateNumberOfMessagesMoved != out.ApproximateNumberOfMessagesMoved || e.ApproximateNumberOfMessagesMoved >= 5 {
		t.Fatalf("cancelled task = %+v (cancel reported %d moved)", e, out.ApproximateNumberOfMessagesMoved)
	}
	moved := int(e.ApproximateNumberOfMessagesMoved)
	wantCounts(t, r.c, r.dlqURL, 5-moved, 0, 0)
	wantCounts(t, r.c, r.srcURL, moved, 0, 0)

	_, err = r.c.CancelMessageMoveTask(ctx, &sqs.CancelMessageMoveTaskInput{TaskHandle: aws.String(handle)})
	wantCode(t, err, "InvalidParameterValue") // no longer running
}

func TestMoveTaskFailsWithoutAnOrigin(t *testing.T) {
	r := newRedriveSetup(t, 0, 1)
	// A second source makes the origin of the directly sent message unknown.
	createQueue(t, r.c, "mv-src2", map[string]string{"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":1}`, r.dlqARN)})
	r.start(t, &sqs.StartMessageMoveTaskInput{})
	e := r.latest(t)
	if aws.ToString(e.Status) != "FAILED" || !strings.Contains(aws.ToString(e.FailureReason), "DestinationArn") {
		t.Fatalf("task = %+v", e)
	}
	wantCounts(t, r.c, r.dlqURL, 1, 0, 0)
}

func TestMoveTaskErrors(t *testing.T) {
	ctx := context.Background()
	r := newRedriveSetup(t, 0, 0)
	notFound := func(t *testing.T, err error) { errorAs[*types.ResourceNotFoundException](t, err) }
	invalid := func(t *testing.T, err error) { wantCode(t, err, "InvalidParameterValue") }
	missingARN := "arn:aws:sqs:us-east-1:000000000000:" + uniqueName("absent")
	tests := []struct {
		name  string
		call  func() error
		check func(*testing.T, error)
	}{
		{"SourceMissing", func() error {
			_, err := r.c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(missingARN)})
			return err
		}, notFound},
		{"SourceNotADLQ", func() error {
			_, err := r.c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(r.srcARN)})
			return err
		}, invalid},
		{"DestinationMissing", func() error {
			_, err := r.c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(r.dlqARN), DestinationArn: aws.String(missingARN)})
			return err
		}, notFound},
		{"RateZero", func() error {
			_, err := r.c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(r.dlqARN), MaxNumberOfMessagesPerSecond: aws.Int32(0)})
			return err
		}, invalid},
		{"RateTooHigh", func() error {
			_, err := r.c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(r.dlqARN), MaxNumberOfMessagesPerSecond: aws.Int32(501)})
			return err
		}, invalid},
		{"CancelUnknown", func() error {
			_, err := r.c.CancelMessageMoveTask(ctx, &sqs.CancelMessageMoveTaskInput{TaskHandle: aws.String("nope")})
			return err
		}, notFound},
		{"ListMissingSource", func() error {
			_, err := r.c.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(missingARN)})
			return err
		}, notFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil {
				t.Fatal("no error")
			}
			tt.check(t, err)
		})
	}
}

// --- protocol edges, through raw HTTP ---

// post sends one raw request to h and returns the status, the headers and
// the decoded JSON body.
func post(t *testing.T, h http.Handler, ctx context.Context, method, host, target, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req := httptest.NewRequestWithContext(ctx, method, "http://"+host+"/any/path/at/all", strings.NewReader(body))
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	raw, _ := io.ReadAll(rec.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: response is not a JSON object: %q", target, body, raw)
	}
	return rec.Code, rec.Header(), out
}

func TestProtocolErrors(t *testing.T) {
	s := sqslocal.New(sqslocal.Options{})
	t.Cleanup(func() { _ = s.Close() })
	tests := []struct {
		name, method, target, body string
		status                     int
		errType                    string
	}{
		{"NoTarget", "POST", "", `{}`, 400, "UnsupportedOperation"},
		{"UnknownOperation", "POST", "AmazonSQS.Frobnicate", `{}`, 400, "UnsupportedOperation"},
		{"OtherService", "POST", "DynamoDB_20120810.ListTables", `{}`, 400, "UnsupportedOperation"},
		{"NotPost", "GET", "AmazonSQS.ListQueues", ``, 405, "UnsupportedOperation"},
		{"TruncatedJSON", "POST", "AmazonSQS.CreateQueue", `{"QueueName":`, 400, "SerializationException"},
		{"WrongType", "POST", "AmazonSQS.CreateQueue", `{"QueueName":5}`, 400, "SerializationException"},
		{"NotAnObject", "POST", "AmazonSQS.SendMessage", `[1,2]`, 400, "SerializationException"},
		{"BadBase64", "POST", "AmazonSQS.SendMessage", `{"QueueUrl":"q","MessageBody":"b","MessageAttributes":{"a":{"DataType":"Binary","BinaryValue":"@@"}}}`, 400, "SerializationException"},
		{"MissingQueueName", "POST", "AmazonSQS.CreateQueue", `null`, 400, "MissingParameter"},
		{"MissingQueueUrl", "POST", "AmazonSQS.SendMessage", `{"MessageBody":"b"}`, 400, "MissingParameter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, hdr, body := post(t, s, context.Background(), tt.method, "localhost", tt.target, tt.body)
			if status != tt.status || body["__type"] != "com.amazonaws.sqs#"+tt.errType || body["message"] == "" {
				t.Fatalf("got %d %v, want %d %s", status, body, tt.status, tt.errType)
			}
			if hdr.Get("Content-Type") != "application/x-amz-json-1.0" || !strings.HasSuffix(hdr.Get("x-amzn-query-error"), ";Sender") {
				t.Fatalf("headers %v", hdr)
			}
		})
	}
}

func TestQueueURLsFollowTheHost(t *testing.T) {
	s := sqslocal.New(sqslocal.Options{AccountID: "123456789012"})
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	status, _, body := post(t, s, ctx, "POST", "sqs.example.test:9324", "AmazonSQS.CreateQueue", `{"QueueName":"hosted"}`)
	if status != 200 || body["QueueUrl"] != "http://sqs.example.test:9324/123456789012/hosted" {
		t.Fatalf("CreateQueue: %d %v", status, body)
	}
	status, _, body = post(t, s, ctx, "POST", "127.0.0.1:1", "AmazonSQS.GetQueueUrl", `{"QueueName":"hosted"}`)
	if status != 200 || body["QueueUrl"] != "http://127.0.0.1:1/123456789012/hosted" {
		t.Fatalf("GetQueueUrl: %d %v", status, body)
	}
	// A URL from any host finds the queue by account and name.
	status, _, body = post(t, s, ctx, "POST", "localhost", "AmazonSQS.SendMessage", `{"QueueUrl":"https://sqs.us-east-1.amazonaws.com/123456789012/hosted","MessageBody":"hi"}`)
	if status != 200 || body["MD5OfMessageBody"] != md5Hex("hi") {
		t.Fatalf("SendMessage: %d %v", status, body)
	}
}

func TestReceiveHonoursCancellation(t *testing.T) {
	s := sqslocal.New(sqslocal.Options{})
	t.Cleanup(func() { _ = s.Close() })
	post(t, s, context.Background(), "POST", "localhost", "AmazonSQS.CreateQueue", `{"QueueName":"cancel"}`)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		status, _, _ := post(t, s, ctx, "POST", "localhost", "AmazonSQS.ReceiveMessage", `{"QueueUrl":"cancel","WaitTimeSeconds":20}`)
		done <- status
	}()
	cancel()
	select {
	case status := <-done:
		if status != 200 {
			t.Fatalf("status %d", status)
		}
	case <-time.After(10 * time.Second): // the poll itself would last 20 s
		t.Fatal("long poll ignored the cancelled request")
	}
}

func TestCloseEndsLongPolls(t *testing.T) {
	s := sqslocal.New(sqslocal.Options{})
	url, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// One attempt: once the listener is gone, retries only add back-off.
	c := sqs.NewFromConfig(motoserver.Config(), func(o *sqs.Options) { o.BaseEndpoint = aws.String(url); o.RetryMaxAttempts = 1 })
	qURL, _ := createQueue(t, c, "closing", nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(qURL), WaitTimeSeconds: 20})
	}()
	time.Sleep(100 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("long poll outlived Close")
	}
	if _, err := c.ListQueues(context.Background(), &sqs.ListQueuesInput{}); err == nil {
		t.Fatal("listener still answers after Close")
	}
}

func TestStats(t *testing.T) {
	ctx := context.Background()
	s := sqslocal.New(sqslocal.Options{})
	url, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	c := newClient(url)
	_, dlqARN := createQueue(t, c, "st-dlq", nil)
	srcURL, _ := createQueue(t, c, "st-src", map[string]string{"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":3}`, dlqARN)})
	send(t, c, srcURL, "visible")
	send(t, c, srcURL, "in flight")
	receiveOne(t, c, srcURL, 30)
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(srcURL), MessageBody: aws.String("delayed"), DelaySeconds: 600}); err != nil {
		t.Fatal(err)
	}
	stats := s.Stats()
	if len(stats) != 2 {
		t.Fatalf("Stats = %+v", stats)
	}
	dlq, src := stats[0], stats[1] // sorted by name: st-dlq-…, st-src-…
	if src.Visible != 1 || src.InFlight != 1 || src.Delayed != 1 || src.DeadLetterQueue != dlq.Name || len(src.DeadLetterSources) != 0 {
		t.Fatalf("source stats = %+v", src)
	}
	if dlq.Visible != 0 || dlq.ARN != dlqARN || !slices.Equal(dlq.DeadLetterSources, []string{src.Name}) {
		t.Fatalf("DLQ stats = %+v", dlq)
	}
}

// TestConcurrentUse delivers every message exactly once to competing
// consumers; run with -race it also checks the locking.
func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	c := localClient(t)
	url, _ := createQueue(t, c, "conc", nil)
	const producers, perProducer, consumers = 4, 25, 4
	total := producers * perProducer

	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := 0; i < perProducer; i += 5 {
				var entries []types.SendMessageBatchRequestEntry
				for j := i; j < i+5; j++ {
					entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String("e" + strconv.Itoa(j)), MessageBody: aws.String(fmt.Sprintf("%d-%d", p, j))})
				}
				if _, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var mu sync.Mutex
	seen := map[string]int{}
	for range consumers {
		wg.Go(func() {
			for {
				mu.Lock()
				n := len(seen)
				mu.Unlock()
				if n >= total {
					return
				}
				out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 600})
				if err != nil {
					t.Error(err)
					return
				}
				var entries []types.DeleteMessageBatchRequestEntry
				for i, m := range out.Messages {
					mu.Lock()
					seen[aws.ToString(m.Body)]++
					mu.Unlock()
					entries = append(entries, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
				}
				if len(entries) > 0 {
					if _, err := c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: entries}); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if len(seen) != total {
		t.Fatalf("received %d distinct messages, want %d", len(seen), total)
	}
	for body, n := range seen {
		if n != 1 {
			t.Fatalf("%s delivered %d times", body, n)
		}
	}
	wantCounts(t, c, url, 0, 0, 0)
}
