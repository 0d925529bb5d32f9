package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/cogmail/cogmail/functions/dispatch/dispatchwire"
	"github.com/cogmail/cogmail/internal/ops/ping"
	"github.com/cogmail/cogmail/pkg/brand"
	"github.com/cogmail/cogmail/pkg/cognito"
	cogconfig "github.com/cogmail/cogmail/pkg/config"
	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/ingest"
	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/mailgun"
	"github.com/cogmail/cogmail/pkg/provider/registry"
	"github.com/cogmail/cogmail/pkg/provider/sendgrid"
	"github.com/cogmail/cogmail/pkg/provider/ses"
	"github.com/cogmail/cogmail/pkg/provider/smtp"
	"github.com/cogmail/cogmail/pkg/render"
	"github.com/cogmail/cogmail/pkg/routing"
	"github.com/cogmail/cogmail/pkg/secretref"
)

func configCommand() command {
	return command{name: "config", summary: "check the configuration a function would load; --ping tries each provider without sending", run: runConfig}
}

const configExamples = `
Examples:
  # the settings in this shell (a .env file, say), both functions
  set -a; . ./.env; set +a
  cogmail config check

  # the deployed dispatch function's settings, and a sandbox request to each provider
  eval "$(aws lambda get-function-configuration --function-name cogmail-dispatch \
    --query Environment.Variables --output json | jq -r 'to_entries[] | "export \(.key)=\(.value|@sh)"')"
  cogmail config check --function dispatch --ping

  # for scripts
  cogmail config check --function ingest --json | jq '.functions[].problems'

  # the local stack running here (cogmail local), its provider fakes pinged
  cogmail config check --local --ping

--ping checks, with nothing delivered: SendGrid with a sandbox_mode request (the key, the
sender), Mailgun with an o:testmode message (the key, the domain, the region), SES with
GetAccount (sending enabled, production access, quota), the configuration set and the
sender's identity, SMTP with a session up to STARTTLS and AUTH, then QUIT. The sandbox
requests go from COGMAIL_SENDER_EMAIL to itself (--ping-to changes the recipient). Keys in
Secrets Manager (*_SECRET) are read; SES, Secrets Manager and the routing parameter
(COGMAIL_PROVIDERS_PARAM) are reached with your AWS credentials and region. No key is printed.

Exit status: 0 everything checked is fine (warnings such as the SES sandbox included),
1 a problem was found, 2 bad flags.
`

func configUsage(w io.Writer) {
	fmt.Fprintln(w, `usage: cogmail config check [--function ingest|dispatch|both] [--ping] [--json]

Subcommands:
  check   load the configuration a function would load from this environment and report
          every problem, naming its variable; --ping also tries each provider`)
	fmt.Fprint(w, configExamples)
}

func runConfig(ctx context.Context, e *env, args []string) int {
	return runVerb(ctx, e, "cogmail config", []verb{{"check", runConfigCheck}}, configUsage, args)
}

// problem is one thing wrong with a configuration.
type problem struct {
	Variable string `json:"variable,omitempty"`
	Message  string `json:"message"`
}

func (p problem) String() string {
	if p.Variable == "" {
		return p.Message
	}
	return p.Variable + ": " + p.Message
}

// functionReport is what a function's configuration check found.
type functionReport struct {
	Function string    `json:"function"`
	OK       bool      `json:"ok"`
	Problems []problem `json:"problems"`
	// Warnings are what works but may not be meant (the built-in SMS texts
	// over the default segment limit); they do not fail the check.
	Warnings []string `json:"warnings,omitempty"`
	Notes    []string `json:"notes,omitempty"` // what was loaded, for the reader
	// Retries is dispatch's retry schedule by trigger.
	Retries []triggerRetries `json:"retrySchedule,omitempty"`
}

// pingLine is a provider's ping with what to check next.
type pingLine struct {
	ping.Result
	Hint string `json:"hint,omitempty"`
}

// skipped is a ping that could not be tried; the problem that stopped it
// is reported with the configuration.
const skipped ping.Status = "skipped"

type checkReport struct {
	OK        bool             `json:"ok"`
	Functions []functionReport `json:"functions"`
	Pings     []pingLine       `json:"pings,omitempty"`
	Routing   *pingLine        `json:"routing,omitempty"` // the COGMAIL_PROVIDERS_PARAM parameter, with --ping
}

func runConfigCheck(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("cogmail config check", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	function := fs.String("function", "both", "the configuration to check: ingest, dispatch or both")
	doPing := fs.Bool("ping", false, "also try each configured provider (sandbox and test-mode requests; nothing is delivered)")
	pingTo := fs.String("ping-to", "", "recipient of the sandbox requests (default: COGMAIL_SENDER_EMAIL)")
	timeout := fs.Duration("timeout", 15*time.Second, "time limit of each ping")
	asJSON := fs.Bool("json", false, "print JSON")
	local := fs.Bool("local", false, "check the local stack running here (cogmail local): the configuration its functions were built from, read from its wiring file; --ping tries its provider fakes")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: cogmail config check [--function ingest|dispatch|both] [--ping] [--json] [--local]

Loads the configuration each function would load at cold start from this environment (the
COGMAIL_* variables; docs/configuration.md lists them) and reports every problem with its
variable. For ingest it also builds every template (so a broken COGMAIL_TEMPLATE_DIR
override fails here) and checks the KMS key ARN's shape. With --local, or when no COGMAIL_
setting is in the environment and a local stack runs here, it checks the local stack's
configuration (its wiring file .cogmail/local.env, which cogmail local writes) and says so:
its dispatch configuration unless --function says otherwise.

Flags:`)
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), configExamples)
	}
	rest, code, ok := parseFlags(e, fs, args)
	if !ok {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "cogmail config check: "+format+"\n(cogmail config check --help for usage)\n", a...)
		return exitUsage
	}
	if len(rest) > 0 {
		return usageErr("unexpected argument %q", rest[0])
	}
	if !slices.Contains([]string{"ingest", "dispatch", "both"}, *function) {
		return usageErr("--function %q is not ingest, dispatch or both", *function)
	}
	if *timeout <= 0 {
		return usageErr("--timeout must be positive")
	}
	if *pingTo != "" && !cogconfig.BareAddress(*pingTo) {
		return usageErr("--ping-to %q is not a bare email address", *pingTo)
	}

	ce, err := configTarget(e, *local)
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail config check: %v\n", err)
		return exitFailed
	}
	functionSet := false
	fs.Visit(func(f *flag.Flag) { functionSet = functionSet || f.Name == "function" })
	if ce != e && !functionSet {
		// The local stack's dispatch configuration is the one to rehearse;
		// its ingest takes any pool on purpose (--function ingest shows it).
		*function = "dispatch"
	}
	var report checkReport
	if *function != "dispatch" {
		report.Functions = append(report.Functions, checkIngest(ce.getenv))
	}
	if *function != "ingest" {
		fr, dc := checkDispatch(ce.getenv)
		report.Functions = append(report.Functions, fr)
		if *doPing {
			p := pinger{e: ce, timeout: *timeout, to: *pingTo}
			report.Pings = p.providers(ctx, dc)
			if dc.ProvidersParam != "" {
				r := p.routing(ctx, dc)
				report.Routing = &r
			}
		}
	}
	report.OK = true
	for _, f := range report.Functions {
		report.OK = report.OK && f.OK
	}
	for _, p := range report.Pings {
		report.OK = report.OK && p.Status != ping.Failed
	}
	if report.Routing != nil {
		report.OK = report.OK && report.Routing.Status != ping.Failed
	}

	if *asJSON {
		writeReportJSON(e.stdout, report)
	} else {
		writeCheckReport(e.stdout, report, *doPing, *function == "ingest")
	}
	if !report.OK {
		return exitFailed
	}
	return exitOK
}

// configSettings are variables any real configuration sets; with none of
// them in the environment, config check looks for a local stack instead.
var configSettings = []string{"COGMAIL_SENDER_EMAIL", "COGMAIL_PROVIDERS", "COGMAIL_QUEUE_URL", "COGMAIL_KEYRING",
	"COGMAIL_KMS_KEY_ARN", "COGMAIL_AES_KEY_HEX", "COGMAIL_SENDGRID_API_KEY", "COGMAIL_MAILGUN_API_KEY", "COGMAIL_SMTP_HOST"}

// configTarget is the environment config check loads: the shell's, or the
// local stack's wiring (--local; or when the shell sets no configuration
// and a stack runs here).
func configTarget(e *env, local bool) (*env, error) {
	w, err := localWiring(e.getenv)
	if err != nil {
		return nil, err
	}
	if local && w == nil {
		return nil, fmt.Errorf("--local: no local stack runs here (no %s): start cogmail local, which writes it", wiringPath(e.getenv))
	}
	if w == nil || (!local && slices.ContainsFunc(configSettings, func(k string) bool { return e.getenv(k) != "" })) {
		return e, nil
	}
	fmt.Fprintf(e.stderr, "cogmail config check: %s\n", w.describe())
	le := *e
	le.getenv = w.getenv(e.getenv)
	return &le, nil
}

func writeCheckReport(w io.Writer, r checkReport, pinged, ingestOnly bool) {
	failures := 0
	for _, f := range r.Functions {
		if f.OK {
			fmt.Fprintf(w, "%s: ok\n", f.Function)
		} else {
			fmt.Fprintf(w, "%s: %s\n", f.Function, problemCount(len(f.Problems)))
		}
		for _, p := range f.Problems {
			fmt.Fprintf(w, "  ✗ %s\n", p)
		}
		for _, x := range f.Warnings {
			fmt.Fprintf(w, "  ⚠ warning: %s\n", x)
		}
		for _, n := range f.Notes {
			fmt.Fprintf(w, "  %s\n", n)
		}
		if len(f.Retries) > 0 {
			fmt.Fprintln(w, "  retries through an outage (by time; the last receive dead-letters):")
			tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "    TRIGGER\tCODE LIFE\tRETRIED FOR\tTRIES\tTHEN")
			for _, r := range f.Retries {
				fmt.Fprintf(tw, "    %s\t%s\t%s\tup to %d\t%s\n", r.Trigger, r.CodeLife, r.Window, r.Tries, r.EndsAs)
			}
			_ = tw.Flush()
		}
		failures += len(f.Problems)
	}
	lines := r.Pings
	if r.Routing != nil {
		lines = append(slices.Clip(lines), *r.Routing)
	}
	switch {
	case pinged && ingestOnly:
		fmt.Fprintln(w, "--ping tries dispatch's providers: use --function dispatch or both")
	case pinged && len(lines) == 0:
		fmt.Fprintln(w, "pings: no provider to try (COGMAIL_PROVIDERS names none with its settings)")
	case len(lines) > 0:
		fmt.Fprintln(w, "pings (sandbox and test-mode requests; nothing is delivered):")
	}
	for _, p := range lines {
		status := string(p.Status)
		if p.Status == ping.Failed {
			status = "FAILED"
			failures++
		}
		fmt.Fprintf(w, "  %-8s %-8s %s\n", status, p.Provider, p.Message)
		if p.Hint != "" {
			fmt.Fprintf(w, "  %-8s %-8s → %s\n", "", "", p.Hint)
		}
	}
	if failures == 0 {
		fmt.Fprintln(w, "config check: ok")
	} else {
		fmt.Fprintf(w, "config check: %s\n", problemCount(failures))
	}
}

func problemCount(n int) string {
	if n == 1 {
		return "1 problem"
	}
	return fmt.Sprintf("%d problems", n)
}

// problemsOf flattens a configuration error into its problems.
func problemsOf(err error) []problem {
	var out []problem
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if ce, ok := err.(*cogconfig.Error); ok {
			out = append(out, problem{Variable: ce.Var, Message: ce.Reason})
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		if u := errors.Unwrap(err); u != nil {
			walk(u)
			return
		}
		out = append(out, problem{Message: err.Error()})
	}
	walk(err)
	return out
}

// kmsKeyARN is a KMS key ARN: the form Cognito's KMSKeyID and the KMS
// keyring take (an alias or a bare key id will not do).
var (
	kmsKeyARN   = regexp.MustCompile(`^arn:aws(-cn|-us-gov|-iso|-iso-b)?:kms:[a-z]{2}(-[a-z]+)+-\d+:\d{12}:key/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$`)
	kmsAliasARN = regexp.MustCompile(`^arn:aws[a-z-]*:kms:[^:]*:[^:]*:alias/`)
)

func checkIngest(getenv func(string) string) functionReport {
	r := functionReport{Function: "ingest"}
	c, err := cogconfig.LoadIngest(getenv)
	r.Problems = problemsOf(err)
	if c.Keyring == cogconfig.KeyringKMS && strings.HasPrefix(c.KMSKeyARN, "arn:") && !kmsKeyARN.MatchString(c.KMSKeyARN) {
		msg := "is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID)"
		if kmsAliasARN.MatchString(c.KMSKeyARN) {
			msg = "is an alias ARN; Cognito and the KMS keyring need the key's ARN (aws kms describe-key --key-id alias/NAME --query KeyMetadata.Arn)"
		}
		r.Problems = append(r.Problems, problem{Variable: "COGMAIL_KMS_KEY_ARN", Message: msg})
	}
	// A URL already reported is left out, so that it is not reported twice;
	// the default locale is checked after, against the locales found, so
	// that its problem names its variable.
	flagged := func(v string) bool {
		return slices.ContainsFunc(r.Problems, func(p problem) bool { return p.Variable == v })
	}
	if len(c.UserPoolIDs) == 0 && !flagged("COGMAIL_USER_POOL_IDS") {
		r.Problems = append(r.Problems, problem{Variable: "COGMAIL_USER_POOL_IDS",
			Message: "is not set: ingest takes events of any user pool whose codes open under its key; set it to the pool ids this function serves (the template sets it from UserPoolId)"})
	}
	brand := render.Brand{ProductName: c.Brand.ProductName, SenderName: c.Brand.SenderName, SupportURL: c.Brand.SupportURL, LogoURL: c.Brand.LogoURL,
		OriginDomain: c.Brand.OriginDomain}
	if flagged("COGMAIL_SUPPORT_URL") {
		brand.SupportURL = ""
	}
	if flagged("COGMAIL_LOGO_URL") {
		brand.LogoURL = ""
	}
	if flagged("COGMAIL_SMS_ORIGIN_DOMAIN") {
		brand.OriginDomain = ""
	}
	segments := c.Brand.SMSSegments
	if flagged("COGMAIL_SMS_SEGMENTS") {
		segments = 0
	}
	rnd, err := render.New(render.Options{Brand: brand, OverrideDir: c.TemplateDir, CheckAll: true, SMSSegments: segments})
	templates := "embedded templates"
	if c.TemplateDir != "" {
		templates = "templates from " + c.TemplateDir + " over the embedded ones"
	}
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			r.Problems = append(r.Problems, problem{Message: "templates: " + line})
		}
	} else {
		r.Notes = append(r.Notes, templates+": every trigger and locale renders")
		if w := ingest.SMSWarning(rnd, fmt.Sprintf("COGMAIL_PRODUCT_NAME %q", rnd.Brand().ProductName),
			"shorten COGMAIL_PRODUCT_NAME or set COGMAIL_SMS_SEGMENTS=%d (docs/configuration.md)"); w != "" {
			r.Warnings = append(r.Warnings, w)
		}
		supported := rnd.Locales().Supported()
		if _, err := render.NewLocaleResolver(c.DefaultLocale, supported...); err != nil && c.DefaultLocale != "" { // unset: render.DefaultLocale
			r.Problems = append(r.Problems, problem{Variable: "COGMAIL_DEFAULT_LOCALE",
				Message: fmt.Sprintf("%q is not one of the templates' locales (%s)", c.DefaultLocale, strings.Join(supported, ", "))})
		}
	}
	if len(c.UserPoolIDs) > 0 {
		r.Notes = append(r.Notes, "user pools: "+strings.Join(c.UserPoolIDs, ", ")+" (events of any other pool are refused)")
	}
	var warnings []string
	r.Problems, warnings = brandProblems(getenv, c.DefaultLocale, r.Problems)
	r.Warnings = append(r.Warnings, warnings...)
	switch c.Keyring {
	case cogconfig.KeyringKMS:
		if c.KMSKeyARN != "" {
			r.Notes = append(r.Notes, "keyring: kms, key "+c.KMSKeyARN)
		}
	case cogconfig.KeyringRawAES:
		r.Notes = append(r.Notes, "keyring: raw-aes, key "+c.AESNamespace+"/"+c.AESName)
	}
	r.OK = len(r.Problems) == 0
	return r
}

// brandProblems puts the brand document's problems and its templates' in
// place of the document's alone: ingest reads the document with its
// configuration and builds each brand's templates after, but a user fixes
// them in one round. The warnings are the brands' SMS texts over the
// default segment limit where nothing refuses them (ingest.SMSWarnings).
func brandProblems(getenv func(string) string, locale string, problems []problem) ([]problem, []string) {
	inline, file := strings.TrimSpace(getenv("COGMAIL_BRANDS")), strings.TrimSpace(getenv("COGMAIL_BRANDS_FILE"))
	if (inline == "") == (file == "") { // none, or both (reported as such)
		return problems, nil
	}
	locale = cmp.Or(locale, render.DefaultLocale)
	check := ingest.CheckTemplates(locale)
	name, set, err := "COGMAIL_BRANDS", (*brand.Set)(nil), error(nil)
	if file != "" {
		name = "COGMAIL_BRANDS_FILE"
		set, err = brand.ReadFile(file, check)
	} else {
		set, err = brand.Parse([]byte(inline), check)
	}
	var warnings []string
	if err == nil {
		for _, w := range ingest.SMSWarnings(set, locale) {
			warnings = append(warnings, name+": "+w)
		}
	}
	problems = slices.DeleteFunc(problems, func(p problem) bool { return p.Variable == name })
	var be *brand.Error
	switch {
	case errors.As(err, &be):
		for _, p := range be.Problems {
			problems = append(problems, problem{Variable: name, Message: p.String()})
		}
	case err != nil:
		problems = append(problems, problem{Variable: name, Message: err.Error()})
	}
	return problems, warnings
}

func checkDispatch(getenv func(string) string) (functionReport, *cogconfig.Dispatch) {
	r := functionReport{Function: "dispatch"}
	c, err := cogconfig.LoadDispatch(getenv)
	loaded := err == nil
	if loaded {
		// How the settings fit dispatch's defaults, and each provider's own
		// validation: what the function's cold start runs.
		err = errors.Join(dispatchwire.Check(c), dispatchwire.CheckProviders(c))
	}
	r.Problems = problemsOf(err)
	// With the configuration refused, the providers are not built; the
	// smtp provider's rule is still reported, so one round fixes both.
	if s := c.SMTP; s != nil && !loaded {
		if err := smtp.CheckClearPassword(s.Host, dispatchwire.SMTPPolicy(s.TLS), s.Username); err != nil {
			r.Problems = append(r.Problems, problem{Variable: "COGMAIL_SMTP_TLS", Message: err.Error()})
		}
	}
	r.Problems = append(r.Problems, sesGrant(getenv, c)...)
	if len(c.Routing.Providers) > 0 {
		r.Notes = append(r.Notes, "routing (COGMAIL_PROVIDERS): "+describeRouting(c.Routing))
	}
	if ps := c.Providers(); len(ps) > 0 {
		r.Notes = append(r.Notes, "providers with settings: "+strings.Join(ps, ", "))
	}
	if c.ProvidersParam != "" {
		r.Notes = append(r.Notes, "live routing: SSM parameter "+c.ProvidersParam+" (read with --ping)")
	}
	r.Retries = retrySchedule(getenv, c)
	for _, w := range dispatchwire.Warnings(c) {
		r.Problems = append(r.Problems, problem{Variable: w.Var, Message: w.Reason})
	}
	r.OK = len(r.Problems) == 0
	return r, c
}

// triggerRetries is how long dispatch retries one trigger's messages
// through an outage, and how many tries that is at most.
type triggerRetries struct {
	Trigger  string `json:"trigger"`
	CodeLife string `json:"codeLife"` // ingest's COGMAIL_EXPIRY or default
	Window   string `json:"window"`   // the first of the code's life, COGMAIL_RETRY_WINDOW and COGMAIL_MAX_AGE
	Tries    int    `json:"tries"`
	Receives int    `json:"receives"` // with the last, which dead-letters it
	EndsAs   string `json:"endsAs"`   // the DLQ reason when the window is over: expired or max-age
}

// retrySchedule is each trigger's schedule with dispatch's settings and the
// code lives ingest gives (COGMAIL_EXPIRY, read from the same environment).
func retrySchedule(getenv func(string) string, c *cogconfig.Dispatch) []triggerRetries {
	o := dispatchwire.Options(c).WithDefaults()
	var lives map[cognito.Trigger]time.Duration
	if ic, _ := cogconfig.LoadIngest(getenv); ic != nil {
		lives = ic.Expiry
	}
	var out []triggerRetries
	for _, t := range cognito.Triggers {
		life := ingest.ExpiryFor(lives, t)
		s := o.TriggerSchedule(t, life)
		ends := string(envelope.ReasonExpired)
		if s.Window < life {
			ends = string(envelope.ReasonMaxAge)
		}
		out = append(out, triggerRetries{Trigger: t.Short(), CodeLife: shortDuration(life), Window: shortDuration(s.Window),
			Tries: s.Tries, Receives: s.Receives, EndsAs: ends})
	}
	return out
}

// shortDuration drops a duration's zero minutes and seconds ("24h", "3m").
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// sesGrant reports ses routed to real SES (no endpoint override) without
// the identity the role may send as, or with a sender outside it. The stack
// grants ses:SendEmail only on its SesIdentity parameter (set here as
// COGMAIL_SES_IDENTITY): without it every send fails with AccessDenied. The
// template's Rules refuse such a deploy; this finds a function deployed
// before them, or by other means.
func sesGrant(getenv func(string) string, c *cogconfig.Dispatch) []problem {
	if c == nil || c.SES == nil || !slices.Contains(c.Routing.Providers, registry.SES) ||
		c.SES.Endpoint != "" || getenv("AWS_ENDPOINT_URL_SESV2") != "" || getenv("AWS_ENDPOINT_URL") != "" {
		return nil
	}
	id := strings.ToLower(c.SES.Identity)
	switch {
	case id == "":
		return []problem{{Variable: "COGMAIL_SES_IDENTITY", Message: "is empty while ses is in COGMAIL_PROVIDERS: the stack grants ses:SendEmail only on its SesIdentity parameter, " +
			"so every send would fail with AccessDenied; redeploy with SesIdentity=<the verified domain or address of COGMAIL_SENDER_EMAIL>"}}
	case c.SenderEmail == "":
		return nil // reported already
	}
	sender := strings.ToLower(c.SenderEmail)
	if sender == id || strings.HasSuffix(sender, "@"+id) {
		return nil
	}
	return []problem{{Variable: "COGMAIL_SES_IDENTITY", Message: fmt.Sprintf("%q does not cover the sender %s: the role may send only as that identity "+
		"(the stack's SesIdentity), so SES would refuse the sender with AccessDenied", c.SES.Identity, c.SenderEmail)}}
}

// pinger tries the providers a dispatch configuration has.
type pinger struct {
	e       *env
	timeout time.Duration
	to      string

	awsOnce sync.Once
	aws     aws.Config
	awsErr  error
}

func (p *pinger) awsConfig(ctx context.Context) (aws.Config, error) {
	p.awsOnce.Do(func() { p.aws, p.awsErr = awsConfigFromEnv(ctx, p.e.getenv, "") })
	return p.aws, p.awsErr
}

// providers pings, at once, each provider dispatch would build: those with
// settings, and SES when COGMAIL_PROVIDERS names it or it has settings.
func (p *pinger) providers(ctx context.Context, c *cogconfig.Dispatch) []pingLine {
	var checks []func() ping.Result
	from := provider.Address{Email: c.SenderEmail, Name: c.SenderName}
	senderOK := cogconfig.BareAddress(c.SenderEmail) && !strings.ContainsAny(c.SenderName, "\r\n")
	needSender := func(name string) func() ping.Result {
		return func() ping.Result {
			return ping.Result{Provider: name, Status: skipped, Message: "skipped: the sandbox request needs a valid COGMAIL_SENDER_EMAIL"}
		}
	}
	if sg := c.SendGrid; sg != nil {
		checks = append(checks, func() ping.Result {
			if !senderOK {
				return needSender("sendgrid")()
			}
			key, r := p.key(ctx, "sendgrid", sg.APIKey, sg.APIKeySecret)
			if r != nil {
				return *r
			}
			return ping.SendGrid(ctx, sendgrid.Config{APIKey: key, BaseURL: sg.BaseURL, Timeout: p.timeout}, ping.TestMessage(from, p.to))
		})
	}
	if mg := c.Mailgun; mg != nil {
		checks = append(checks, func() ping.Result {
			if !senderOK {
				return needSender("mailgun")()
			}
			key, r := p.key(ctx, "mailgun", mg.APIKey, mg.APIKeySecret)
			if r != nil {
				return *r
			}
			return ping.Mailgun(ctx, mailgun.Config{APIKey: key, Domain: mg.Domain, BaseURL: mailgun.BaseURLFor(mg.Region, mg.BaseURL), Timeout: p.timeout}, ping.TestMessage(from, p.to))
		})
	}
	if sc := c.SES; sc != nil && (slices.Contains(c.Routing.Providers, registry.SES) || sc.ConfigurationSet != "" || sc.Endpoint != "") {
		checks = append(checks, func() ping.Result {
			cfg, err := p.awsConfig(ctx)
			if err != nil {
				return ping.Result{Provider: "ses", Status: ping.Failed, Problem: ping.Credentials, Message: "AWS configuration: " + err.Error()}
			}
			sender := ""
			if senderOK {
				sender = c.SenderEmail
			}
			endpoint := firstNonEmpty(sc.Endpoint, serviceEndpoint(p.e.getenv, "SESV2"))
			return ping.SES(ctx, ses.Config{AWS: cfg, Endpoint: endpoint, ConfigurationSetName: sc.ConfigurationSet, Timeout: p.timeout}, sender)
		})
	}
	if sm := c.SMTP; sm != nil {
		checks = append(checks, func() ping.Result {
			pass, r := p.key(ctx, "smtp", sm.Password, sm.PasswordSecret)
			if r != nil {
				return *r
			}
			return ping.SMTP(ctx, smtp.Config{Host: sm.Host, Port: sm.Port, Username: sm.Username, Password: pass, TLS: dispatchwire.SMTPPolicy(sm.TLS), Timeout: p.timeout})
		})
	}
	out := make([]pingLine, len(checks))
	var wg sync.WaitGroup
	for i, check := range checks {
		wg.Go(func() {
			r := check()
			out[i] = pingLine{Result: r, Hint: hint(r)}
		})
	}
	wg.Wait()
	return out
}

// key is a credential given in clear or as a Secrets Manager reference;
// a non-nil Result says why it could not be had.
func (p *pinger) key(ctx context.Context, name string, plain cogconfig.Secret, ref string) (string, *ping.Result) {
	if ref == "" {
		return plain.Reveal(), nil
	}
	fail := func(msg string) (string, *ping.Result) {
		return "", &ping.Result{Provider: name, Status: ping.Failed, Problem: ping.Credentials, Message: msg}
	}
	cfg, err := p.awsConfig(ctx)
	if err != nil {
		return fail("cannot read the secret " + ref + ": AWS configuration: " + err.Error())
	}
	sm := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		if u := serviceEndpoint(p.e.getenv, "SECRETS_MANAGER"); u != "" {
			o.BaseEndpoint = aws.String(u)
		}
	})
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	v, err := secretref.Read(ctx, sm, ref)
	if err != nil {
		return fail(err.Error())
	}
	return v, nil
}

// routing reads the live routing parameter and checks it against the
// providers this configuration builds, as dispatch does.
func (p *pinger) routing(ctx context.Context, c *cogconfig.Dispatch) pingLine {
	const name = "routing"
	line := func(s ping.Status, msg, hint string) pingLine {
		return pingLine{Result: ping.Result{Provider: name, Status: s, Message: "parameter " + c.ProvidersParam + ": " + msg}, Hint: hint}
	}
	cfg, err := p.awsConfig(ctx)
	if err != nil {
		return line(ping.Failed, "AWS configuration: "+err.Error(), "")
	}
	client, err := ssmClient(ctx, p.e, cfg.Region, c.ProvidersParam)
	if err != nil {
		return line(ping.Failed, "AWS configuration: "+err.Error(), "")
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	rp, err := readRouting(ctx, client, c.ProvidersParam)
	switch {
	case err != nil:
		return line(ping.Failed, err.Error(), "")
	case !rp.Exists:
		return line(ping.Warning, "does not exist: dispatch routes by COGMAIL_PROVIDERS", "cogmail providers set LIST --param "+c.ProvidersParam)
	case !rp.Valid:
		return line(ping.Failed, "is not a valid provider configuration ("+rp.Error+"): dispatch ignores it",
			"cogmail providers set LIST --param "+c.ProvidersParam)
	}
	if err := rp.Routing.Validate(c.Providers()); err != nil {
		return line(ping.Failed, fmt.Sprintf("version %d (%s) is ignored by dispatch: %s", rp.Version, describeRouting(*rp.Routing), joinLines(err.Error())),
			"give the function those providers' settings, or cogmail providers set LIST --param "+c.ProvidersParam)
	}
	return line(ping.OK, fmt.Sprintf("version %d: %s (what dispatch routes by, re-read within %d s)", rp.Version, describeRouting(*rp.Routing), int(routing.MaxRefresh/time.Second)), "")
}

// hints say where to look for each kind of problem, by provider.
var hints = map[string]map[ping.Problem]string{
	"sendgrid": {
		ping.Credentials: "check COGMAIL_SENDGRID_API_KEY (or the secret COGMAIL_SENDGRID_API_KEY_SECRET names): a restricted key needs Mail Send, and COGMAIL_SENDER_EMAIL must be a verified sender",
		ping.Rejected:    "check COGMAIL_SENDER_EMAIL and COGMAIL_SENDER_NAME",
		ping.Unreachable: "check COGMAIL_SENDGRID_BASE_URL and that this machine can reach it",
		ping.TLS:         "check COGMAIL_SENDGRID_BASE_URL",
		ping.Unexpected:  "check COGMAIL_SENDGRID_BASE_URL",
	},
	"mailgun": {
		ping.Credentials: "check COGMAIL_MAILGUN_API_KEY (or the secret COGMAIL_MAILGUN_API_KEY_SECRET names) and COGMAIL_MAILGUN_REGION: a key works only in its region",
		ping.Domain:      "check COGMAIL_MAILGUN_DOMAIN and COGMAIL_MAILGUN_REGION (us or eu)",
		ping.Rejected:    "check COGMAIL_SENDER_EMAIL and COGMAIL_SENDER_NAME",
		ping.Unreachable: "check COGMAIL_MAILGUN_BASE_URL or COGMAIL_MAILGUN_REGION, and that this machine can reach it",
		ping.TLS:         "check COGMAIL_MAILGUN_BASE_URL",
		ping.Unexpected:  "check COGMAIL_MAILGUN_BASE_URL",
	},
	"ses": {
		ping.Credentials: "this check uses your AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID, ...); the function uses its role",
		ping.Permission:  "this check uses your AWS credentials; they need ses:GetAccount, ses:GetEmailIdentity and ses:GetConfigurationSet",
		ping.Sender:      "verify COGMAIL_SENDER_EMAIL or its domain in SES in this region (aws sesv2 create-email-identity --email-identity DOMAIN)",
		ping.Account:     "aws sesv2 get-account shows the details; the SES console requests production access",
		ping.Config:      "check COGMAIL_SES_CONFIGURATION_SET (aws sesv2 list-configuration-sets)",
		ping.Unreachable: "check AWS_REGION, and COGMAIL_SES_ENDPOINT or AWS_ENDPOINT_URL_SESV2 if set",
		ping.Unexpected:  "check COGMAIL_SES_ENDPOINT or AWS_ENDPOINT_URL_SESV2",
	},
	"smtp": {
		ping.Credentials: "check COGMAIL_SMTP_USERNAME and COGMAIL_SMTP_PASSWORD (or the secret COGMAIL_SMTP_PASSWORD_SECRET names)",
		ping.TLS:         "check COGMAIL_SMTP_TLS and COGMAIL_SMTP_PORT (starttls on 587, tls on 465)",
		ping.Unreachable: "check COGMAIL_SMTP_HOST and COGMAIL_SMTP_PORT, and that this machine can reach the relay",
		ping.Unexpected:  "check COGMAIL_SMTP_HOST and COGMAIL_SMTP_PORT: is it an SMTP relay?",
	},
}

func hint(r ping.Result) string {
	if r.Status == ping.OK || r.Status == skipped {
		return ""
	}
	return hints[r.Provider][r.Problem]
}
