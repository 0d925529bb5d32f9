// Package secretref reads a credential that a *_SECRET variable names
// (a Secrets Manager ARN or name) at cold start: the one place dispatch, the
// events function and `cogmail config check` read a key from Secrets Manager.
package secretref

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Reader is the part of the Secrets Manager client Read uses;
// *secretsmanager.Client satisfies it.
type Reader interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// ErrNoReader is returned when a secret is named but no client is given.
var ErrNoReader = errors.New("a Secrets Manager client is required")

// Read returns the secret's string value, trimmed. A secret without a
// string value (binary, or only spaces) is an error: the key would be empty
// and every send would fail at the provider. The error names the secret and
// what went wrong, never the value.
func Read(ctx context.Context, sm Reader, ref string) (string, error) {
	if sm == nil {
		return "", ErrNoReader
	}
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(ref)})
	if err != nil {
		return "", fmt.Errorf("read secret %s: %w", ref, err)
	}
	v := strings.TrimSpace(aws.ToString(out.SecretString))
	if v == "" {
		return "", fmt.Errorf("secret %s has no string value (store the key as plain text)", ref)
	}
	return v, nil
}
