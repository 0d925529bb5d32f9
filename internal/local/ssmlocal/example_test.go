package ssmlocal_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/cogmail/cogmail/internal/local/ssmlocal"
	"github.com/cogmail/cogmail/pkg/awsclient"
)

// The real SSM client talks to the local endpoint through BaseEndpoint.
func Example() {
	srv := httptest.NewServer(ssmlocal.New(ssmlocal.Options{}))
	defer srv.Close()
	cfg := awsclient.Config("us-east-1", credentials.NewStaticCredentialsProvider("test", "test", ""))
	client := ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	ctx := context.Background()
	_, _ = client.PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String("/cogmail/providers"), Value: aws.String(`{"order":["sendgrid"]}`), Type: ssmtypes.ParameterTypeString,
	})
	out, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/cogmail/providers")})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(aws.ToString(out.Parameter.Value), out.Parameter.Version, aws.ToString(out.Parameter.ARN))
	// Output: {"order":["sendgrid"]} 1 arn:aws:ssm:us-east-1:000000000000:parameter/cogmail/providers
}
