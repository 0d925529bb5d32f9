package suppression

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute names of an entry in the table. The table (shared with
// pkg/sendlimit) has the string partition key AttrKey and TTL on
// AttrExpiration; an entry's key is KeyPrefix + address + "#" + reason.
const (
	AttrKey        = "id"         // S, partition key
	AttrExpiration = "expiration" // N, epoch seconds; the table's TTL attribute; absent: never
	AttrAddress    = "address"    // S
	AttrReason     = "reason"     // S
	AttrProvider   = "provider"   // S
	AttrProviderID = "providerMessageId"
	AttrAt         = "at" // S, RFC 3339

	KeyPrefix = "suppression#"
)

// Client is the part of the DynamoDB client a Table needs;
// *dynamodb.Client satisfies it.
type Client interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// Table is a Store in a DynamoDB table. It is safe for concurrent use.
type Table struct {
	db    Client
	table string
	now   func() time.Time
}

// NewTable returns a Table; now defaults to time.Now. It does not call
// DynamoDB.
func NewTable(db Client, table string, now func() time.Time) (*Table, error) {
	if db == nil || table == "" {
		return nil, errors.New("suppression: a DynamoDB client and a table name are required")
	}
	if now == nil {
		now = time.Now
	}
	return &Table{db: db, table: table, now: now}, nil
}

func key(address string, r Reason) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrKey: &types.AttributeValueMemberS{Value: KeyPrefix + address + "#" + string(r)}}
}

// Add implements Store.
func (t *Table) Add(ctx context.Context, e Entry) error {
	e, err := check(e)
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
		return fmt.Errorf("suppression: add: %w", err)
	}
	return nil
}

// Lookup implements Store: one BatchGetItem for every reason's key.
func (t *Table) Lookup(ctx context.Context, address string) ([]Entry, error) {
	a := Canonical(address)
	if a == "" {
		return nil, errors.New("suppression: not an address")
	}
	keys := make([]map[string]types.AttributeValue, 0, len(Reasons))
	for _, r := range Reasons {
		keys = append(keys, key(a, r))
	}
	req := map[string]types.KeysAndAttributes{t.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
	var out []Entry
	now := t.now()
	for range 5 {
		res, err := t.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return nil, fmt.Errorf("suppression: lookup: %w", err)
		}
		for _, item := range res.Responses[t.table] {
			if e, ok := decode(item); ok && e.Live(now) {
				out = append(out, e)
			}
		}
		if len(res.UnprocessedKeys) == 0 {
			sortEntries(out)
			return out, nil
		}
		req = res.UnprocessedKeys
	}
	return nil, errors.New("suppression: lookup: keys left unprocessed")
}

// Remove implements Store.
func (t *Table) Remove(ctx context.Context, address string) (int, error) {
	a := Canonical(address)
	if a == "" {
		return 0, errors.New("suppression: not an address")
	}
	n := 0
	for _, r := range Reasons {
		out, err := t.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(t.table), Key: key(a, r), ReturnValues: types.ReturnValueAllOld})
		if err != nil {
			return n, fmt.Errorf("suppression: remove: %w", err)
		}
		if len(out.Attributes) > 0 {
			n++
		}
	}
	return n, nil
}

// List implements Store: a Scan of the entries (the table is small: one
// item per suppressed address and reason).
func (t *Table) List(ctx context.Context) ([]Entry, error) {
	var out []Entry
	now := t.now()
	in := &dynamodb.ScanInput{
		TableName:                 aws.String(t.table),
		FilterExpression:          aws.String("begins_with(#id, :prefix)"),
		ExpressionAttributeNames:  map[string]string{"#id": AttrKey},
		ExpressionAttributeValues: map[string]types.AttributeValue{":prefix": &types.AttributeValueMemberS{Value: KeyPrefix}},
	}
	for {
		res, err := t.db.Scan(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("suppression: list: %w", err)
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
	sortEntries(out)
	return out, nil
}

func decode(item map[string]types.AttributeValue) (Entry, bool) {
	s := func(k string) string {
		if v, ok := item[k].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	e := Entry{Address: s(AttrAddress), Reason: Reason(s(AttrReason)), Provider: s(AttrProvider), ProviderMessageID: s(AttrProviderID)}
	at, err := time.Parse(time.RFC3339Nano, s(AttrAt))
	if err != nil || e.Address == "" {
		return Entry{}, false
	}
	e.At = at
	if v, ok := item[AttrExpiration].(*types.AttributeValueMemberN); ok {
		if n, err := strconv.ParseInt(v.Value, 10, 64); err == nil {
			e.ExpiresAt = time.Unix(n, 0).UTC()
		}
	}
	return e, true
}
