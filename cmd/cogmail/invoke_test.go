package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/cogmail/cogmail/internal/local/localstack"
	"github.com/cogmail/cogmail/pkg/codecrypt"
)

// fakeLambda speaks the Lambda Invoke API shape: "ok" answers, "broken"
// fails as a function, anything else is not found. With creds set it
// demands a valid SigV4 signature for the lambda service, as AWS does.
type fakeLambda struct {
	creds *aws.Credentials
	mu    sync.Mutex
	calls []fakeCall
}

type fakeCall struct {
	function, invocationType, authorization string
	body                                    []byte
}

func (f *fakeLambda) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.calls = append(f.calls, fakeCall{r.PathValue("name"), r.Header.Get("X-Amz-Invocation-Type"), r.Header.Get("Authorization"), body})
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if f.creds != nil {
			if msg := verifySigV4(r, body, *f.creds); msg != "" {
				w.Header().Set("x-amzn-ErrorType", "InvalidSignatureException")
				w.WriteHeader(http.StatusForbidden)
				_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
				return
			}
		}
		switch r.PathValue("name") {
		case "ok", "ingest", "arn:aws:lambda:us-west-2:111122223333:function:ok":
			_, _ = w.Write([]byte(`{"messageId":"m-1","trigger":"CustomEmailSender_SignUp"}`))
		case "broken":
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			_, _ = w.Write([]byte(`{"errorMessage":"codecrypt: decrypt: code does not decrypt","errorType":"ingest.decrypt"}`))
		default:
			w.Header().Set("x-amzn-ErrorType", "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.lambda/")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"Type":"User","Message":"Function not found: ` + r.PathValue("name") + `"}`))
		}
	})
	mux.ServeHTTP(w, r)
}

// verifySigV4 re-signs the request's signed headers with creds at the time
// it was signed and compares; it returns what is wrong, or "".
func verifySigV4(r *http.Request, body []byte, creds aws.Credentials) string {
	auth := r.Header.Get("Authorization")
	_, signed, ok := strings.Cut(auth, "SignedHeaders=")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential="+creds.AccessKeyID+"/") || !ok {
		return "missing or foreign SigV4 Authorization: " + auth
	}
	signed, _, _ = strings.Cut(signed, ",")
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "bad X-Amz-Date"
	}
	region := strings.Split(auth, "/")[2]
	check, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
	check.ContentLength = r.ContentLength
	for _, h := range strings.Split(signed, ";") {
		if h != "host" {
			check.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, check, hex.EncodeToString(sum[:]), "lambda", region, at); err != nil {
		return err.Error()
	}
	if check.Header.Get("Authorization") != auth {
		return "The request signature we calculated does not match the signature you provided."
	}
	return ""
}

func TestInvoke(t *testing.T) {
	creds := aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}
	signedLambda := &fakeLambda{creds: &creds}
	signedSrv := httptest.NewServer(signedLambda)
	defer signedSrv.Close()
	localLambda := &fakeLambda{}
	localSrv := httptest.NewServer(localLambda)
	defer localSrv.Close()

	awsVars := map[string]string{"AWS_ENDPOINT_URL_LAMBDA": signedSrv.URL, "AWS_ACCESS_KEY_ID": creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY": creds.SecretAccessKey, "AWS_REGION": "us-west-2"}
	wrongKey := map[string]string{"AWS_ENDPOINT_URL_LAMBDA": signedSrv.URL, "AWS_ACCESS_KEY_ID": creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY": "not-the-secret", "AWS_REGION": "us-west-2"}
	eventFile := filepath.Join(t.TempDir(), "event.json")
	event := `{"version":"1","triggerSource":"CustomEmailSender_SignUp"}`
	if err := os.WriteFile(eventFile, []byte(event), 0o644); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name     string
		vars     map[string]string
		stdin    string
		args     []string
		lambda   *fakeLambda
		function string // the function the fake saw, "" for no call
		code     int
		want     string // in stdout
		wantErr  string // in stderr
		scope    string // the SigV4 region the request must be signed for; "" for unsigned
	}{
		{"local stack", nil, "", []string{"--event", eventFile, "--endpoint", localSrv.URL}, localLambda, "ingest", exitOK, `"messageId": "m-1"`, "", ""},
		{"local stack, stdin", nil, event, []string{"--event", "-", "--endpoint", localSrv.URL + "/", "--function", "ok"}, localLambda, "ok", exitOK, `"messageId": "m-1"`, "", ""},
		{"local function error", nil, "", []string{"--event", eventFile, "--endpoint", localSrv.URL, "--function", "broken"}, localLambda, "broken", exitFailed, `"errorType": "ingest.decrypt"`, "function broken failed (Unhandled): ingest.decrypt: codecrypt: decrypt", ""},
		{"local unknown function", nil, "", []string{"--event", eventFile, "--endpoint", localSrv.URL, "--function", "nope"}, localLambda, "nope", exitFailed, "", "HTTP 404 ResourceNotFoundException: Function not found: nope", ""},
		{"deployed, signed", awsVars, "", []string{"--event", eventFile, "--function", "ok"}, signedLambda, "ok", exitOK, `"messageId": "m-1"`, "", "us-west-2"},
		{"deployed by ARN, region from the ARN", map[string]string{"AWS_ENDPOINT_URL": signedSrv.URL, "AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret"}, "",
			[]string{"--event", eventFile, "--function", "arn:aws:lambda:us-west-2:111122223333:function:ok"}, signedLambda, "arn:aws:lambda:us-west-2:111122223333:function:ok", exitOK, `"messageId"`, "", "us-west-2"},
		{"deployed, --region", awsVars, "", []string{"--event", eventFile, "--function", "ok", "--region", "eu-central-1"}, signedLambda, "ok", exitOK, `"messageId"`, "", "eu-central-1"},
		{"deployed, wrong secret", wrongKey, "", []string{"--event", eventFile, "--function", "ok"}, signedLambda, "ok", exitFailed, "", "HTTP 403 InvalidSignatureException: The request signature we calculated does not match", "us-west-2"},
		{"deployed function error", awsVars, "", []string{"--event", eventFile, "--function", "broken"}, signedLambda, "broken", exitFailed, `"errorMessage"`, "function broken failed (Unhandled)", "us-west-2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.lambda.mu.Lock()
			tc.lambda.calls = nil
			tc.lambda.mu.Unlock()
			code, stdout, stderr := runCmdGetenv(t, tc.vars, tc.stdin, append([]string{"invoke"}, tc.args...)...)
			if code != tc.code || !strings.Contains(stdout, tc.want) || !strings.Contains(stderr, tc.wantErr) {
				t.Fatalf("exit %d (want %d); stdout %q (want %q); stderr %q (want %q)", code, tc.code, stdout, tc.want, stderr, tc.wantErr)
			}
			tc.lambda.mu.Lock()
			defer tc.lambda.mu.Unlock()
			if len(tc.lambda.calls) != 1 {
				t.Fatalf("%d calls, want 1", len(tc.lambda.calls))
			}
			c := tc.lambda.calls[0]
			if c.function != tc.function || c.invocationType != "RequestResponse" || string(c.body) != event {
				t.Errorf("call %q type %q body %q; want %q RequestResponse and the event", c.function, c.invocationType, c.body, tc.function)
			}
			switch {
			case tc.scope == "" && c.authorization != "":
				t.Errorf("the local stack got an Authorization header: %q", c.authorization)
			case tc.scope != "" && !strings.Contains(c.authorization, "/"+tc.scope+"/lambda/aws4_request"):
				t.Errorf("Authorization %q is not SigV4 for lambda in %s", c.authorization, tc.scope)
			}
		})
	}
}

func TestInvokeErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	notJSON := filepath.Join(t.TempDir(), "ev.txt")
	if err := os.WriteFile(notJSON, []byte("not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"help", []string{"invoke", "--help"}, exitOK, "Examples:"},
		{"no event", []string{"invoke"}, exitUsage, "--event FILE is required"},
		{"missing file", []string{"invoke", "--event", "/nonexistent.json"}, exitUsage, "--event"},
		{"not JSON", []string{"invoke", "--event", notJSON}, exitUsage, "is not JSON"},
		{"region for the local stack", []string{"invoke", "--event", "-", "--endpoint", closed, "--region", "us-east-1"}, exitUsage, "--region applies to a deployed function"},
		{"bad endpoint", []string{"invoke", "--event", "-", "--endpoint", "127.0.0.1:8025"}, exitUsage, "not an http(s) URL"},
		{"nothing listening", []string{"invoke", "--event", "-", "--endpoint", closed}, exitFailed, "connection refused"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCmdGetenv(t, nil, `{}`, tc.args...)
			if code != tc.code || !strings.Contains(stdout+stderr, tc.want) {
				t.Errorf("exit %d (want %d); output lacks %q:\n%s%s", code, tc.code, tc.want, stdout, stderr)
			}
		})
	}
}

// An event made by `cogmail event` goes through the real ingest handler of
// the local stack via `cogmail invoke`; one encrypted under another key
// comes back as a function error.
func TestEventThenInvokeLocalStack(t *testing.T) {
	ctx := context.Background()
	stack, err := localstack.Start(ctx, localstack.Options{AES: &codecrypt.RawAESKey{Namespace: "ns", Name: "k", Key: testAESKey}})
	if err != nil {
		t.Fatal(err)
	}
	defer stack.Close()
	dir := t.TempDir()
	cases := []struct {
		name   string
		keyHex string
		code   int
		want   string
	}{
		{"delivered to the queue", hex.EncodeToString(testAESKey), exitOK, `"template": "SignUp"`},
		{"another key", strings.Repeat("07", 32), exitFailed, `"errorType": "ingest.decrypt"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, tc.keyHex[:4]+".json")
			code, stdout, stderr := runCmd(t, "event", "--trigger", "SignUp", "--email", "ana@example.com", "--locale", "pt-BR",
				"--aes-key-hex", tc.keyHex, "--aes-key-namespace", "ns", "--aes-key-name", "k", "--out", file)
			if code != exitOK {
				t.Fatalf("event: exit %d\n%s%s", code, stdout, stderr)
			}
			code, stdout, stderr = runCmd(t, "invoke", "--event", file, "--endpoint", stack.URL)
			if code != tc.code || !strings.Contains(stdout, tc.want) {
				t.Errorf("invoke: exit %d (want %d); stdout lacks %q:\n%s%s", code, tc.code, tc.want, stdout, stderr)
			}
		})
	}
}
