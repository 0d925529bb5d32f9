// Package reputationtable keeps cogmail's reputation state in one DynamoDB
// table: the suppression list (a suppression.Store), the per-address send
// counters (a sendlimit.Counter, also the SMS guard's per-number and
// per-block counts), the SMS guard's ledger (an smsguard.Ledger: messages
// per country per hour, segments per day) and the webhook replay records, Mailgun
// tokens and SendGrid requests already applied (mailevent.Tokens). The table has one string partition key, AttrKey,
// and TTL on the number attribute AttrExpiration; each kind of item has its
// own key prefix. infra/template.yaml creates it.
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

	"github.com/cogmail/cogmail/pkg/suppression"
)

// The table's key and TTL attributes.
const (
	AttrKey        = "id"         // S, partition key
	AttrExpiration = "expiration" // N, epoch seconds; the table's TTL attribute; absent: never
)

// Attribute names of a suppression entry, whose key is
// SuppressionPrefix + address + "#" + reason.
const (
	AttrAddress    = "address"  // S
	AttrReason     = "reason"   // S
	AttrProvider   = "provider" // S
	AttrProviderID = "providerMessageId"
	AttrAt         = "at" // S, RFC 3339

	SuppressionPrefix = "suppression#"
)

// Client is the part of the DynamoDB client the package uses;
// *dynamodb.Client satisfies it.
type Client interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// store is what each of the table's stores holds: the client, the table
// and the clock.
type store struct {
	db    Client
	table string
	now   func() time.Time
}

func newStore(db Client, table string, now func() time.Time) (store, error) {
	if db == nil || table == "" {
		return store{}, errors.New("reputationtable: a DynamoDB client and a table name are required")
	}
	if now == nil {
		now = time.Now
	}
	return store{db: db, table: table, now: now}, nil
}

// Suppressions is a suppression.Store in the table. It is safe for
// concurrent use.
type Suppressions struct{ store }

// NewSuppressions returns the suppression list in table; now defaults to
// time.Now. It does not call DynamoDB.
func NewSuppressions(db Client, table string, now func() time.Time) (*Suppressions, error) {
	st, err := newStore(db, table, now)
	if err != nil {
		return nil, err
	}
	return &Suppressions{st}, nil
}

func key(address string, r suppression.Reason) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrKey: &types.AttributeValueMemberS{Value: SuppressionPrefix + address + "#" + string(r)}}
}

// Add implements suppression.Store.
func (t *Suppressions) Add(ctx context.Context, e suppression.Entry) error {
	e, err := suppression.Check(e)
	if err != nil {
		return err
	}
	item := key(e.Address, e.Reason)
	item[AttrAddress] = &types.AttributeValueMemberS{Value: e.Address}
	item[AttrReason] = &types.AttributeValueMemberS{Value: string(e.Reason)}
	item[AttrAt] = &types.AttributeValueMemberS{Value: e.At.Format(time.RFC3339Nano)}
	if e.Provider != "" {
		item[AttrProvider] = &types.AttributeValueMemberS{Value: e.Provider}
	}
	if e.ProviderMessageID != "" {
		item[AttrProviderID] = &types.AttributeValueMemberS{Value: e.ProviderMessageID}
	}
	if !e.ExpiresAt.IsZero() {
		// TTL has whole seconds; round up so an entry never ends early.
		item[AttrExpiration] = &types.AttributeValueMemberN{Value: strconv.FormatInt(e.ExpiresAt.Add(time.Second-1).Unix(), 10)}
	}
	if _, err := t.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(t.table), Item: item}); err != nil {
		return fmt.Errorf("reputationtable: add suppression: %w", err)
	}
	return nil
}

// Lookup implements suppression.Store: one BatchGetItem for every reason's key.
func (t *Suppressions) Lookup(ctx context.Context, address string) ([]suppression.Entry, error) {
	a := suppression.Canonical(address)
	if a == "" {
		return nil, errors.New("suppression: not an address")
	}
	keys := make([]map[string]types.AttributeValue, 0, len(suppression.Reasons))
	for _, r := range suppression.Reasons {
		keys = append(keys, key(a, r))
	}
	req := map[string]types.KeysAndAttributes{t.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
	var out []suppression.Entry
	now := t.now()
	for range 5 {
		res, err := t.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return nil, fmt.Errorf("reputationtable: lookup suppression: %w", err)
		}
		for _, item := range res.Responses[t.table] {
			if e, ok := decode(item); ok && e.Live(now) {
				out = append(out, e)
			}
		}
		if len(res.UnprocessedKeys) == 0 {
			suppression.Sort(out)
			return out, nil
		}
		req = res.UnprocessedKeys
	}
	return nil, errors.New("reputationtable: lookup suppression: keys left unprocessed")
}

// Remove implements suppression.Store.
func (t *Suppressions) Remove(ctx context.Context, address string) (int, error) {
	a := suppression.Canonical(address)
	if a == "" {
		return 0, errors.New("suppression: not an address")
	}
	n := 0
	for _, r := range suppression.Reasons {
		out, err := t.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(t.table), Key: key(a, r), ReturnValues: types.ReturnValueAllOld})
		if err != nil {
			return n, fmt.Errorf("reputationtable: remove suppression: %w", err)
		}
		if len(out.Attributes) > 0 {
			n++
		}
	}
	return n, nil
}

// List implements suppression.Store: a Scan of the entries (the table is small: one
// item per suppressed address and reason).
func (t *Suppressions) List(ctx context.Context) ([]suppression.Entry, error) {
	var out []suppression.Entry
	now := t.now()
	in := &dynamodb.ScanInput{
		TableName:                 aws.String(t.table),
		FilterExpression:          aws.String("begins_with(#id, :prefix)"),
		ExpressionAttributeNames:  map[string]string{"#id": AttrKey},
		ExpressionAttributeValues: map[string]types.AttributeValue{":prefix": &types.AttributeValueMemberS{Value: SuppressionPrefix}},
	}
	for {
		res, err := t.db.Scan(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("reputationtable: list suppressions: %w", err)
		}
		for _, item := range res.Items {
			if e, ok := decode(item); ok && e.Live(now) {
				out = append(out, e)
			}
		}
		if len(res.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
	suppression.Sort(out)
	return out, nil
}

func decode(item map[string]types.AttributeValue) (suppression.Entry, bool) {
	s := func(k string) string {
		if v, ok := item[k].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	e := suppression.Entry{Address: s(AttrAddress), Reason: suppression.Reason(s(AttrReason)), Provider: s(AttrProvider), ProviderMessageID: s(AttrProviderID)}
	at, err := time.Parse(time.RFC3339Nano, s(AttrAt))
	if err != nil || e.Address == "" {
		return suppression.Entry{}, false
	}
	e.At = at
	if v, ok := item[AttrExpiration].(*types.AttributeValueMemberN); ok {
		if n, err := strconv.ParseInt(v.Value, 10, 64); err == nil {
			e.ExpiresAt = time.Unix(n, 0).UTC()
		}
	}
	return e, true
}
