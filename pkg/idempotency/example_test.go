package idempotency_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/cogmail/cogmail/internal/testkit/motoserver"
	"github.com/cogmail/cogmail/pkg/idempotency"
)

// Claim before sending; Complete after; Release when the send failed so a
// redelivery can claim it again. (Runs against a table in a real account;
// the tests run the same calls against moto_server.)
func Example() {
	db := dynamodb.NewFromConfig(motoserver.Config(), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String("http://127.0.0.1:5000") })
	store, err := idempotency.New(db, idempotency.Options{Table: "cogmail-idempotency", TTL: 24 * time.Hour})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	send := func() error { return nil } // the provider call
	status, err := store.Claim(ctx, "dedup-key", time.Now().Add(20*time.Second))
	if err != nil {
		log.Fatal(err) // retry the message later
	}
	switch status {
	case idempotency.Claimed:
		if err := send(); err != nil {
			_ = store.Release(ctx, "dedup-key")
			return
		}
		_ = store.Complete(ctx, "dedup-key")
	case idempotency.Completed:
		fmt.Println("already sent: skip")
	case idempotency.InProgress:
		fmt.Println("another container is sending it: retry later")
	}
}
