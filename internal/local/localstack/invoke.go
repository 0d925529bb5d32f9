package localstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/cogmail/cogmail/pkg/ingest"
	"github.com/cogmail/cogmail/pkg/queue"
)

// Lambda's payload limits: a synchronous invocation's request, and an
// asynchronous (Event) one's.
const (
	maxSyncPayload  = 6 << 20   // 6,291,456 bytes
	maxEventPayload = 256 << 10 // 262,144 bytes
	// maxDrain bounds how much of an oversized body is read (and dropped)
	// so that the client gets its 413 instead of a reset connection.
	maxDrain = 64 << 20
)

// IngestFunction is the local stack's one function, and Alias its one
// alias (pointing at $LATEST), for the Invoke API.
const (
	IngestFunction = "ingest"
	Alias          = "live"
)

// invokeHandler serves the Lambda Invoke API for the ingest function
// (POST /2015-03-31/functions/{name}/invocations), answering as Lambda
// does, so `aws lambda invoke --endpoint-url`, boto3 and `cogmail invoke`
// reach the real handler:
//   - the function by name, ARN or partial ARN, with an optional qualifier
//     ($LATEST or the alias live; also ?Qualifier=); anything else is 404
//     ResourceNotFoundException;
//   - RequestResponse: 200 with the result, or with X-Amz-Function-Error
//     and Lambda's error payload when the function fails;
//   - Event: 202 at once; a failure goes where the stack's on-failure
//     destination sends it (IngestFailureQueueName), as a Lambda
//     destination record, and is logged; the local stack does not retry;
//   - DryRun: 204;
//   - payloads over 6 MB (sync) or 256 KB (Event): 413
//     RequestEntityTooLargeException, the body read to its end first.
func (s *Stack) invokeHandler(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, errType, msg string) {
		// Read what is left of the body, so the client sees the answer
		// rather than a connection reset.
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxDrain))
		w.Header().Set("x-amzn-ErrorType", errType)
		writeJSON(w, status, map[string]string{"Type": "User", "message": msg})
	}
	name, qualifier := r.PathValue("name"), r.URL.Query().Get("Qualifier")
	fn, ok := s.resolveFunction(name, qualifier)
	if !ok {
		fail(http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+fn+" (the local stack runs: "+IngestFunction+", alias "+Alias+")")
		return
	}
	typ := r.Header.Get("X-Amz-Invocation-Type")
	limit := int64(maxSyncPayload)
	switch typ {
	case "", "RequestResponse":
		typ = "RequestResponse"
	case "Event":
		limit = maxEventPayload
	case "DryRun":
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxDrain))
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		fail(http.StatusBadRequest, "InvalidParameterValueException", "1 validation error detected: Value '"+typ+"' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		fail(http.StatusBadRequest, "InvalidRequestContentException", "cannot read the payload")
		return
	}
	if int64(len(body)) > limit {
		fail(http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException",
			fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", limit))
		return
	}
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	if typ == "Event" {
		// Lambda accepts the event before running it: the answer does not
		// depend on the outcome.
		w.WriteHeader(http.StatusAccepted)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			ctx := context.WithoutCancel(r.Context())
			if _, err := s.Invoke(ctx, body); err != nil {
				s.onFailure(ctx, fn, body, err)
			}
		}()
		return
	}
	res, err := s.Invoke(r.Context(), body)
	if err != nil {
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		writeJSON(w, http.StatusOK, functionError(err))
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// resolveFunction reads a function name as Lambda does (name, partial ARN
// ACCOUNT:function:NAME, or full ARN, each with an optional :QUALIFIER)
// and reports whether it names the local ingest function; it returns the
// function's ARN (or the name as given, when it names nothing here).
func (s *Stack) resolveFunction(name, qualifier string) (string, bool) {
	parts := strings.Split(name, ":")
	account, region, fn, q := s.KMS.AccountID(), s.Region, "", ""
	switch {
	case len(parts) >= 7 && parts[0] == "arn" && parts[2] == "lambda" && parts[5] == "function":
		region, account, fn = parts[3], parts[4], parts[6]
		if len(parts) == 8 {
			q = parts[7]
		} else if len(parts) > 8 {
			return name, false
		}
	case len(parts) >= 3 && parts[1] == "function":
		account, fn = parts[0], parts[2]
		if len(parts) == 4 {
			q = parts[3]
		} else if len(parts) > 4 {
			return name, false
		}
	case len(parts) <= 2:
		fn = parts[0]
		if len(parts) == 2 {
			q = parts[1]
		}
	default:
		return name, false
	}
	if qualifier != "" {
		if q != "" && q != qualifier {
			return name, false
		}
		q = qualifier
	}
	if fn != IngestFunction || account != s.KMS.AccountID() || region != s.Region {
		return name, false
	}
	if q != "" && q != "$LATEST" && q != Alias {
		return name, false
	}
	arn := "arn:aws:lambda:" + s.Region + ":" + s.KMS.AccountID() + ":function:" + IngestFunction
	if q != "" {
		arn += ":" + q
	}
	return arn, true
}

// functionError is Lambda's payload for a function error.
func functionError(err error) map[string]string {
	errType := "Error"
	var ie *ingest.Error
	if errors.As(err, &ie) {
		errType = "ingest." + string(ie.Stage)
	}
	return map[string]string{"errorMessage": err.Error(), "errorType": errType}
}

// onFailure sends a failed Event invocation where the stack's on-failure
// destination would (IngestInvokeConfig in infra/template.yaml): a
// destination record on the ingest failure queue, and an ERROR line.
func (s *Stack) onFailure(ctx context.Context, fnARN string, event []byte, err error) {
	fe := functionError(err)
	rec := map[string]any{
		"version":   "1.0",
		"timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"requestContext": map[string]any{
			"requestId": newRequestID(), "functionArn": fnARN, "condition": "RetriesExhausted", "approximateInvokeCount": 1,
		},
		"requestPayload":  json.RawMessage(event),
		"responseContext": map[string]any{"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
		"responsePayload": fe,
	}
	if !json.Valid(event) {
		rec["requestPayload"] = string(event)
	}
	// The line and the inbox entry come before the record is sent, so that
	// whoever sees the record on the queue also finds them.
	s.log.ErrorContext(ctx, "asynchronous invocation failed; the event went to the on-failure destination",
		"function", "ingest", "errorType", fe["errorType"], "error", fe["errorMessage"], "destination", IngestFailureQueueName)
	s.failed.add(FailedInvocation{At: time.Now(), Function: "ingest", ErrorType: fe["errorType"], Error: fe["errorMessage"], Destination: IngestFailureQueueName})
	b, _ := json.Marshal(rec)
	if _, err := s.SQSClient.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(s.IngestFailureQueueURL), MessageBody: aws.String(string(b))}); err != nil {
		s.log.ErrorContext(ctx, "the on-failure destination refused the record; the event is lost", "function", "ingest",
			"destination", IngestFailureQueueName, "destinationError", err.Error())
	}
}

// FailedInvocation is an Event invocation that failed and went to the
// on-failure destination, as the inbox and GET /api/invocations/failed show
// it. Its error is ingest's, which never holds the code.
type FailedInvocation struct {
	At          time.Time `json:"at"`
	Function    string    `json:"function"`
	ErrorType   string    `json:"errorType"`
	Error       string    `json:"error"`
	Destination string    `json:"destination"`
}

// failedInvocations keeps the newest failed Event invocations first.
type failedInvocations struct {
	mu   sync.Mutex
	list []FailedInvocation
}

func (f *failedInvocations) add(x FailedInvocation) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.list = append([]FailedInvocation{x}, f.list...)
}

func (f *failedInvocations) all() []FailedInvocation {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]FailedInvocation{}, f.list...)
}

// FailedInvocations lists the Event invocations that failed, newest first.
func (s *Stack) FailedInvocations() []FailedInvocation { return s.failed.all() }

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Invoke hands one event to the ingest handler as Lambda would, with a new
// X-Ray trace header in the context (Lambda gives every invocation one), so
// the header travels through the queue to dispatch as in AWS.
func (s *Stack) Invoke(ctx context.Context, event []byte) (ingest.Result, error) {
	return s.Ingest.Handle(queue.WithTraceHeader(ctx, newTraceHeader(time.Now())), event)
}

// newTraceHeader makes an X-Ray trace header: Root=1-<epoch seconds, 8 hex>-<96
// random bits>;Parent=<64 random bits>;Sampled=1.
func newTraceHeader(now time.Time) string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=1", now.Unix(), hex.EncodeToString(b[:12]), hex.EncodeToString(b[12:]))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
