package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
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

// suppressionsFlags are the flags every verb takes, before or after it.
type suppressionsFlags struct {
	table, local, region, reason string
	json                         bool
}

func runSuppressions(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("cogmail suppressions", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var f suppressionsFlags
	fs.StringVar(&f.table, "table", "", "the reputation table (default $COGMAIL_REPUTATION_TABLE)")
	fs.StringVar(&f.local, "local", "", "a running local stack's URL instead of a table (e.g. http://127.0.0.1:8025)")
	fs.StringVar(&f.region, "region", "", "AWS region (default AWS_REGION or the profile's)")
	fs.StringVar(&f.reason, "reason", string(suppression.Manual), "add: bounce, complaint or manual")
	fs.BoolVar(&f.json, "json", false, "print JSON")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), suppressionsUsage+"\n\nFlags:")
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), suppressionsExamples)
	}
	rest, code, ok := parseFlags(e, fs, args)
	if !ok {
		return code
	}
	verbs := []verb{
		f.verb("list", false, suppressionsList),
		f.verb("check", true, suppressionsCheck),
		f.verb("add", true, suppressionsAdd),
		f.verb("remove", true, suppressionsRemove),
	}
	return runVerb(ctx, e, "cogmail suppressions", verbs, func(w io.Writer) { fs.SetOutput(w); fs.Usage() }, rest)
}

// suppressionsCall is what a verb works on: the list, where it is, and the
// address its operand names.
type suppressionsCall struct {
	suppressionsFlags
	store   suppression.Store
	where   string
	address string
}

// verb is the verb name: it checks the operands (one address, or none),
// finds the list, then runs do.
func (f suppressionsFlags) verb(name string, address bool, do func(context.Context, *env, suppressionsCall) int) verb {
	return verb{name: name, run: func(ctx context.Context, e *env, operands []string) int {
		c := suppressionsCall{suppressionsFlags: f}
		if address != (len(operands) == 1) || len(operands) > 1 {
			fmt.Fprintf(e.stderr, "cogmail suppressions: want list, check ADDRESS, add ADDRESS or remove ADDRESS (got %q)\n", strings.Join(append([]string{name}, operands...), " "))
			return exitUsage
		}
		if address {
			c.address = operands[0]
			if suppression.Canonical(c.address) == "" {
				fmt.Fprintln(e.stderr, "cogmail suppressions: that is not an email address")
				return exitUsage
			}
		}
		tableName, localURL := firstNonEmpty(strings.TrimSpace(f.table), strings.TrimSpace(e.getenv("COGMAIL_REPUTATION_TABLE"))), strings.TrimSpace(f.local)
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
		var err error
		if c.store, c.where, err = suppressionStore(ctx, e, localURL, tableName, f.region); err != nil {
			fmt.Fprintf(e.stderr, "cogmail suppressions: %v\n", err)
			return exitUsage
		}
		return do(ctx, e, c)
	}}
}

func suppressionsList(ctx context.Context, e *env, c suppressionsCall) int {
	l, err := c.store.List(ctx)
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail suppressions: %v\n", err)
		return exitFailed
	}
	if c.json {
		return writeJSONOut(e, l)
	}
	printEntries(e.stdout, l)
	fmt.Fprintf(e.stdout, "%d suppressed (%s)\n", len(l), c.where)
	return exitOK
}

// suppressionsCheck fails (exit 1) when the address is suppressed.
func suppressionsCheck(ctx context.Context, e *env, c suppressionsCall) int {
	l, err := c.store.Lookup(ctx, c.address)
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail suppressions: %v\n", err)
		return exitFailed
	}
	switch {
	case c.json:
		writeJSONOut(e, l)
	case len(l) == 0:
		fmt.Fprintf(e.stdout, "%s is not suppressed (%s)\n", suppression.Canonical(c.address), c.where)
	default:
		printEntries(e.stdout, l)
		stopped, sent := blockedTriggers(suppression.DefaultPolicy(), l)
		fmt.Fprintf(e.stdout, "default policy: stopped %s; still sent %s\n", listOrNone(stopped), listOrNone(sent))
	}
	if len(l) > 0 {
		return exitFailed
	}
	return exitOK
}

// blockedTriggers splits the triggers (short names) into those the policy
// stops for an address with these suppressions and those it still sends.
func blockedTriggers(p suppression.Policy, l []suppression.Entry) (stopped, sent []string) {
	for _, t := range cognito.Triggers {
		if _, blocked := p.Blocking(l, string(t)); blocked {
			stopped = append(stopped, t.Short())
		} else {
			sent = append(sent, t.Short())
		}
	}
	return stopped, sent
}

func suppressionsAdd(ctx context.Context, e *env, c suppressionsCall) int {
	r, err := suppression.ParseReason(c.reason)
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail suppressions: --reason: %v\n", err)
		return exitUsage
	}
	now := time.Now().UTC()
	entry := suppression.Entry{Address: c.address, Reason: r, Provider: "ops", At: now, ExpiresAt: suppression.DefaultPolicy().Expiry(r, now)}
	if err := c.store.Add(ctx, entry); err != nil {
		fmt.Fprintf(e.stderr, "cogmail suppressions: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(e.stdout, "suppressed %s (%s) in %s\n", suppression.Canonical(c.address), r, c.where)
	return exitOK
}

func suppressionsRemove(ctx context.Context, e *env, c suppressionsCall) int {
	n, err := c.store.Remove(ctx, c.address)
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail suppressions: %v\n", err)
		return exitFailed
	}
	if n == 0 {
		fmt.Fprintf(e.stdout, "%s was not suppressed (%s)\n", suppression.Canonical(c.address), c.where)
		return exitOK
	}
	fmt.Fprintf(e.stdout, "lifted %d suppression(s) of %s (%s); dispatch mails it again from its next message\n", n, suppression.Canonical(c.address), c.where)
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
