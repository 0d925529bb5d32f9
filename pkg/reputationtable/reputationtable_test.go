package reputationtable_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cogmail/cogmail/internal/testkit/motoserver"
	"github.com/cogmail/cogmail/internal/testkit/sendlimittest"
	"github.com/cogmail/cogmail/internal/testkit/smsledgertest"
	"github.com/cogmail/cogmail/internal/testkit/suppressiontest"
	"github.com/cogmail/cogmail/pkg/reputationtable"
	"github.com/cogmail/cogmail/pkg/sendlimit"
	"github.com/cogmail/cogmail/pkg/smsguard"
	"github.com/cogmail/cogmail/pkg/suppression"
)

var tables atomic.Int64

// newTable creates a table laid out as the package documents (key "id",
// TTL on "expiration"), in the shared moto_server.
func newTable(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	return newTableAt(t, motoserver.Shared(t))
}

// newSerialTable is newTable in the moto that applies one request at a
// time: for the tests of per-item atomicity (see motoserver.SharedSerial).
func newSerialTable(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	return newTableAt(t, motoserver.SharedSerial(t))
}

func newTableAt(t *testing.T, url string) (*dynamodb.Client, string) {
	t.Helper()
	db := dynamodb.NewFromConfig(motoserver.Config(), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(url) })
	name := fmt.Sprintf("reputation-%d-%d", time.Now().UnixNano(), tables.Add(1))
	ctx := context.Background()
	if _, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(reputationtable.AttrKey), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(reputationtable.AttrKey), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	}); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	if _, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(reputationtable.AttrExpiration), Enabled: aws.Bool(true)},
	}); err != nil {
		t.Fatalf("UpdateTimeToLive: %v", err)
	}
	t.Cleanup(func() {
		_, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	return db, name
}

func TestSuppressions(t *testing.T) {
	suppressiontest.Run(t, func(t *testing.T, now func() time.Time) suppression.Store {
		db, name := newTable(t)
		s, err := reputationtable.NewSuppressions(db, name, now)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestCounter(t *testing.T) {
	sendlimittest.Run(t, func(t *testing.T, now func() time.Time) sendlimit.Counter {
		db, name := newSerialTable(t)
		c, err := reputationtable.NewCounter(db, name, now)
		if err != nil {
			t.Fatal(err)
		}
		return c
	})
}

// TestOneTable: suppressions, counters and tokens share a table without
// seeing each other's items.
func TestOneTable(t *testing.T) {
	db, name := newTable(t)
	now := func() time.Time { return time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC) }
	ctx := context.Background()
	s, _ := reputationtable.NewSuppressions(db, name, now)
	c, _ := reputationtable.NewCounter(db, name, now)
	tk, _ := reputationtable.NewTokens(db, name, now)
	if ok, err := c.Take(ctx, "a@example.com", "m1", sendlimit.Limit{N: 1, Window: time.Hour}); !ok || err != nil {
		t.Fatalf("Take = %v, %v", ok, err)
	}
	if ok, err := tk.FirstUse(ctx, "a@example.com", now().Add(time.Minute)); !ok || err != nil {
		t.Fatalf("FirstUse = %v, %v", ok, err)
	}
	if err := s.Add(ctx, suppression.Entry{Address: "b@example.com", Reason: suppression.Bounce, Provider: "ses", At: now()}); err != nil {
		t.Fatal(err)
	}
	l, err := s.List(ctx)
	if err != nil || len(l) != 1 || l[0].Address != "b@example.com" {
		t.Fatalf("List = %+v, %v; want only the suppression", l, err)
	}
}

func TestTokens(t *testing.T) {
	db, name := newTable(t)
	clock := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	tk, err := reputationtable.NewTokens(db, name, func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	until := clock.Add(10 * time.Minute)
	steps := []struct {
		token   string
		advance time.Duration
		want    bool
	}{
		{"t1", 0, true},
		{"t1", 0, false},
		{"t2", 0, true},
		{"t1", 9 * time.Minute, false},
		{"t1", time.Minute, true}, // the record has expired (TTL deletes lazily)
	}
	for i, s := range steps {
		clock = clock.Add(s.advance)
		got, err := tk.FirstUse(ctx, s.token, until)
		if err != nil || got != s.want {
			t.Fatalf("step %d: FirstUse(%s) = %v, %v; want %v", i, s.token, got, err, s.want)
		}
	}
}

// TestReplayRecords: the SendGrid requests and the Mailgun tokens already
// applied are kept apart, seen by every container sharing the table, and
// forgotten on request.
func TestReplayRecords(t *testing.T) {
	db, name := newTable(t)
	clock := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	ctx := context.Background()
	sgA, _ := reputationtable.NewSendGridRequests(db, name, now) // two containers
	sgB, _ := reputationtable.NewSendGridRequests(db, name, now)
	mg, _ := reputationtable.NewTokens(db, name, now)
	until := clock.Add(10 * time.Minute)
	steps := []struct {
		name  string
		store *reputationtable.Tokens
		op    string
		want  bool
	}{
		{"first", sgA, "use", true},
		{"replayed to another container", sgB, "use", false},
		{"the same string as a Mailgun token is another record", mg, "use", true},
		{"forgotten (not applied)", sgA, "forget", true},
		{"the retry is new", sgB, "use", true},
		{"and recorded", sgA, "use", false},
		{"the Mailgun token is still used", mg, "use", false},
	}
	for _, s := range steps {
		switch s.op {
		case "use":
			got, err := s.store.FirstUse(ctx, "0a1b2c", until)
			if err != nil || got != s.want {
				t.Fatalf("%s: FirstUse = %v, %v; want %v", s.name, got, err, s.want)
			}
		case "forget":
			if err := s.store.Forget(ctx, "0a1b2c"); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		}
	}
}

// TestConcurrentReplaysOneApplied: of 16 containers handed the same
// webhook at once, exactly one records it as new (DynamoDB's conditional
// put; checked in the moto that applies one request at a time).
func TestConcurrentReplaysOneApplied(t *testing.T) {
	db, name := newSerialTable(t)
	ctx := context.Background()
	var first atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		st, err := reputationtable.NewSendGridRequests(db, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			ok, err := st.FirstUse(ctx, "same-request", time.Now().Add(time.Minute))
			if err != nil {
				t.Error(err)
			}
			if ok {
				first.Add(1)
			}
		})
	}
	wg.Wait()
	if first.Load() != 1 {
		t.Fatalf("%d of 16 concurrent deliveries of one webhook were taken as new, want 1", first.Load())
	}
}

func TestLedger(t *testing.T) {
	smsledgertest.Run(t, func(t *testing.T) smsguard.Ledger {
		db, name := newSerialTable(t)
		l, err := reputationtable.NewLedger(db, name)
		if err != nil {
			t.Fatal(err)
		}
		return l
	})
}

// TestSMSGuardOnTable: the guard on the table's stores, as dispatch will
// wire it: the per-number and per-block counts in Counter items, the cap
// and the budget in the ledger, two containers sharing them, exact under
// concurrent checks.
func TestSMSGuardOnTable(t *testing.T) {
	db, name := newSerialTable(t)
	clock := time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	newGuard := func() *smsguard.Guard {
		c, _ := reputationtable.NewCounter(db, name, now)
		l, _ := reputationtable.NewLedger(db, name)
		g, err := smsguard.New(smsguard.Options{
			Countries: []string{"GB", "US"}, NumberLimit: sendlimit.Limit{N: 2, Window: time.Hour},
			PrefixVelocity: sendlimit.Limit{N: 3, Window: time.Hour}, CountryCap: 6, DailySegments: 100,
		}, smsguard.Deps{Counter: c, Ledger: l, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	a, b := newGuard(), newGuard() // two containers
	ctx := context.Background()
	steps := []struct {
		g      *smsguard.Guard
		id     string
		number string
		auth   bool
		want   smsguard.Reason
		exempt bool
	}{
		{a, "m1", "+447400120001", false, "", false},
		{b, "m1", "+447400120001", false, "", false}, // redelivered to the other container
		{b, "m2", "+447400120001", false, "", false},
		{a, "m3", "+447400120001", false, smsguard.ReasonNumberLimit, false},
		{a, "m4", "+447400120002", false, "", false},
		{b, "m5", "+447400120003", false, "", false},
		{a, "m6", "+447400120004", false, smsguard.ReasonPrefixVelocity, false},
		{b, "m7", "+447400120004", true, "", true},   // a verified sign-in code
		{a, "m8", "+447400990001", false, "", false}, // GB's 6th this hour: m1 m2 m4 m5 m7 m8
		{b, "m9", "+447400980001", false, smsguard.ReasonCountryCap, false},
		{a, "m10", "+447400970001", true, "", true}, // a verified sign-in code goes over the cap
		{b, "m11", "+14155552671", false, "", false},
	}
	for i, s := range steps {
		v, err := s.g.Check(ctx, smsguard.Message{ID: s.id, Number: s.number, Segments: 1, Authentication: s.auth, Verified: s.auth})
		if err != nil || v.Refused != s.want || v.Exempt != s.exempt {
			t.Fatalf("step %d (%s): %+v, %v; want refused=%q exempt=%v", i, s.id, v, err, s.want, s.exempt)
		}
	}

	// 16 containers at once, US (cap 6) with one spent: exactly 5 more.
	var sent atomic.Int32
	var wg sync.WaitGroup
	for i := range 16 {
		g := newGuard()
		wg.Go(func() {
			v, err := g.Check(ctx, smsguard.Message{ID: fmt.Sprint("c", i), Number: fmt.Sprintf("+1415%03d2671", 200+i), Segments: 1})
			if err != nil {
				t.Error(err)
			}
			if v.Allowed() {
				sent.Add(1)
			} else if v.Refused != smsguard.ReasonCountryCap {
				t.Errorf("refused for %s", v.Refused)
			}
		})
	}
	wg.Wait()
	if sent.Load() != 5 {
		t.Fatalf("%d of 16 concurrent US messages sent, want 5 (cap 6, one spent)", sent.Load())
	}
}
