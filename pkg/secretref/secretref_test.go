package secretref_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/cogmail/cogmail/pkg/secretref"
)

// store is an in-memory Secrets Manager: name → SecretString (nil: binary).
type store map[string]*string

func (s store) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	v, ok := s[aws.ToString(in.SecretId)]
	if !ok {
		return nil, errors.New("ResourceNotFoundException: no such secret")
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: v}, nil
}

func TestRead(t *testing.T) {
	t.Parallel()
	sm := store{"key": aws.String(" k-123\n"), "blank": aws.String("  "), "binary": nil}
	tests := []struct {
		name    string
		sm      secretref.Reader
		ref     string
		want    string
		wantErr string
	}{
		{"trimmed value", sm, "key", "k-123", ""},
		{"only spaces", sm, "blank", "", "secret blank has no string value"},
		{"binary secret", sm, "binary", "", "secret binary has no string value"},
		{"missing", sm, "gone", "", "read secret gone: ResourceNotFoundException"},
		{"no client", nil, "key", "", "a Secrets Manager client is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := secretref.Read(context.Background(), tt.sm, tt.ref)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Fatalf("Read = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Read error = %v, want one containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "k-123") {
				t.Fatalf("error quotes a value: %v", err)
			}
		})
	}
}
