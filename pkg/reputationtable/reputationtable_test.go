package reputationtable_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cogmail/cogmail/internal/testkit/motoserver"
	"github.com/cogmail/cogmail/internal/testkit/sendlimittest"
	"github.com/cogmail/cogmail/internal/testkit/suppressiontest"
	"github.com/cogmail/cogmail/pkg/reputationtable"
	"github.com/cogmail/cogmail/pkg/sendlimit"
	"github.com/cogmail/cogmail/pkg/suppression"
)

var tables atomic.Int64

// newTable creates a table laid out as the package documents (key "id",
// TTL on "expiration"), in the shared moto_server.
func newTable(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	url := motoserver.Shared(t)
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
		db, name := newTable(t)
		c, err := reputationtable.NewCounter(db, name, now)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}, sendlimittest.Options{NotAtomic: "moto_server does not apply conditional updates atomically under concurrency (DynamoDB does)"})
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
