package localstack

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault is what `--fail NAME=SPEC` asks of a provider: fail a share of its
// calls with 503 (SPEC 0..1), or answer every call with one status or SMTP
// reply code (SPEC 429, 500, 421, ...).
//
// A status is answered as the provider answers it, and dispatch classes it
// as it would the real provider's: 429 is rate limiting, 5xx an outage
// (both retried, then failed over), and 400 a rejection of the message
// itself (permanent for that provider: failed over; dead-lettered with
// reason "permanent" when every provider refuses it). For SMTP the
// code is the reply to RCPT TO, where a relay refuses a recipient: 550 is
// permanent, 421/450/452 rate limiting, other 4xx an outage.
type Fault struct {
	Rate   float64 `json:"rate,omitempty"`   // share of calls that fail, 0..1
	Status int     `json:"status,omitempty"` // fixed HTTP status / SMTP reply code for every call
}

// String is the fault in --fail form: "0.5" or "429".
func (f Fault) String() string {
	if f.Status != 0 {
		return strconv.Itoa(f.Status)
	}
	return strconv.FormatFloat(f.Rate, 'f', -1, 64)
}

// ParseFaults parses "sendgrid=0.5,mailgun=429".
func ParseFaults(s string) (map[string]Fault, error) {
	out := map[string]Fault{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, spec, ok := strings.Cut(item, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		if !ok || !isProvider(name) {
			return nil, fmt.Errorf("--fail %q: want PROVIDER=RATE or PROVIDER=STATUS, PROVIDER one of sendgrid, mailgun, ses, smtp", item)
		}
		spec = strings.TrimSpace(spec)
		if strings.Contains(spec, ".") || spec == "0" || spec == "1" {
			f, err := strconv.ParseFloat(spec, 64)
			if err != nil || f < 0 || f > 1 {
				return nil, fmt.Errorf("--fail %q: a rate is from 0 to 1", item)
			}
			out[name] = Fault{Rate: f}
			continue
		}
		code, err := strconv.Atoi(spec)
		if err != nil || code < 400 || code > 599 {
			return nil, fmt.Errorf("--fail %q: %q is neither a rate from 0 to 1 nor a status code from 400 to 599", item, spec)
		}
		out[name] = Fault{Status: code}
	}
	return out, nil
}

func isProvider(name string) bool {
	switch name {
	case "sendgrid", "mailgun", "ses", "smtp":
		return true
	}
	return false
}

// faultProxy stands in front of an HTTP provider fake and fails calls the
// way that provider does (its error body and rate-limit headers).
type faultProxy struct {
	provider string
	proxy    *httputil.ReverseProxy

	mu    sync.Mutex
	fault Fault
	rnd   *rand.Rand
}

func newFaultProxy(provider, target string) (*faultProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	return &faultProxy{provider: provider, proxy: httputil.NewSingleHostReverseProxy(u), rnd: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}, nil
}

func (p *faultProxy) set(f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault = f
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	status := p.fault.Status
	if status == 0 && p.fault.Rate > 0 && p.rnd.Float64() < p.fault.Rate {
		status = http.StatusServiceUnavailable
	}
	p.mu.Unlock()
	if status == 0 {
		p.proxy.ServeHTTP(w, r)
		return
	}
	_, _ = io.Copy(io.Discard, r.Body)
	msg := fmt.Sprintf("cogmail local: injected %d (--fail %s)", status, p.provider)
	h := w.Header()
	if status == http.StatusTooManyRequests {
		h.Set("Retry-After", "2")
		h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(2*time.Second).Unix(), 10))
	}
	h.Set("Content-Type", "application/json")
	var body string
	switch p.provider {
	case "sendgrid":
		body = fmt.Sprintf(`{"errors":[{"message":%q,"field":null,"help":null}]}`, msg)
	case "ses":
		typ := "InternalFailure"
		switch {
		case status == http.StatusTooManyRequests:
			typ = "TooManyRequestsException"
		case status < 500:
			typ = "BadRequestException"
		}
		h.Set("x-amzn-ErrorType", typ)
		body = fmt.Sprintf(`{"message":%q}`, msg)
	default:
		body = fmt.Sprintf(`{"message":%q}`, msg)
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// connDropper stands in front of the SMTP fake: with --fail smtp=RATE it
// resets that share of connections (a relay that is down or overloaded).
type connDropper struct {
	ln     net.Listener
	target string

	mu   sync.Mutex
	rate float64
	rnd  *rand.Rand
}

func newConnDropper(target string) (*connDropper, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	d := &connDropper{ln: ln, target: target, rnd: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
	go d.serve()
	return d, nil
}

func (d *connDropper) addr() *net.TCPAddr { return d.ln.Addr().(*net.TCPAddr) }

func (d *connDropper) setRate(r float64) { d.mu.Lock(); d.rate = r; d.mu.Unlock() }

func (d *connDropper) serve() {
	for {
		c, err := d.ln.Accept()
		if err != nil {
			return
		}
		d.mu.Lock()
		drop := d.rate > 0 && d.rnd.Float64() < d.rate
		d.mu.Unlock()
		if drop {
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = c.Close()
			continue
		}
		go func() {
			defer c.Close()
			up, err := net.DialTimeout("tcp", d.target, 5*time.Second)
			if err != nil {
				return
			}
			defer up.Close()
			done := make(chan struct{}, 2)
			go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
			go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
			<-done
		}()
	}
}

func (d *connDropper) close() error { return d.ln.Close() }
