package sns_test

import (
	"context"
	"fmt"

	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/sns"
	"github.com/cogmail/cogmail/pkg/provider/sns/snsfake"
)

// An SMS through SNS, here against the fake; in Lambda the AWS
// configuration comes from awsclient.Load and the settings from FromEnv.
func Example() {
	fake := snsfake.New(snsfake.Options{OptedOut: []string{"+447700900123"}})
	defer fake.Close()

	env := map[string]string{sns.EnvSenderID: "Cogmail", sns.EnvEndpoint: fake.URL()}
	cfg := sns.FromEnv(func(k string) string { return env[k] }, awsConfig(accessKey, secretKey))
	p, err := sns.New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = p.SendSMS(context.Background(), provider.SMS{ID: "msg-1", To: "+14155552671", Text: "Your code is 482916"})
	fmt.Println("sent:", err == nil, fake.Messages()[0].SMSType, fake.Messages()[0].SenderID)

	_, err = p.SendSMS(context.Background(), provider.SMS{ID: "msg-2", To: "+447700900123", Text: "Your code is 482916"})
	fmt.Println(err)
	fmt.Println("suppress the number:", provider.Suppresses(err))
	// Output:
	// sent: true Transactional Cogmail
	// sns: permanent (status 200 OptedOut): the number opted out of SMS from this account
	// suppress the number: true
}
