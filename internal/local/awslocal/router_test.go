package awslocal_test

import (
	"net"
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

// TestOwnOrigin: only requests for the listener's own address pass, and a
// browser's cross-origin state change does not.
func TestOwnOrigin(t *testing.T) {
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8025}
	h := awslocal.OwnOrigin(addr, named("ok"))
	cases := []struct {
		name, method, host string
		header             map[string]string
		status             int
	}{
		{"SDK, aws CLI, boto3", http.MethodPost, "127.0.0.1:8025", map[string]string{"X-Amz-Target": "AmazonSQS.ListQueues"}, 200},
		{"localhost", http.MethodGet, "localhost:8025", nil, 200},
		{"localhost in capitals", http.MethodGet, "LocalHost:8025", nil, 200},
		{"the inbox's own POST", http.MethodPost, "127.0.0.1:8025", map[string]string{"Origin": "http://127.0.0.1:8025", "Sec-Fetch-Site": "same-origin"}, 200},
		{"a typed URL", http.MethodGet, "127.0.0.1:8025", map[string]string{"Sec-Fetch-Site": "none"}, 200},
		{"DNS rebinding", http.MethodGet, "evil.example:8025", nil, 403},
		{"DNS rebinding, no port", http.MethodGet, "evil.example", nil, 403},
		{"another port", http.MethodGet, "127.0.0.1:8026", nil, 403},
		{"another loopback address", http.MethodGet, "127.0.0.2:8025", nil, 403},
		{"no Host", http.MethodGet, "", nil, 403},
		{"cross-origin text/plain POST", http.MethodPost, "127.0.0.1:8025", map[string]string{"Origin": "http://evil.example", "Content-Type": "text/plain"}, 403},
		{"cross-site POST", http.MethodPost, "127.0.0.1:8025", map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, 403},
		{"same-site page on another port", http.MethodPost, "127.0.0.1:8025", map[string]string{"Origin": "http://127.0.0.1:9000", "Sec-Fetch-Site": "same-site"}, 403},
		{"an opaque origin", http.MethodDelete, "127.0.0.1:8025", map[string]string{"Origin": "null"}, 403},
		{"cross-origin GET (unreadable without CORS)", http.MethodGet, "127.0.0.1:8025", map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "/api/suppressions", nil)
			req.Host = tc.host
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
		})
	}
}
