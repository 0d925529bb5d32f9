// Package recipient decides who gets an email: the first configured user
// attribute that holds an address, or, for pools that keep only placeholder
// addresses, an HTTP lookup. Every address is validated, and errors say
// whether retrying can help without ever containing the address.
package recipient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/cogmail/cogmail/pkg/cognito"
)

// Kinds of failure; match them with errors.Is.
var (
	ErrNoAddress      = errors.New("recipient: no address")
	ErrInvalidAddress = errors.New("recipient: invalid address")
	ErrLookup         = errors.New("recipient: lookup failed")
)

// Error is a failure to find an address. Retryable says whether the same
// event may succeed later (the lookup service was down or slow); a
// permanent error will fail the same way every time. Its text names where the
// address came from (an attribute name, or the lookup) but never the address.
type Error struct {
	Source string // "attribute email", "lookup", "validate"
	Reason string
	retry  bool
	kind   error
	err    error
}

func (e *Error) Error() string {
	s := "recipient: " + e.Source + ": " + e.Reason
	if e.err != nil {
		s += ": " + e.err.Error()
	}
	return s
}

// Unwrap returns the underlying cause, if any (a timeout, a connection error).
func (e *Error) Unwrap() error { return e.err }

// Is matches ErrNoAddress, ErrInvalidAddress or ErrLookup.
func (e *Error) Is(target error) bool { return target == e.kind }

// Retryable reports whether retrying the same event may succeed. Callers
// classify by this method (interface{ Retryable() bool }), as they do the
// other packages' errors, without importing this one.
func (e *Error) Retryable() bool { return e.retry }

// defaultAttributes is used when Options.Attributes is empty.
var defaultAttributes = []string{"email"}

// DefaultLookupTimeout bounds a lookup when Lookup.Timeout is zero.
const DefaultLookupTimeout = 2 * time.Second

// maxLookupBody bounds the lookup's response; {"email": ...} is tiny.
const maxLookupBody = 64 << 10

// Options configures New.
type Options struct {
	// Attributes are tried in order; the first non-empty one is the address.
	// Default: just "email".
	Attributes []string
	// Lookup, when set, asks an HTTP service for the address when no
	// attribute holds one or the one found matches Lookup.Placeholder.
	Lookup *Lookup
}

// Lookup describes the HTTP address lookup. The service answers
// GET URL with 200 and {"email": "..."}, or 404 when it has no address.
type Lookup struct {
	// URL may contain {sub} and {username}, replaced by the user's query-escaped
	// sub and user name: https://users.example/lookup?sub={sub}&username={username}.
	URL string
	// Placeholder matches the addresses that are not real (`@placeholder\.invalid$`).
	// When nil, the lookup runs only for users without an address attribute.
	Placeholder *regexp.Regexp
	Header      http.Header   // sent with every request (an API key)
	Timeout     time.Duration // per request; default DefaultLookupTimeout
	// Client defaults to one that does not follow redirects, so the header
	// (often a credential) is never sent to another host.
	Client *http.Client
}

// Resolver finds the address for an event. It is safe for concurrent use.
type Resolver struct {
	attrs  []string
	lookup *Lookup
}

// New checks the options and returns a Resolver.
func New(o Options) (*Resolver, error) {
	r := &Resolver{}
	var errs []error
	for _, a := range o.Attributes {
		if a = strings.TrimSpace(a); a != "" {
			r.attrs = append(r.attrs, a)
		}
	}
	if len(r.attrs) == 0 {
		r.attrs = defaultAttributes
	}
	if o.Lookup != nil {
		l := *o.Lookup
		if !strings.Contains(l.URL, "{sub}") && !strings.Contains(l.URL, "{username}") {
			errs = append(errs, errors.New("recipient: Lookup.URL must contain {sub} or {username}"))
		}
		u, err := url.Parse(expand(l.URL, "sub", "user"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, errors.New("recipient: Lookup.URL must be an absolute http(s) URL"))
		}
		if l.Timeout < 0 {
			errs = append(errs, errors.New("recipient: Lookup.Timeout must not be negative"))
		}
		if l.Timeout == 0 {
			l.Timeout = DefaultLookupTimeout
		}
		l.Header = l.Header.Clone()
		if l.Client == nil {
			l.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		}
		r.lookup = &l
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return r, nil
}

// Resolve returns the address to send e's email to, its domain in IDNA
// ASCII form (ASCIIDomain). The errors, all *Error:
//
//   - no attribute set and no lookup, or lookup 404 / no email / a placeholder
//     again: ErrNoAddress, permanent;
//   - an attribute or the lookup gives an invalid address: ErrInvalidAddress,
//     permanent;
//   - lookup timeout, connection error, 5xx, 408, 425, 429, 401, 403:
//     ErrLookup, retryable;
//   - lookup answers another status or anything but {"email": "..."}:
//     ErrLookup, permanent.
func (r *Resolver) Resolve(ctx context.Context, e *cognito.Event) (string, error) {
	var found, from string
	for _, a := range r.attrs {
		if v := strings.TrimSpace(e.Attr(a)); v != "" {
			found, from = v, a
			break
		}
	}
	placeholder := found != "" && r.lookup != nil && r.lookup.Placeholder != nil && r.lookup.Placeholder.MatchString(found)
	switch {
	case found != "" && !placeholder:
		if err := ValidateAddress(found); err != nil {
			return "", relabel(err, "attribute "+from)
		}
		ascii, err := ASCIIDomain(found)
		if err != nil {
			return "", relabel(err, "attribute "+from)
		}
		return ascii, nil
	case r.lookup == nil:
		return "", &Error{Source: "attributes " + strings.Join(r.attrs, ", "), Reason: "none is set", kind: ErrNoAddress}
	}
	return r.fetch(ctx, e)
}

// relabel relabels a validation error with where the address came from.
func relabel(err error, source string) error {
	var re *Error
	if errors.As(err, &re) {
		c := *re
		c.Source = source
		return &c
	}
	return err
}

func expand(tmpl, sub, user string) string {
	return strings.NewReplacer("{sub}", url.QueryEscape(sub), "{username}", url.QueryEscape(user)).Replace(tmpl)
}

// fetch asks the lookup service. The request URL holds the user name, which
// can itself be an address, so no error repeats it: transport errors are
// reported by their cause only.
func (r *Resolver) fetch(ctx context.Context, e *cognito.Event) (string, error) {
	l := r.lookup
	fail := func(kind error, retry bool, why string, cause error) error {
		return &Error{Source: "lookup", Reason: why, retry: retry, kind: kind, err: cause}
	}
	if e.Sub() == "" && e.UserName == "" {
		return "", fail(ErrNoAddress, false, "the event has neither sub nor userName to look up", nil)
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, l.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, expand(l.URL, e.Sub(), e.UserName), nil)
	if err != nil {
		return "", fail(ErrLookup, false, "cannot build the request", nil)
	}
	for k, vs := range l.Header {
		req.Header[k] = vs
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	resp, err := l.Client.Do(req)
	if err != nil {
		cause := err
		var ue *url.Error
		if errors.As(err, &ue) {
			cause = ue.Err // without the URL
		}
		var ne net.Error
		switch {
		case parent.Err() != nil:
			return "", fail(ErrLookup, true, "the caller's context ended first", cause)
		case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
			return "", fail(ErrLookup, true, fmt.Sprintf("no answer within %v", l.Timeout), cause)
		default:
			return "", fail(ErrLookup, true, "request failed", cause)
		}
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxLookupBody))
		resp.Body.Close()
	}()
	switch c := resp.StatusCode; {
	case c == http.StatusOK:
	case c == http.StatusNotFound:
		return "", fail(ErrNoAddress, false, "the service has no address for the user (404)", nil)
	case c >= 500, c == http.StatusTooManyRequests, c == http.StatusRequestTimeout, c == http.StatusTooEarly:
		return "", fail(ErrLookup, true, fmt.Sprintf("status %d", c), nil)
	case c == http.StatusUnauthorized, c == http.StatusForbidden:
		// Our credential is wrong; retrying the same event succeeds once it is fixed.
		return "", fail(ErrLookup, true, fmt.Sprintf("status %d: check the lookup header", c), nil)
	default:
		return "", fail(ErrLookup, false, fmt.Sprintf("unexpected status %d", c), nil)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxLookupBody+1))
	if err != nil {
		return "", fail(ErrLookup, true, "reading the response failed", err)
	}
	if len(body) > maxLookupBody {
		return "", fail(ErrLookup, false, fmt.Sprintf("response larger than %d bytes", maxLookupBody), nil)
	}
	var out struct {
		Email *string `json:"email"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	err = dec.Decode(&out)
	switch {
	case err != nil || !isObject(body):
		return "", fail(ErrLookup, false, `the response is not a JSON object {"email": "..."}`+jsonHint(err), nil)
	case dec.More():
		return "", fail(ErrLookup, false, `the response has data after the JSON object`, nil)
	}
	if out.Email == nil || strings.TrimSpace(*out.Email) == "" {
		return "", fail(ErrNoAddress, false, "the response has no email", nil)
	}
	addr := strings.TrimSpace(*out.Email)
	if err := ValidateAddress(addr); err != nil {
		return "", relabel(err, "lookup")
	}
	if l.Placeholder != nil && l.Placeholder.MatchString(addr) {
		return "", fail(ErrNoAddress, false, "the service returned a placeholder address", nil)
	}
	ascii, err := ASCIIDomain(addr)
	if err != nil {
		return "", relabel(err, "lookup")
	}
	return ascii, nil
}

func isObject(b []byte) bool { return bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) }

// jsonHint describes a decoding error by position and type, never by the
// offending value.
func jsonHint(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case err == nil:
		return " (got a JSON value that is not an object)"
	case errors.As(err, &syn):
		return fmt.Sprintf(" (syntax error at byte %d)", syn.Offset)
	case errors.As(err, &typ) && typ.Field == "":
		return fmt.Sprintf(" (got a JSON %s)", typ.Value)
	case errors.As(err, &typ):
		return fmt.Sprintf(" (%q is a JSON %s, not a %s)", typ.Field, typ.Value, typ.Type)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return " (empty or truncated)"
	default:
		return ""
	}
}
