package twiliofake_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cogmail/cogmail/pkg/provider/twilio/twiliofake"
)

const (
	sid   = "AC0123456789abcdef0123456789abcdef"
	token = "f00dfeedf00dfeedf00dfeedf00dfeed"
)

// TestContract posts to the fake as Twilio's documentation shows (form
// fields, basic auth) and checks the answers' statuses and error codes.
func TestContract(t *testing.T) {
	fake := twiliofake.New(twiliofake.Options{AccountSID: sid, AuthToken: token, Senders: []string{"+12065550100"}})
	defer fake.Close()
	post := func(user, pass string, form url.Values) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, fake.URL()+"/2010-04-01/Accounts/"+sid+"/Messages.json", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(user, pass)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	ok := url.Values{"To": {"+14155552671"}, "From": {"+12065550100"}, "Body": {"hi"}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for key, vs := range ok {
			f[key] = vs
		}
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}
	tests := []struct {
		name   string
		user   string
		form   url.Values
		status int
		code   float64
	}{
		{"created", sid, ok, 201, 0},
		{"bad auth", "ACffffffffffffffffffffffffffffffff", ok, 401, 20003},
		{"no To", sid, with("To", ""), 400, 21604},
		{"bad To", sid, with("To", "4155552671"), 400, 21211},
		{"no sender", sid, with("From", ""), 400, 21603},
		{"foreign From", sid, with("From", "+12065550199"), 400, 21606},
		{"no body", sid, with("Body", ""), 400, 21602},
		{"long body", sid, with("Body", strings.Repeat("a", 1601)), 400, 21617},
		{"bad callback", sid, with("StatusCallback", "not a url"), 400, 21609},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pass := token
			status, body := post(tt.user, pass, tt.form)
			if status != tt.status {
				t.Fatalf("status %d, want %d (%v)", status, tt.status, body)
			}
			if tt.code == 0 {
				if s, _ := body["sid"].(string); !strings.HasPrefix(s, "SM") || body["status"] != "queued" {
					t.Errorf("created %v", body)
				}
				return
			}
			if body["code"] != tt.code || body["status"] != float64(tt.status) || body["more_info"] == nil {
				t.Errorf("error body %v, want code %v", body, tt.code)
			}
		})
	}
	if n := len(fake.Messages()); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

// TestSign: the signature covers the URL and the fields, whatever their
// order. That twilio-go's validator accepts it is checked in package
// twilio (TestVerify, TestStatusCallbackEndToEnd).
func TestSign(t *testing.T) {
	form := url.Values{"b": {"2"}, "a": {"1"}}
	if twiliofake.Sign(token, "https://x.example/t", form) != twiliofake.Sign(token, "https://x.example/t", url.Values{"a": {"1"}, "b": {"2"}}) {
		t.Error("Sign depends on map order")
	}
	if twiliofake.Sign(token, "https://x.example/t", form) == twiliofake.Sign(token, "https://x.example/u", form) {
		t.Error("Sign ignores the URL")
	}
}
