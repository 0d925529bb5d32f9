package render_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/render"
	"github.com/cogmail/cogmail/pkg/secret"
	"github.com/cogmail/cogmail/pkg/segment"
)

// smsNames pairs every SMS template with a trigger that selects it.
var smsNames = []struct {
	name    string
	trigger cognito.Trigger
}{
	{"SignUp", cognito.SMSSignUp},
	{"ResendCode", cognito.SMSResendCode},
	{"ForgotPassword", cognito.SMSForgotPassword},
	{"UpdateUserAttribute", cognito.SMSUpdateUserAttribute},
	{"VerifyUserAttribute", cognito.SMSVerifyUserAttribute},
	{"AdminCreateUser", cognito.SMSAdminCreateUser},
	{"Authentication", cognito.SMSAuthentication},
	{render.Generic, cognito.Trigger("CustomSMSSender_SomethingNew")},
}

func smsInput(trigger cognito.Trigger, locale string) render.Input {
	in := fullInput(trigger.On(cognito.ChannelEmail), locale)
	in.Trigger = trigger
	if trigger == cognito.SMSAdminCreateUser {
		in.Code = secret.New(testPassword)
	}
	return in
}

// TestSMSGolden renders every SMS template in every locale, for a brand with
// an origin domain (the autofill line) and for one without.
func TestSMSGolden(t *testing.T) {
	withOrigin := brand
	withOrigin.OriginDomain = "app.acme.example"
	for _, b := range []struct {
		dir   string
		brand render.Brand
	}{{"sms", brand}, {"sms-origin", withOrigin}} {
		r := newRenderer(t, render.Options{Brand: b.brand})
		for _, loc := range locales {
			for _, n := range smsNames {
				t.Run(b.dir+"/"+loc+"/"+n.name, func(t *testing.T) {
					m, err := r.RenderSMS(smsInput(n.trigger, loc))
					if err != nil {
						t.Fatal(err)
					}
					if m.Locale != loc || m.Template != n.name || m.Fallback != (n.name == render.Generic) {
						t.Fatalf("used %s/%s (fallback %v), want %s/%s", m.Locale, m.Template, m.Fallback, loc, n.name)
					}
					if info := segment.Count(m.Text); info.Encoding != m.Encoding || info.Segments != m.Segments || info.Units != m.Units {
						t.Errorf("reported %s/%d/%d, the text is %+v", m.Encoding, m.Segments, m.Units, info)
					}
					golden(t, filepath.Join("testdata", "golden", b.dir, loc, n.name+".txt"),
						fmt.Sprintf("Encoding: %s, %d units, %d segment(s)\n\n%s\n", m.Encoding, m.Units, m.Segments, m.Text))
				})
			}
		}
	}
}

// TestSMSBuiltinsFitOneGSM7Segment: the built-in texts are written in the
// GSM 03.38 alphabet, so a code costs one segment of 160 characters, not one
// of 70; the worst case of the start-up check holds them to one segment.
func TestSMSBuiltinsFitOneGSM7Segment(t *testing.T) {
	b := brand
	b.OriginDomain = "app.acme.example"
	r := newRenderer(t, render.Options{Brand: b})
	for _, loc := range locales {
		for _, n := range smsNames {
			if n.trigger == cognito.SMSAdminCreateUser {
				continue // the password decides its encoding
			}
			m, err := r.RenderSMS(render.Input{Trigger: n.trigger, Locale: loc, Code: secret.New("123456"), ValidFor: 23*60*60e9 + 59*60e9})
			if err != nil {
				t.Fatal(err)
			}
			if m.Encoding != segment.GSM7 || m.Segments != 1 {
				t.Errorf("%s/%s: %s in %d segments: %q", loc, n.name, m.Encoding, m.Segments, m.Text)
			}
		}
	}
}

func TestSMSOriginLine(t *testing.T) {
	b := brand
	b.OriginDomain = "app.acme.example"
	r := newRenderer(t, render.Options{Brand: b})
	m, err := r.RenderSMS(render.Input{Trigger: cognito.SMSAuthentication, Locale: "en", Code: secret.New("123456")})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(m.Text, "\n")
	if last := lines[len(lines)-1]; last != "@app.acme.example #123456" {
		t.Errorf("last line %q, want the WebOTP form", last)
	}
	m, err = r.RenderSMS(render.Input{Trigger: cognito.SMSAdminCreateUser, Locale: "en", Code: secret.New("Tmp-pass1")})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.Text, "@app.acme.example") {
		t.Errorf("a temporary password got the one-time-code line: %q", m.Text)
	}
	// Without an origin domain, no such line.
	m, err = newRenderer(t, render.Options{Brand: brand}).RenderSMS(render.Input{Trigger: cognito.SMSSignUp, Code: secret.New("123456")})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.Text, "#123456") {
		t.Errorf("origin line without an origin domain: %q", m.Text)
	}
}

func TestSMSNoCode(t *testing.T) {
	r := newRenderer(t, render.Options{})
	if _, err := r.RenderSMS(render.Input{Trigger: cognito.SMSSignUp}); !errors.Is(err, render.ErrNoCode) {
		t.Errorf("err = %v, want ErrNoCode", err)
	}
}

// TestSMSWorstCaseCheck: where the operator has taken charge of the SMS text
// (an SMS override, an explicit limit, an origin domain), New refuses an SMS
// template whose worst case is over the segment limit, naming the file and
// the count, and accepts it under a higher limit; with the built-in texts
// and the default limit, New starts and SMSOverflows names what is over.
func TestSMSWorstCaseCheck(t *testing.T) {
	long := "{{.Brand.ProductName}}: " + strings.Repeat("x", 150) + " {{.Code}}\n" // 6 + 150 + 1 + a 6-digit code
	ucs := "{{.Brand.ProductName}}: tu código es {{.Code}}" + strings.Repeat("ó", 50) + "\n"
	cases := []struct {
		name    string
		files   map[string]string
		brand   render.Brand
		limit   int
		wantErr []string
		warn    []string // SMSOverflows, when New starts
	}{
		{"fits", map[string]string{"en/SignUp.sms.txt": "{{.Brand.ProductName}}: {{.Code}}\n"}, brand, 0, nil, nil},
		{"over one GSM-7 segment", map[string]string{"en/SignUp.sms.txt": long}, brand, 0,
			[]string{"en/SignUp.sms.txt: its worst case", "2 segments (GSM-7, 163 septets), over the brand's limit of 1"}, nil},
		{"two allowed", map[string]string{"en/SignUp.sms.txt": long}, brand, 2, nil, nil},
		{"ucs-2 over 70", map[string]string{"es/SignUp.sms.txt": ucs}, brand, 0, []string{"es/SignUp.sms.txt", "(UCS-2, 75 UTF-16 units)"}, nil},
		// A temporary password is tried with a backtick: the text turns UCS-2.
		{"temporary password worst case", map[string]string{"en/AdminCreateUser.sms.txt": strings.Repeat("a", 60) + " {{.Code}}\n"}, brand, 0,
			[]string{"en/AdminCreateUser.sms.txt", "UCS-2, 81 UTF-16 units"}, nil},
		{"a name is counted at its longest", map[string]string{"en/Authentication.sms.txt": "Hi {{.Name}} {{.Name}}, {{.Code}}\n"}, brand, 0,
			[]string{"en/Authentication.sms.txt", "over the brand's limit of 1"}, nil},
		{"missing code", map[string]string{"en/SignUp.sms.txt": "Hello\n"}, brand, 0, []string{"en/SignUp.sms.txt: the message does not show the code"}, nil},
		// An email-only pool's name: the built-in texts at the default
		// limit start, and the overflow is left for the CLI's warning.
		{"long product name over the built-ins, default limit", nil, render.Brand{ProductName: strings.Repeat("P", 100)}, 0, nil,
			[]string{"embedded:en/ForgotPassword.sms.txt: its worst case", "over the brand's limit of 1"}},
		{"long product name, explicit limit 1", nil, render.Brand{ProductName: strings.Repeat("P", 60)}, 1,
			[]string{"embedded:de/ForgotPassword.sms.txt: its worst case", "over the brand's limit of 1"}, nil},
		{"long product name, limit 2", nil, render.Brand{ProductName: strings.Repeat("P", 60)}, 2, nil, nil},
		{"origin domain counts", nil, render.Brand{ProductName: strings.Repeat("P", 60), OriginDomain: strings.Repeat("d", 60) + ".example.com"}, 0,
			[]string{"embedded:en/SignUp.sms.txt: its worst case"}, nil},
		{"origin domain alone enforces the default limit", nil, render.Brand{ProductName: strings.Repeat("P", 60), OriginDomain: "app.example.com"}, 0,
			[]string{"embedded:en/ForgotPassword.sms.txt: its worst case", "over the brand's limit of 1"}, nil},
		// An override of one SMS template holds every SMS template to the limit.
		{"an SMS override enforces the default limit", map[string]string{"en/SignUp.sms.txt": "{{.Code}}\n"}, render.Brand{ProductName: strings.Repeat("P", 60)}, 0,
			[]string{"embedded:de/ForgotPassword.sms.txt: its worst case"}, nil},
		{"an email override does not", map[string]string{"en/SignUp.subject.txt": "{{.Brand.ProductName}}\n"}, render.Brand{ProductName: strings.Repeat("P", 60)}, 0, nil,
			[]string{"embedded:de/ForgotPassword.sms.txt: its worst case"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := render.Options{Brand: c.brand, SMSSegments: c.limit}
			if c.files != nil {
				o.OverrideDir = writeOverrides(t, c.files)
			}
			r, err := render.New(o)
			if c.wantErr == nil {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if r.SMSEnforced() != (c.warn == nil && (c.files != nil || c.limit != 0 || c.brand.OriginDomain != "")) {
					t.Errorf("SMSEnforced = %v", r.SMSEnforced())
				}
				over, err := r.SMSOverflows()
				if err != nil {
					t.Fatalf("SMSOverflows: %v", err)
				}
				if c.warn == nil && len(over) > 0 {
					t.Errorf("SMSOverflows = %v, want none", over)
				}
				if c.warn != nil && len(over) == 0 {
					t.Fatalf("SMSOverflows found nothing, want %q", c.warn)
				}
				for _, w := range c.warn {
					if !slices.ContainsFunc(over, func(o render.SMSOverflow) bool { return strings.Contains(o.Error(), w) }) {
						t.Errorf("SMSOverflows lacks %q: %v", w, over)
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("New accepted it, want %q", c.wantErr)
			}
			for _, w := range c.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestSMSOptionErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		o    render.Options
		want string
	}{
		{"origin with scheme", render.Options{Brand: render.Brand{OriginDomain: "https://app.example.com"}}, "Brand.OriginDomain must be a host name"},
		{"origin one label", render.Options{Brand: render.Brand{OriginDomain: "localhost"}}, "Brand.OriginDomain"},
		{"limit too high", render.Options{SMSSegments: render.MaxSMSSegments + 1}, "SMSSegments must be between 1 and 10"},
		{"limit negative", render.Options{SMSSegments: -1}, "SMSSegments"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := render.New(c.o); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want %q", err, c.want)
			}
		})
	}
}

func BenchmarkRenderSMS(b *testing.B) {
	r, err := render.New(render.Options{Brand: brand})
	if err != nil {
		b.Fatal(err)
	}
	in := render.Input{Trigger: cognito.SMSSignUp, Locale: "en", Code: secret.New("123456"), ValidFor: 24 * 60 * 60e9}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.RenderSMS(in); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSMSValidityStaysGSM7: the validity wording's letters that GSM-7 lacks
// are folded (Spanish "días"), so a long expiry does not make the text UCS-2.
func TestSMSValidityStaysGSM7(t *testing.T) {
	r := newRenderer(t, render.Options{Brand: brand})
	m, err := r.RenderSMS(render.Input{Trigger: cognito.SMSSignUp, Locale: "es", Code: secret.New("123456"), ValidFor: 72 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "3 dias") || m.Encoding != segment.GSM7 {
		t.Errorf("%s: %q", m.Encoding, m.Text)
	}
	if e, err := r.Render(render.Input{Trigger: cognito.SignUp, Locale: "es", Code: secret.New("123456"), ValidFor: 72 * time.Hour}); err != nil || !strings.Contains(e.Text, "3 días") {
		t.Errorf("the email keeps its accents: %v %q", err, e.Text)
	}
}
