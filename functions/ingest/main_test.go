package main_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cogmail/cogmail/internal/local/localstack"
	"github.com/cogmail/cogmail/internal/testkit/fixtures"
	"github.com/cogmail/cogmail/internal/testkit/lambdaruntime"
	"github.com/cogmail/cogmail/pkg/cognito"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// bootstrap builds the function once for all tests of this binary.
func bootstrap(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cogmail-ingest-test-")
		if err != nil {
			buildErr = err
			return
		}
		binPath, buildErr = lambdaruntime.Build(context.Background(), fixtures.Root(), "./functions/ingest", dir)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// TestBootstrap runs the real bootstrap binary as Lambda would (Runtime API,
// JSON log format), against local KMS and SQS through the AWS_ENDPOINT_URL_*
// variables, with every shared event: deliver cases succeed, reject cases
// fail the invocation, every log line is JSON with the request id, and no
// code, password or address appears in stdout or stderr.
func TestBootstrap(t *testing.T) {
	ctx := context.Background()
	bin := bootstrap(t)
	ev, base := startLocal(t)
	keyrings := map[string][]string{
		"kms": append(base, "COGMAIL_KEYRING=kms"),
		"raw-aes": append(base, "COGMAIL_KEYRING=raw-aes", "COGMAIL_AES_KEY_HEX="+hex.EncodeToString(ev.AESKey()),
			"COGMAIL_AES_KEY_NAMESPACE="+ev.KeyNamespace, "COGMAIL_AES_KEY_NAME="+ev.KeyName),
	}
	for keyring, env := range keyrings {
		t.Run(keyring, func(t *testing.T) {
			rt, err := lambdaruntime.Start()
			if err != nil {
				t.Fatal(err)
			}
			defer rt.Close()
			p, err := rt.Exec(bin, env)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Stop()
			var secrets []string
			ids := map[string]bool{}
			for _, c := range ev.ByKeyring(keyring) {
				e, _ := cognito.Parse(c.Event)
				secrets = append(secrets, e.Attr("email"))
				if c.Secret != "" {
					secrets = append(secrets, c.Secret, html.UnescapeString(c.Secret))
				}
				ictx, cancel := context.WithTimeout(ctx, 30*time.Second)
				res, err := rt.Invoke(ictx, c.Event)
				cancel()
				if err != nil {
					t.Fatalf("%s: %v\nstderr: %s", c.Name, err, p.Stderr())
				}
				ids[res.RequestID] = true
				if c.Deliver() && res.Err != nil {
					t.Errorf("%s: function error %v", c.Name, res.Err)
				}
				if !c.Deliver() && (res.Err == nil || !strings.Contains(res.Err.Message, "decrypt (permanent)")) {
					t.Errorf("%s: a reject case did not fail as a permanent decrypt error: %+v", c.Name, res.Err)
				}
			}
			p.Stop() // waits until the output pipes are drained
			out, stderr := p.Stdout(), p.Stderr()
			for _, s := range secrets {
				if strings.Contains(out, s) || strings.Contains(stderr, s) {
					t.Errorf("the function's output contains %q", s)
				}
			}
			logged := map[string]bool{}
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Errorf("not a JSON line: %q", line)
					continue
				}
				if _, isMetric := rec["_aws"]; isMetric {
					continue
				}
				id, _ := rec["requestId"].(string)
				if !ids[id] || rec["trigger"] == nil || rec["pool"] != ev.UserPoolID {
					t.Errorf("log line without requestId/trigger/pool: %s", line)
				}
				logged[id] = true
			}
			if len(logged) != len(ids) {
				t.Errorf("%d invocations logged, want %d", len(logged), len(ids))
			}
		})
	}
}

// startLocal starts the local stack for the test and returns the shared
// events and the bootstrap's environment against the stack (no keyring yet).
func startLocal(t *testing.T) (*fixtures.Events, []string) {
	t.Helper()
	ev := fixtures.MustLoadEvents()
	stack, err := localstack.Start(context.Background(), localstack.Options{KMSSeed: fixtures.KMSSeed()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stack.Close() })
	return ev, []string{
		"AWS_LAMBDA_LOG_FORMAT=JSON", "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=" + os.DevNull, "AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_ENDPOINT_URL_KMS=" + stack.URL, "AWS_ENDPOINT_URL_SQS=" + stack.URL,
		"COGMAIL_QUEUE_URL=" + stack.QueueURL, "COGMAIL_KMS_KEY_ARN=" + ev.KMSKeyARN, "COGMAIL_SEAL_KEY_ID=" + ev.KMSKeyARN,
	}
}

// TestBootstrapTracesItsColdStart: with COGMAIL_TRACE_FILE the bootstrap
// writes an execution trace that ends with its first invocation.
func TestBootstrapTracesItsColdStart(t *testing.T) {
	ctx := context.Background()
	bin := bootstrap(t)
	ev, base := startLocal(t)
	rt, err := lambdaruntime.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	path := filepath.Join(t.TempDir(), "ingest.trace")
	p, err := rt.Exec(bin, append(base, "COGMAIL_KEYRING=kms", "COGMAIL_TRACE_FILE="+path, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	event := ev.ByKeyring("kms")[0].Event
	var sizes []int64
	for range 2 {
		ictx, cancel := context.WithTimeout(ctx, 30*time.Second)
		res, err := rt.Invoke(ictx, event)
		cancel()
		if err != nil || res.Err != nil {
			t.Fatalf("invoke: %v %v\nstderr: %s", err, res.Err, p.Stderr())
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatalf("no trace after an invocation: %v", err)
		}
		sizes = append(sizes, fi.Size())
	}
	b, err := os.ReadFile(path)
	if err != nil || !strings.HasPrefix(string(b), "go 1.") {
		t.Fatalf("%s is not a Go execution trace (%v)", path, err)
	}
	if sizes[0] == 0 || sizes[1] != sizes[0] {
		t.Errorf("trace sizes after the first and second invocations: %v; want it complete after the first", sizes)
	}
}

// TestBootstrapRejectsBadConfig: a bad configuration stops the cold start
// with every problem named, and the Runtime API is never asked for an event.
func TestBootstrapRejectsBadConfig(t *testing.T) {
	bin := bootstrap(t)
	rt, err := lambdaruntime.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	p, err := rt.Exec(bin, []string{"AWS_LAMBDA_LOG_FORMAT=JSON", "COGMAIL_KEYRING=raw-aes"})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Cmd.Wait()
	if err == nil || p.Cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("exit = %v, want status 1", err)
	}
	for _, want := range []string{"configuration rejected", "COGMAIL_QUEUE_URL", "COGMAIL_AES_KEY_HEX"} {
		if !strings.Contains(p.Stdout(), want) {
			t.Errorf("output lacks %q: %s", want, p.Stdout())
		}
	}
}

// TestBootstrapReportsARejectedConfiguration: a cold start that rejects its
// environment reports why through the Runtime API's init-error call, as
// Lambda shows it to `aws lambda invoke` and the console, not only an exit
// status.
func TestBootstrapReportsARejectedConfiguration(t *testing.T) {
	bin := bootstrap(t)
	s, err := lambdaruntime.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := s.Exec(bin, []string{"AWS_REGION=us-east-1", "AWS_LAMBDA_LOG_FORMAT=JSON", "COGMAIL_KEYRING=kms"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = s.Invoke(ctx, []byte(`{}`))
	var fe *lambdaruntime.FunctionError
	if !errors.As(err, &fe) {
		t.Fatalf("Invoke = %v, want the init error\nstderr: %s", err, p.Stderr())
	}
	if fe.Type != "Cogmail.ConfigurationError" || !strings.Contains(fe.Message, "COGMAIL_QUEUE_URL") {
		t.Errorf("init error %s: %q, want Cogmail.ConfigurationError naming COGMAIL_QUEUE_URL", fe.Type, fe.Message)
	}
}
