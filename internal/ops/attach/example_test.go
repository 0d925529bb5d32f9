package attach

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

func Example() {
	// In real use: cognitoidentityprovider.NewFromConfig(cfg).
	var client Cognito = &fakeCognito{pool: &types.UserPoolType{
		Id:           aws.String("eu-west-1_AbCdEf123"),
		Name:         aws.String("users"),
		LambdaConfig: &types.LambdaConfigType{PreSignUp: aws.String("arn:aws:lambda:eu-west-1:123456789012:function:pre-sign-up")},
	}}
	ctx := context.Background()
	plan, err := Prepare(ctx, client, Request{
		UserPoolID: "eu-west-1_AbCdEf123",
		LambdaARN:  "arn:aws:lambda:eu-west-1:123456789012:function:ingest",
		KMSKeyARN:  "arn:aws:kms:eu-west-1:123456789012:key/0d7b1c3e-1111-2222-3333-444455556666",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	plan.WriteDiff(os.Stdout)
	if err := Apply(ctx, client, plan); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("now:", plan.Summary())
	// Output:
	// LambdaConfig of user pool eu-west-1_AbCdEf123 (users):
	// - CustomEmailSender.LambdaArn      (unset)
	// + CustomEmailSender.LambdaArn      arn:aws:lambda:eu-west-1:123456789012:function:ingest
	// - CustomEmailSender.LambdaVersion  (unset)
	// + CustomEmailSender.LambdaVersion  V1_0
	// - KMSKeyID                         (unset)
	// + KMSKeyID                         arn:aws:kms:eu-west-1:123456789012:key/0d7b1c3e-1111-2222-3333-444455556666
	//   PreSignUp                        arn:aws:lambda:eu-west-1:123456789012:function:pre-sign-up
	// Every other setting of the pool is sent back as DescribeUserPool returned it.
	// now: Custom Email Sender arn:aws:lambda:eu-west-1:123456789012:function:ingest (V1_0), KMSKeyID arn:aws:kms:eu-west-1:123456789012:key/0d7b1c3e-1111-2222-3333-444455556666
}
