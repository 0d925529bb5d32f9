// Package smtpfake is an SMTP sink on 127.0.0.1 (github.com/emersion/go-smtp):
// it offers STARTTLS or implicit TLS with a self-signed certificate, requires
// AUTH PLAIN or LOGIN when given credentials, parses what it accepts (MIME:
// subject, text and HTML parts) and injects faults: a reply code at the
// greeting, AUTH, MAIL, RCPT or DATA stage, latency before the greeting,
// connection resets, a silent server, a server that does not speak SMTP. It
// is safe for concurrent use and has no test dependencies, so a local stack
// can run it too.
package smtpfake

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/cogmail/cogmail/pkg/provider/internal/fakehttp"
)

// TLSMode is what the fake offers.
type TLSMode int

const (
	NoTLS       TLSMode = iota // plain SMTP
	StartTLS                   // STARTTLS offered (and required before AUTH)
	ImplicitTLS                // TLS from the first byte (SMTPS)
)

// Options configures a Server. The zero value is an open relay without TLS.
type Options struct {
	// Username and Password, if set, are required (AUTH PLAIN or LOGIN)
	// before MAIL.
	Username, Password string
	// AuthMechanisms are the AUTH mechanisms offered with a Username;
	// default PLAIN and LOGIN (the only ones the fake speaks).
	AuthMechanisms []string
	TLS            TLSMode
	// SMTPUTF8 offers the SMTPUTF8 extension (RFC 6531). Without it, or
	// when MAIL FROM does not ask for it, an address with a non-ASCII
	// character is refused with 553 5.6.7, as RFC 6531 section 3.7.4.1 says.
	SMTPUTF8 bool
	Domain   string       // greeting domain; default "localhost"
	Listener net.Listener // default: a new listener on 127.0.0.1:0
}

// Stage is the point of the session where a fault's reply is given.
type Stage int

const (
	Greeting Stage = iota + 1 // instead of the 220 greeting (then the connection closes)
	Auth                      // the reply to AUTH
	Mail                      // the reply to MAIL FROM
	Rcpt                      // the reply to RCPT TO
	Data                      // the reply after the message content
)

func (s Stage) String() string {
	switch s {
	case Greeting:
		return "greeting"
	case Auth:
		return "AUTH"
	case Mail:
		return "MAIL"
	case Rcpt:
		return "RCPT"
	case Data:
		return "DATA"
	}
	return "stage(" + strconv.Itoa(int(s)) + ")"
}

// Fault is injected into the next Count connections (0: every connection
// until SetFault(Fault{})). Latency applies first; then Reset, Hang, Garbage
// or the reply Code at Stage, the first one set.
type Fault struct {
	Stage    Stage
	Code     int    // SMTP reply code, e.g. 550
	Enhanced string // enhanced status code, e.g. "5.1.1"; default class.0.0
	Message  string // reply text; default a generic one
	Latency  time.Duration
	Reset    bool // reset the connection (TCP RST) before the greeting
	Hang     bool // accept the connection and never say anything
	Garbage  bool // answer as an HTTP server would
	Count    int
}

func (f Fault) isZero() bool {
	return f.Stage == 0 && f.Code == 0 && f.Enhanced == "" && f.Message == "" && f.Latency == 0 &&
		!f.Reset && !f.Hang && !f.Garbage
}

// Message is a mail the fake accepted.
type Message struct {
	From     string   // MAIL FROM
	To       []string // RCPT TO
	Subject  string   // decoded
	Text     string   // the text/plain part, decoded, line breaks as \n
	HTML     string   // the text/html part, decoded, line breaks as \n
	Header   map[string][]string
	Raw      []byte
	Username string // the authenticated user, if any
	TLS      bool   // whether the session was encrypted
}

// Server is the fake.
type Server struct {
	opts   Options
	srv    *gosmtp.Server
	ln     net.Listener
	pool   *x509.CertPool
	faults fakehttp.Schedule[Fault]
	inbox  fakehttp.Store[Message]

	closed chan struct{}
	once   sync.Once
	conns  sync.WaitGroup
}

// New starts a fake. It panics if it cannot listen or make its
// certificate (pass a Listener to handle listen errors yourself).
func New(opts Options) *Server {
	if opts.Domain == "" {
		opts.Domain = "localhost"
	}
	s := &Server{opts: opts, closed: make(chan struct{})}
	ln := opts.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			panic(fmt.Sprintf("smtpfake: listen: %v", err))
		}
	}
	s.ln = ln
	srv := gosmtp.NewServer(backend{s})
	srv.Domain = opts.Domain
	srv.EnableSMTPUTF8 = opts.SMTPUTF8
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 50
	srv.ErrorLog = log.New(io.Discard, "", 0)
	var served net.Listener = &faultListener{Listener: ln, s: s}
	if opts.TLS != NoTLS {
		cert, pool, err := selfSigned()
		if err != nil {
			panic(fmt.Sprintf("smtpfake: certificate: %v", err))
		}
		s.pool = pool
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if opts.TLS == ImplicitTLS {
			served = tls.NewListener(served, srv.TLSConfig)
		}
	} else {
		srv.AllowInsecureAuth = true
	}
	s.srv = srv
	go func() { _ = srv.Serve(served) }()
	return s
}

// Addr is "127.0.0.1:PORT".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Host is the address to dial, "127.0.0.1".
func (s *Server) Host() string { return s.ln.Addr().(*net.TCPAddr).IP.String() }

// Port is the listening port.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// URL is "smtp://127.0.0.1:PORT" ("smtps://" with implicit TLS).
func (s *Server) URL() string {
	if s.opts.TLS == ImplicitTLS {
		return "smtps://" + s.Addr()
	}
	return "smtp://" + s.Addr()
}

// CertPool trusts the fake's certificate (for 127.0.0.1 and localhost);
// nil without TLS.
func (s *Server) CertPool() *x509.CertPool { return s.pool }

// Messages returns the accepted messages in arrival order.
func (s *Server) Messages() []Message { return s.inbox.All() }

// ClearMessages forgets the accepted messages.
func (s *Server) ClearMessages() { s.inbox.Clear() }

// SetFault installs f; SetFault(Fault{}) clears it.
func (s *Server) SetFault(f Fault) {
	if f.isZero() {
		s.faults.Clear()
		return
	}
	s.faults.Set(f, f.Count)
}

// Close stops the server, drops every connection and waits for the
// connections it handles itself (faults) to end.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closed)
		_ = s.srv.Close()
		_ = s.ln.Close()
		s.conns.Wait()
	})
}

// faultListener applies connection-level faults before go-smtp sees a
// connection, and hands the others over carrying their fault.
type faultListener struct {
	net.Listener
	s *Server
}

func (l *faultListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		f, _ := l.s.faults.Next()
		if f.Reset || f.Hang || f.Garbage || (f.Stage == Greeting && f.Code != 0) {
			l.s.conns.Add(1)
			go l.s.misbehave(c, f)
			continue
		}
		return &faultConn{Conn: c, fault: f, closed: l.s.closed}, nil
	}
}

// misbehave handles a connection with a connection-level fault.
func (s *Server) misbehave(c net.Conn, f Fault) {
	defer s.conns.Done()
	defer c.Close()
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-s.closed:
			t.Stop()
			return
		}
	}
	switch {
	case f.Reset:
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
	case f.Hang:
		done := make(chan struct{})
		go func() {
			_, _ = io.Copy(io.Discard, c) // until the client gives up
			close(done)
		}()
		select {
		case <-done:
		case <-s.closed:
			_ = c.Close()
			<-done
		}
	case f.Garbage:
		_, _ = io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n<html><body>400 Bad Request</body></html>\r\n")
	default:
		_, _ = fmt.Fprintf(c, "%d %s\r\n", f.Code, reply(f))
	}
}

func reply(f Fault) string {
	enh := f.Enhanced
	if enh == "" {
		enh = strconv.Itoa(f.Code/100) + ".0.0"
	}
	msg := f.Message
	if msg == "" {
		msg = "Fault injected at " + f.Stage.String()
	}
	return enh + " " + msg
}

func (f Fault) smtpError() *gosmtp.SMTPError {
	var e gosmtp.EnhancedCode
	if _, err := fmt.Sscanf(f.Enhanced, "%d.%d.%d", &e[0], &e[1], &e[2]); err != nil {
		e = gosmtp.EnhancedCode{f.Code / 100, 0, 0}
	}
	msg := f.Message
	if msg == "" {
		msg = "Fault injected at " + f.Stage.String()
	}
	return &gosmtp.SMTPError{Code: f.Code, EnhancedCode: e, Message: msg}
}

// faultConn carries the connection's fault to its sessions and delays its
// first write (the greeting, or the TLS handshake) by the fault's Latency.
type faultConn struct {
	net.Conn
	fault  Fault
	closed <-chan struct{}
	once   sync.Once
}

func (c *faultConn) Write(b []byte) (int, error) {
	c.once.Do(func() {
		if c.fault.Latency <= 0 {
			return
		}
		t := time.NewTimer(c.fault.Latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-c.closed:
		}
	})
	return c.Conn.Write(b)
}

type backend struct{ s *Server }

func (b backend) NewSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	se := &session{s: b.s, tls: isTLS}
	raw := c.Conn()
	if tc, ok := raw.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	if fc, ok := raw.(*faultConn); ok {
		se.fault = fc.fault
	}
	return se, nil
}

type session struct {
	s     *Server
	fault Fault
	tls   bool
	user  string
	from  string
	to    []string
	utf8  bool // MAIL FROM asked for SMTPUTF8
}

func (se *session) at(st Stage) error {
	if se.fault.Stage == st && se.fault.Code != 0 {
		return se.fault.smtpError()
	}
	return nil
}

func (se *session) AuthMechanisms() []string {
	if se.s.opts.Username == "" {
		return nil
	}
	if m := se.s.opts.AuthMechanisms; m != nil {
		return m
	}
	return []string{sasl.Plain, sasl.Login}
}

func (se *session) Auth(mech string) (sasl.Server, error) {
	if err := se.at(Auth); err != nil {
		return nil, err
	}
	check := func(user, pass string) error {
		if user != se.s.opts.Username || pass != se.s.opts.Password {
			return gosmtp.ErrAuthFailed
		}
		se.user = user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, gosmtp.ErrAuthUnknownMechanism
}

// loginServer is the server side of AUTH LOGIN (go-sasl has only the client).
type loginServer struct {
	step  int
	user  string
	check func(user, pass string) error
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		if resp == nil {
			l.step = 1
			return []byte("Username:"), false, nil
		}
		l.user, l.step = string(resp), 2
		return []byte("Password:"), false, nil
	case 1:
		l.user, l.step = string(resp), 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.check(l.user, string(resp))
	}
	return nil, true, sasl.ErrUnexpectedClientResponse
}

var errAuthRequired = &gosmtp.SMTPError{Code: 530, EnhancedCode: gosmtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}

// errNonASCII is RFC 6531's reply to a non-ASCII address in a transaction
// that did not ask for SMTPUTF8.
var errNonASCII = &gosmtp.SMTPError{Code: 553, EnhancedCode: gosmtp.EnhancedCode{5, 6, 7}, Message: "Non-ASCII addresses not permitted without SMTPUTF8"}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func (se *session) Mail(from string, opts *gosmtp.MailOptions) error {
	if se.s.opts.Username != "" && se.user == "" {
		return errAuthRequired
	}
	if err := se.at(Mail); err != nil {
		return err
	}
	se.utf8 = opts != nil && opts.UTF8
	if !se.utf8 && !ascii(from) {
		return errNonASCII
	}
	se.from = from
	return nil
}

func (se *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if err := se.at(Rcpt); err != nil {
		return err
	}
	if !se.utf8 && !ascii(to) {
		return errNonASCII
	}
	se.to = append(se.to, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := se.at(Data); err != nil {
		return err
	}
	p, err := Parse(raw)
	if err != nil {
		return &gosmtp.SMTPError{Code: 554, EnhancedCode: gosmtp.EnhancedCode{5, 6, 0}, Message: "Message cannot be parsed"}
	}
	p.From, p.To, p.Raw, p.Username, p.TLS = se.from, append([]string(nil), se.to...), raw, se.user, se.tls
	se.s.inbox.Add(p)
	return nil
}

func (se *session) Reset() {
	se.from, se.to = "", nil
}

func (se *session) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and localhost, and a pool
// that trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "smtpfake"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}
