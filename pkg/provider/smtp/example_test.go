package smtp_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/smtp"
	"github.com/cogmail/cogmail/pkg/provider/smtp/smtpfake"
)

func Example() {
	fake := smtpfake.New(smtpfake.Options{Username: "relay-user", Password: "relay-pass", TLS: smtpfake.StartTLS})
	defer fake.Close()

	p, err := smtp.New(smtp.Config{
		Host: fake.Host(), Port: fake.Port(),
		Username: "relay-user", Password: "relay-pass",
		TLS:       smtp.StartTLSMandatory,
		TLSConfig: &tls.Config{RootCAs: fake.CertPool()}, // production: the system roots
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	m := provider.Message{
		From:    provider.Address{Email: "no-reply@example.com", Name: "Example"},
		To:      "ana@example.org",
		Subject: "Your code",
		Text:    "Your code is 123456",
		HTML:    "<p>Your code is <b>123456</b></p>",
	}
	r, err := p.Send(context.Background(), m)
	fmt.Println(r.Provider, r.ID != "", err)
	got := fake.Messages()[0]
	fmt.Println(got.Subject, "|", got.Text, "|", got.HTML)

	fake.SetFault(smtpfake.Fault{Stage: smtpfake.Rcpt, Code: 550, Enhanced: "5.1.1", Message: "User unknown"})
	_, err = p.Send(context.Background(), m)
	fmt.Println(err)
	// Output:
	// smtp true <nil>
	// Your code | Your code is 123456 | <p>Your code is <b>123456</b></p>
	// smtp: permanent (status 550 5.1.1): RCPT TO refused: 5.1.1 User unknown
}

// Probe opens the session Send would open, reports it and sends nothing; a
// failure names its stage.
func ExampleProvider_Probe() {
	fake := smtpfake.New(smtpfake.Options{Username: "relay-user", Password: "relay-pass", TLS: smtpfake.StartTLS})
	defer fake.Close()
	p, err := smtp.New(smtp.Config{
		Host: fake.Host(), Port: fake.Port(),
		Username: "relay-user", Password: "relay-pass",
		TLSConfig: &tls.Config{RootCAs: fake.CertPool()},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := p.Probe(context.Background())
	fmt.Println(s.STARTTLS, tls.VersionName(s.TLSVersion), s.Auth, err)

	fake.SetFault(smtpfake.Fault{Stage: smtpfake.Auth, Code: 535, Enhanced: "5.7.8", Message: "Authentication failed"})
	_, err = p.Probe(context.Background())
	var se *smtp.StageError
	if errors.As(err, &se) {
		fmt.Println(se.Stage, "|", err)
	}
	// Output:
	// true TLS 1.3 PLAIN <nil>
	// AUTH | smtp: unavailable (status 535 5.7.8): AUTH refused: 5.7.8 Authentication failed
}
