package awslocal_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cogmail/cogmail/internal/local/awslocal"
)

func named(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(name)) })
}

func TestRouter(t *testing.T) {
	r := &awslocal.Router{Fallback: named("web")}
	r.Handle("TrentService.", named("kms"))
	r.Handle("AmazonSQS.", named("sqs"))
	cases := []struct {
		target, want string
		status       int
	}{
		{"TrentService.Decrypt", "kms", 200},
		{"AmazonSQS.SendMessage", "sqs", 200},
		{"AmazonSSM.GetParameter", "", 400},
		{"", "web", 200},
	}
	for _, tc := range cases {
		req := httptest.NewRequest(http.MethodPost, "/", nil)
		if tc.target != "" {
			req.Header.Set("X-Amz-Target", tc.target)
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if rec.Code != tc.status || (tc.want != "" && rec.Body.String() != tc.want) {
			t.Errorf("%q: got %d %q, want %d %q", tc.target, rec.Code, rec.Body.String(), tc.status, tc.want)
		}
	}
}
