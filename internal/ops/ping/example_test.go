package ping_test

import (
	"context"
	"fmt"

	"github.com/cogmail/cogmail/internal/ops/ping"
	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/sendgrid"
	"github.com/cogmail/cogmail/pkg/provider/sendgrid/sendgridfake"
)

// A SendGrid key checked with a sandbox request, then a wrong one.
func ExampleSendGrid() {
	fake := sendgridfake.New(sendgridfake.Options{APIKey: "SG.right"})
	defer fake.Close()
	m := ping.TestMessage(provider.Address{Email: "no-reply@example.com"}, "")

	r := ping.SendGrid(context.Background(), sendgrid.Config{APIKey: "SG.right", BaseURL: fake.URL()}, m)
	fmt.Println(r.Status, r.Message)
	r = ping.SendGrid(context.Background(), sendgrid.Config{APIKey: "SG.wrong", BaseURL: fake.URL()}, m)
	fmt.Println(r.Status, r.Problem, r.Message)
	// Output:
	// ok the API key works (mail.send scope): sandbox request accepted, nothing was sent
	// failed credentials the API key is rejected (401 Unauthorized: The provided authorization grant is invalid, expired, or revoked)
}
