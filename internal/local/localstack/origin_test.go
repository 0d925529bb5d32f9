package localstack_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/cogmail/cogmail/internal/local/localstack"
	"github.com/cogmail/cogmail/pkg/awsclient"
)

// TestOnlyItsOwnOrigin: the running stack answers its own address (and
// localhost), never a DNS-rebinding page's Host, and takes no state change
// from another origin's page: not a suppression, not an invocation.
func TestOnlyItsOwnOrigin(t *testing.T) {
	s, good := invokeStack(t)
	port := s.URL[strings.LastIndex(s.URL, ":")+1:]
	do := func(method, path, host string, header map[string]string, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if host != "" {
			req.Host = host
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	invoke := "/2015-03-31/functions/ingest/invocations"
	evil := map[string]string{"Origin": "http://evil.example", "Content-Type": "text/plain"}
	cases := []struct {
		name, method, path, host string
		header                   map[string]string
		body                     string
		want                     int
	}{
		{"messages, rebinding", http.MethodGet, "/api/messages", "evil.example:" + port, nil, "", 403},
		{"inbox, rebinding", http.MethodGet, "/", "evil.example:" + port, nil, "", 403},
		{"SQS, rebinding", http.MethodPost, "/", "evil.example:" + port, map[string]string{"X-Amz-Target": "AmazonSQS.ListQueues", "Content-Type": "application/x-amz-json-1.0"}, "{}", 403},
		{"suppression from another origin", http.MethodPost, "/api/suppressions", "", evil, `{"address":"victim@example.com"}`, 403},
		{"lifting a suppression from a cross-site page", http.MethodDelete, "/api/suppressions/victim@example.com", "", map[string]string{"Sec-Fetch-Site": "cross-site"}, "", 403},
		{"invoke from another origin", http.MethodPost, invoke, "", evil, string(good), 403},
		{"faults from another origin", http.MethodPut, "/api/faults", "", evil, "ses=1", 403},
		{"messages, localhost", http.MethodGet, "/api/messages", "localhost:" + port, nil, "", 200},
		{"suppression from its own page", http.MethodPost, "/api/suppressions", "", map[string]string{"Origin": s.URL, "Sec-Fetch-Site": "same-origin"}, `{"address":"own@example.com"}`, 204},
		{"invoke with no browser headers (cogmail invoke, curl)", http.MethodPost, invoke, "", nil, string(good), 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got, body := do(tc.method, tc.path, tc.host, tc.header, tc.body); got != tc.want {
				t.Errorf("status %d, want %d: %s", got, tc.want, body)
			}
		})
	}
	if l := s.Suppressions(); len(l) != 1 || l[0].Address != "own@example.com" {
		t.Errorf("suppressions %+v, want only the one added by the stack's own origin", l)
	}

	// The AWS SDK for Go sends Host 127.0.0.1:PORT, or localhost:PORT when
	// pointed there: both are the stack's.
	for _, endpoint := range []string{s.URL, "http://localhost:" + port} {
		c := sqs.NewFromConfig(awsclient.Config(s.Region, credentials.NewStaticCredentialsProvider("local", "local", "")),
			func(o *sqs.Options) { o.BaseEndpoint = aws.String(endpoint) })
		out, err := c.GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String(localstack.QueueName)})
		if err != nil {
			t.Fatalf("SDK at %s: %v", endpoint, err)
		}
		if u, _ := url.Parse(aws.ToString(out.QueueUrl)); u == nil || u.Port() != port {
			t.Errorf("queue URL %s", aws.ToString(out.QueueUrl))
		}
	}
}
