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
	"time"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/ingest"
	"github.com/cogmail/cogmail/pkg/queue"
)

// invokeHandler serves the Lambda Invoke API shape for the ingest function
// (POST /2015-03-31/functions/ingest/invocations), so `aws lambda invoke
// --endpoint-url` and `cogmail invoke` reach the real handler. A function
// error answers 200 with X-Amz-Function-Error, as Lambda does.
func (s *Stack) invokeHandler(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if name != "ingest" {
		w.Header().Set("x-amzn-ErrorType", "ResourceNotFoundException")
		writeJSON(w, http.StatusNotFound, map[string]string{"Type": "User", "message": "Function not found: " + name + " (the local stack runs: ingest)"})
		return
	}
	if t := r.Header.Get("X-Amz-Invocation-Type"); t != "" && t != "RequestResponse" && t != "Event" {
		w.Header().Set("x-amzn-ErrorType", "InvalidParameterValueException")
		writeJSON(w, http.StatusBadRequest, map[string]string{"Type": "User", "message": "unsupported invocation type " + t})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, cognito.MaxEventBytes+1))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "cannot read the payload"})
		return
	}
	res, err := s.Invoke(r.Context(), body)
	if err != nil {
		errType := "Error"
		var ie *ingest.Error
		if errors.As(err, &ie) {
			errType = "ingest." + string(ie.Stage)
		}
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		writeJSON(w, http.StatusOK, map[string]string{"errorMessage": err.Error(), "errorType": errType})
		return
	}
	if r.Header.Get("X-Amz-Invocation-Type") == "Event" {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	writeJSON(w, http.StatusOK, res)
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
