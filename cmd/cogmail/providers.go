package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/cogmail/cogmail/internal/ops/routingparam"
	"github.com/cogmail/cogmail/pkg/routing"
)

func providersCommand() command {
	return command{name: "providers", summary: "show or switch the live provider routing (its SSM parameter)", run: runProviders}
}

// defaultProvidersParam is the parameter when neither --param nor
// COGMAIL_PROVIDERS_PARAM names one (the local stack's).
const defaultProvidersParam = "/cogmail/providers"

const providersExamples = `
Examples:
  # what dispatch routes by now
  cogmail providers show --param /cogmail/prod/providers

  # SendGrid first, SES when SendGrid fails
  cogmail providers set sendgrid,ses --param /cogmail/prod/providers

  # three quarters of the mail to SendGrid, a quarter to Mailgun (each fails over to the other)
  cogmail providers set sendgrid=3,mailgun=1 --dry-run
  cogmail providers set sendgrid=3,mailgun=1

  # against the local stack running here (found through its wiring file .cogmail/local.env)
  cogmail providers show --json

The parameter holds {"providers":[...],"strategy":"failover|weighted","weights":{...}}. The
deployed stack names it in its ProvidersParameterName output and in the dispatch function's
COGMAIL_PROVIDERS_PARAM; the default is $COGMAIL_PROVIDERS_PARAM, else the parameter of the
local stack running here (cogmail local), else /cogmail/providers. The endpoint used is named
on stderr.
Dispatch re-reads it within 60 s. A parameter naming a provider the function has no
settings for is ignored (dispatch logs it and keeps its routing): cogmail config check
--function dispatch --ping, run with the function's environment, checks both together.
AWS credentials and region come from the usual sources (AWS_PROFILE, AWS_REGION, ...);
AWS_ENDPOINT_URL_SSM points at another SSM endpoint.

Exit status: 0 done (or a dry run, or nothing to change), 1 failed (the parameter is
missing, invalid or unreadable, or the write failed), 2 bad flags or LIST.
`

func providersUsage(w io.Writer) {
	fmt.Fprintln(w, `usage: cogmail providers show [--param NAME] [--json] [--region R]
       cogmail providers set LIST [--strategy failover|weighted] [--param NAME] [--dry-run] [--json] [--region R]

Subcommands:
  show   print the provider routing dispatch reads from its SSM parameter
  set    validate LIST ("ses,sendgrid" in failover order, or "sendgrid=3,mailgun=1" by
         weight) and write it to the parameter, printing before and after`)
	fmt.Fprint(w, providersExamples)
}

func runProviders(ctx context.Context, e *env, args []string) int {
	return runVerb(ctx, e, "cogmail providers", []verb{{"show", runProvidersShow}, {"set", runProvidersSet}}, providersUsage, args)
}

// paramFlags are the flags both subcommands take.
type paramFlags struct {
	param, region *string
	json          *bool
}

func newProvidersFlags(e *env, name, usage string, args []string) (*flag.FlagSet, paramFlags) {
	fs := flag.NewFlagSet("cogmail providers "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	pf := paramFlags{
		param:  fs.String("param", "", "SSM parameter name or ARN (default $COGMAIL_PROVIDERS_PARAM, else the running local stack's, else "+defaultProvidersParam+")"),
		region: fs.String("region", "", "AWS region (default: the parameter ARN's, else AWS_REGION or the profile's)"),
		json:   fs.Bool("json", false, "print JSON"),
	}
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), usage+"\n\nFlags:")
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), providersExamples)
	}
	return fs, pf
}

// resolve finds the parameter and where it lives: --param, else
// $COGMAIL_PROVIDERS_PARAM, on the SSM endpoint the environment names; the
// running local stack's parameter when neither names another (nor --region
// another region); else /cogmail/providers in AWS. The environment returned
// is the one to build the SSM client from.
func (pf paramFlags) resolve(e *env, cmd string) (string, *env, error) {
	named := firstNonEmpty(strings.TrimSpace(*pf.param), strings.TrimSpace(e.getenv("COGMAIL_PROVIDERS_PARAM")))
	t, err := serviceTarget(e, "SSM", func(w *wiring) bool {
		return *pf.region == "" && (named == "" || named == w.vars["COGMAIL_PROVIDERS_PARAM"])
	})
	if err != nil {
		return "", nil, err
	}
	param := named
	if t.local != nil {
		param = t.local.vars["COGMAIL_PROVIDERS_PARAM"]
	}
	if param == "" {
		param = defaultProvidersParam
	}
	te := *e
	te.getenv = t.getenv
	region := firstNonEmpty(*pf.region, arnRegion(param), t.getenv("AWS_REGION"), t.getenv("AWS_DEFAULT_REGION"))
	t.announce(e, cmd, "SSM", region)
	return param, &te, nil
}

func runProvidersShow(ctx context.Context, e *env, args []string) int {
	fs, pf := newProvidersFlags(e, "show", "usage: cogmail providers show [--param NAME] [--json] [--region R]\n\nPrints the provider routing in the SSM parameter dispatch reads.", args)
	if code, ok := parseNoOperands(e, fs, args); !ok {
		return code
	}
	param, te, err := pf.resolve(e, "cogmail providers show")
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail providers show: %v\n", err)
		return exitFailed
	}
	client, err := ssmClient(ctx, te, *pf.region, param)
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail providers show: AWS configuration: %v\n", err)
		return exitFailed
	}
	p, err := readRouting(ctx, client, param)
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail providers show: %v\n", err)
		return exitFailed
	}
	if *pf.json {
		writeReportJSON(e.stdout, p)
	} else if p.Exists {
		when := ""
		if p.LastModified != nil {
			when = ", modified " + p.LastModified.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(e.stdout, "%s (version %d%s):\n", p.Parameter, p.Version, when)
		if p.Valid {
			fmt.Fprintf(e.stdout, "  %s\n", describeRouting(*p.Routing))
		} else {
			fmt.Fprintf(e.stdout, "  %s\n", strconv.Quote(p.Value))
		}
	}
	switch {
	case !p.Exists:
		fmt.Fprintf(e.stderr, "cogmail providers show: parameter %s does not exist: dispatch routes by its COGMAIL_PROVIDERS.\nCreate it with: cogmail providers set LIST --param %s\n", p.Parameter, p.Parameter)
		return exitFailed
	case !p.Valid:
		fmt.Fprintf(e.stderr, "cogmail providers show: %s is not a valid provider configuration: %s\nDispatch ignores it and keeps its last good routing. Fix it with: cogmail providers set LIST --param %s\n", p.Parameter, p.Error, p.Parameter)
		return exitFailed
	}
	return exitOK
}

func runProvidersSet(ctx context.Context, e *env, args []string) int {
	fs, pf := newProvidersFlags(e, "set", `usage: cogmail providers set LIST [--strategy failover|weighted] [--param NAME] [--dry-run] [--json] [--region R]

Validates LIST and writes it to the SSM parameter dispatch reads, printing the routing before
and after. LIST is the providers in failover order ("ses,sendgrid"), or with weights
("sendgrid=3,mailgun=1", the weighted strategy; a weight of 0 is a standby). Providers:
`+strings.Join(routing.Known(), ", ")+`.`, args)
	strategy := fs.String("strategy", "", "failover or weighted (default: weighted when LIST has weights, else failover)")
	dryRun := fs.Bool("dry-run", false, "print before and after, write nothing")
	rest, code, ok := parseFlags(e, fs, args)
	if !ok {
		return code
	}
	want, msg := providersList(rest, *strategy)
	if msg != "" {
		fmt.Fprintf(e.stderr, "cogmail providers set: %s\n(cogmail providers set --help for usage)\n", msg)
		return exitUsage
	}
	param, te, err := pf.resolve(e, "cogmail providers set")
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail providers set: %v\n", err)
		return exitFailed
	}
	client, err := ssmClient(ctx, te, *pf.region, param)
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail providers set: AWS configuration: %v\n", err)
		return exitFailed
	}
	// PutParameter takes a name, never an ARN (the ARN gave the region).
	result, err := routingparam.Set(ctx, client, routingparam.SetInput{Name: parameterName(param), Want: want, DryRun: *dryRun})
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail providers set: %v\n", err)
		return exitFailed
	}
	if *pf.json {
		writeReportJSON(e.stdout, result)
		return exitOK
	}
	printProvidersSet(e.stdout, result)
	return exitOK
}

// providersList is the routing LIST and --strategy name, validated and
// normalised, or what is wrong with them.
func providersList(rest []string, strategy string) (routing.Config, string) {
	switch {
	case len(rest) == 0:
		return routing.Config{}, "LIST is required, e.g. ses,sendgrid or sendgrid=3,mailgun=1"
	case len(rest) > 1:
		return routing.Config{}, fmt.Sprintf("one LIST, without spaces: got %q", strings.Join(rest, " "))
	}
	s := routing.Strategy(strings.ToLower(strategy))
	if s != "" && s != routing.Failover && s != routing.Weighted {
		return routing.Config{}, fmt.Sprintf("--strategy %q is not failover or weighted", strategy)
	}
	want, err := routing.ParseList(rest[0], s)
	if err == nil {
		err = want.Validate(nil)
	}
	if err != nil {
		return routing.Config{}, fmt.Sprintf("LIST %q: %s", rest[0], joinLines(err.Error()))
	}
	return want.Normalize(), ""
}

func printProvidersSet(w io.Writer, r routingparam.SetResult) {
	fmt.Fprintf(w, "%s\n  before: %s\n", r.Parameter, describeParam(r.Before))
	switch {
	case !r.Changed:
		fmt.Fprintln(w, "  after:  unchanged; nothing written")
	case r.DryRun:
		fmt.Fprintf(w, "  after:  %s\nDry run: nothing was written.\n", describeRouting(r.After))
	default:
		fmt.Fprintf(w, "  after:  %s (version %d)\n", describeRouting(r.After), r.Version)
		fmt.Fprintf(w, "Dispatch picks this up within %d s. A provider the function has no settings for makes it keep\nits current routing: cogmail config check --function dispatch --ping, with the function's\nenvironment, shows which providers it has.\n", int(routing.MaxRefresh/time.Second))
	}
}
