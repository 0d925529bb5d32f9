package sendgrid_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/sendgrid"
	"github.com/cogmail/cogmail/pkg/provider/sendgrid/sendgridfake"
)

func Example() {
	fake := sendgridfake.New(sendgridfake.Options{APIKey: "SG.example-key"})
	defer fake.Close()

	// In production BaseURL is empty (sendgrid.GlobalBaseURL) or sendgrid.EUBaseURL.
	p, err := sendgrid.New(sendgrid.Config{APIKey: "SG.example-key", BaseURL: fake.URL()})
	if err != nil {
		fmt.Println(err)
		return
	}
	m := provider.Message{
		ID:      "m-1",
		From:    provider.Address{Email: "no-reply@example.com", Name: "Example"},
		To:      "ana@example.com",
		Subject: "Your code",
		Text:    "Your code is 123456",
	}
	r, err := p.Send(context.Background(), m)
	fmt.Println(r.Provider, r.ID != "", err)
	fmt.Println(fake.Messages()[0].Subject)

	fake.SetFault(sendgridfake.Fault{Status: http.StatusServiceUnavailable})
	_, err = p.Send(context.Background(), m)
	fmt.Println(provider.ClassOf(err))
	fmt.Println(err)
	// Output:
	// sendgrid true <nil>
	// Your code
	// unavailable
	// sendgrid: unavailable (status 503): service unavailable
}
