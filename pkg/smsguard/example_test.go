package smsguard_test

import (
	"context"
	"fmt"
	"time"

	"github.com/cogmail/cogmail/pkg/sendlimit"
	"github.com/cogmail/cogmail/pkg/smsguard"
)

// A guard allowing Great Britain and the United States, with a cap of two
// messages per country per hour: the third to GB is refused, unless it is
// a sign-in code to a verified number.
func ExampleGuard_Check() {
	now := func() time.Time { return time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC) }
	g, _ := smsguard.New(smsguard.Options{Countries: []string{"GB", "US"}, CountryCap: 2}, smsguard.Deps{
		Counter: sendlimit.NewMemory(now), Ledger: smsguard.NewMemoryLedger(), Now: now,
	})
	ctx := context.Background()
	for i, m := range []smsguard.Message{
		{Number: "+33612345678"},
		{Number: "+447400123456"},
		{Number: "+447400654321"},
		{Number: "+447401111111"},
		{Number: "+447402222222", Authentication: true, Verified: true},
	} {
		m.ID, m.Segments = fmt.Sprint("m", i), 1
		v, _ := g.Check(ctx, m)
		fmt.Println(v.Number, v.Country, v.Allowed(), v.Refused, v.Exempt)
	}
	// Output:
	// +33*****5678 FR false country false
	// +44******3456 GB true  false
	// +44******4321 GB true  false
	// +44******1111 GB false country-cap false
	// +44******2222 GB true  true
}
