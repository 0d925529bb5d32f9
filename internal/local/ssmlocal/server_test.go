package ssmlocal_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cogmail/cogmail/internal/local/ssmlocal"
)

func TestServeHTTP(t *testing.T) {
	cases := []struct {
		name, method, path, target, body string
		status                           int
		errType                          string
	}{
		{"any path", http.MethodPost, "/some/prefix", "AmazonSSM.PutParameter", `{"Name":"/a","Value":"v","Type":"String"}`, http.StatusOK, ""},
		{"not a POST", http.MethodGet, "/", "AmazonSSM.GetParameter", ``, http.StatusMethodNotAllowed, "UnsupportedOperation"},
		{"unknown operation", http.MethodPost, "/", "AmazonSSM.GetParametersByPath", `{}`, http.StatusBadRequest, "UnknownOperationException"},
		{"another service", http.MethodPost, "/", "AmazonSQS.ListQueues", `{}`, http.StatusBadRequest, "UnknownOperationException"},
		{"bad JSON", http.MethodPost, "/", "AmazonSSM.GetParameter", `{"Name":`, http.StatusBadRequest, "SerializationException"},
		{"reserved name", http.MethodPost, "/", "AmazonSSM.PutParameter", `{"Name":"/aws/x","Value":"v","Type":"String"}`, http.StatusBadRequest, "ValidationException"},
		{"empty value", http.MethodPost, "/", "AmazonSSM.PutParameter", `{"Name":"/b","Value":"","Type":"String"}`, http.StatusBadRequest, "ValidationException"},
		{"too many names", http.MethodPost, "/", "AmazonSSM.GetParameters", `{"Names":["1","2","3","4","5","6","7","8","9","10","11"]}`, http.StatusBadRequest, "ValidationException"},
	}
	h := ssmlocal.New(ssmlocal.Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			req.Header.Set("X-Amz-Target", tc.target)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var body struct {
				Type string `json:"__type"`
			}
			_ = json.Unmarshal(rec.Body.Bytes(), &body)
			if rec.Code != tc.status || body.Type != tc.errType {
				t.Errorf("status %d __type %q, want %d %q: %s", rec.Code, body.Type, tc.status, tc.errType, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/x-amz-json-1.1" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

// FuzzServeHTTP: whatever the body, the server answers with JSON and never a 5xx.
func FuzzServeHTTP(f *testing.F) {
	f.Add("PutParameter", `{"Name":"/a","Value":"v","Type":"SecureString"}`)
	f.Add("GetParameter", `{"Name":"/a:1","WithDecryption":true}`)
	f.Add("GetParameters", `{"Names":["/a","/b:x"]}`)
	f.Add("DeleteParameter", `{"Name":null}`)
	h := ssmlocal.New(ssmlocal.Options{})
	f.Fuzz(func(t *testing.T, op, body string) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", "AmazonSSM."+op)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 || !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("status %d body %q", rec.Code, rec.Body)
		}
	})
}
