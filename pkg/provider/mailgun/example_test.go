package mailgun_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/mailgun"
	"github.com/cogmail/cogmail/pkg/provider/mailgun/mailgunfake"
)

func Example() {
	fake := mailgunfake.New(mailgunfake.Options{APIKey: "key-example", Domain: "mg.example.com"})
	defer fake.Close()

	// In production BaseURL is empty (mailgun.USBaseURL) or mailgun.EUBaseURL.
	p, err := mailgun.New(mailgun.Config{APIKey: "key-example", Domain: "mg.example.com", BaseURL: fake.URL()})
	if err != nil {
		fmt.Println(err)
		return
	}
	m := provider.Message{
		From:    provider.Address{Email: "no-reply@mg.example.com"},
		To:      "ana@example.com",
		Subject: "Your code",
		Text:    "Your code is 123456",
	}
	r, err := p.Send(context.Background(), m)
	fmt.Println(r.Provider, r.ID != "", err)
	fmt.Println(fake.Messages()[0].To)

	fake.SetFault(mailgunfake.Fault{Status: http.StatusTooManyRequests, RetryAfter: 20 * time.Second})
	_, err = p.Send(context.Background(), m)
	fmt.Println(provider.ClassOf(err), provider.RetryAfter(err))
	// Output:
	// mailgun true <nil>
	// ana@example.com
	// rate limited 20s
}
