// Package config reads cogmail's settings from environment variables at cold
// start and validates them, reporting every problem at once, each naming its
// variable. It does not restate defaults: an unset value stays zero, and the
// package that uses it applies its own default (ingest.DefaultExpiry,
// render.DefaultLocale, recipient, seal, dispatch and each provider's Options). docs/configuration.md lists every key.
package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cogmail/cogmail/pkg/brand"
	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/render"
)

// Getenv looks up one variable; os.Getenv satisfies it.
type Getenv func(string) string

// Keyring names how request.code is decrypted.
type Keyring string

// The supported keyrings.
const (
	KeyringKMS    Keyring = "kms"     // AWS KMS: what Cognito uses in production
	KeyringRawAES Keyring = "raw-aes" // a raw AES-256 key: local stack and tests
)

// Ingest is the ingest function's configuration.
type Ingest struct {
	QueueURL string // COGMAIL_QUEUE_URL

	// UserPoolIDs (COGMAIL_USER_POOL_IDS, comma-separated) are the pools
	// whose events ingest accepts; an event of any other pool is refused
	// before its code is decrypted. Unset: any pool (the KMS key policy is
	// then the only guard).
	UserPoolIDs []string

	Keyring       Keyring       // COGMAIL_KEYRING: kms (default) or raw-aes
	KMSKeyARN     string        // COGMAIL_KMS_KEY_ARN: the key Cognito encrypts codes with
	AESKey        []byte        // COGMAIL_AES_KEY_HEX (64 hex characters)
	AESNamespace  string        // COGMAIL_AES_KEY_NAMESPACE
	AESName       string        // COGMAIL_AES_KEY_NAME
	SealKeyID     string        // COGMAIL_SEAL_KEY_ID: KMS key for envelope data keys (default: COGMAIL_KMS_KEY_ARN)
	SealKeyMaxAge time.Duration // COGMAIL_SEAL_KEY_MAX_AGE (unset: seal.Options' default)
	SealKeyUses   int           // COGMAIL_SEAL_KEY_MAX_USES (unset: seal.Options' default)

	RecipientAttributes []string       // COGMAIL_RECIPIENT_ATTRIBUTES (unset: recipient's default, "email")
	LookupURL           string         // COGMAIL_RECIPIENT_LOOKUP_URL
	LookupPlaceholder   *regexp.Regexp // COGMAIL_RECIPIENT_PLACEHOLDER
	LookupTimeout       time.Duration  // COGMAIL_RECIPIENT_LOOKUP_TIMEOUT (unset: recipient.DefaultLookupTimeout)
	LookupHeader        [2]string      // COGMAIL_RECIPIENT_LOOKUP_HEADER "Name: value"

	TemplateDir   string // COGMAIL_TEMPLATE_DIR
	DefaultLocale string // COGMAIL_DEFAULT_LOCALE (unset: render.DefaultLocale)
	Brand         Brand
	// Brands, when set, gives each app client its own brand (COGMAIL_BRANDS,
	// a JSON or YAML brand document, or COGMAIL_BRANDS_FILE, a path to one);
	// Brand and TemplateDir are then unused.
	Brands *brand.Set

	// Expiry is COGMAIL_EXPIRY's entries only; ingest.DefaultExpiry holds
	// the rest.
	Expiry map[cognito.Trigger]time.Duration
}

// Brand is what the templates say about the product.
type Brand struct {
	ProductName string // COGMAIL_PRODUCT_NAME (unset: render.DefaultProductName)
	SenderName  string // COGMAIL_SENDER_NAME (unset: the product name, as render applies it)
	SenderEmail string // COGMAIL_SENDER_EMAIL (optional: dispatch's sender is used otherwise)
	SupportURL  string // COGMAIL_SUPPORT_URL
	LogoURL     string // COGMAIL_LOGO_URL
	// OriginDomain is COGMAIL_SMS_ORIGIN_DOMAIN: the app's host, for the
	// autofill line of text messages (render.Brand.OriginDomain).
	OriginDomain string
	// SMSSegments is COGMAIL_SMS_SEGMENTS: the most segments a text message
	// may take in the worst case (unset: render.DefaultSMSSegments).
	SMSSegments int
}

// LoadIngest reads and validates the ingest configuration.
func LoadIngest(getenv Getenv) (*Ingest, error) {
	r := reader{getenv: getenv}
	c := &Ingest{
		QueueURL:            r.url("COGMAIL_QUEUE_URL", true),
		Keyring:             Keyring(r.str("COGMAIL_KEYRING", string(KeyringKMS))),
		KMSKeyARN:           r.str("COGMAIL_KMS_KEY_ARN", ""),
		AESNamespace:        r.str("COGMAIL_AES_KEY_NAMESPACE", ""),
		AESName:             r.str("COGMAIL_AES_KEY_NAME", ""),
		SealKeyMaxAge:       r.duration("COGMAIL_SEAL_KEY_MAX_AGE", 0),
		SealKeyUses:         r.int("COGMAIL_SEAL_KEY_MAX_USES", 0),
		RecipientAttributes: r.list("COGMAIL_RECIPIENT_ATTRIBUTES", nil),
		LookupURL:           r.url("COGMAIL_RECIPIENT_LOOKUP_URL", false),
		LookupPlaceholder:   r.regexp("COGMAIL_RECIPIENT_PLACEHOLDER"),
		LookupTimeout:       r.duration("COGMAIL_RECIPIENT_LOOKUP_TIMEOUT", 0),
		TemplateDir:         r.str("COGMAIL_TEMPLATE_DIR", ""),
		DefaultLocale:       r.str("COGMAIL_DEFAULT_LOCALE", ""),
		Brand: Brand{
			ProductName:  r.str("COGMAIL_PRODUCT_NAME", ""),
			SenderName:   r.str("COGMAIL_SENDER_NAME", ""),
			SenderEmail:  r.str("COGMAIL_SENDER_EMAIL", ""),
			SupportURL:   r.url("COGMAIL_SUPPORT_URL", false),
			LogoURL:      r.url("COGMAIL_LOGO_URL", false),
			OriginDomain: r.str("COGMAIL_SMS_ORIGIN_DOMAIN", ""),
			SMSSegments:  r.int("COGMAIL_SMS_SEGMENTS", 0),
		},
	}
	// render's own checks (it uses them), named by their variables here;
	// whether the templates fit the segment limit is render.New's to say.
	if d := c.Brand.OriginDomain; d != "" && !render.ValidOriginDomain(d) {
		r.fail("COGMAIL_SMS_ORIGIN_DOMAIN", fmt.Sprintf("%q is not a host name (app.example.com, without scheme, port or path)", d))
	}
	if n := c.Brand.SMSSegments; n > render.MaxSMSSegments {
		r.fail("COGMAIL_SMS_SEGMENTS", fmt.Sprintf("%d is over the limit of %d segments", n, render.MaxSMSSegments))
	}
	c.SealKeyID = r.str("COGMAIL_SEAL_KEY_ID", c.KMSKeyARN)
	c.UserPoolIDs = r.poolIDs("COGMAIL_USER_POOL_IDS")
	c.Expiry = r.expiry("COGMAIL_EXPIRY")
	c.Brands = r.brands("COGMAIL_BRANDS", "COGMAIL_BRANDS_FILE")
	if h := r.str("COGMAIL_RECIPIENT_LOOKUP_HEADER", ""); h != "" {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" || strings.ContainsAny(h, "\r\n") {
			r.fail("COGMAIL_RECIPIENT_LOOKUP_HEADER", `must be "Name: value"`)
		}
		c.LookupHeader = [2]string{strings.TrimSpace(name), strings.TrimSpace(value)}
	}

	switch c.Keyring {
	case KeyringKMS:
		if c.KMSKeyARN == "" {
			r.fail("COGMAIL_KMS_KEY_ARN", "is required with COGMAIL_KEYRING=kms")
		} else if !strings.HasPrefix(c.KMSKeyARN, "arn:") {
			r.fail("COGMAIL_KMS_KEY_ARN", "must be a key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)")
		}
	case KeyringRawAES:
		hexKey := r.str("COGMAIL_AES_KEY_HEX", "")
		k, err := hex.DecodeString(hexKey)
		switch {
		case hexKey == "":
			r.fail("COGMAIL_AES_KEY_HEX", "is required with COGMAIL_KEYRING=raw-aes")
		case err != nil || len(k) != 32:
			r.fail("COGMAIL_AES_KEY_HEX", "must be 64 hex characters (a 256-bit key)")
		default:
			c.AESKey = k
		}
		if c.AESNamespace == "" {
			r.fail("COGMAIL_AES_KEY_NAMESPACE", "is required with COGMAIL_KEYRING=raw-aes")
		}
		if c.AESName == "" {
			r.fail("COGMAIL_AES_KEY_NAME", "is required with COGMAIL_KEYRING=raw-aes")
		}
	default:
		r.fail("COGMAIL_KEYRING", fmt.Sprintf("%q is not kms or raw-aes", c.Keyring))
	}
	if c.SealKeyID == "" {
		r.fail("COGMAIL_SEAL_KEY_ID", "is required (the KMS key for envelope data keys; defaults to COGMAIL_KMS_KEY_ARN)")
	}
	if c.LookupPlaceholder != nil && c.LookupURL == "" {
		r.fail("COGMAIL_RECIPIENT_LOOKUP_URL", "is required when COGMAIL_RECIPIENT_PLACEHOLDER is set")
	}
	if len(c.RecipientAttributes) == 0 && strings.TrimSpace(r.str("COGMAIL_RECIPIENT_ATTRIBUTES", "")) != "" {
		r.fail("COGMAIL_RECIPIENT_ATTRIBUTES", "must name at least one attribute")
	}
	return c, r.err()
}

// reader collects problems while parsing, so one start-up error lists all.
type reader struct {
	getenv Getenv
	errs   []error
}

// Error is one bad setting.
type Error struct {
	Var    string
	Reason string
}

func (e *Error) Error() string { return e.Var + ": " + e.Reason }

func (r *reader) fail(name, reason string) { r.errs = append(r.errs, &Error{name, reason}) }

func (r *reader) err() error {
	if len(r.errs) == 0 {
		return nil
	}
	return fmt.Errorf("config: %w", errors.Join(r.errs...))
}

func (r *reader) str(name, def string) string {
	if v := strings.TrimSpace(r.getenv(name)); v != "" {
		return v
	}
	return def
}

func (r *reader) list(name string, def []string) []string {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// poolIDs reads a comma-separated list of user pool ids.
func (r *reader) poolIDs(name string) []string {
	ids := r.list(name, nil)
	if len(ids) == 0 && r.str(name, "") != "" {
		r.fail(name, "must name at least one user pool id")
	}
	for _, id := range ids {
		if !cognito.ValidPoolID(id) {
			r.fail(name, fmt.Sprintf("%q is not a user pool id (REGION_ID, e.g. eu-west-1_AbCdEf123)", id))
		}
	}
	return ids
}

func (r *reader) duration(name string, def time.Duration) time.Duration {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.fail(name, fmt.Sprintf("%q is not a positive duration (e.g. 90s, 5m, 24h)", v))
		return def
	}
	return d
}

func (r *reader) int(name string, def int) int {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		r.fail(name, fmt.Sprintf("%q is not a positive whole number", v))
		return def
	}
	return n
}

func (r *reader) url(name string, required bool) string {
	v := r.str(name, "")
	if v == "" {
		if required {
			r.fail(name, "is required")
		}
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The value is not echoed: a URL may carry a token.
		r.fail(name, "is not an http(s) URL")
	}
	return v
}

func (r *reader) regexp(name string) *regexp.Regexp {
	v := r.str(name, "")
	if v == "" {
		return nil
	}
	re, err := regexp.Compile(v)
	if err != nil {
		r.fail(name, "is not a valid regular expression: "+err.Error())
	}
	return re
}

// brands reads the brand document inline (name) or from a file (fileName).
func (r *reader) brands(name, fileName string) *brand.Set {
	inline, file := r.str(name, ""), r.str(fileName, "")
	var (
		s   *brand.Set
		err error
	)
	switch {
	case inline != "" && file != "":
		r.fail(name, "set either "+name+" or "+fileName+", not both")
		return nil
	case inline != "":
		s, err = brand.Parse([]byte(inline))
	case file != "":
		name = fileName
		s, err = brand.ReadFile(file)
	default:
		return nil
	}
	// One problem per line of the document, each with its line and key.
	var be *brand.Error
	switch {
	case errors.As(err, &be):
		for _, p := range be.Problems {
			r.fail(name, p.String())
		}
	case err != nil:
		r.fail(name, err.Error())
	}
	return s
}

// expiry parses "ForgotPassword=1h,Authentication=3m"; nil when unset.
func (r *reader) expiry(name string) map[cognito.Trigger]time.Duration {
	var out map[cognito.Trigger]time.Duration
	for _, item := range r.list(name, nil) {
		k, v, ok := strings.Cut(item, "=")
		if !ok {
			r.fail(name, fmt.Sprintf("%q is not TRIGGER=DURATION", item))
			continue
		}
		t, err := cognito.ParseTrigger(strings.TrimSpace(k))
		if err != nil {
			r.fail(name, err.Error())
			continue
		}
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d <= 0 {
			r.fail(name, fmt.Sprintf("%s: %q is not a positive duration", t.Short(), v))
			continue
		}
		if out == nil {
			out = map[cognito.Trigger]time.Duration{}
		}
		out[t] = d
	}
	return out
}
