package provider_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/cogmail/cogmail/pkg/provider"
)

// The dispatcher reads a failed send as a table: fail over, wait, or give up.
func ExampleClassOf() {
	errs := []error{
		&provider.Error{Provider: "sendgrid", Class: provider.Unavailable, Status: 503, Reason: "service unavailable"},
		&provider.Error{Provider: "mailgun", Class: provider.RateLimited, Status: 429, RetryAfter: 30 * time.Second, Reason: "Too many requests"},
		&provider.Error{Provider: "ses", Class: provider.Permanent, Status: 400, Code: "MessageRejected", Reason: "Email address is not verified: ada@example.org"},
		errors.New("something unknown"),
	}
	for _, err := range errs {
		switch provider.ClassOf(err) {
		case provider.Permanent:
			fmt.Println("dead-letter:", err)
		case provider.RateLimited:
			fmt.Println("fail over; retry this provider after", provider.RetryAfter(err))
		default:
			fmt.Println("fail over:", err)
		}
	}
	// Output:
	// fail over: sendgrid: unavailable (status 503): service unavailable
	// fail over; retry this provider after 30s
	// dead-letter: ses: permanent (status 400 MessageRejected): Email address is not verified: [address]
	// fail over: something unknown
}

func ExampleMessage_Validate() {
	m := provider.Message{
		From:    provider.Address{Email: "no-reply@example.com"},
		To:      "Ada <ada@example.org>",
		Subject: "Your code",
	}
	fmt.Println(m.Validate())
	// Output:
	// To is not a single valid address
	// Text and HTML are both empty
}
