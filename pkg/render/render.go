package render

import (
	"bytes"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/secret"
)

// Generic names the template used for trigger sources this version does not know.
const Generic = "Generic"

// DefaultLocale is used when Options.DefaultLocale is empty.
const DefaultLocale = "en"

// DefaultProductName is used when Brand.ProductName is empty.
const DefaultProductName = "Your app"

// ErrNoCode is returned when a trigger that must show a code has none.
var ErrNoCode = errors.New("render: no code to show")

// Brand is what the templates say about the product.
type Brand struct {
	ProductName string // "Acme"; DefaultProductName when empty
	SenderName  string // signs the footer; defaults to ProductName
	SupportURL  string // optional http(s) link in the footer
	LogoURL     string // optional http(s) image in the header; the product name is shown without it
	ProductURL  string // optional http(s) link on the header's logo or product name
	Colors      Colors // optional; the layout's own colours otherwise
	// OriginDomain, when set, is the host of the app's web origin
	// ("app.example.com"): a text message with a code then ends with
	// "@app.example.com #123456", which browsers (WebOTP) and phones offer
	// to fill in with one tap.
	OriginDomain string
}

// Colors are a brand's colours, CSS hex (#rgb or #rrggbb). They replace the
// layout's var(--cogmail-accent, DEFAULT), var(--cogmail-background, DEFAULT)
// and var(--cogmail-text, DEFAULT) when the templates are built, so the
// inlined style attributes carry plain colours that every mail client shows;
// an empty one keeps the DEFAULT.
type Colors struct {
	Accent     string // buttons
	Background string // the page around the card
	Text       string // body text and headings
}

// Options configures New.
type Options struct {
	Brand         Brand
	DefaultLocale string // last resort of the locale chain; default "en"
	// OverrideDir, when set, holds templates that replace the embedded ones
	// file for file, in the same layout (en/SignUp.html, layout.html, ...).
	OverrideDir string
	// CheckAll builds and trial-renders every template in New, so a broken
	// one is a start-up error. It is implied by OverrideDir (user files must
	// fail fast). Without either, the embedded templates, which the golden
	// tests prove, are CSS-inlined lazily on first use: a cold start then
	// pays for the one template its event needs, not all of them.
	CheckAll bool
	// SMSSegments is the most segments a text message may take in the
	// worst case (see WorstTemporaryPassword). 0 means DefaultSMSSegments.
	// New refuses an SMS template that could take more only where the
	// operator has taken charge of the SMS text: SMSSegments set (not 0),
	// Brand.OriginDomain set, or an SMS template (*.sms.txt) in OverrideDir.
	// Otherwise (built-in texts, default limit) New does not check, so that
	// a pool sending only email never fails to start over its product
	// name's length; Renderer.SMSOverflows reports what is over, for a
	// warning.
	SMSSegments int
}

// Input is one email to render.
type Input struct {
	Trigger cognito.Trigger
	// Locale is the requested locale in any common spelling (de_DE, de-de);
	// usually LocaleResolver.ForEvent. It is resolved through the fallback chain.
	Locale string
	// Code is the code or temporary password, already decrypted and, for
	// AdminCreateUser, already HTML-unescaped: it is shown exactly as given.
	Code       secret.Code
	UserName   string            // the Cognito user name
	Attributes map[string]string // the event's userAttributes
	ValidFor   time.Duration     // how long the code is valid; 0 leaves the sentence out
}

// Email is a rendered email.
type Email struct {
	Subject  string // one line, no control characters: safe to use as a header
	HTML     string
	Text     string
	Locale   string // the locale used
	Template string // the template used: the trigger's short name ("SignUp") or Generic
	// Fallback reports that the trigger is unknown to this version and the
	// Generic template was used; callers should log it as a warning.
	Fallback bool
}

// Renderer renders emails from templates parsed and CSS-inlined once per
// template (in New, or on first use; see Options.CheckAll), never per event.
// It is safe for concurrent use.
type Renderer struct {
	brand   Brand
	locales *LocaleResolver
	files   map[string]file
	sets    map[setKey]*lazySet
	sms     map[setKey]*lazySMS
	bufs    sync.Pool
	// smsLimit is the SMS segment limit; smsEnforced whether New held the
	// SMS templates' worst case to it; eager whether New checked all.
	smsLimit           int
	smsEnforced, eager bool
}

// lazySet builds one template set at most once.
type lazySet struct {
	once sync.Once
	set  *set
	err  error
}

func (r *Renderer) set(k setKey) (*set, error) {
	l := r.sets[k]
	if l == nil {
		return nil, fmt.Errorf("render: no %s template for locale %s", k.name, k.locale)
	}
	l.once.Do(func() { l.set, l.err = build(r.files, k.locale, k.name, r.brand.Colors) })
	return l.set, l.err
}

type setKey struct{ locale, name string }

// set is one trigger's templates in one locale.
type set struct {
	label   string // the files it came from, for errors
	subject *texttemplate.Template
	html    *htmltemplate.Template
	text    *texttemplate.Template
}

// Locales returns the resolver over the locales the renderer has templates for.
func (r *Renderer) Locales() *LocaleResolver { return r.locales }

// Brand is the brand the templates show, with its defaults applied.
func (r *Renderer) Brand() Brand { return r.brand }

// Render renders in. An unknown trigger renders the Generic template and sets
// Email.Fallback. The only errors are ErrNoCode and template execution errors,
// which New's trial renders make unlikely.
func (r *Renderer) Render(in Input) (Email, error) {
	name, fallback := in.Trigger.Short(), false
	if !in.Trigger.Known() {
		name, fallback = Generic, true
	}
	if in.Trigger.RequiresCode() && in.Code.IsZero() {
		return Email{}, fmt.Errorf("%w: %s", ErrNoCode, name)
	}
	loc := r.locales.Resolve(in.Locale)
	s, err := r.set(setKey{loc, name})
	if err != nil {
		return Email{}, err
	}
	d := newData(r.brand, loc, in)

	buf := r.buffer()
	defer r.bufs.Put(buf)
	subject, err := r.exec(buf, s.subject, d)
	if err != nil {
		return Email{}, fmt.Errorf("render %s: subject: %w", s.label, err)
	}
	d.Subject = oneLine(subject, maxSubject)
	html, err := r.exec(buf, s.html, d)
	if err != nil {
		return Email{}, fmt.Errorf("render %s: html: %w", s.label, err)
	}
	text, err := r.exec(buf, s.text, d)
	if err != nil {
		return Email{}, fmt.Errorf("render %s: text: %w", s.label, err)
	}
	return Email{Subject: d.Subject, HTML: html, Text: text, Locale: loc, Template: name, Fallback: fallback}, nil
}

type executor interface {
	Execute(w io.Writer, data any) error
}

func (r *Renderer) buffer() *bytes.Buffer {
	if b, ok := r.bufs.Get().(*bytes.Buffer); ok {
		return b
	}
	return new(bytes.Buffer)
}

// exec runs t and returns its output with surrounding whitespace trimmed.
func (r *Renderer) exec(buf *bytes.Buffer, t executor, d *Data) (string, error) {
	buf.Reset()
	if err := t.Execute(buf, d); err != nil {
		return "", err
	}
	return string(bytes.TrimSpace(buf.Bytes())), nil
}

// Data is what a template sees as its dot. Values from the user's profile
// are folded onto one line and shortened; html/template escapes everything
// the HTML body prints, text/template prints it verbatim.
type Data struct {
	Brand    Brand
	Locale   string // the locale the email is written in ("de")
	Subject  string // the rendered subject (empty while the subject itself renders)
	Code     string // the code or temporary password, exactly as given
	UserName string // the Cognito user name (AdminCreateUser: the name to sign in with)
	Name     string // the given_name attribute, else name; "" when neither is set
	ValidFor string // how long the code is valid, in words ("24 hours"); "" when unknown
	Login    Login  // the sign-in an AccountTakeOverNotification reports
	attrs    map[string]string
}

// Attr returns a user attribute, folded onto one line and shortened:
// {{.Attr "custom:company"}}.
func (d *Data) Attr(name string) string { return oneLine(d.attrs[name], maxAttr) }

// Login describes the sign-in an AccountTakeOverNotification reports, from
// the event's LOGIN_TIME, CITY, COUNTRY, IP_ADDRESS, DEVICE_NAME,
// EVENT_RESPONSE and ONE_CLICK_LINK_* attributes.
type Login struct {
	Time      string // as Cognito formats it
	Location  string // "City, Country", either part may be missing
	City      string
	Country   string
	IPAddress string
	Device    string
	// Response is what Cognito did: BLOCK, NO_ACTION, MFA_IF_CONFIGURED, MFA_REQUIRED.
	Response   string
	Blocked    bool   // the attempt was blocked
	Challenged bool   // a second factor was asked for
	Allowed    bool   // the sign-in went through without a challenge
	ValidURL   string // "this was me" (ONE_CLICK_LINK_VALID)
	InvalidURL string // "this wasn't me" (ONE_CLICK_LINK_INVALID)
}

func newData(b Brand, loc string, in Input) *Data {
	a := in.Attributes
	name := a["given_name"]
	if strings.TrimSpace(name) == "" {
		name = a["name"]
	}
	d := &Data{
		Brand:    b,
		Locale:   loc,
		Code:     in.Code.Reveal(),
		UserName: oneLine(in.UserName, maxAttr),
		Name:     oneLine(name, maxName),
		ValidFor: formatDuration(loc, in.ValidFor),
		attrs:    a,
	}
	if in.Trigger == cognito.AccountTakeOverNotification {
		d.Login = newLogin(a)
	}
	return d
}

func newLogin(a map[string]string) Login {
	l := Login{
		Time:       oneLine(a[cognito.AttrLoginTime], maxName),
		City:       oneLine(a[cognito.AttrCity], maxName),
		Country:    oneLine(a[cognito.AttrCountry], maxName),
		IPAddress:  oneLine(a[cognito.AttrIPAddress], maxName),
		Device:     oneLine(a[cognito.AttrDeviceName], maxName),
		Response:   oneLine(a[cognito.AttrEventResponse], maxName),
		ValidURL:   oneLine(a[cognito.AttrOneClickLinkValid], maxAttr),
		InvalidURL: oneLine(a[cognito.AttrOneClickLinkInvalid], maxAttr),
	}
	if l.Response == "" {
		l.Response = oneLine(a["ACCOUNT_TAKE_OVER_ACTION"], maxName) // the name older events use
	}
	switch {
	case l.City != "" && l.Country != "":
		l.Location = l.City + ", " + l.Country
	default:
		l.Location = l.City + l.Country
	}
	switch r := strings.ToUpper(l.Response); {
	case r == "BLOCK":
		l.Blocked = true
	case strings.HasPrefix(r, "MFA"):
		l.Challenged = true
	case r == "NO_ACTION":
		l.Allowed = true
	}
	return l
}
