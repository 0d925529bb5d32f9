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
// The sealer's first data key is fetched in the background from here on
// (seal.Sealer.Prefetch), so the KMS round trip overlaps the rest of the cold
// start, the wait for the first event and that event's decrypt; it also opens
// the connection to KMS that the decrypt then reuses.
func Build(ctx context.Context, c *config.Ingest, cl Clients, log *slog.Logger, m *metrics.Emitter) (*ingest.Handler, error) {
	sl, err := seal.NewSealer(seal.Options{KMS: cl.KMS, KeyID: c.SealKeyID, MaxAge: c.SealKeyMaxAge, MaxUses: c.SealKeyUses})
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	go prefetch(ctx, sl, log)
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
			SupportURL: c.Brand.SupportURL, LogoURL: c.Brand.LogoURL,
		},
		DefaultLocale: c.DefaultLocale,
		OverrideDir:   c.TemplateDir,
	})
	if err != nil {
		return nil, fmt.Errorf("ingest: templates: %w", err)
	}
	pub, err := queue.NewPublisher(cl.SQS, c.QueueURL)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
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
		BrandName: rnd.Brand().ProductName})
}

// PrefetchTimeout bounds the background fetch of the first data key.
const PrefetchTimeout = 10 * time.Second

func prefetch(ctx context.Context, sl *seal.Sealer, log *slog.Logger) {
	pctx, cancel := context.WithTimeout(ctx, PrefetchTimeout)
	defer cancel()
	if err := sl.Prefetch(pctx); err != nil && ctx.Err() == nil {
		// The first Seal asks KMS again and reports its own failure.
		log.WarnContext(ctx, "sealing data key not prefetched; the first event fetches it", "error", err.Error())
	}
}
