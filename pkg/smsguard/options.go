package smsguard

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/cogmail/cogmail/pkg/sendlimit"
)

// The environment variables the guard's options come from (dispatch reads
// them once SMS is wired; docs/configuration.md#sms).
const (
	EnvCountries      = "COGMAIL_SMS_COUNTRIES"
	EnvNumberLimit    = "COGMAIL_SMS_NUMBER_LIMIT"
	EnvCountryCap     = "COGMAIL_SMS_COUNTRY_CAP"
	EnvDailySegments  = "COGMAIL_SMS_DAILY_SEGMENTS"
	EnvPrefixVelocity = "COGMAIL_SMS_PREFIX_VELOCITY"
)

// The defaults, with their reasons in docs/sms.md#toll-fraud-guard.
var (
	// DefaultNumberLimit is the email recipient limit's default: a person
	// signing in, resending twice and resetting a password fits in it.
	DefaultNumberLimit = sendlimit.Default
	// DefaultPrefixVelocity: at most 10 distinct numbers of one block of
	// 10,000 get an SMS in an hour.
	DefaultPrefixVelocity = sendlimit.Limit{N: 10, Window: time.Hour}
)

const (
	// DefaultCountryCap is the messages per country per hour.
	DefaultCountryCap = 100
	// DefaultDailySegments is the segments per UTC day, all countries.
	DefaultDailySegments = 1000
)

// Options are the guard's rules. The zero value is the defaults with no
// country allowed: SMS is off until the operator names the countries.
type Options struct {
	// Countries is the allow-list, ISO 3166 alpha-2 (GB, US); empty: no SMS
	// is sent. COGMAIL_SMS_COUNTRIES=GB,US.
	Countries []string
	// NumberLimit caps the messages per number per window; zero: the
	// default 5/1h; a negative N: off.
	NumberLimit sendlimit.Limit
	// CountryCap is the messages per country per hour; 0: the default,
	// negative: no cap. CountryCaps overrides it per country (GB: 500).
	CountryCap  int
	CountryCaps map[string]int
	// DailySegments is the segment budget per UTC day; 0: the default,
	// negative: no budget.
	DailySegments int
	// PrefixVelocity caps the distinct numbers of one block of 10,000
	// (the number without its last four digits) per window; zero: the
	// default 10/1h; a negative N: off.
	PrefixVelocity sendlimit.Limit
}

// WithDefaults fills the zero fields with the defaults; "off" stays off.
func (o Options) WithDefaults() Options {
	if o.NumberLimit == (sendlimit.Limit{}) {
		o.NumberLimit = DefaultNumberLimit
	}
	if o.PrefixVelocity == (sendlimit.Limit{}) {
		o.PrefixVelocity = DefaultPrefixVelocity
	}
	o.CountryCap = cmp.Or(o.CountryCap, DefaultCountryCap)
	o.DailySegments = cmp.Or(o.DailySegments, DefaultDailySegments)
	return o
}

// problems are the options' problems by variable, reported in the order
// of the variables above (and, within one, in the order found).
type problems map[string][]error

func (p problems) add(name string, err error) { p[name] = append(p[name], err) }

func (p problems) join() error {
	var errs []error
	for _, name := range []string{EnvCountries, EnvNumberLimit, EnvCountryCap, EnvDailySegments, EnvPrefixVelocity} {
		errs = append(errs, p[name]...)
	}
	return errors.Join(errs...)
}

// Validate returns every problem at once, each naming its variable, in the
// order of the variables above.
func (o Options) Validate() error {
	p := problems{}
	o.check(p)
	return p.join()
}

func (o Options) check(p problems) {
	for _, c := range o.Countries {
		if !region(c) {
			p.add(EnvCountries, fmt.Errorf("%s: %q is not an ISO 3166 alpha-2 country code libphonenumber knows (like GB or US)", EnvCountries, c))
		}
	}
	limit := func(name string, l sendlimit.Limit) {
		if l.N > 0 && l.Window < time.Second {
			p.add(name, fmt.Errorf("%s: %s: the window is at least 1s", name, l))
		}
	}
	limit(EnvNumberLimit, o.NumberLimit)
	keys := make([]string, 0, len(o.CountryCaps))
	for c := range o.CountryCaps {
		keys = append(keys, c)
	}
	slices.Sort(keys)
	for _, c := range keys {
		if !region(c) {
			p.add(EnvCountryCap, fmt.Errorf("%s: %q is not an ISO 3166 alpha-2 country code", EnvCountryCap, c))
		} else if !slices.Contains(o.Countries, c) {
			p.add(EnvCountryCap, fmt.Errorf("%s: %s has a cap but is not on %s", EnvCountryCap, c, EnvCountries))
		}
		if o.CountryCaps[c] < 1 {
			p.add(EnvCountryCap, fmt.Errorf("%s: %s=%d: a country's cap is at least 1 (leave a country off %s to send it nothing)", EnvCountryCap, c, o.CountryCaps[c], EnvCountries))
		}
	}
	limit(EnvPrefixVelocity, o.PrefixVelocity)
}

// ParseEnv reads the options from the environment; a variable unset or
// empty takes its default. It returns every problem at once.
func ParseEnv(getenv func(string) string) (Options, error) {
	var o Options
	p := problems{}
	if v := strings.TrimSpace(getenv(EnvCountries)); v != "" {
		for c := range strings.SplitSeq(v, ",") {
			if c = strings.ToUpper(strings.TrimSpace(c)); c != "" && !slices.Contains(o.Countries, c) {
				o.Countries = append(o.Countries, c)
			}
		}
	}
	limit := func(name string, set *sendlimit.Limit) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return
		}
		l, err := sendlimit.Parse(v)
		if err != nil {
			p.add(name, fmt.Errorf("%s: %q is not N/DURATION (like 5/1h) or off", name, v))
			return
		}
		if l.Off() {
			l = sendlimit.Limit{N: -1} // off, told apart from the zero Limit (the default)
		}
		*set = l
	}
	limit(EnvNumberLimit, &o.NumberLimit)
	if v := strings.TrimSpace(getenv(EnvCountryCap)); v != "" {
		o.parseCaps(v, p)
	}
	if v := strings.TrimSpace(getenv(EnvDailySegments)); v != "" {
		n, err := count(v)
		if err != nil {
			p.add(EnvDailySegments, fmt.Errorf("%s: %w", EnvDailySegments, err))
		}
		o.DailySegments = n
	}
	limit(EnvPrefixVelocity, &o.PrefixVelocity)
	o.check(p)
	return o, p.join()
}

// parseCaps reads "100", "100,US=2000,GB=500" or "off" (no cap).
func (o *Options) parseCaps(v string, p problems) {
	for part := range strings.SplitSeq(v, ",") {
		part = strings.TrimSpace(part)
		c, n, isCountry := strings.Cut(part, "=")
		if !isCountry {
			cap, err := count(part)
			if err != nil {
				p.add(EnvCountryCap, fmt.Errorf("%s: %w", EnvCountryCap, err))
			}
			o.CountryCap = cap
			continue
		}
		c = strings.ToUpper(strings.TrimSpace(c))
		cap, err := strconv.Atoi(strings.TrimSpace(n))
		if err != nil {
			p.add(EnvCountryCap, fmt.Errorf("%s: %q: a country's cap is CC=N (like GB=500)", EnvCountryCap, part))
			continue
		}
		if o.CountryCaps == nil {
			o.CountryCaps = map[string]int{}
		}
		o.CountryCaps[c] = cap
	}
}

// count reads a positive integer, or "off" (returned as -1).
func count(v string) (int, error) {
	if v == "off" {
		return -1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%q is not a whole number of at least 1 or off", v)
	}
	return n, nil
}

func (o Options) allowed(region string) bool {
	return region != "" && slices.Contains(o.Countries, region)
}

// countryCap is region's hourly cap, 0 for none.
func (o Options) countryCap(region string) int {
	if n, ok := o.CountryCaps[region]; ok {
		return n
	}
	return max(o.CountryCap, 0)
}

func (o Options) countryCapsOn() bool { return o.CountryCap > 0 || len(o.CountryCaps) > 0 }

func region(c string) bool { return phonenumbers.GetSupportedRegions()[c] }
