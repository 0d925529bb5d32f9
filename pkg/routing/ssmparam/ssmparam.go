// Package ssmparam reads the routing document (pkg/routing) from SSM
// Parameter Store: the one place that links the SSM client for it.
package ssmparam

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/cogmail/cogmail/pkg/routing"
)

// API is the part of the SSM client a Reader uses; *ssm.Client satisfies it.
type API interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// Reader is a routing.ParameterReader over SSM.
type Reader struct{ Client API }

// ReadParameter reads name (a parameter name or ARN), decrypted.
func (r Reader) ReadParameter(ctx context.Context, name string) (routing.Parameter, error) {
	out, err := r.Client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		return routing.Parameter{}, err
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return routing.Parameter{}, fmt.Errorf("SSM parameter %s has no value", name)
	}
	return routing.Parameter{Value: *out.Parameter.Value, Version: out.Parameter.Version}, nil
}
