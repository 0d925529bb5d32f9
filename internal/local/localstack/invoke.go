package localstack

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/ingest"
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
	res, err := s.Ingest.Handle(r.Context(), body)
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

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
