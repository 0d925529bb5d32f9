package localstack

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/seal"
)

// inflight keeps the envelopes of the batches dispatch is handling, so that
// the inbox can say who a message the reputation guard stopped was for, from
// whom, and its subject: dispatch's "not sent" line names the message, never
// the address. An envelope is kept only while its batch is handled.
type inflight struct {
	opener *seal.Opener

	mu   sync.Mutex
	envs map[string]*envelope.Envelope // by message id
}

func newInflight(o *seal.Opener) *inflight {
	return &inflight{opener: o, envs: map[string]*envelope.Envelope{}}
}

// wrap is dispatch's handler with the batch's envelopes kept while it runs.
func (f *inflight) wrap(next func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var ids []string
		f.mu.Lock()
		for _, rec := range ev.Records {
			if env, err := envelope.Parse([]byte(rec.Body)); err == nil {
				f.envs[env.ID] = env
				ids = append(ids, env.ID)
			}
		}
		f.mu.Unlock()
		defer func() {
			f.mu.Lock()
			for _, id := range ids {
				delete(f.envs, id)
			}
			f.mu.Unlock()
		}()
		return next(ctx, ev)
	}
}

// describe fills in d's recipient, sender, Reply-To and subject from its
// sealed payload, which the stack can open with its own key. It is called
// from dispatch's log line, while the message's batch is handled.
func (f *inflight) describe(d *Delivered) {
	if f == nil {
		return
	}
	f.mu.Lock()
	env := f.envs[d.MessageID]
	f.mu.Unlock()
	if env == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pt, err := f.opener.Open(ctx, env.ID, env.Sealed)
	if err != nil {
		return
	}
	var p envelope.Payload
	err = json.Unmarshal(pt, &p)
	clear(pt)
	if err != nil {
		return
	}
	d.To, d.Subject, d.ReplyTo = p.To, p.Subject, p.ReplyTo
	d.From = Address{Address: p.From, Name: p.FromName}
	if p.From == "" { // dispatch's own sender, as it would have sent it
		d.From = Address{Address: localSender, Name: localSenderName}
	}
}
