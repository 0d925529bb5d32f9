package smsvoice_test

import (
	"context"
	"fmt"

	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/smsvoice"
	"github.com/cogmail/cogmail/pkg/provider/smsvoice/smsvoicefake"
)

// An SMS through End User Messaging, here against the fake; in Lambda the
// AWS configuration comes from awsclient.Load.
func Example() {
	fake := smsvoicefake.New(smsvoicefake.Options{OptedOut: []string{"+447700900123"}})
	defer fake.Close()

	env := map[string]string{
		smsvoice.EnvOriginationIdentity: "+12065550100",
		smsvoice.EnvConfigurationSet:    "cogmail",
		smsvoice.EnvMaxPrice:            "0.50",
		smsvoice.EnvEndpoint:            fake.URL(),
	}
	p, err := smsvoice.New(smsvoice.FromEnv(func(k string) string { return env[k] }, awsConfig(accessKey, secretKey)))
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = p.SendSMS(context.Background(), provider.SMS{ID: "msg-1", To: "+14155552671", Text: "Your code is 482916"})
	fmt.Println("sent:", err == nil, fake.Messages()[0].MessageType)

	_, err = p.SendSMS(context.Background(), provider.SMS{ID: "msg-2", To: "+447700900123", Text: "Your code is 482916"})
	fmt.Println(err)
	fmt.Println("suppress the number:", provider.Suppresses(err))
	// Output:
	// sent: true TRANSACTIONAL
	// smsvoice: permanent (status 400 ConflictException/DESTINATION_PHONE_NUMBER_OPTED_OUT): The destination phone number [number] is opted out.
	// suppress the number: true
}
