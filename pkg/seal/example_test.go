package seal_test

import (
	"context"
	"fmt"

	"github.com/cogmail/cogmail/internal/testkit/fakekms"
	"github.com/cogmail/cogmail/pkg/seal"
)

func Example() {
	ctx := context.Background()
	kms := fakekms.New() // in production: kms.NewFromConfig(cfg)
	s, _ := seal.NewSealer(seal.Options{KMS: kms, KeyID: "alias/cogmail-envelope"})
	o, _ := seal.NewOpener(seal.OpenerOptions{KMS: kms})

	sealed, _ := s.Seal(ctx, "msg-1", []byte("your code is 123456"))
	plain, _ := o.Open(ctx, "msg-1", sealed)
	_, err := o.Open(ctx, "msg-2", sealed) // bound to its message id
	fmt.Println(string(plain))
	fmt.Println(err)
	// Output:
	// your code is 123456
	// seal: open: payload failed authentication (tampered, or sealed for another message id)
}
