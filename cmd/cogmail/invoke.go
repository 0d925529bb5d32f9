package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

func invokeCommand() command {
	return command{name: "invoke", summary: "send a Cognito event to the local stack or to a deployed function", run: runInvoke}
}

const defaultInvokeEndpoint = "http://" + defaultLocalAddr

const invokeExamples = `
Examples:
  cogmail event --trigger SignUp --email a@b.c --aes-key-hex ... --out ev.json
  cogmail invoke --event ev.json                                   # the local stack (cogmail local)
  cogmail invoke --event ev.json --endpoint http://127.0.0.1:9000  # a local stack elsewhere
  cogmail invoke --event ev.json --function cogmail-ingest --region eu-west-1   # deployed, signed
  cogmail event --trigger SignUp --email a@b.c --kms-key-arn ARN | cogmail invoke --event - --function cogmail-ingest

Without --function the event goes, unsigned, to the local stack's Lambda Invoke API
(--endpoint; default: the stack running here, found in its wiring file .cogmail/local.env,
else ` + defaultInvokeEndpoint + `; function ingest). The endpoint used is named on stderr. With --function and no
--endpoint it goes to AWS Lambda, signed with SigV4 using the standard AWS configuration
(AWS_PROFILE, AWS_REGION, credentials; AWS_ENDPOINT_URL_LAMBDA overrides the endpoint).
The function's response goes to stdout. A function error (X-Amz-Function-Error) is printed
to stderr as well and exits 1, as do API errors (unknown function, access denied).
`

// invokeTarget is where an Invoke request goes; sign is nil for the local stack.
type invokeTarget struct {
	endpoint string
	function string
	sign     func(ctx context.Context, req *http.Request, payloadHash string) error
}

func runInvoke(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("cogmail invoke", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	eventFile := fs.String("event", "", "the event JSON file, - for stdin (required)")
	endpoint := fs.String("endpoint", "", "a local stack's URL (unsigned requests; default: the running local stack's, else "+defaultInvokeEndpoint+")")
	function := fs.String("function", "", "a deployed function's name or ARN (signed requests to AWS Lambda); with --endpoint, the local function name (default ingest)")
	region := fs.String("region", "", "AWS region of the deployed function (default: the ARN's, then AWS_REGION or the profile's)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: cogmail invoke --event FILE [--endpoint URL | --function NAME [--region R]]\n\nInvokes a function with a Cognito event through the Lambda Invoke API (RequestResponse).\n\nFlags:")
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), invokeExamples)
	}
	if code, ok := parseNoOperands(e, fs, args); !ok {
		return code
	}
	payload, code, ok := readInvokeEvent(e, *eventFile)
	if !ok {
		return code
	}
	target, code, ok := resolveInvokeTarget(ctx, e, *endpoint, *function, *region)
	if !ok {
		return code
	}
	res, err := target.invoke(ctx, payload)
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail invoke: %v\n", err)
		if target.sign == nil && *endpoint == "" {
			fmt.Fprintln(e.stderr, "  is the local stack running? (cogmail local, or make run)")
		}
		return exitFailed
	}
	writeInvokeBody(e.stdout, res.body)
	if res.functionError != "" {
		fmt.Fprintf(e.stderr, "cogmail invoke: function %s failed (%s): %s\n", target.function, res.functionError, describeFunctionError(res.body))
		return exitFailed
	}
	return exitOK
}

func invokeUsageErr(e *env, format string, a ...any) int {
	fmt.Fprintf(e.stderr, "cogmail invoke: "+format+"\n", a...)
	return exitUsage
}

// readInvokeEvent reads --event (a file, or - for stdin) and checks it is
// JSON; false and the exit code when it is not.
func readInvokeEvent(e *env, file string) ([]byte, int, bool) {
	if file == "" {
		return nil, invokeUsageErr(e, "--event FILE is required (cogmail event makes one)"), false
	}
	var payload []byte
	var err error
	if file == "-" {
		payload, err = io.ReadAll(e.stdin)
	} else {
		payload, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, invokeUsageErr(e, "--event: %v", err), false
	}
	if !json.Valid(payload) {
		return nil, invokeUsageErr(e, "--event %s is not JSON", file), false
	}
	return payload, exitOK, true
}

// resolveInvokeTarget is where the event goes: a local stack (--endpoint,
// else the one running here, else the default address), unsigned; or,
// with --function alone, AWS Lambda, signed. It names the target on
// stderr.
func resolveInvokeTarget(ctx context.Context, e *env, endpoint, function, region string) (invokeTarget, int, bool) {
	target := invokeTarget{endpoint: endpoint, function: function}
	if target.endpoint != "" || target.function == "" {
		where := "the local stack at " + target.endpoint + " (--endpoint)"
		if target.endpoint == "" {
			w, err := localWiring(e.getenv)
			if err != nil {
				fmt.Fprintf(e.stderr, "cogmail invoke: %v\n", err)
				return target, exitFailed, false
			}
			target.endpoint, where = defaultInvokeEndpoint, "the local stack's default address "+defaultInvokeEndpoint+" (no "+wiringPath(e.getenv)+": is cogmail local running here?)"
			if w != nil {
				target.endpoint, where = w.url(), w.describe()
			}
		}
		fmt.Fprintf(e.stderr, "cogmail invoke: %s\n", where)
		if target.function == "" {
			target.function = "ingest"
		}
		if region != "" {
			return target, invokeUsageErr(e, "--region applies to a deployed function (--function without --endpoint)"), false
		}
	} else {
		cfg, err := awsConfigFromEnv(ctx, e.getenv, firstNonEmpty(region, arnRegion(target.function)))
		if err != nil {
			fmt.Fprintf(e.stderr, "cogmail invoke: AWS configuration: %v\n", err)
			return target, exitFailed, false
		}
		target.endpoint = firstNonEmpty(serviceEndpoint(e.getenv, "LAMBDA"), "https://lambda."+cfg.Region+".amazonaws.com")
		target.sign = sigV4(cfg)
		fmt.Fprintf(e.stderr, "cogmail invoke: Lambda at %s\n", target.endpoint)
	}
	u, err := url.Parse(target.endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return target, invokeUsageErr(e, "endpoint %q is not an http(s) URL", target.endpoint), false
	}
	return target, exitOK, true
}

type invokeResult struct {
	body          []byte
	functionError string // X-Amz-Function-Error: "Unhandled", "Handled"
}

// invoke POSTs payload to the Lambda Invoke API. An API error (non-2xx) is
// an error; a function error is a result with functionError set.
func (t invokeTarget) invoke(ctx context.Context, payload []byte) (invokeResult, error) {
	u := strings.TrimRight(t.endpoint, "/") + "/2015-03-31/functions/" + url.PathEscape(t.function) + "/invocations"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(payload))
	if err != nil {
		return invokeResult{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Invocation-Type", "RequestResponse")
	if t.sign != nil {
		sum := sha256.Sum256(payload)
		if err := t.sign(ctx, req, hex.EncodeToString(sum[:])); err != nil {
			return invokeResult{}, fmt.Errorf("sign the request: %w", err)
		}
	}
	// No client timeout: a function may run up to 15 minutes; Ctrl-C (ctx) ends the wait.
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return invokeResult{}, fmt.Errorf("invoke %s: %w", t.function, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 6<<20)) // Lambda's response limit
	if err != nil {
		return invokeResult{}, fmt.Errorf("invoke %s: read the response: %w", t.function, err)
	}
	if resp.StatusCode/100 != 2 {
		return invokeResult{}, invokeAPIError(t.function, resp, body)
	}
	return invokeResult{body: body, functionError: resp.Header.Get("X-Amz-Function-Error")}, nil
}

// invokeAPIError describes a Lambda API error: the type from x-amzn-ErrorType or
// the body, and the message (Lambda writes "message" or "Message").
func invokeAPIError(function string, resp *http.Response, body []byte) error {
	var b struct {
		Type     string `json:"__type"`
		Message  string `json:"message"`
		MessageU string `json:"Message"`
	}
	_ = json.Unmarshal(body, &b)
	typ, _, _ := strings.Cut(firstNonEmpty(resp.Header.Get("x-amzn-ErrorType"), b.Type), ":")
	msg := firstNonEmpty(b.Message, b.MessageU, strings.TrimSpace(string(body)))
	if len(msg) > 500 {
		msg = msg[:500] + "..."
	}
	return fmt.Errorf("invoke %s: HTTP %d %s: %s", function, resp.StatusCode, firstNonEmpty(typ, http.StatusText(resp.StatusCode)), msg)
}

func describeFunctionError(body []byte) string {
	var b struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.Message == "" {
		return strings.TrimSpace(string(body))
	}
	if b.Type == "" {
		return b.Message
	}
	return b.Type + ": " + b.Message
}

// writeInvokeBody prints a JSON response indented, anything else as it came.
func writeInvokeBody(w io.Writer, body []byte) {
	var buf bytes.Buffer
	if len(body) > 0 && json.Indent(&buf, body, "", "  ") == nil {
		buf.WriteByte('\n')
		_, _ = w.Write(buf.Bytes())
		return
	}
	_, _ = w.Write(body)
}

// sigV4 signs Invoke requests for the "lambda" service with cfg's
// credentials and region, as the SDK's Lambda client would.
func sigV4(cfg aws.Config) func(context.Context, *http.Request, string) error {
	signer := v4.NewSigner()
	return func(ctx context.Context, req *http.Request, payloadHash string) error {
		creds, err := cfg.Credentials.Retrieve(ctx)
		if err != nil {
			return fmt.Errorf("AWS credentials: %w", err)
		}
		return signer.SignHTTP(ctx, creds, req, payloadHash, "lambda", cfg.Region, time.Now())
	}
}
