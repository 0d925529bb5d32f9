package idempotency_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cogmail/cogmail/internal/testkit/motoserver"
	"github.com/cogmail/cogmail/pkg/idempotency"
)

// newTable creates a fresh table in the shared moto_server, laid out as
// the package documents (partition key "id", TTL on "expiration").
func newTable(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	return newTableAt(t, motoserver.Shared(t))
}

// newSerialTable is newTable in the moto that applies one request at a
// time: moto_server's threads can let two conditional puts to one item
// both pass, which DynamoDB never does (see motoserver.SharedSerial).
func newSerialTable(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	return newTableAt(t, motoserver.SharedSerial(t))
}

func newTableAt(t *testing.T, url string) (*dynamodb.Client, string) {
	t.Helper()
	db := dynamodb.NewFromConfig(motoserver.Config(), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(url) })
	name := fmt.Sprintf("idem-%d", time.Now().UnixNano())
	ctx := context.Background()
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(idempotency.AttrKey), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(idempotency.AttrKey), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	if _, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(idempotency.AttrExpiration), Enabled: aws.Bool(true)},
	}); err != nil {
		t.Fatalf("UpdateTimeToLive: %v", err)
	}
	t.Cleanup(func() {
		_, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	return db, name
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

func TestConcurrentClaimsOneWins(t *testing.T) {
	db, table := newSerialTable(t)
	ctx := context.Background()
	var wins, inProgress atomic.Int32
	var wg sync.WaitGroup
	for i := range 16 {
		s, err := idempotency.New(db, idempotency.Options{Table: table, Owner: fmt.Sprint("container-", i)})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			st, err := s.Claim(ctx, "same-key", time.Now().Add(time.Minute))
			if err != nil {
				t.Errorf("Claim: %v", err)
				return
			}
			switch st {
			case idempotency.Claimed:
				wins.Add(1)
			case idempotency.InProgress:
				inProgress.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || inProgress.Load() != 15 {
		t.Fatalf("wins=%d inProgress=%d, want 1 and 15", wins.Load(), inProgress.Load())
	}
}

// step is one call by one container (owner) at a clock offset.
type step struct {
	owner  string
	op     string        // claim, complete, release, advance
	until  time.Duration // claim: in-progress validity from now
	by     time.Duration // advance
	want   idempotency.Status
	wantOK bool // complete/release: no error expected
}

func TestLifecycle(t *testing.T) {
	db, table := newTable(t)
	const ttl = time.Hour
	tests := []struct {
		name  string
		steps []step
	}{
		{"a second claim waits while the first is in progress", []step{
			{owner: "a", op: "claim", until: time.Minute, want: idempotency.Claimed},
			{owner: "b", op: "claim", until: time.Minute, want: idempotency.InProgress},
		}},
		{"a completed key is a duplicate", []step{
			{owner: "a", op: "claim", until: time.Minute, want: idempotency.Claimed},
			{owner: "a", op: "complete", wantOK: true},
			{owner: "b", op: "claim", until: time.Minute, want: idempotency.Completed},
			{owner: "a", op: "claim", until: time.Minute, want: idempotency.Completed},
		}},
		{"a released claim can be claimed again at once", []step{
			{owner: "a", op: "claim", until: time.Minute, want: idempotency.Claimed},
			{owner: "a", op: "release", wantOK: true},
			{owner: "b", op: "claim", until: time.Minute, want: idempotency.Claimed},
		}},
		{"a stale in-progress claim is taken over", []step{
			{owner: "a", op: "claim", until: time.Second, want: idempotency.Claimed},
			{op: "advance", by: 2 * time.Second},
			{owner: "b", op: "claim", until: time.Minute, want: idempotency.Claimed},
			{owner: "c", op: "claim", until: time.Minute, want: idempotency.InProgress},
		}},
		{"a completed record past its TTL no longer counts", []step{
			{owner: "a", op: "claim", until: time.Minute, want: idempotency.Claimed},
			{owner: "a", op: "complete", wantOK: true},
			{op: "advance", by: ttl + time.Second},
			{owner: "b", op: "claim", until: time.Minute, want: idempotency.Claimed},
		}},
		{"an owner takes back its own claim after a failed release", []step{
			{owner: "a", op: "claim", until: time.Minute, want: idempotency.Claimed},
			{owner: "a", op: "claim", until: time.Minute, want: idempotency.Claimed},
		}},
		{"another owner's release leaves the claim", []step{
			{owner: "a", op: "claim", until: time.Minute, want: idempotency.Claimed},
			{owner: "b", op: "release", wantOK: true},
			{owner: "c", op: "claim", until: time.Minute, want: idempotency.InProgress},
		}},
		{"a release after completion leaves the record", []step{
			{owner: "a", op: "claim", until: time.Minute, want: idempotency.Claimed},
			{owner: "a", op: "complete", wantOK: true},
			{owner: "a", op: "release", wantOK: true},
			{owner: "b", op: "claim", until: time.Minute, want: idempotency.Completed},
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			clk := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
			stores := map[string]*idempotency.Store{}
			store := func(owner string) *idempotency.Store {
				if s, ok := stores[owner]; ok {
					return s
				}
				s, err := idempotency.New(db, idempotency.Options{Table: table, TTL: ttl, Owner: owner, Now: clk.Now})
				if err != nil {
					t.Fatal(err)
				}
				stores[owner] = s
				return s
			}
			key := fmt.Sprintf("key-%d", i)
			for n, s := range tt.steps {
				switch s.op {
				case "advance":
					clk.Add(s.by)
				case "claim":
					got, err := store(s.owner).Claim(ctx, key, clk.Now().Add(s.until))
					if err != nil || got != s.want {
						t.Fatalf("step %d: %s claims: %v, %v; want %v", n, s.owner, got, err, s.want)
					}
				case "complete":
					if err := store(s.owner).Complete(ctx, key); (err == nil) != s.wantOK {
						t.Fatalf("step %d: Complete: %v", n, err)
					}
				case "release":
					if err := store(s.owner).Release(ctx, key); (err == nil) != s.wantOK {
						t.Fatalf("step %d: Release: %v", n, err)
					}
				}
			}
		})
	}
}

func TestRecordLayout(t *testing.T) {
	db, table := newTable(t)
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s, err := idempotency.New(db, idempotency.Options{Table: table, TTL: 24 * time.Hour, Owner: "me", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	until := now.Add(20 * time.Second)
	if st, err := s.Claim(ctx, "k", until); err != nil || st != idempotency.Claimed {
		t.Fatalf("Claim = %v, %v", st, err)
	}
	get := func() map[string]types.AttributeValue {
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table),
			Key: map[string]types.AttributeValue{idempotency.AttrKey: &types.AttributeValueMemberS{Value: "k"}}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Item
	}
	tests := []struct {
		name string
		item func() map[string]types.AttributeValue
		attr string
		want string
	}{
		{"in progress: status", get, idempotency.AttrStatus, idempotency.StatusInProgress},
		{"in progress: TTL in epoch seconds", get, idempotency.AttrExpiration, fmt.Sprint(now.Add(24 * time.Hour).Unix())},
		{"in progress: stale after until, in epoch ms", get, idempotency.AttrInProgressExpiration, fmt.Sprint(until.UnixMilli())},
		{"in progress: owner", get, idempotency.AttrOwner, "me"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			switch v := tt.item()[tt.attr].(type) {
			case *types.AttributeValueMemberS:
				got = v.Value
			case *types.AttributeValueMemberN:
				got = v.Value
			}
			if got != tt.want {
				t.Fatalf("%s = %q, want %q", tt.attr, got, tt.want)
			}
		})
	}
	if err := s.Complete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	item := get()
	if st := item[idempotency.AttrStatus].(*types.AttributeValueMemberS).Value; st != idempotency.StatusCompleted {
		t.Fatalf("after Complete, status = %q", st)
	}
	if _, ok := item[idempotency.AttrInProgressExpiration]; ok {
		t.Fatal("a completed record keeps in_progress_expiration")
	}
}

func TestErrors(t *testing.T) {
	url := motoserver.Shared(t)
	db := dynamodb.NewFromConfig(motoserver.Config(), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(url) })
	s, err := idempotency.New(db, idempotency.Options{Table: "no-such-table"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
	}{
		{"claim", func() error { _, err := s.Claim(ctx, "k", time.Now().Add(time.Minute)); return err }},
		{"complete", func() error { return s.Complete(ctx, "k") }},
		{"release", func() error { return s.Release(ctx, "k") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ie *idempotency.Error
			if err := tt.call(); !errors.As(err, &ie) || ie.Op != tt.name {
				t.Fatalf("error = %v, want an *idempotency.Error for %s", err, tt.name)
			}
		})
	}
}

func TestNewRequiresClientAndTable(t *testing.T) {
	tests := []struct {
		name  string
		db    idempotency.Client
		table string
	}{
		{"no client", nil, "t"},
		{"no table", &dynamodb.Client{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := idempotency.New(tt.db, idempotency.Options{Table: tt.table}); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
}
