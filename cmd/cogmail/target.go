package main

// Where a command sends its calls: a flag or variable that names a target
// wins; otherwise a running local stack (its wiring file); otherwise AWS.
// Each command says on stderr which endpoint it used.

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// target is the environment a command builds its AWS clients from.
type target struct {
	getenv func(string) string
	local  *wiring // non-nil: the local stack's wiring
	// endpoint overrides the service's endpoint ("" for the SDK's: AWS).
	endpoint string
	where    string // which endpoint, and why, for the stderr line
}

// announce says on stderr which endpoint the command uses.
func (t target) announce(e *env, cmd, service, region string) {
	where := t.where
	if where == "" {
		where = "AWS " + service + " in " + firstNonEmpty(region, "the configured region")
	}
	fmt.Fprintf(e.stderr, "%s: %s\n", cmd, where)
}

// serviceTarget is where calls to an AWS service go: the endpoint the
// environment names (AWS_ENDPOINT_URL_<SERVICE>), else the local stack when
// one runs and local(w) says the command's arguments name nothing else,
// else AWS.
func serviceTarget(e *env, service string, local func(w *wiring) bool) (target, error) {
	if ep := serviceEndpoint(e.getenv, service); ep != "" {
		return target{getenv: e.getenv, endpoint: ep, where: service + " at " + ep + " (" + endpointVar(e.getenv, service) + ")"}, nil
	}
	w, err := localWiring(e.getenv)
	if err != nil {
		return target{}, err
	}
	if w != nil && (local == nil || local(w)) {
		return target{getenv: w.getenv(e.getenv), local: w, endpoint: w.vars["AWS_ENDPOINT_URL_"+service], where: w.describe()}, nil
	}
	return target{getenv: e.getenv}, nil
}

// queueRef is a --queue value resolved: a queue URL, or a name to look up
// at the target's endpoint.
type queueRef struct {
	target
	url, name string
}

var sqsQueueName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}(\.fifo)?$`)

// resolveQueue reads a queue flag: a URL (its host is the endpoint used) or
// a queue name; "" means unset, and then the variable, then the local stack's
// queue (its wiring's localVar) are used. flagName and variable name the
// sources in errors.
func resolveQueue(e *env, flagName, value, variable, localVar string) (queueRef, error) {
	value = strings.TrimSpace(value)
	src := flagName
	if value == "" {
		value, src = strings.TrimSpace(e.getenv(variable)), variable
	}
	if value == "" {
		w, err := localWiring(e.getenv)
		if err != nil {
			return queueRef{}, err
		}
		if w == nil || w.vars[localVar] == "" {
			return queueRef{}, fmt.Errorf("%s URL or NAME is required (or set %s, or start cogmail local: its wiring in %s names the local queues)", flagName, variable, wiringPath(e.getenv))
		}
		value, src = w.vars[localVar], w.path
	}
	if strings.Contains(value, "://") {
		u, err := url.Parse(value)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") == "" {
			return queueRef{}, fmt.Errorf("%s %q (from %s) is not a queue URL (http(s)://HOST/ACCOUNT/NAME) or a queue name", flagName, value, src)
		}
		// The URL's host is where the queue lives: calls go there, whatever
		// AWS_ENDPOINT_URL_SQS says.
		endpoint := u.Scheme + "://" + u.Host
		t := target{getenv: e.getenv, endpoint: endpoint, where: "SQS at " + endpoint + " (the queue URL's host, from " + src + ")"}
		if w, err := localWiring(e.getenv); err == nil && w != nil && sameEndpoint(w.url(), endpoint) {
			t.getenv, t.local, t.where = w.getenv(e.getenv), w, w.describe()
		}
		return queueRef{target: t, url: value}, nil
	}
	if !sqsQueueName.MatchString(value) {
		return queueRef{}, fmt.Errorf("%s %q (from %s) is neither a queue URL nor a queue name (letters, digits, - and _, at most 80)", flagName, value, src)
	}
	// A name is looked up at the endpoint in use; the local stack's own
	// queue names go to the local stack.
	t, err := serviceTarget(e, "SQS", func(w *wiring) bool {
		for _, k := range []string{"COGMAIL_QUEUE_URL", "COGMAIL_DLQ_URL", "COGMAIL_INGEST_FAILURE_QUEUE_URL"} {
			if w.vars[k] != "" && path.Base(w.vars[k]) == value {
				return true
			}
		}
		return false
	})
	return queueRef{target: t, name: value}, err
}

// sameEndpoint compares two base URLs, ignoring a trailing slash and
// localhost for 127.0.0.1.
func sameEndpoint(a, b string) bool {
	norm := func(s string) string {
		return strings.Replace(strings.TrimRight(s, "/"), "://localhost:", "://127.0.0.1:", 1)
	}
	return norm(a) == norm(b)
}

// sqsClient builds the client for a resolved queue and, for a name, finds
// its URL (GetQueueUrl). region is --region, if any.
func (q queueRef) sqsClient(ctx context.Context, region string) (*sqs.Client, string, string, error) {
	region = firstNonEmpty(region, sqsURLRegion(q.url))
	if region == "" && q.endpoint != "" && !strings.HasSuffix(hostOf(q.endpoint), ".amazonaws.com") &&
		firstNonEmpty(q.getenv("AWS_REGION"), q.getenv("AWS_DEFAULT_REGION")) == "" {
		region = "us-east-1" // an emulator's URL: any region will do
	}
	cfg, err := awsConfigFromEnv(ctx, q.getenv, region)
	if err != nil {
		return nil, "", "", err
	}
	client := sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		if q.endpoint != "" {
			o.BaseEndpoint = aws.String(q.endpoint)
		}
	})
	if q.url != "" {
		return client, q.url, cfg.Region, nil
	}
	out, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(q.name)})
	if err != nil {
		return nil, "", "", fmt.Errorf("find queue %s: %w", q.name, err)
	}
	return client, aws.ToString(out.QueueUrl), cfg.Region, nil
}

func hostOf(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// endpointVar names the variable serviceEndpoint took the endpoint from.
func endpointVar(getenv func(string) string, service string) string {
	if getenv("AWS_ENDPOINT_URL_"+service) != "" {
		return "AWS_ENDPOINT_URL_" + service
	}
	return "AWS_ENDPOINT_URL"
}
