package twilio_test

import (
	"context"
	"fmt"
	"net/url"

	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/twilio"
	"github.com/cogmail/cogmail/pkg/provider/twilio/twiliofake"
)

// An SMS through Twilio's Messages API, here against the fake, and the
// status callback that reports an opt-out.
func Example() {
	fake := twiliofake.New(twiliofake.Options{AccountSID: accountSID, AuthToken: authToken, Unsubscribed: []string{"+447700900123"}})
	defer fake.Close()

	env := map[string]string{
		twilio.EnvAccountSID:          accountSID,
		twilio.EnvAuthToken:           authToken,
		twilio.EnvMessagingServiceSID: service,
		twilio.EnvBaseURL:             fake.URL(),
	}
	p, err := twilio.New(twilio.FromEnv(func(k string) string { return env[k] }))
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := p.SendSMS(context.Background(), provider.SMS{ID: "msg-1", To: "+14155552671", Text: "Your code is 482916"})
	fmt.Println("sent:", err == nil, r.ID[:2])

	_, err = p.SendSMS(context.Background(), provider.SMS{ID: "msg-2", To: "+447700900123", Text: "Your code is 482916"})
	fmt.Println(err)
	fmt.Println("suppress the number:", provider.Suppresses(err))

	// A callback, as the events function reads it once verified.
	form := url.Values{"MessageSid": {r.ID}, "MessageStatus": {"undelivered"}, "To": {"+14155552671"}, "ErrorCode": {"30005"}}
	evs, _ := twilio.ParseCallback("https://events.example.com/twilio?cogmail_message_id=msg-1", form, now)
	fmt.Println(evs[0], evs[0].MessageID, evs[0].Suppresses())
	// Output:
	// sent: true SM
	// twilio: permanent (status 400 21610): Attempt to send to unsubscribed recipient
	// suppress the number: true
	// twilio bounce (permanent) msg-1 true
}
