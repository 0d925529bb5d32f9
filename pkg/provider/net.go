package provider

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"syscall"
)

// NetReason names a network, TLS or context failure by the error's type,
// without quoting an address, a URL or anything that was sent, or returns
// "" when err is none of those. The providers build their Reasons with it,
// and the ping reports (internal/ops/ping) word their network failures
// with it, so there is one list of such failures.
func NetReason(err error) string {
	var (
		dnsErr *net.DNSError
		recErr tls.RecordHeaderError
	)
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled before the provider answered"
	case TimedOut(err):
		return "timeout waiting for the provider"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by the provider"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.EPIPE):
		return "connection closed by the provider while sending"
	case errors.As(err, &dnsErr):
		return "DNS lookup failed"
	case TLSUntrusted(err):
		return "TLS certificate verification failed"
	case errors.As(err, &recErr):
		return "TLS handshake failed (the server does not speak TLS)"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by the provider before it answered"
	case errors.Is(err, net.ErrClosed):
		return "connection closed"
	}
	return ""
}

// TimedOut reports whether err is a deadline that passed: the context's,
// or a network timeout (a dial or connection deadline).
func TimedOut(err error) bool {
	var netErr net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout()
}

// TLSUntrusted reports whether err is a server certificate the client does
// not trust: an unknown authority, another host name, an expired or
// otherwise invalid certificate.
func TLSUntrusted(err error) bool {
	var (
		certErr *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		hostErr x509.HostnameError
		invalid x509.CertificateInvalidError
	)
	return errors.As(err, &certErr) || errors.As(err, &unknown) || errors.As(err, &hostErr) || errors.As(err, &invalid)
}
