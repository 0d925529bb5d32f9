package attach

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// fakeCognito keeps one pool in memory and updates it the way Cognito
// does: every UpdateUserPool parameter that is not given is reset.
type fakeCognito struct {
	mu        sync.Mutex
	pool      *types.UserPoolType
	describes int
	updates   []*cip.UpdateUserPoolInput
	// beforeDescribe runs before each DescribeUserPool (n counts from 1),
	// so a test can change the pool behind attach's back.
	beforeDescribe func(n int, pool *types.UserPoolType)
	updateErr      error
}

func clonePool(p *types.UserPoolType) *types.UserPoolType {
	b, err := json.Marshal(p)
	if err != nil {
		panic(err)
	}
	var out types.UserPoolType
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return &out
}

func (f *fakeCognito) DescribeUserPool(_ context.Context, in *cip.DescribeUserPoolInput, _ ...func(*cip.Options)) (*cip.DescribeUserPoolOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.describes++
	if f.beforeDescribe != nil {
		f.beforeDescribe(f.describes, f.pool)
	}
	if aws.ToString(in.UserPoolId) != aws.ToString(f.pool.Id) {
		return nil, &types.ResourceNotFoundException{Message: aws.String("User pool " + aws.ToString(in.UserPoolId) + " does not exist.")}
	}
	return &cip.DescribeUserPoolOutput{UserPool: clonePool(f.pool)}, nil
}

func (f *fakeCognito) UpdateUserPool(_ context.Context, in *cip.UpdateUserPoolInput, _ ...func(*cip.Options)) (*cip.UpdateUserPoolOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.updateErr != nil {
		return nil, f.updateErr
	}
	if aws.ToString(in.UserPoolId) != aws.ToString(f.pool.Id) {
		return nil, errors.New("wrong pool")
	}
	if lc := in.LambdaConfig; lc != nil && lc.CustomEmailSender != nil && lc.KMSKeyID == nil {
		return nil, &types.InvalidParameterException{Message: aws.String("KMSKeyID must be set with a custom sender")}
	}
	f.updates = append(f.updates, in)
	// Reset semantics: every updatable field takes the input's value, set or not.
	pv, iv := reflect.ValueOf(f.pool).Elem(), reflect.ValueOf(in).Elem()
	for i := 0; i < iv.NumField(); i++ {
		name := iv.Type().Field(i).Name
		if !iv.Type().Field(i).IsExported() || name == "UserPoolId" {
			continue
		}
		target := name
		if name == "PoolName" {
			target = "Name"
		}
		pv.FieldByName(target).Set(iv.Field(i))
	}
	f.pool = clonePool(f.pool)
	return &cip.UpdateUserPoolOutput{}, nil
}
