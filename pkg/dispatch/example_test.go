package dispatch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cogmail/cogmail/internal/testkit/fakekms"
	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/dispatch"
	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/routing"
	"github.com/cogmail/cogmail/pkg/seal"
)

// console is a provider that prints where the mail would go.
type console struct{ name string }

func (c console) Name() string { return c.name }

func (c console) Send(_ context.Context, m provider.Message) (provider.Receipt, error) {
	fmt.Printf("%s sends %s's email from %s\n", c.name, m.Tags["trigger"], m.From.Email)
	return provider.Receipt{Provider: c.name, ID: "console-1"}, nil
}

// down is a provider that is unavailable.
type down struct{ name string }

func (d down) Name() string { return d.name }

func (d down) Send(context.Context, provider.Message) (provider.Receipt, error) {
	return provider.Receipt{}, &provider.Error{Provider: d.name, Class: provider.Unavailable, Status: 503}
}

// sealedRecord makes the SQS record ingest would have enqueued.
func sealedRecord(sealer *seal.Sealer) events.SQSMessage {
	now := time.Now()
	env := &envelope.Envelope{Version: envelope.SchemaVersion, ID: envelope.NewID(), DedupKey: "k1",
		Trigger: cognito.SignUp, Pool: "us-east-1_Example", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	pt, _ := json.Marshal(envelope.Payload{To: "ada@example.com", Subject: "Your code", Text: "123456"})
	env.Sealed, _ = sealer.Seal(context.Background(), env.ID, pt)
	body, _ := json.Marshal(env)
	return events.SQSMessage{MessageId: "m1", Body: string(body), Attributes: map[string]string{"ApproximateReceiveCount": "1"}}
}

// A batch is delivered through the first provider that works; the answer
// lists only the messages SQS must deliver again.
func Example() {
	kms := fakekms.New() // a KMS client in production
	sealer, _ := seal.NewSealer(seal.Options{KMS: kms, KeyID: "alias/seal"})
	opener, _ := seal.NewOpener(seal.OpenerOptions{KMS: kms})
	sqsClient := &queue{} // *sqs.Client in production

	h, err := dispatch.New(dispatch.Deps{
		Senders:    []dispatch.Sender{down{"sendgrid"}, console{"ses"}},
		Routes:     routing.Static{Providers: []string{"sendgrid", "ses"}, Strategy: routing.Failover},
		Opener:     opener,
		DLQ:        sqsClient,
		Visibility: sqsClient,
	}, dispatch.Options{
		DLQURL: "https://sqs.us-east-1.amazonaws.com/111122223333/cogmail-dlq",
		From:   provider.Address{Email: "no-reply@example.com", Name: "Example"},
	})
	if err != nil {
		log.Fatal(err)
	}
	resp, err := h.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{sealedRecord(sealer)}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("to retry:", len(resp.BatchItemFailures))
	// Output:
	// ses sends SignUp's email from no-reply@example.com
	// to retry: 0
}
