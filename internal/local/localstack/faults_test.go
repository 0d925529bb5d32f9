package localstack_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/cogmail/cogmail/internal/local/localstack"
)

// TestFaultsAPI: GET /api/faults shows the injected faults in --fail form;
// PUT replaces them; an empty PUT clears them; a bad list is refused with
// the reason and changes nothing.
func TestFaultsAPI(t *testing.T) {
	s, err := localstack.Start(context.Background(), localstack.Options{Faults: map[string]localstack.Fault{"ses": {Rate: 1}, "smtp": {Status: 550}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	type faults struct {
		Fail   string                      `json:"fail"`
		Faults map[string]localstack.Fault `json:"faults"`
	}
	get := func() faults {
		var f faults
		getJSON(t, s.URL+"/api/faults", &f)
		return f
	}
	put := func(body string) int {
		req, _ := http.NewRequest(http.MethodPut, s.URL+"/api/faults", strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if f := get(); f.Fail != "ses=1,smtp=550" || f.Faults["smtp"].Status != 550 || f.Faults["ses"].Rate != 1 {
		t.Errorf("GET at start: %+v, want ses=1,smtp=550", f)
	}
	if code := put("sendgrid=0.5,mailgun=429"); code != http.StatusNoContent {
		t.Fatalf("PUT: %d", code)
	}
	if f := get(); f.Fail != "mailgun=429,sendgrid=0.5" {
		t.Errorf("GET after PUT: %q", f.Fail)
	}
	if code := put("postmark=1"); code != http.StatusBadRequest {
		t.Errorf("PUT of an unknown provider: %d, want 400", code)
	}
	if f := get(); f.Fail != "mailgun=429,sendgrid=0.5" {
		t.Errorf("a refused PUT changed the faults: %q", f.Fail)
	}
	if code := put(""); code != http.StatusNoContent {
		t.Fatalf("empty PUT: %d", code)
	}
	if f := get(); f.Fail != "" || len(f.Faults) != 0 {
		t.Errorf("after an empty PUT: %+v, want none", f)
	}
}

// TestWiringNamesEveryEndpoint: what the stack publishes for other
// processes names its URL, queues, key, routing parameter, sender and each
// provider fake's address.
func TestWiringNamesEveryEndpoint(t *testing.T) {
	s, err := localstack.Start(context.Background(), localstack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := map[string]string{}
	for _, v := range s.Wiring() {
		if _, dup := got[v.Name]; dup {
			t.Errorf("%s twice", v.Name)
		}
		got[v.Name] = v.Value
	}
	want := map[string]string{
		"COGMAIL_LOCAL_URL": s.URL, "AWS_ENDPOINT_URL_SQS": s.URL, "AWS_ENDPOINT_URL_KMS": s.URL, "AWS_ENDPOINT_URL_SSM": s.URL,
		"AWS_REGION": s.Region, "COGMAIL_QUEUE_URL": s.QueueURL, "COGMAIL_DLQ_URL": s.DLQURL,
		"COGMAIL_INGEST_FAILURE_QUEUE_URL": s.IngestFailureQueueURL, "COGMAIL_KMS_KEY_ARN": s.KMSKeyARN,
		"COGMAIL_PROVIDERS_PARAM": localstack.ProvidersParam, "COGMAIL_PROVIDERS": localstack.DefaultProviders,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	for _, k := range []string{"COGMAIL_SENDER_EMAIL", "COGMAIL_SENDGRID_BASE_URL", "COGMAIL_MAILGUN_BASE_URL", "COGMAIL_SES_ENDPOINT", "COGMAIL_SMTP_HOST", "COGMAIL_SMTP_PORT"} {
		if got[k] == "" {
			t.Errorf("%s is missing", k)
		}
	}
}
