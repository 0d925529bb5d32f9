package localstack

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/cogmail/cogmail/functions/dispatch/dispatchwire"
	"github.com/cogmail/cogmail/internal/local/eventsource"
	"github.com/cogmail/cogmail/pkg/awsclient"
	"github.com/cogmail/cogmail/pkg/brand"
	"github.com/cogmail/cogmail/pkg/config"
	"github.com/cogmail/cogmail/pkg/metrics"
	"github.com/cogmail/cogmail/pkg/provider/mailgun/mailgunfake"
	"github.com/cogmail/cogmail/pkg/provider/sendgrid/sendgridfake"
	"github.com/cogmail/cogmail/pkg/provider/ses/sesfake"
	"github.com/cogmail/cogmail/pkg/provider/smtp/smtpfake"
	"github.com/cogmail/cogmail/pkg/routing"
	"github.com/cogmail/cogmail/pkg/seal"
)

// Local provider credentials: the fakes accept exactly these.
const (
	localSendGridKey   = "SG.cogmail-local"
	localMailgunKey    = "key-cogmail-local"
	localMailgunDomain = "mg.cogmail.local"
	localSender        = "no-reply@cogmail.local"
	localSenderName    = "cogmail local"
	// ProvidersParam is the SSM parameter holding the live provider routing.
	ProvidersParam = "/cogmail/providers"
	// DefaultProviders is the local stack's routing: SES first, then the rest.
	DefaultProviders = "ses,sendgrid,mailgun,smtp"
)

// providers is the provider side of the stack: the four fakes and what
// stands in front of them to inject faults.
type providers struct {
	sg   *sendgridfake.Server
	mg   *mailgunfake.Server
	ses  *sesfake.Server
	smtp *smtpfake.Server

	proxies map[string]*faultProxy
	servers map[string]*httptest.Server
	dropper *connDropper

	mu     sync.Mutex
	faults map[string]Fault // as last set, for GET /api/faults
}

func startProviders(creds aws.Credentials, faults map[string]Fault, publishSES func([]byte)) (*providers, error) {
	p := &providers{
		sg:      sendgridfake.New(sendgridfake.Options{APIKey: localSendGridKey}),
		mg:      mailgunfake.New(mailgunfake.Options{APIKey: localMailgunKey, Domain: localMailgunDomain}),
		ses:     sesfake.New(sesfake.Options{Credentials: &creds, Publish: publishSES}),
		smtp:    smtpfake.New(smtpfake.Options{}),
		proxies: map[string]*faultProxy{},
		servers: map[string]*httptest.Server{},
	}
	for name, target := range map[string]string{"sendgrid": p.sg.URL(), "mailgun": p.mg.URL(), "ses": p.ses.URL()} {
		fp, err := newFaultProxy(name, target)
		if err != nil {
			p.close()
			return nil, err
		}
		p.proxies[name] = fp
		p.servers[name] = httptest.NewServer(fp)
	}
	var err error
	if p.dropper, err = newConnDropper(fmt.Sprintf("%s:%d", p.smtp.Host(), p.smtp.Port())); err != nil {
		p.close()
		return nil, err
	}
	p.setFaults(faults)
	return p, nil
}

// url is where dispatch reaches an HTTP provider: its fault proxy.
func (p *providers) url(name string) string { return p.servers[name].URL }

// setFaults replaces the injected faults (an empty map heals everything).
func (p *providers) setFaults(faults map[string]Fault) {
	p.mu.Lock()
	p.faults = maps.Clone(faults)
	p.mu.Unlock()
	for name, fp := range p.proxies {
		fp.set(faults[name])
	}
	f := faults["smtp"]
	p.dropper.setRate(f.Rate)
	if f.Status != 0 {
		// At RCPT TO, where a relay refuses a recipient: 550 there is
		// permanent, as with a real relay (at MAIL FROM it would be the
		// sender refused, which dispatch fails over).
		p.smtp.SetFault(smtpfake.Fault{Stage: smtpfake.Rcpt, Code: f.Status})
	} else {
		p.smtp.SetFault(smtpfake.Fault{})
	}
}

func (p *providers) close() {
	for _, s := range p.servers {
		s.Close()
	}
	if p.dropper != nil {
		_ = p.dropper.close()
	}
	p.sg.Close()
	p.mg.Close()
	p.ses.Close()
	p.smtp.Close()
}

// startDispatch builds the real dispatch handler from its environment, as
// functions/dispatch does, and drives it with the SQS poller that plays
// Lambda's event source mapping.
func (s *Stack) startDispatch(ctx context.Context, o Options) error {
	creds := aws.Credentials{AccessKeyID: "local", SecretAccessKey: "local", Source: "cogmail-local"}
	p, err := startProviders(creds, o.Faults, s.publishSES)
	if err != nil {
		return err
	}
	s.providers = p
	awsCfg := awsclient.Config(s.Region, credentials.StaticCredentialsProvider{Value: creds})
	s.SSMClient = ssm.NewFromConfig(awsCfg, func(o *ssm.Options) { o.BaseEndpoint = aws.String(s.URL) })
	list := o.Providers
	if list == "" {
		list = DefaultProviders
	}
	rc, err := routing.ParseList(list, "")
	if err != nil {
		return fmt.Errorf("localstack: providers: %w", err)
	}
	rc = rc.Normalize()
	if o.BrandsFile != "" {
		// As in AWS, dispatch reads the brands' provider orders live from the
		// routing parameter.
		if rc.Brands, err = brand.ReadFile(o.BrandsFile); err != nil {
			return fmt.Errorf("localstack: %w", err)
		}
	}
	param, err := json.Marshal(rc)
	if err != nil {
		return err
	}
	if _, err := s.SSMClient.PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(ProvidersParam), Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true),
		Value: aws.String(string(param)),
	}); err != nil {
		return fmt.Errorf("localstack: provider parameter: %w", err)
	}
	env := map[string]string{
		"COGMAIL_PROVIDERS":         list,
		"COGMAIL_PROVIDERS_PARAM":   ProvidersParam,
		"COGMAIL_PROVIDERS_REFRESH": "5s",
		"COGMAIL_SENDER_EMAIL":      localSender,
		"COGMAIL_SENDER_NAME":       localSenderName,
		"COGMAIL_QUEUE_URL":         s.QueueURL,
		"COGMAIL_DLQ_URL":           s.DLQURL,
		"COGMAIL_MAX_RECEIVES":      strconv.Itoa(MaxReceiveCount),
		// The retry schedule is dispatch's defaults, as in infra/ (1 s doubling
		// to 5 min, a day at most): an outage is absorbed here as there.
		"COGMAIL_SEND_TIMEOUT":      "5s",
		"COGMAIL_SENDGRID_API_KEY":  localSendGridKey,
		"COGMAIL_SENDGRID_BASE_URL": p.url("sendgrid"),
		"COGMAIL_MAILGUN_API_KEY":   localMailgunKey,
		"COGMAIL_MAILGUN_DOMAIN":    localMailgunDomain,
		"COGMAIL_MAILGUN_BASE_URL":  p.url("mailgun"),
		"COGMAIL_SES_ENDPOINT":      p.url("ses"),
		"COGMAIL_SMTP_HOST":         "127.0.0.1",
		"COGMAIL_SMTP_PORT":         strconv.Itoa(p.dropper.addr().Port),
		"COGMAIL_SMTP_TLS":          "none",
		"COGMAIL_RECIPIENT_LIMIT":   cmp(o.RecipientLimit, "off"),
	}
	maps.Copy(env, o.DispatchEnv)
	s.dispatchEnv = env
	cfg, err := config.LoadDispatch(func(k string) string { return env[k] })
	if err != nil {
		return err
	}
	base := o.Logger.Handler().WithAttrs([]slog.Attr{slog.String("function", "dispatch")})
	s.observer = newFailoverObserver(base)
	log := slog.New(&timelineHandler{tl: s.timeline, function: "dispatch", next: &guardObserver{next: s.observer, rep: s.rep}})
	s.Dispatch, err = dispatchwire.Build(ctx, cfg, dispatchwire.Clients{AWS: awsCfg, SQS: s.SQSClient, KMS: s.KMSClient, SSM: s.SSMClient,
		Suppressions: s.rep.list, Recipients: s.rep.counter},
		log, metrics.New(o.Metrics, "dispatch", nil))
	if err != nil {
		return err
	}
	// The inbox opens what the guard stopped, to say who it was for.
	opener, err := seal.NewOpener(seal.OpenerOptions{KMS: s.KMSClient})
	if err != nil {
		return err
	}
	s.rep.inflight = newInflight(opener)
	poller, err := eventsource.NewPoller(s.SQSClient, s.rep.inflight.wrap(s.Dispatch.Handle), eventsource.PollerOptions{
		QueueURL: s.QueueURL, BatchSize: 10, BatchWindow: 100 * time.Millisecond, WaitTime: time.Second,
		FunctionTimeout: 30 * time.Second, Logger: log,
	})
	if err != nil {
		return err
	}
	s.inbox = newInbox(p.sg, p.mg, p.ses, p.smtp, s.observer)
	s.inbox.timeline = s.timeline
	s.inbox.rep = s.rep
	runCtx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	s.wg.Go(func() { _ = poller.Run(runCtx) })
	s.wg.Go(func() { s.inbox.run(runCtx, 50*time.Millisecond) })
	return s.runEvents(runCtx, o.Logger)
}

// Timeline returns a message's timeline (see Step), oldest step first; nil
// for an id the stack has not seen.
func (s *Stack) Timeline(id string) []Step { return s.timeline.of(id) }

// SetFaults changes the injected provider faults while the stack runs.
func (s *Stack) SetFaults(f map[string]Fault) { s.providers.setFaults(f) }

// Faults are the injected provider faults, by provider.
func (s *Stack) Faults() map[string]Fault {
	s.providers.mu.Lock()
	defer s.providers.mu.Unlock()
	return maps.Clone(s.providers.faults)
}

// Delivered lists the emails the provider fakes accepted, newest first.
func (s *Stack) Delivered() []Delivered { s.inbox.sync(); return s.inbox.list() }

// WaitDelivered waits until each message id was delivered (or ctx ends)
// and returns the ones that were.
func (s *Stack) WaitDelivered(ctx context.Context, ids ...string) map[string]Delivered {
	return s.inbox.wait(ctx, ids)
}
