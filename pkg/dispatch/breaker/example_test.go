package breaker_test

import (
	"fmt"
	"time"

	"github.com/cogmail/cogmail/pkg/dispatch/breaker"
)

func Example() {
	now := time.Unix(0, 0)
	b := breaker.New(breaker.Options{Threshold: 2, Cooldown: 30 * time.Second, Now: func() time.Time { return now }})

	b.Failure() // the provider answered 503
	b.Failure() // and timed out
	fmt.Println(b.State(), b.Allow())

	now = now.Add(30 * time.Second)
	fmt.Println(b.Allow(), b.State()) // one probe goes through
	b.Success()
	fmt.Println(b.State())
	// Output:
	// open false
	// true half-open
	// closed
}
