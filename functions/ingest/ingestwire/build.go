// Package ingestwire builds the ingest function's handler from its
// configuration at cold start: the keyring, the templates, the sealer and
// the publisher. It is the only place where pkg/config meets pkg/ingest, so
// the policy package stays free of environment variables.
package ingestwire

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/cogmail/cogmail/pkg/codecrypt"
	"github.com/cogmail/cogmail/pkg/config"
	"github.com/cogmail/cogmail/pkg/ingest"
	"github.com/cogmail/cogmail/pkg/metrics"
	"github.com/cogmail/cogmail/pkg/queue"
	"github.com/cogmail/cogmail/pkg/recipient"
	"github.com/cogmail/cogmail/pkg/render"
	"github.com/cogmail/cogmail/pkg/seal"
)

// Clients are the AWS clients the handler talks to. The caller builds them,
// so the Lambda uses the default credential chain and AWS_ENDPOINT_URL_KMS /
// AWS_ENDPOINT_URL_SQS, and the local stack points them at its emulators.
type Clients struct {
	KMS *kms.Client
	SQS *sqs.Client
}

// Build makes an ingest.Handler from configuration: the keyring, the templates (CSS
// inlined once), the sealer and the publisher are all built here, at cold
// start, never per event.
//
// Work that the first event would otherwise wait for starts in the
// background as soon as its part is built (see warm), so it overlaps the rest
// of the cold start, the wait for the first event and that event's decrypt.
func Build(ctx context.Context, c *config.Ingest, cl Clients, log *slog.Logger, m *metrics.Emitter) (*ingest.Handler, error) {
	sl, err := seal.NewSealer(seal.Options{KMS: cl.KMS, KeyID: c.SealKeyID, MaxAge: c.SealKeyMaxAge, MaxUses: c.SealKeyUses})
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	warm(ctx, log, "sealing data key not prefetched; the first event fetches it", sl.Prefetch)
	go codecrypt.Warm()
	var dec *codecrypt.Decrypter
	switch c.Keyring {
	case config.KeyringRawAES:
		dec, err = codecrypt.NewRawAES(ctx, codecrypt.RawAESKey{Namespace: c.AESNamespace, Name: c.AESName, Key: c.AESKey})
	default:
		dec, err = codecrypt.NewKMS(ctx, cl.KMS, c.KMSKeyARN)
	}
	if err != nil {
		return nil, fmt.Errorf("ingest: keyring: %w", err)
	}
	ro := recipient.Options{Attributes: c.RecipientAttributes}
	if c.LookupURL != "" {
		lk := &recipient.Lookup{URL: c.LookupURL, Placeholder: c.LookupPlaceholder, Timeout: c.LookupTimeout}
		if c.LookupHeader[0] != "" {
			lk.Header = http.Header{}
			lk.Header.Set(c.LookupHeader[0], c.LookupHeader[1])
		}
		ro.Lookup = lk
	}
	rcpt, err := recipient.New(ro)
	if err != nil {
		return nil, fmt.Errorf("ingest: recipient: %w", err)
	}
	rnd, err := render.New(render.Options{
		Brand: render.Brand{
			ProductName: c.Brand.ProductName, SenderName: c.Brand.SenderName,
			SupportURL: c.Brand.SupportURL, LogoURL: c.Brand.LogoURL, OriginDomain: c.Brand.OriginDomain,
		},
		DefaultLocale: c.DefaultLocale,
		OverrideDir:   c.TemplateDir,
		SMSSegments:   c.Brand.SMSSegments,
	})
	if err != nil {
		return nil, fmt.Errorf("ingest: templates: %w", err)
	}
	pub, err := queue.NewPublisher(cl.SQS, c.QueueURL)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	warm(ctx, log, "queue not reached at cold start; the first event sends anyway", pub.Warm)
	fromName := ""
	if c.Brand.SenderEmail != "" {
		fromName = rnd.Brand().SenderName // COGMAIL_SENDER_NAME, else the product name
	}
	d := ingest.Deps{Decrypter: dec, Recipient: rcpt, Renderer: rnd, Sealer: sl, Publisher: pub, Logger: log, Metrics: m}
	if c.Brands != nil {
		if d.Brands, err = ingest.NewBrandSet(c.Brands, c.DefaultLocale); err != nil {
			return nil, err
		}
	}
	return ingest.New(d, ingest.Options{Expiry: c.Expiry, DefaultLocale: c.DefaultLocale, From: c.Brand.SenderEmail, FromName: fromName,
		BrandName: rnd.Brand().ProductName, UserPoolIDs: c.UserPoolIDs})
}

// WarmTimeout bounds each background warm-up.
const WarmTimeout = 10 * time.Second

// warm runs f in the background at cold start:
//   - seal.Sealer.Prefetch fetches the first data key (KMS GenerateDataKey),
//     which also opens the connection to KMS that the first decrypt reuses;
//   - queue.Publisher.Warm reads the queue's ARN (sqs:GetQueueAttributes), so
//     the SQS client's first use and connection are done before the first
//     send, and a missing queue shows at once;
//   - codecrypt.Warm (run beside these) builds the P-384 tables the first
//     signature check would otherwise build.
//
// None of them is needed: when one fails, the first event does the work
// itself and reports its own error, so a failure here is only a warning.
func warm(ctx context.Context, log *slog.Logger, failure string, f func(context.Context) error) {
	go func() {
		wctx, cancel := context.WithTimeout(ctx, WarmTimeout)
		defer cancel()
		if err := f(wctx); err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, failure, "error", err.Error())
		}
	}()
}
