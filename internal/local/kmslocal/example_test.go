package kmslocal_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/cogmail/cogmail/internal/local/kmslocal"
	"github.com/cogmail/cogmail/pkg/awsclient"
)

func ExampleStart() {
	s, err := kmslocal.Start(kmslocal.Options{}) // no seed: one random key, alias/cogmail-codes
	if err != nil {
		panic(err)
	}
	defer s.Close()

	ctx := context.Background()
	c := s.Client() // or kms.NewFromConfig(cfg, func(o *kms.Options) { o.BaseEndpoint = aws.String(s.URL) })
	d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/cogmail-codes")})
	if err != nil {
		panic(err)
	}
	fmt.Println(d.KeyMetadata.KeyState, aws.ToString(d.KeyMetadata.Arn) == s.KeyARN())
	fmt.Println(strings.HasPrefix(s.KeyARN(), "arn:aws:kms:us-east-1:111122223333:key/"))
	// Output:
	// Enabled true
	// true
}

// A server made by New has no listener of its own: mount its Handler on a
// shared one, routing KMS calls by their X-Amz-Target header.
func ExampleNew() {
	s, err := kmslocal.New(kmslocal.Options{})
	if err != nil {
		panic(err)
	}
	defer s.Close()

	kmsHandler := s.Handler()
	shared := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if kmslocal.IsKMSRequest(r) {
			kmsHandler.ServeHTTP(w, r)
			return
		}
		http.NotFound(w, r) // other emulated services go here
	}))
	defer shared.Close()

	c := kms.NewFromConfig(awsclient.Config(s.Region(), aws.AnonymousCredentials{}), func(o *kms.Options) { o.BaseEndpoint = aws.String(shared.URL) })
	out, err := c.ListAliases(context.Background(), &kms.ListAliasesInput{})
	if err != nil {
		panic(err)
	}
	for _, a := range out.Aliases {
		fmt.Println(aws.ToString(a.AliasName), aws.ToString(a.TargetKeyId) != "")
	}
	// Output:
	// alias/cogmail-codes true
}
