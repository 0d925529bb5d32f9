package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/reputationtable"
	"github.com/cogmail/cogmail/pkg/suppression"
)

func suppressionsCommand() command {
	return command{name: "suppressions", summary: "list, check, add or lift suppressed addresses (the reputation table or the local stack)", run: runSuppressions}
}

const suppressionsUsage = `usage: cogmail suppressions list|check ADDRESS|add ADDRESS [--reason R]|remove ADDRESS [flags]

The suppression list: addresses dispatch does not mail, after a hard bounce or
a complaint came back from a provider, or because ops added them. "check"
also shows which triggers the default policy still sends to the address.
"remove" lifts every suppression of the address.

It works on the reputation table in AWS (--table, default
$COGMAIL_REPUTATION_TABLE; AWS_ENDPOINT_URL_DYNAMODB points elsewhere) or on a
running local stack (--local URL; by default, when neither names a list,
the stack running here, found through its wiring file .cogmail/local.env).

Exit status: 0 done (check: not suppressed), 1 failed (check: suppressed),
2 bad flags or arguments.`

const suppressionsExamples = `
Examples:
  cogmail suppressions list                        # the local stack running here (cogmail local)
  cogmail suppressions list --local http://127.0.0.1:8025
  cogmail suppressions check ana@example.com --table cogmail-ReputationTable-1A2B3C
  cogmail suppressions add typo@gmial.com --reason manual --local http://127.0.0.1:8025
  cogmail suppressions remove ana@example.com     # with COGMAIL_REPUTATION_TABLE set
`

func runSuppressions(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("cogmail suppressions", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	table := fs.String("table", "", "the reputation table (default $COGMAIL_REPUTATION_TABLE)")
	local := fs.String("local", "", "a running local stack's URL instead of a table (e.g. http://127.0.0.1:8025)")
	region := fs.String("region", "", "AWS region (default AWS_REGION or the profile's)")
	reason := fs.String("reason", string(suppression.Manual), "add: bounce, complaint or manual")
	asJSON := fs.Bool("json", false, "print JSON")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), suppressionsUsage+"\n\nFlags:")
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), suppressionsExamples)
	}
	rest, code, ok := parseFlags(e, fs, args)
	if !ok {
		return code
	}
	if len(rest) == 0 {
		fs.Usage()
		return exitUsage
	}
	verb, operands := rest[0], rest[1:]
	want := map[string]int{"list": 0, "check": 1, "add": 1, "remove": 1}
	n, ok := want[verb]
	if !ok || len(operands) != n {
		fmt.Fprintf(e.stderr, "cogmail suppressions: want list, check ADDRESS, add ADDRESS or remove ADDRESS (got %q)%s\n", strings.Join(rest, " "), unknownVerb(verb, want))
		return exitUsage
	}
	var address string
	if n == 1 {
		address = operands[0]
		if suppression.Canonical(address) == "" {
			fmt.Fprintln(e.stderr, "cogmail suppressions: that is not an email address")
			return exitUsage
		}
	}
	tableName, localURL := firstNonEmpty(strings.TrimSpace(*table), strings.TrimSpace(e.getenv("COGMAIL_REPUTATION_TABLE"))), strings.TrimSpace(*local)
	if tableName == "" && localURL == "" {
		// Neither names a list: the local stack running here, if any.
		w, err := localWiring(e.getenv)
		if err != nil {
			fmt.Fprintf(e.stderr, "cogmail suppressions: %v\n", err)
			return exitFailed
		}
		if w != nil {
			localURL = w.url()
			fmt.Fprintf(e.stderr, "cogmail suppressions: %s\n", w.describe())
		}
	}
	store, where, err := suppressionStore(ctx, e, localURL, tableName, *region)
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail suppressions: %v\n", err)
		return exitUsage
	}
	switch verb {
	case "list":
		l, err := store.List(ctx)
		if err != nil {
			fmt.Fprintf(e.stderr, "cogmail suppressions: %v\n", err)
			return exitFailed
		}
		if *asJSON {
			return printJSON(e, l)
		}
		printEntries(e.stdout, l)
		fmt.Fprintf(e.stdout, "%d suppressed (%s)\n", len(l), where)
		return exitOK
	case "check":
		l, err := store.Lookup(ctx, address)
		if err != nil {
			fmt.Fprintf(e.stderr, "cogmail suppressions: %v\n", err)
			return exitFailed
		}
		if *asJSON {
			printJSON(e, l)
		} else if len(l) == 0 {
			fmt.Fprintf(e.stdout, "%s is not suppressed (%s)\n", suppression.Canonical(address), where)
		} else {
			printEntries(e.stdout, l)
			p := suppression.DefaultPolicy()
			var sent, stopped []string
			for _, t := range cognito.Triggers {
				if _, blocked := p.Blocking(l, string(t)); blocked {
					stopped = append(stopped, t.Short())
				} else {
					sent = append(sent, t.Short())
				}
			}
			fmt.Fprintf(e.stdout, "default policy: stopped %s; still sent %s\n", listOrNone(stopped), listOrNone(sent))
		}
		if len(l) > 0 {
			return exitFailed
		}
		return exitOK
	case "add":
		r, err := suppression.ParseReason(*reason)
		if err != nil {
			fmt.Fprintf(e.stderr, "cogmail suppressions: --reason: %v\n", err)
			return exitUsage
		}
		now := time.Now().UTC()
		entry := suppression.Entry{Address: address, Reason: r, Provider: "ops", At: now, ExpiresAt: suppression.DefaultPolicy().Expiry(r, now)}
		if err := store.Add(ctx, entry); err != nil {
			fmt.Fprintf(e.stderr, "cogmail suppressions: %v\n", err)
			return exitFailed
		}
		fmt.Fprintf(e.stdout, "suppressed %s (%s) in %s\n", suppression.Canonical(address), r, where)
		return exitOK
	default: // remove
		n, err := store.Remove(ctx, address)
		if err != nil {
			fmt.Fprintf(e.stderr, "cogmail suppressions: %v\n", err)
			return exitFailed
		}
		if n == 0 {
			fmt.Fprintf(e.stdout, "%s was not suppressed (%s)\n", suppression.Canonical(address), where)
			return exitOK
		}
		fmt.Fprintf(e.stdout, "lifted %d suppression(s) of %s (%s); dispatch mails it again from its next message\n", n, suppression.Canonical(address), where)
		return exitOK
	}
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ", ")
}

func printJSON(e *env, v any) int {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return exitFailed
	}
	return exitOK
}

func printEntries(w io.Writer, l []suppression.Entry) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ADDRESS\tREASON\tPROVIDER\tSINCE\tLASTS")
	for _, x := range l {
		until := "until removed"
		if !x.ExpiresAt.IsZero() {
			until = "until " + x.ExpiresAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", x.Address, x.Reason, x.Provider, x.At.UTC().Format(time.RFC3339), until)
	}
	_ = tw.Flush()
}

// suppressionStore is the list the command works on, and a description of
// where it is.
func suppressionStore(ctx context.Context, e *env, local, table, region string) (suppression.Store, string, error) {
	switch {
	case local != "" && table != "" && e.getenv("COGMAIL_REPUTATION_TABLE") != table:
		return nil, "", errors.New("--local and --table: pick one")
	case local != "":
		u, err := url.Parse(local)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, "", errors.New("--local: not an http URL")
		}
		return &localSuppressions{base: strings.TrimRight(local, "/"), hc: &http.Client{Timeout: 10 * time.Second}}, "local stack " + local, nil
	case table != "":
		cfg, err := awsConfigFromEnv(ctx, e.getenv, region)
		if err != nil {
			return nil, "", err
		}
		u := serviceEndpoint(e.getenv, "DYNAMODB")
		where := target{where: "DynamoDB at " + u + " (" + endpointVar(e.getenv, "DYNAMODB") + ")"}
		if u == "" {
			where.where = ""
		}
		where.announce(e, "cogmail suppressions", "DynamoDB", cfg.Region)
		db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
			if u != "" {
				o.BaseEndpoint = aws.String(u)
			}
		})
		s, err := reputationtable.NewSuppressions(db, table, nil)
		return s, "table " + table, err
	}
	return nil, "", errors.New("no list: pass --table NAME (or set COGMAIL_REPUTATION_TABLE) or --local URL, or start cogmail local")
}

// localSuppressions is the local stack's list through its API
// (/api/suppressions).
type localSuppressions struct {
	base string
	hc   *http.Client
}

func (l *localSuppressions) do(ctx context.Context, method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, l.base+path, rd)
	if err != nil {
		return err
	}
	resp, err := l.hc.Do(req)
	if err != nil {
		return fmt.Errorf("local stack: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 10<<20))
	if resp.StatusCode >= 300 {
		var m struct{ Message string }
		_ = json.Unmarshal(b, &m)
		return fmt.Errorf("local stack: %s: %s", resp.Status, m.Message)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func (l *localSuppressions) Add(ctx context.Context, e suppression.Entry) error {
	return l.do(ctx, http.MethodPost, "/api/suppressions", map[string]string{"address": e.Address, "reason": string(e.Reason)}, nil)
}

func (l *localSuppressions) Lookup(ctx context.Context, address string) ([]suppression.Entry, error) {
	var out []suppression.Entry
	return out, l.do(ctx, http.MethodGet, "/api/suppressions/"+url.PathEscape(strings.TrimSpace(address)), nil, &out)
}

func (l *localSuppressions) Remove(ctx context.Context, address string) (int, error) {
	var out struct{ Removed int }
	return out.Removed, l.do(ctx, http.MethodDelete, "/api/suppressions/"+url.PathEscape(strings.TrimSpace(address)), nil, &out)
}

func (l *localSuppressions) List(ctx context.Context) ([]suppression.Entry, error) {
	var out []suppression.Entry
	return out, l.do(ctx, http.MethodGet, "/api/suppressions", nil, &out)
}

// unknownVerb is "did you mean" for a verb not in want, else "".
func unknownVerb(verb string, want map[string]int) string {
	if _, ok := want[verb]; ok {
		return ""
	}
	return didYouMean(verb, slices.Sorted(maps.Keys(want)), "")
}
