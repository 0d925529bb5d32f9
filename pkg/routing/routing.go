// Package routing is the live operations document dispatch runs by: which
// providers it uses and in what order or proportion, the recipient limit in
// force and the pool's brands. It holds the document's Config, its
// validation, and a Source that re-reads it from an SSM parameter so that
// ops can switch providers without a deploy.
package routing

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/cogmail/cogmail/pkg/brand"
	"github.com/cogmail/cogmail/pkg/provider/registry"
	"github.com/cogmail/cogmail/pkg/sendlimit"
)

// Known lists every email provider name (the registry's), in no
// particular order of preference.
func Known() []string { return registry.Names(registry.Email) }

// Strategy is how a message's providers are ordered.
type Strategy string

const (
	// Failover tries the providers in the order listed.
	Failover Strategy = "failover"
	// Weighted picks the first provider at random in proportion to the
	// weights, then fails over to the rest in the same way.
	Weighted Strategy = "weighted"
)

// Config is the routing: the providers, the strategy and, for Weighted,
// the weights. Its JSON form is what the SSM parameter holds:
//
//	{"providers":["ses","sendgrid"],"strategy":"failover"}
//	{"providers":["sendgrid","mailgun"],"strategy":"weighted","weights":{"sendgrid":3,"mailgun":1}}
//
// It may also set the recipient limit live, overriding COGMAIL_RECIPIENT_LIMIT
// ("off" turns it off):
//
//	{"providers":["ses"],"recipientLimit":"3/1h"}
type Config struct {
	Providers []string       `json:"providers"`
	Strategy  Strategy       `json:"strategy,omitempty"` // default Failover
	Weights   map[string]int `json:"weights,omitempty"`  // Weighted only; a missing name weighs 1, 0 is a standby
	// RecipientLimit, when set, is the per-address limit in force.
	RecipientLimit *sendlimit.Limit `json:"recipientLimit,omitempty"`
	// Brands, when set, is the pool's brand document (pkg/brand): dispatch
	// sends a brand's messages in the brand's provider order, when it has one.
	Brands *brand.Set `json:"brands,omitempty"`
}

// ForBrand returns the routing for a message of the named brand: the
// brand's provider order (failover) when the routing's brand document gives
// it one, else c itself. An unknown or empty name gets c.
func (c Config) ForBrand(name string) Config {
	if name == "" || c.Brands == nil {
		return c
	}
	b, ok := c.Brands.Named(name)
	if !ok || len(b.Providers) == 0 {
		return c
	}
	c.Providers, c.Strategy, c.Weights = b.Providers, Failover, nil
	return c
}

// Normalize fills the defaults: the Failover strategy, and for Weighted a
// weight of 1 for every provider without one.
func (c Config) Normalize() Config {
	if c.Strategy == "" {
		c.Strategy = Failover
	}
	if c.Strategy == Weighted {
		w := make(map[string]int, len(c.Providers))
		for _, p := range c.Providers {
			if v, ok := c.Weights[p]; ok {
				w[p] = v
			} else {
				w[p] = 1
			}
		}
		c.Weights = w
	}
	return c
}

// Validate reports every problem with c. available lists the providers this
// container has built (their settings and keys are present); nil means any
// known provider.
func (c Config) Validate(available []string) error {
	var errs []error
	known := Known()
	if available == nil {
		available = known
	}
	if len(c.Providers) == 0 {
		errs = append(errs, errors.New("names no provider"))
	}
	seen := map[string]bool{}
	for _, p := range c.Providers {
		switch {
		case !slices.Contains(known, p):
			errs = append(errs, fmt.Errorf("%q is not a provider (want %s)", p, strings.Join(known, ", ")))
		case !slices.Contains(available, p):
			errs = append(errs, fmt.Errorf("%q is not configured in this function (its settings or key are missing)", p))
		}
		if seen[p] {
			errs = append(errs, fmt.Errorf("%q is listed twice", p))
		}
		seen[p] = true
	}
	if c.Brands != nil {
		for _, b := range c.Brands.Brands() {
			for _, p := range b.Providers {
				if !slices.Contains(available, p) {
					errs = append(errs, fmt.Errorf("brand %q: %q is not configured in this function (its settings or key are missing)", b.Name, p))
				}
			}
		}
	}
	return errors.Join(append(errs, c.strategyProblems(seen)...)...)
}

// strategyProblems checks the strategy and its weights; seen holds the
// listed providers. The weights are read in name order, so the problems
// read the same every run.
func (c Config) strategyProblems(seen map[string]bool) []error {
	var errs []error
	switch c.Strategy {
	case "", Failover:
		if len(c.Weights) > 0 {
			errs = append(errs, errors.New("weights are only used with the weighted strategy"))
		}
	case Weighted:
		for _, name := range slices.Sorted(maps.Keys(c.Weights)) {
			if !seen[name] {
				errs = append(errs, fmt.Errorf("weight for %q, which is not listed", name))
			}
			if c.Weights[name] < 0 {
				errs = append(errs, fmt.Errorf("weight for %q is negative", name))
			}
		}
		total := 0
		for _, p := range c.Providers {
			if w, ok := c.Weights[p]; ok {
				total += max(w, 0)
			} else {
				total++
			}
		}
		if len(c.Providers) > 0 && total == 0 {
			errs = append(errs, errors.New("every weight is 0"))
		}
	default:
		errs = append(errs, fmt.Errorf("strategy %q is not failover or weighted", c.Strategy))
	}
	return errs
}

// Parse decodes and validates the JSON form. available is as for Validate.
func Parse(b []byte, available []string) (Config, error) {
	var c Config
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("routing: not a provider configuration (want {\"providers\":[...],\"strategy\":\"failover\"}): %w", err)
	}
	if err := c.Validate(available); err != nil {
		return Config{}, fmt.Errorf("routing: %w", err)
	}
	return c.Normalize(), nil
}

// ParseList reads the environment form, "ses,sendgrid" or, with weights,
// "sendgrid=3,mailgun=1". A list with any weight gives the Weighted strategy
// unless strategy says otherwise; strategy "" means the default.
func ParseList(list string, strategy Strategy) (Config, error) {
	c := Config{Strategy: strategy}
	var errs []error
	weighted := false
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, weight, hasWeight := strings.Cut(item, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		c.Providers = append(c.Providers, name)
		if !hasWeight {
			continue
		}
		weighted = true
		w, err := strconv.Atoi(strings.TrimSpace(weight))
		if err != nil || w < 0 {
			errs = append(errs, fmt.Errorf("weight of %q is not a whole number ≥ 0", name))
			continue
		}
		if c.Weights == nil {
			c.Weights = map[string]int{}
		}
		c.Weights[name] = w
	}
	if c.Strategy == "" && weighted {
		c.Strategy = Weighted
	}
	if len(errs) > 0 {
		return c, errors.Join(errs...)
	}
	return c, nil
}
