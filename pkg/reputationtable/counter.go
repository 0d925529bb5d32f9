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

	"github.com/cogmail/cogmail/pkg/sendlimit"
)

// A counter's key is CounterPrefix + address + "#" + the window's start
// in epoch seconds + "/" + its length in seconds; AttrIDs holds the message
// ids counted, and AttrExpiration is the window's end plus a minute.
const (
	AttrIDs       = "ids" // SS
	CounterPrefix = "sendlimit#"
)

// Counter is a sendlimit.Counter in the table: one conditional UpdateItem
// per Take, atomic across containers.
type Counter struct{ store }

// NewCounter returns the send counters in table; now defaults to
// time.Now. It does not call DynamoDB.
func NewCounter(db Client, table string, now func() time.Time) (*Counter, error) {
	st, err := newStore(db, table, now)
	if err != nil {
		return nil, err
	}
	return &Counter{st}, nil
}

// Take implements sendlimit.Counter. The id joins the window's set only while the set
// has fewer than l.N ids or already holds it; the condition and the add are
// one atomic update.
func (t *Counter) Take(ctx context.Context, address, id string, l sendlimit.Limit) (bool, error) {
	if address == "" || id == "" {
		return false, errors.New("reputationtable: an address and a message id are required")
	}
	if l.Off() {
		return true, nil
	}
	start := t.now().Truncate(l.Window)
	k := CounterPrefix + address + "#" + strconv.FormatInt(start.Unix(), 10) + "/" + strconv.FormatInt(int64(l.Window/time.Second), 10)
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
	return false, fmt.Errorf("reputationtable: take: %w", err)
}
