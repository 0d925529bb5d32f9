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
)

// TokenPrefix starts the key of a used Mailgun webhook token.
const TokenPrefix = "mailgun-token#"

// Tokens is a mailevent.Tokens in the table, so a captured Mailgun webhook
// replayed to another container is refused too.
type Tokens struct{ store }

// NewTokens returns the token store in table; now defaults to time.Now.
func NewTokens(db Client, table string, now func() time.Time) (*Tokens, error) {
	st, err := newStore(db, table, now)
	if err != nil {
		return nil, err
	}
	return &Tokens{st}, nil
}

// FirstUse implements mailevent.Tokens with a conditional put: the token is
// new unless a record of it exists that has not expired (TTL deletes
// lazily, so the expiry is checked too).
func (t *Tokens) FirstUse(ctx context.Context, token string, until time.Time) (bool, error) {
	_, err := t.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(t.table),
		Item: map[string]types.AttributeValue{
			AttrKey:        &types.AttributeValueMemberS{Value: TokenPrefix + token},
			AttrExpiration: &types.AttributeValueMemberN{Value: strconv.FormatInt(until.Add(time.Second-1).Unix(), 10)},
		},
		ConditionExpression:       aws.String("attribute_not_exists(#id) OR #exp <= :now"),
		ExpressionAttributeNames:  map[string]string{"#id": AttrKey, "#exp": AttrExpiration},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": &types.AttributeValueMemberN{Value: strconv.FormatInt(t.now().Unix(), 10)}},
	})
	if err == nil {
		return true, nil
	}
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return false, nil
	}
	return false, fmt.Errorf("reputationtable: token: %w", err)
}
