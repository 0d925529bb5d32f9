package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/cogmail/cogmail/pkg/codecrypt"
	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/queue"
	"github.com/cogmail/cogmail/pkg/seal"
)

const pipelineMessages = 1000

// BenchmarkPipeline moves 1,000 messages through the local pipeline per
// op, in one process: sqslocal, two dispatch containers polling it (10
// messages a batch, 10 at once), local-kms for the data keys, SendGrid's
// fake over HTTP. "dispatch" starts from sealed envelopes (SendMessage
// included); "ingest+dispatch" starts from Cognito events encrypted as
// Cognito does (raw AES keyring), so it adds ingest's decrypt, render and
// seal. Allocations count both sides of every HTTP call.
func BenchmarkPipeline(b *testing.B) {
	b.Run("dispatch", func(b *testing.B) {
		s := newStack(b, 5)
		ctx := context.Background()
		sealer, err := seal.NewSealer(seal.Options{KMS: s.kms, KeyID: s.events.KMSKeyARN})
		if err != nil {
			b.Fatal(err)
		}
		pub, err := queue.NewPublisher(s.sqs, s.queueURL)
		if err != nil {
			b.Fatal(err)
		}
		envs := make([]*envelope.Envelope, pipelineMessages)
		for i := range envs {
			now := time.Now()
			envs[i] = &envelope.Envelope{Version: envelope.SchemaVersion, ID: envelope.NewID(), DedupKey: fmt.Sprint("bench-", i),
				Trigger: cognito.SignUp, Pool: "us-east-1_Bench", Locale: "en", CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}
			pt, _ := json.Marshal(envelope.Payload{To: fmt.Sprintf("user%d@example.com", i), Subject: "Your code",
				Text: "Your code is 123456", HTML: "<p>Your code is <b>123456</b></p>"})
			if envs[i].Sealed, err = sealer.Seal(ctx, envs[i].ID, pt); err != nil {
				b.Fatal(err)
			}
		}
		run(b, s, func() {
			parallel(len(envs), func(i int) {
				if _, err := pub.Publish(ctx, envs[i]); err != nil {
					b.Error(err)
				}
			})
		})
	})
	b.Run("ingest+dispatch", func(b *testing.B) {
		s := newStack(b, 5)
		ctx := context.Background()
		enc, err := codecrypt.NewRawAESEncrypter(ctx, codecrypt.RawAESKey{Namespace: s.events.KeyNamespace, Name: s.events.KeyName, Key: s.events.AESKey()})
		if err != nil {
			b.Fatal(err)
		}
		events := make([][]byte, pipelineMessages)
		for i := range events {
			code, err := enc.Encrypt(ctx, fmt.Sprintf("%06d", i), s.events.UserPoolID)
			if err != nil {
				b.Fatal(err)
			}
			events[i], _ = json.Marshal(map[string]any{
				"version": "1", "triggerSource": "CustomEmailSender_SignUp", "region": "us-east-1",
				"userPoolId": s.events.UserPoolID, "userName": fmt.Sprint("user-", i),
				"callerContext": map[string]string{"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "1example23456789"},
				"request": map[string]any{"type": "customEmailSenderRequestV1", "code": code,
					"userAttributes": map[string]string{"sub": fmt.Sprint("sub-", i), "email": fmt.Sprintf("user%d@example.com", i)}},
				"response": map[string]any{},
			})
		}
		in := s.ingest("raw-aes")
		run(b, s, func() {
			parallel(len(events), func(i int) {
				if _, err := in.Handle(ctx, events[i]); err != nil {
					b.Error(err)
				}
			})
		})
	})
}

// run times enqueueing (ingest or publish) and delivering every message.
// Each iteration is timed from its first enqueue to the moment the last
// message is delivered and deleted; stopping the pollers after that (they
// finish their current long poll) is outside the timings.
func run(b *testing.B, s *stack, enqueue func()) {
	env := s.dispatchEnv("sendgrid", nil)
	var before, after runtime.MemStats
	b.ReportAllocs()
	runtime.ReadMemStats(&before)
	n := 0
	var busy, slowest time.Duration
	for b.Loop() {
		s.clearDeliveries()
		start := time.Now()
		// Enqueueing and delivery overlap, as they would in AWS. Fresh
		// containers each op: their dedup caches would skip the same
		// messages the next time round.
		go enqueue()
		doneAt := s.drainUntil(func() bool { return s.queued() == 0 && len(s.sg.Messages()) >= pipelineMessages },
			s.dispatcher(env), s.dispatcher(env))
		if got := len(s.sg.Messages()); got != pipelineMessages {
			b.Fatalf("%d delivered, want %d", got, pipelineMessages)
		}
		n++
		took := doneAt.Sub(start)
		busy += took
		slowest = max(slowest, took)
	}
	runtime.ReadMemStats(&after)
	msgs := float64(n * pipelineMessages)
	b.ReportMetric(msgs/busy.Seconds(), "msgs/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/msgs, "allocs/msg")
	// A message received and then lost would come back only after the
	// queue's visibility timeout (30 s): the slowest iteration shows it.
	b.ReportMetric(slowest.Seconds(), "slowest-s")
}

// parallel runs f(0..n-1) on as many goroutines as there are CPUs.
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) * 4 {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
