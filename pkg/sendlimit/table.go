package sendlimit

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

// Attribute names of a counter in the table it shares with
// pkg/suppression: the string partition key AttrKey (KeyPrefix + address +
// "#" + window start in epoch seconds + "/" + window length in seconds),
// the set of message ids counted, and the TTL attribute.
const (
	AttrKey        = "id"
	AttrIDs        = "ids"        // SS: the message ids taken in this window
	AttrExpiration = "expiration" // N: epoch seconds, the window's end plus a minute

	KeyPrefix = "sendlimit#"
)

// Client is the part of the DynamoDB client a Table needs;
// *dynamodb.Client satisfies it.
type Client interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// Table is a Counter in DynamoDB: one conditional UpdateItem per Take,
// atomic across containers.
type Table struct {
	db    Client
	table string
	now   func() time.Time
}

// NewTable returns a Table; now defaults to time.Now. It does not call
// DynamoDB.
func NewTable(db Client, table string, now func() time.Time) (*Table, error) {
	if db == nil || table == "" {
		return nil, errors.New("sendlimit: a DynamoDB client and a table name are required")
	}
	if now == nil {
		now = time.Now
	}
	return &Table{db: db, table: table, now: now}, nil
}

// Take implements Counter. The id joins the window's set only while the set
// has fewer than l.N ids or already holds it; the condition and the add are
// one atomic update.
func (t *Table) Take(ctx context.Context, address, id string, l Limit) (bool, error) {
	if address == "" || id == "" {
		return false, errEmpty
	}
	if l.Off() {
		return true, nil
	}
	start := window(t.now(), l)
	k := KeyPrefix + address + "#" + strconv.FormatInt(start.Unix(), 10) + "/" + strconv.FormatInt(int64(l.Window/time.Second), 10)
	_, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(t.table),
		Key:                      map[string]types.AttributeValue{AttrKey: &types.AttributeValueMemberS{Value: k}},
		UpdateExpression:         aws.String("ADD #ids :idset SET #exp = :exp"),
		ConditionExpression:      aws.String("attribute_not_exists(#ids) OR contains(#ids, :id) OR size(#ids) < :n"),
		ExpressionAttributeNames: map[string]string{"#ids": AttrIDs, "#exp": AttrExpiration},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":idset": &types.AttributeValueMemberSS{Value: []string{id}},
			":id":    &types.AttributeValueMemberS{Value: id},
			":n":     &types.AttributeValueMemberN{Value: strconv.Itoa(l.N)},
			":exp":   &types.AttributeValueMemberN{Value: strconv.FormatInt(start.Add(l.Window+time.Minute).Unix(), 10)},
		},
	})
	if err == nil {
		return true, nil
	}
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return false, nil
	}
	return false, fmt.Errorf("sendlimit: take: %w", err)
}
