package provider_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/cogmail/cogmail/pkg/provider"
)

func TestNetReason(t *testing.T) {
	t.Parallel()
	op := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)}
	}
	untrusted := &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}
	tests := []struct {
		name      string
		err       error
		reason    string
		timedOut  bool
		untrusted bool
	}{
		{"refused", op(syscall.ECONNREFUSED), "connection refused", false, false},
		{"reset", op(syscall.ECONNRESET), "connection reset by the provider", false, false},
		{"dns", &net.DNSError{Err: "no such host", Name: "smtp.example.com", IsNotFound: true}, "DNS lookup failed", false, false},
		{"deadline", fmt.Errorf("greeting: %w", context.DeadlineExceeded), "timeout waiting for the provider", true, false},
		{"i/o timeout", &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, "timeout waiting for the provider", true, false},
		{"canceled", context.Canceled, "canceled before the provider answered", false, false},
		{"unknown authority", untrusted, "TLS certificate verification failed", false, true},
		{"wrong host", x509.HostnameError{Certificate: &x509.Certificate{}, Host: "relay.example.com"}, "TLS certificate verification failed", false, true},
		{"expired", x509.CertificateInvalidError{Reason: x509.Expired}, "TLS certificate verification failed", false, true},
		{"not TLS", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, "TLS handshake failed (the server does not speak TLS)", false, false},
		{"closed early", io.ErrUnexpectedEOF, "connection closed by the provider before it answered", false, false},
		{"something else", errors.New("smtp: short response"), "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := provider.NetReason(tt.err); got != tt.reason {
				t.Errorf("NetReason = %q, want %q", got, tt.reason)
			}
			if got := provider.TimedOut(tt.err); got != tt.timedOut {
				t.Errorf("TimedOut = %v, want %v", got, tt.timedOut)
			}
			if got := provider.TLSUntrusted(tt.err); got != tt.untrusted {
				t.Errorf("TLSUntrusted = %v, want %v", got, tt.untrusted)
			}
		})
	}
}
