package sendlimit_test

import (
	"context"
	"fmt"

	"github.com/cogmail/cogmail/pkg/sendlimit"
)

// Three messages per hour: the fourth is refused, and taking a counted
// message again (an SQS redelivery) is still allowed.
func ExampleMemory_Take() {
	ctx := context.Background()
	limit, _ := sendlimit.Parse("3/1h")
	c := sendlimit.NewMemory(nil)
	for _, id := range []string{"m1", "m2", "m3", "m4", "m1"} {
		ok, _ := c.Take(ctx, "victim@example.com", id, limit)
		fmt.Println(id, ok)
	}
	// Output:
	// m1 true
	// m2 true
	// m3 true
	// m4 false
	// m1 true
}
