package routing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// MaxRefresh is the longest a Source keeps a configuration before it reads
// the parameter again: a switch takes effect within a minute.
const MaxRefresh = 60 * time.Second

// Parameter is one version of a parameter's value.
type Parameter struct {
	Value   string
	Version int64
}

// ParameterReader reads a parameter's current value, decrypted. The SSM
// adapter is ssmparam.Reader; keeping SSM's types out of this package keeps
// the SSM client out of every binary that only parses a routing.
type ParameterReader interface {
	ReadParameter(ctx context.Context, name string) (Parameter, error)
}

// Static is a configuration that never changes (no parameter configured).
type Static Config

// Current returns the configuration.
func (s Static) Current(context.Context) Config { return Config(s) }

// SourceOptions configures a Source.
type SourceOptions struct {
	Client    ParameterReader // required
	Parameter string          // SSM parameter name or ARN, required
	// Fallback is used until the parameter has been read once, and when it
	// cannot be read or holds an invalid configuration: the environment's
	// COGMAIL_PROVIDERS.
	Fallback Config
	// Available lists the providers built in this container; a parameter
	// naming another one is rejected. Nil means any known provider.
	Available []string
	Refresh   time.Duration    // default and maximum MaxRefresh
	Timeout   time.Duration    // per read, default 2s
	Now       func() time.Time // default time.Now
	Logger    *slog.Logger     // default discards
}

// Source serves the newest valid configuration from an SSM parameter,
// reading it at most once per Refresh. A parameter that cannot be read or
// does not validate never stops delivery: the last good configuration (at
// first the fallback) stays in use and the problem is logged. It is safe for
// concurrent use.
type Source struct {
	o SourceOptions

	mu      sync.Mutex
	current Config
	version int64     // the parameter version in use; 0 for the fallback
	checked time.Time // when the last read started
	reads   int
}

// NewSource returns a Source serving o.Fallback until its first read.
func NewSource(o SourceOptions) (*Source, error) {
	if o.Client == nil || o.Parameter == "" {
		return nil, errors.New("routing: an SSM client and a parameter name are required")
	}
	if err := o.Fallback.Validate(o.Available); err != nil {
		return nil, fmt.Errorf("routing: fallback: %w", err)
	}
	if o.Refresh <= 0 || o.Refresh > MaxRefresh {
		o.Refresh = MaxRefresh
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Source{o: o, current: o.Fallback.Normalize()}, nil
}

// Load reads the parameter now and returns why it could not be used, if it
// could not. Call it at cold start to log a broken parameter early.
func (s *Source) Load(ctx context.Context) error {
	s.mu.Lock()
	s.checked = s.o.Now()
	s.mu.Unlock()
	return s.read(ctx)
}

// Current returns the configuration to route with. When the cached one is
// older than Refresh, the calling goroutine reads the parameter (one caller
// at a time; the others keep using the cached configuration meanwhile).
func (s *Source) Current(ctx context.Context) Config {
	s.mu.Lock()
	stale := s.checked.IsZero() || s.o.Now().Sub(s.checked) >= s.o.Refresh
	if stale {
		s.checked = s.o.Now()
	}
	s.mu.Unlock()
	if stale {
		_ = s.read(ctx)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current
}

// Reads returns how many times the parameter was read, for tests and status.
func (s *Source) Reads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

func (s *Source) read(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	p, err := s.o.Client.ReadParameter(ctx, s.o.Parameter)
	s.mu.Lock()
	s.reads++
	s.mu.Unlock()
	if err != nil {
		err = fmt.Errorf("routing: read SSM parameter %s: %w", s.o.Parameter, err)
		s.o.Logger.WarnContext(ctx, "provider configuration not refreshed; keeping the current one", "error", err.Error())
		return err
	}
	c, err := Parse([]byte(p.Value), s.o.Available)
	if err != nil {
		err = fmt.Errorf("SSM parameter %s (version %d): %w", s.o.Parameter, p.Version, err)
		s.o.Logger.ErrorContext(ctx, "provider configuration rejected; keeping the current one", "error", err.Error())
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.Version != s.version {
		s.o.Logger.InfoContext(ctx, "provider configuration loaded", "version", p.Version,
			"providers", c.Providers, "strategy", string(c.Strategy))
	}
	s.current, s.version = c, p.Version
	return nil
}
