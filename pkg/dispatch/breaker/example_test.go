package breaker_test

import (
	"context"
	"fmt"
	"time"

	"github.com/cogmail/cogmail/pkg/dispatch/breaker"
)

func Example() {
	now := time.Unix(0, 0)
	b := breaker.New(breaker.Options{Threshold: 2, Cooldown: 30 * time.Second, Now: func() time.Time { return now }})

	b.Failure(context.Background()) // the provider answered 503
	b.Failure(context.Background()) // and timed out
	fmt.Println(b.State(), b.Allow(context.Background()))

	now = now.Add(30 * time.Second)
	fmt.Println(b.Allow(context.Background()), b.State()) // one probe goes through
	b.Success(context.Background())
	fmt.Println(b.State())
	// Output:
	// open false
	// true half-open
	// closed
}
