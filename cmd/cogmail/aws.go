package main

// The AWS configuration every command shares: read through the injected
// getenv, so commands run in-process by tests see the tests' environment.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/cogmail/cogmail/pkg/awsclient"
)

// arnRegion returns the region of an ARN ("" for an alias name or key id):
// a KMS key can only be used in its own region.
func arnRegion(s string) string {
	parts := strings.SplitN(s, ":", 5)
	if len(parts) == 5 && parts[0] == "arn" {
		return parts[3]
	}
	return ""
}

// awsConfigFromEnv loads the standard AWS configuration (shared config files,
// profiles, credential chain) with the settings a user sets in the
// environment read through getenv, so a command run in-process by a test sees
// the test's environment. A non-empty region wins over the environment's.
// It checks that credentials can be had. Per-service endpoints are set on each
// client (serviceEndpoint).
func awsConfigFromEnv(ctx context.Context, getenv func(string) string, region string) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{
		// Bounded calls: the Encryption SDK calls KMS with context.Background.
		awsclient.WithTimeout(30 * time.Second),
	}
	if region == "" {
		region = firstNonEmpty(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"))
	}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if p := getenv("AWS_PROFILE"); p != "" {
		opts = append(opts, config.WithSharedConfigProfile(p))
	}
	if f := getenv("AWS_CONFIG_FILE"); f != "" {
		opts = append(opts, config.WithSharedConfigFiles([]string{f}))
	}
	if f := getenv("AWS_SHARED_CREDENTIALS_FILE"); f != "" {
		opts = append(opts, config.WithSharedCredentialsFiles([]string{f}))
	}
	if id, key := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"); id != "" && key != "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(id, key, getenv("AWS_SESSION_TOKEN"))))
	}
	cfg, err := awsclient.Load(ctx, opts...)
	if err != nil {
		return aws.Config{}, err
	}
	if cfg.Region == "" {
		return aws.Config{}, errors.New("no AWS region: set AWS_REGION or a profile's region (or pass --region where the command has it)")
	}
	// Fail here, clearly, rather than as a failed request later. The
	// provider caches what it retrieves, so the clients do not ask again.
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return aws.Config{}, fmt.Errorf("no usable AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, SSO, or a role): %w", err)
	}
	return cfg, nil
}

// serviceEndpoint is the endpoint override for a service, as the SDK reads
// it: AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL.
func serviceEndpoint(getenv func(string) string, service string) string {
	return firstNonEmpty(getenv("AWS_ENDPOINT_URL_"+service), getenv("AWS_ENDPOINT_URL"))
}
