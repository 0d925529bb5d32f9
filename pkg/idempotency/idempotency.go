// Package idempotency makes sure a message is sent once across Lambda
// containers: before sending, dispatch claims the message's dedup key with a
// DynamoDB conditional write; the record is "in progress" until the send
// succeeds and "completed" afterwards, and both expire. The record layout and
// the take-over of stale in-progress records follow AWS Lambda Powertools'
// idempotency utility.
//
// The table needs a string partition key named "id" and, to clean up, TTL
// on the number attribute "expiration" (epoch seconds).
package idempotency

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute names of a record.
const (
	AttrKey                  = "id"                     // partition key (S): the dedup key
	AttrStatus               = "status"                 // S: StatusInProgress or StatusCompleted
	AttrExpiration           = "expiration"             // N: epoch seconds; the table's TTL attribute
	AttrInProgressExpiration = "in_progress_expiration" // N: epoch milliseconds after which an in-progress claim is stale
	AttrOwner                = "owner"                  // S: the claiming container, so only it releases its claim
)

// Record status values.
const (
	StatusInProgress = "INPROGRESS"
	StatusCompleted  = "COMPLETED"
)

// DefaultTTL is how long a completed record keeps duplicates out.
const DefaultTTL = 24 * time.Hour

// Status is the outcome of a Claim.
type Status int

const (
	// Claimed: this caller holds the key and must send, then Complete or Release.
	Claimed Status = iota + 1
	// Completed: the message was already sent; skip it.
	Completed
	// InProgress: another container is sending it now; try again later.
	InProgress
)

func (s Status) String() string {
	switch s {
	case Claimed:
		return "claimed"
	case Completed:
		return "completed"
	case InProgress:
		return "in progress"
	}
	return "unknown"
}

// Client is the part of the DynamoDB client a Store needs; *dynamodb.Client
// satisfies it.
type Client interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// Options configures a Store.
type Options struct {
	Table string           // required
	TTL   time.Duration    // how long records live; default DefaultTTL
	Owner string           // identifies this container; default random
	Now   func() time.Time // default time.Now
}

// Store claims and completes dedup keys in a DynamoDB table. It is safe for
// concurrent use.
type Store struct {
	db Client
	o  Options
}

// New returns a Store. It does not call DynamoDB.
func New(db Client, o Options) (*Store, error) {
	if db == nil || o.Table == "" {
		return nil, errors.New("idempotency: a DynamoDB client and a table name are required")
	}
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.Owner == "" {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		o.Owner = hex.EncodeToString(b)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Store{db: db, o: o}, nil
}

// Error is a failed DynamoDB call; the caller retries the message later.
type Error struct {
	Op  string
	Err error
}

func (e *Error) Error() string { return "idempotency: " + e.Op + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Claim records key as in progress until the given time, unless a live
// record exists. A record that has expired, an in-progress record whose
// until has passed (its container died or ran out of time), and this
// Store's own in-progress claim (a release that failed) are taken over.
func (s *Store) Claim(ctx context.Context, key string, until time.Time) (Status, error) {
	now := s.o.Now()
	for range 2 {
		_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(s.o.Table),
			Item: map[string]types.AttributeValue{
				AttrKey:                  &types.AttributeValueMemberS{Value: key},
				AttrStatus:               &types.AttributeValueMemberS{Value: StatusInProgress},
				AttrExpiration:           number(now.Add(s.o.TTL).Unix()),
				AttrInProgressExpiration: number(until.UnixMilli()),
				AttrOwner:                &types.AttributeValueMemberS{Value: s.o.Owner},
			},
			ConditionExpression: aws.String("attribute_not_exists(#id) OR #exp < :now OR (#status = :inprogress AND (#ipexp < :nowms OR #owner = :owner))"),
			ExpressionAttributeNames: map[string]string{
				"#id": AttrKey, "#exp": AttrExpiration, "#status": AttrStatus, "#ipexp": AttrInProgressExpiration, "#owner": AttrOwner,
			},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":now":        number(now.Unix()),
				":nowms":      number(now.UnixMilli()),
				":inprogress": &types.AttributeValueMemberS{Value: StatusInProgress},
				":owner":      &types.AttributeValueMemberS{Value: s.o.Owner},
			},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		if err == nil {
			return Claimed, nil
		}
		var failed *types.ConditionalCheckFailedException
		if !errors.As(err, &failed) {
			return 0, &Error{Op: "claim", Err: err}
		}
		item := failed.Item
		if item == nil {
			// Not every DynamoDB implementation returns the old item.
			out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
				TableName:      aws.String(s.o.Table),
				Key:            map[string]types.AttributeValue{AttrKey: &types.AttributeValueMemberS{Value: key}},
				ConsistentRead: aws.Bool(true),
			})
			if err != nil {
				return 0, &Error{Op: "read", Err: err}
			}
			item = out.Item
		}
		if item == nil {
			continue // deleted in between: claim again
		}
		if st, ok := item[AttrStatus].(*types.AttributeValueMemberS); ok && st.Value == StatusCompleted {
			return Completed, nil
		}
		return InProgress, nil
	}
	return InProgress, nil
}

// Complete marks key as sent until the TTL passes.
func (s *Store) Complete(ctx context.Context, key string) error {
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.o.Table),
		Item: map[string]types.AttributeValue{
			AttrKey:        &types.AttributeValueMemberS{Value: key},
			AttrStatus:     &types.AttributeValueMemberS{Value: StatusCompleted},
			AttrExpiration: number(s.o.Now().Add(s.o.TTL).Unix()),
			AttrOwner:      &types.AttributeValueMemberS{Value: s.o.Owner},
		},
	})
	if err != nil {
		return &Error{Op: "complete", Err: err}
	}
	return nil
}

// Release deletes this container's in-progress claim on key, so that a
// later delivery of the message may claim it at once. A record that was
// completed, or taken over by another container, is left alone.
func (s *Store) Release(ctx context.Context, key string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:           aws.String(s.o.Table),
		Key:                 map[string]types.AttributeValue{AttrKey: &types.AttributeValueMemberS{Value: key}},
		ConditionExpression: aws.String("#status = :inprogress AND #owner = :owner"),
		ExpressionAttributeNames: map[string]string{
			"#status": AttrStatus, "#owner": AttrOwner,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":inprogress": &types.AttributeValueMemberS{Value: StatusInProgress},
			":owner":      &types.AttributeValueMemberS{Value: s.o.Owner},
		},
	})
	var failed *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &failed) {
		return &Error{Op: "release", Err: err}
	}
	return nil
}

func number(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
