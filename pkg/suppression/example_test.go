package suppression_test

import (
	"context"
	"fmt"
	"time"

	"github.com/cogmail/cogmail/pkg/suppression"
)

// A complaint stops an invitation but not a password reset the person asks
// for (the default policy).
func ExamplePolicy_Blocking() {
	ctx := context.Background()
	list := suppression.NewMemory(nil)
	_ = list.Add(ctx, suppression.Entry{Address: "ana@Example.com", Reason: suppression.Complaint, Provider: "ses", At: time.Now()})
	entries, _ := list.Lookup(ctx, "ana@example.com")
	p := suppression.DefaultPolicy()
	for _, trigger := range []string{"CustomEmailSender_AdminCreateUser", "CustomEmailSender_ForgotPassword"} {
		_, blocked := p.Blocking(entries, trigger)
		fmt.Println(trigger, "blocked:", blocked)
	}
	// Output:
	// CustomEmailSender_AdminCreateUser blocked: true
	// CustomEmailSender_ForgotPassword blocked: false
}
