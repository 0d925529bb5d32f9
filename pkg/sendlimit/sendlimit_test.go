package sendlimit_test

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
	"github.com/cogmail/cogmail/pkg/sendlimit"
	"github.com/cogmail/cogmail/pkg/sendlimit/sendlimittest"
)

func TestMemory(t *testing.T) {
	sendlimittest.Run(t, func(t *testing.T, now func() time.Time) sendlimit.Counter { return sendlimit.NewMemory(now) }, sendlimittest.Options{})
}

var tables atomic.Int64

func TestTable(t *testing.T) {
	sendlimittest.Run(t, func(t *testing.T, now func() time.Time) sendlimit.Counter {
		url := motoserver.Shared(t)
		db := dynamodb.NewFromConfig(motoserver.Config(), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(url) })
		name := fmt.Sprintf("sendlimit-%d-%d", time.Now().UnixNano(), tables.Add(1))
		if _, err := db.CreateTable(context.Background(), &dynamodb.CreateTableInput{
			TableName:            aws.String(name),
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(sendlimit.AttrKey), AttributeType: types.ScalarAttributeTypeS}},
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(sendlimit.AttrKey), KeyType: types.KeyTypeHash}},
			BillingMode:          types.BillingModePayPerRequest,
		}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		})
		c, err := sendlimit.NewTable(db, name, now)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}, sendlimittest.Options{NotAtomic: "moto_server does not apply conditional updates atomically under concurrency (DynamoDB does)"})
}

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want sendlimit.Limit
		ok   bool
	}{
		{"5/1h", sendlimit.Limit{N: 5, Window: time.Hour}, true},
		{" 3 / 15m ", sendlimit.Limit{N: 3, Window: 15 * time.Minute}, true},
		{"off", sendlimit.Limit{}, true},
		{"0", sendlimit.Limit{}, true},
		{"5", sendlimit.Limit{}, false},
		{"0/1h", sendlimit.Limit{}, false},
		{"5/soon", sendlimit.Limit{}, false},
		{"5/10ms", sendlimit.Limit{}, false},
		{"x/1h", sendlimit.Limit{}, false},
	}
	for _, tt := range tests {
		got, err := sendlimit.Parse(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("Parse(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	var l sendlimit.Limit
	if err := l.UnmarshalText([]byte("3/1h")); err != nil || l.String() != "3/1h0m0s" {
		t.Errorf("UnmarshalText: %v %v", l, err)
	}
}
