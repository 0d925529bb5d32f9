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

// Key prefixes of the webhook replay records.
const (
	// TokenPrefix starts the key of a used Mailgun webhook token.
	TokenPrefix = "mailgun-token#"
	// SendGridRequestPrefix starts the key of an applied SendGrid request
	// (the SHA-256 of its signed timestamp and body).
	SendGridRequestPrefix = "sendgrid-request#"
)

// Tokens is a mailevent.Tokens in the table, so a captured webhook
// replayed to another container is refused too.
type Tokens struct {
	store
	prefix string
}

// NewTokens returns the store of used Mailgun tokens in table; now
// defaults to time.Now.
func NewTokens(db Client, table string, now func() time.Time) (*Tokens, error) {
	return newTokens(db, table, now, TokenPrefix)
}

// NewSendGridRequests returns the store of applied SendGrid requests in
// table; now defaults to time.Now.
func NewSendGridRequests(db Client, table string, now func() time.Time) (*Tokens, error) {
	return newTokens(db, table, now, SendGridRequestPrefix)
}

func newTokens(db Client, table string, now func() time.Time, prefix string) (*Tokens, error) {
	st, err := newStore(db, table, now)
	if err != nil {
		return nil, err
	}
	return &Tokens{store: st, prefix: prefix}, nil
}

// FirstUse implements mailevent.Tokens with a conditional put: the token is
// new unless a record of it exists that has not expired (TTL deletes
// lazily, so the expiry is checked too).
func (t *Tokens) FirstUse(ctx context.Context, token string, until time.Time) (bool, error) {
	_, err := t.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(t.table),
		Item: map[string]types.AttributeValue{
			AttrKey:        &types.AttributeValueMemberS{Value: t.prefix + token},
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

// Forget implements mailevent.Tokens: the record goes, so the webhook can
// be applied once more.
func (t *Tokens) Forget(ctx context.Context, token string) error {
	_, err := t.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(t.table),
		Key:       map[string]types.AttributeValue{AttrKey: &types.AttributeValueMemberS{Value: t.prefix + token}},
	})
	if err != nil {
		return fmt.Errorf("reputationtable: forget token: %w", err)
	}
	return nil
}
