package ses_test

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/cogmail/cogmail/pkg/awsclient"
	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/ses"
	"github.com/cogmail/cogmail/pkg/provider/ses/sesfake"
)

func Example() {
	fake := sesfake.New(sesfake.Options{VerifiedIdentities: []string{"example.com"}})
	defer fake.Close()

	// In Lambda, AWS comes from awsclient.Load and Endpoint is empty.
	p, err := ses.New(ses.Config{
		AWS:      awsclient.Config("eu-west-1", credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")),
		Endpoint: fake.URL(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	m := provider.Message{
		From:    provider.Address{Email: "no-reply@example.com"},
		To:      "ana@example.org",
		Subject: "Your code",
		Text:    "Your code is 123456",
	}
	r, err := p.Send(context.Background(), m)
	fmt.Println(r.Provider, r.ID != "", err)

	m.From.Email = "no-reply@unverified.example"
	_, err = p.Send(context.Background(), m)
	fmt.Println(provider.ClassOf(err))
	fmt.Println(err)
	// Output:
	// ses true <nil>
	// permanent
	// ses: permanent (status 400 MessageRejected): Email address is not verified. The following identities failed the check in region EU-WEST-1: [address]
}

// The calls a configuration check makes, with the client Send uses.
func ExampleProvider_SenderIdentities() {
	fake := sesfake.New(sesfake.Options{VerifiedIdentities: []string{"example.com"}, PendingIdentities: []string{"no-reply@example.com"}, Sandbox: true})
	defer fake.Close()
	p, err := ses.New(ses.Config{
		AWS:      awsclient.Config("eu-west-1", credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")),
		Endpoint: fake.URL(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	a, err := p.Account(context.Background())
	fmt.Println(a.SendingEnabled, a.ProductionAccess, a.EnforcementStatus, err)
	ids, err := p.SenderIdentities(context.Background(), "no-reply@example.com")
	fmt.Printf("%+v %v\n", ids, err)
	// Output:
	// true false HEALTHY <nil>
	// [{Name:no-reply@example.com Verified:false Status:PENDING} {Name:example.com Verified:true Status:SUCCESS}] <nil>
}
