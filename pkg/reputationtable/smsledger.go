package reputationtable

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cogmail/cogmail/pkg/smsguard"
)

// The SMS guard's ledger items (smsguard.Ledger):
//
//	SMSSpentPrefix + message id                          a message spent; expires smsguard.SpentFor after
//	SMSCountryPrefix + CC + "#" + hour start (epoch s)   AttrCount: messages to CC that hour; expires an hour and a minute after it starts
//	SMSSegmentsPrefix + UTC day start (epoch s)          AttrCount: segments that day; expires a day and a minute after
//
// The per-number limit and the prefix velocity are Counter items
// (CounterPrefix), keyed by the E.164 number and by smsguard.BlockKey.
const (
	AttrCount = "n" // N

	SMSSpentPrefix    = "sms-spent#"
	SMSCountryPrefix  = "sms-country#"
	SMSSegmentsPrefix = "sms-segments#"
)

// LedgerClient is what Ledger needs of DynamoDB; *dynamodb.Client
// satisfies it.
type LedgerClient interface {
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Ledger is an smsguard.Ledger in the table: each Spend is one
// TransactWriteItems of the message's record and its two counters, so
// that it counts all or nothing, atomically across containers.
type Ledger struct {
	db    LedgerClient
	table string
}

// NewLedger returns the SMS ledger in table. It does not call DynamoDB.
func NewLedger(db LedgerClient, table string) (*Ledger, error) {
	if db == nil || table == "" {
		return nil, errors.New("reputationtable: a DynamoDB client and a table name are required")
	}
	return &Ledger{db: db, table: table}, nil
}

// Spend implements smsguard.Ledger. An exempt message (OverCap) is first
// spent under the cap like any other; only when the cap refuses it is it
// spent again past the cap, so that the outcome says which happened.
func (l *Ledger) Spend(ctx context.Context, s smsguard.Spend) (smsguard.Outcome, error) {
	if s.ID == "" || s.Country == "" || s.Segments < 1 {
		return 0, errors.New("reputationtable: a spend needs an id, a country and at least one segment")
	}
	if s.Budget > 0 && s.Segments > s.Budget {
		return smsguard.OverBudget, nil // more than the whole day: no write can pass
	}
	out, err := l.spend(ctx, s, true)
	if out == smsguard.OverCountryCap && s.OverCap {
		if out, err = l.spend(ctx, s, false); out == smsguard.Spent {
			out = smsguard.SpentOverCap
		}
	}
	return out, err
}

func (l *Ledger) spend(ctx context.Context, s smsguard.Spend, capped bool) (smsguard.Outcome, error) {
	hour, day := smsguard.Windows(s.At)
	epoch := func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
	num := func(n int64) types.AttributeValue {
		return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
	}
	key := func(k string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{AttrKey: &types.AttributeValueMemberS{Value: k}}
	}
	names := map[string]string{"#n": AttrCount, "#exp": AttrExpiration}
	items := []types.TransactWriteItem{{Put: &types.Put{
		TableName: aws.String(l.table),
		Item: map[string]types.AttributeValue{
			AttrKey:        &types.AttributeValueMemberS{Value: SMSSpentPrefix + s.ID},
			AttrExpiration: num(s.At.Add(smsguard.SpentFor).Unix()),
		},
		// TTL deletes lazily: an expired record is spent no more.
		ConditionExpression:       aws.String("attribute_not_exists(#id) OR #exp <= :now"),
		ExpressionAttributeNames:  map[string]string{"#id": AttrKey, "#exp": AttrExpiration},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(s.At.Unix())},
	}}}
	budget, country := -1, -1 // their indexes in items
	if s.Budget > 0 {
		budget = len(items)
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName:                aws.String(l.table),
			Key:                      key(SMSSegmentsPrefix + epoch(day)),
			UpdateExpression:         aws.String("ADD #n :seg SET #exp = :exp"),
			ConditionExpression:      aws.String("attribute_not_exists(#n) OR #n <= :room"),
			ExpressionAttributeNames: names,
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":seg": num(int64(s.Segments)), ":room": num(int64(s.Budget - s.Segments)),
				":exp": num(day.Add(24*time.Hour + time.Minute).Unix()),
			},
		}})
	}
	if s.CountryCap > 0 {
		country = len(items)
		u := &types.Update{
			TableName:                aws.String(l.table),
			Key:                      key(SMSCountryPrefix + s.Country + "#" + epoch(hour)),
			UpdateExpression:         aws.String("ADD #n :one SET #exp = :exp"),
			ExpressionAttributeNames: names,
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":one": num(1), ":exp": num(hour.Add(time.Hour + time.Minute).Unix()),
			},
		}
		if capped {
			u.ConditionExpression = aws.String("attribute_not_exists(#n) OR #n < :cap")
			u.ExpressionAttributeValues[":cap"] = num(int64(s.CountryCap))
		}
		items = append(items, types.TransactWriteItem{Update: u})
	}
	_, err := l.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if err == nil {
		return smsguard.Spent, nil
	}
	var canceled *types.TransactionCanceledException
	if !errors.As(err, &canceled) {
		return 0, fmt.Errorf("reputationtable: spend: %w", err)
	}
	failed := func(i int) bool {
		return i >= 0 && i < len(canceled.CancellationReasons) && aws.ToString(canceled.CancellationReasons[i].Code) == "ConditionalCheckFailed"
	}
	switch {
	case failed(0):
		return smsguard.AlreadySpent, nil
	case failed(budget):
		return smsguard.OverBudget, nil
	case failed(country):
		return smsguard.OverCountryCap, nil
	}
	// Cancelled for another reason (a conflicting transaction on the same
	// item, throttling): nothing was written, and the caller may try again.
	return 0, fmt.Errorf("reputationtable: spend: %w", err)
}
