package render

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/secret"
	"github.com/cogmail/cogmail/pkg/segment"
)

// DefaultSMSSegments is the segment limit of a brand that sets none: one
// message per code, the price of one SMS.
const DefaultSMSSegments = 1

// MaxSMSSegments bounds Options.SMSSegments: carriers reassemble up to a
// few parts reliably; a code needs one.
const MaxSMSSegments = 10

// The worst case the template check renders every SMS template with, so a
// template that fits at start-up fits every event:
//
//   - a code is Cognito's: 6 digits, which GSM-7 carries one septet each;
//   - a temporary password (AdminCreateUser) is WorstTemporaryPassword
//     characters, tried twice: all GSM-7 extension characters ({ counts two
//     septets), and with a backtick, the one character of Cognito's password
//     symbols that GSM-7 lacks, which sends the whole text as UCS-2;
//   - the validity is the longest wording formatDuration gives below a day
//     ("23 hours and 59 minutes");
//   - a name is the longest one a template sees (maxName characters) and a
//     user name Cognito's longest (128); the built-in templates show neither.
//
// The product name and origin domain are the brand's own. Cognito-generated
// temporary passwords follow the pool's password policy, whose minimum
// length may be set up to 99, and an administrator may set one of up to 256
// characters: such a password is longer than the check assumes, and its
// message may take more segments than the limit; Render reports the real
// count, which is what a provider bills.
const (
	WorstTemporaryPassword = 20
	worstCode              = "000000"
	worstUserName          = 128
)

var worstValidFor = 23*time.Hour + 59*time.Minute

// SMS is a rendered text message.
type SMS struct {
	Text string
	// Encoding, Units and Segments say how Text travels (package segment).
	Encoding segment.Encoding
	Units    int
	Segments int
	Locale   string // the locale used
	Template string // the template used: the trigger's short name ("SignUp") or Generic
	// Fallback reports that the trigger is unknown to this version and the
	// Generic template was used.
	Fallback bool
}

// smsFile is the SMS template of a trigger: <locale>/<Name>.sms.txt.
func smsFile(name string) string { return name + ".sms.txt" }

// smsTemplateNames are the SMS templates: one per known SMS trigger, then Generic.
func smsTemplateNames() []string {
	names := make([]string, 0, len(cognito.SMSTriggers)+1)
	for _, t := range cognito.SMSTriggers {
		names = append(names, t.Short())
	}
	return append(names, Generic)
}

// lazySMS parses one SMS template at most once.
type lazySMS struct {
	once sync.Once
	t    *texttemplate.Template
	err  error
}

func (r *Renderer) smsTemplate(k setKey) (*texttemplate.Template, error) {
	l := r.sms[k]
	if l == nil {
		return nil, fmt.Errorf("render: no %s SMS template for locale %s", k.name, k.locale)
	}
	l.once.Do(func() {
		f := r.files[path.Join(k.locale, smsFile(k.name))]
		l.t, l.err = texttemplate.New(f.origin).Option("missingkey=zero").Parse(f.text)
	})
	return l.t, l.err
}

// RenderSMS renders in as a text message. An unknown SMS trigger renders the
// Generic SMS template and sets SMS.Fallback. When the brand has an origin
// domain, a code's message ends with the line "@domain #code" (WebOTP and
// iOS/Android one-tap autofill); a temporary password's does not, as
// autofill would offer it as a one-time code.
func (r *Renderer) RenderSMS(in Input) (SMS, error) {
	name, fallback := in.Trigger.Short(), false
	if !in.Trigger.Known() || in.Trigger.Channel() != cognito.ChannelSMS {
		name, fallback = Generic, true
	}
	if in.Trigger.RequiresCode() && in.Code.IsZero() {
		return SMS{}, fmt.Errorf("%w: %s", ErrNoCode, name)
	}
	loc := r.locales.Resolve(in.Locale)
	t, err := r.smsTemplate(setKey{loc, name})
	if err != nil {
		return SMS{}, err
	}
	text, err := r.smsText(t, r.brand, loc, name, in)
	if err != nil {
		return SMS{}, err
	}
	info := segment.Count(text)
	return SMS{Text: text, Encoding: info.Encoding, Units: info.Units, Segments: info.Segments,
		Locale: loc, Template: name, Fallback: fallback}, nil
}

func (r *Renderer) smsText(t *texttemplate.Template, b Brand, loc, name string, in Input) (string, error) {
	d := newData(b, loc, in)
	d.ValidFor = gsmFold(d.ValidFor)
	buf := r.buffer()
	defer r.bufs.Put(buf)
	text, err := r.exec(buf, t, d)
	if err != nil {
		return "", fmt.Errorf("render %s: %w", t.Name(), err)
	}
	if b.OriginDomain != "" && name != cognito.AdminCreateUser.Short() && d.Code != "" {
		text += "\n\n@" + b.OriginDomain + " #" + d.Code
	}
	return text, nil
}

// gsmFold replaces the letters of the duration words that GSM-7 lacks by the
// plain letter ("días" becomes "dias"), so that "valid for" does not alone
// turn a message into UCS-2, which holds 70 characters instead of 160.
func gsmFold(s string) string {
	if !strings.ContainsAny(s, "áíóúâêôãõç") {
		return s
	}
	return strings.NewReplacer("á", "a", "í", "i", "ó", "o", "ú", "u", "â", "a", "ê", "e", "ô", "o",
		"ã", "a", "õ", "o", "ç", "c").Replace(s)
}

// SMSOverflow is an SMS template whose worst case (see
// WorstTemporaryPassword) takes more segments than the limit.
type SMSOverflow struct {
	File     string // the template: "embedded:en/SignUp.sms.txt" or the override's path
	Segments int    // its worst case
	Encoding segment.Encoding
	Units    int // septets (GSM-7) or UTF-16 units (UCS-2)
	Limit    int // the segment limit it is over
}

func (o SMSOverflow) Error() string {
	unit := "septets"
	if o.Encoding == segment.UCS2 {
		unit = "UTF-16 units"
	}
	return fmt.Sprintf("%s: its worst case (the longest code, name and validity) is %d segments (%s, %d %s), over the brand's limit of %d",
		o.File, o.Segments, o.Encoding, o.Units, unit, o.Limit)
}

// smsEnforced reports whether New refuses an SMS template over the limit:
// only where the operator has taken charge of the SMS text, by setting a
// segment limit or an origin domain, or by overriding an SMS template.
// Otherwise (the built-in texts, the default limit) an overflow is the
// CLI's warning (SMSOverflows), never a refused cold start: a pool that
// sends only email must not stop over the length of its product name.
func smsEnforced(o Options, files map[string]file) bool {
	if o.SMSSegments != 0 || o.Brand.OriginDomain != "" {
		return true
	}
	for k, f := range files {
		if strings.HasSuffix(k, ".sms.txt") && !strings.HasPrefix(f.origin, "embedded:") {
			return true
		}
	}
	return false
}

// SMSEnforced reports whether New holds the SMS templates' worst case to the
// segment limit (see Options.SMSSegments); when it does not, SMSOverflows
// says which templates are over it.
func (r *Renderer) SMSEnforced() bool { return r.smsEnforced }

// SMSLimit is the segment limit the SMS templates' worst case is held to.
func (r *Renderer) SMSLimit() int { return r.smsLimit }

// SMSOverflows renders every SMS template with the worst case and returns
// those over the segment limit, in locale and template order, or the first
// template that cannot render. It is what New refuses when SMSEnforced; the
// CLI calls it to warn about the others.
func (r *Renderer) SMSOverflows() ([]SMSOverflow, error) {
	return r.checkSMS(r.smsLimit, r.eager)
}

// checkSMS renders every SMS template with the worst case (see
// WorstTemporaryPassword) and reports each whose worst case is over the
// segment limit (the overflows), and each that prints <no value>, is empty
// or does not show the code (the error).
//
// Without eager, the templates are the embedded ones, which the tests prove
// against everything but the brand's product name and origin domain; only
// the worst case is rendered then (the trial without optional values finds
// nothing new in them), which halves the cost of this check.
func (r *Renderer) checkSMS(limit int, eager bool) ([]SMSOverflow, error) {
	var over []SMSOverflow
	var errs []error
	for _, loc := range r.locales.Supported() {
		for _, name := range smsTemplateNames() {
			o, err := r.checkSMSTemplate(setKey{loc, name}, limit, eager)
			switch {
			case err != nil:
				errs = append(errs, err)
			case o != nil:
				over = append(over, *o)
			}
		}
	}
	return over, errors.Join(errs...)
}

func (r *Renderer) checkSMSTemplate(k setKey, limit int, eager bool) (*SMSOverflow, error) {
	t, err := r.smsTemplate(k)
	if err != nil {
		return nil, err
	}
	trigger := cognito.Trigger(cognito.SMSTriggerPrefix + k.name)
	codes := []string{worstCode}
	if trigger == cognito.SMSAdminCreateUser {
		codes = []string{strings.Repeat("{", WorstTemporaryPassword), "`" + strings.Repeat("a", WorstTemporaryPassword-1)}
	}
	file := t.Name()
	var worst SMS
	for _, code := range codes {
		for _, full := range []bool{true, false} {
			if !full && !eager {
				break
			}
			in := Input{Trigger: trigger, Code: secret.New(code)}
			if full {
				in.UserName = strings.Repeat("u", worstUserName)
				in.Attributes = map[string]string{"name": strings.Repeat("N", maxName)}
				in.ValidFor = worstValidFor
			}
			text, err := r.smsText(t, r.brand, k.locale, k.name, in)
			if err != nil {
				return nil, err
			}
			switch {
			case strings.Contains(text, "<no value>"):
				return nil, fmt.Errorf("%s: prints <no value>", file)
			case strings.TrimSpace(text) == "":
				return nil, fmt.Errorf("%s: the message is empty", file)
			case !strings.Contains(text, code):
				return nil, fmt.Errorf("%s: the message does not show the code ({{.Code}})", file)
			}
			if info := segment.Count(text); info.Segments > worst.Segments {
				worst = SMS{Text: text, Encoding: info.Encoding, Units: info.Units, Segments: info.Segments}
			}
		}
	}
	if worst.Segments > limit {
		return &SMSOverflow{File: file, Segments: worst.Segments, Encoding: worst.Encoding, Units: worst.Units, Limit: limit}, nil
	}
	return nil, nil
}
