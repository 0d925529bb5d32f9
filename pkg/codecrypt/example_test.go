package codecrypt_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/cogmail/cogmail/internal/local/kmslocal"
	"github.com/cogmail/cogmail/internal/testkit/fixtures"
	"github.com/cogmail/cogmail/pkg/codecrypt"
	"github.com/cogmail/cogmail/pkg/cognito"
)

func ExampleNewRawAES() {
	ctx := context.Background()
	key := codecrypt.RawAESKey{Namespace: "cogmail-local", Name: "example", Key: bytes.Repeat([]byte{7}, 32)}
	enc, err := codecrypt.NewRawAESEncrypter(ctx, key) // encrypts like Cognito
	if err != nil {
		panic(err)
	}
	dec, err := codecrypt.NewRawAES(ctx, key) // built once, at cold start
	if err != nil {
		panic(err)
	}

	code, _ := enc.Encrypt(ctx, "042195", "us-east-1_Example1")
	plain, err := dec.Decrypt(ctx, code, "us-east-1_Example1")
	fmt.Println(plain, plain.Reveal(), err)

	_, err = dec.Decrypt(ctx, code, "us-east-1_Other1")
	fmt.Println(errors.Is(err, codecrypt.ErrWrongPool))
	fmt.Println(err)
	// Output:
	// REDACTED 042195 <nil>
	// true
	// codecrypt: decrypt: code is for another user pool: the message is bound to user pool "us-east-1_Example1", not "us-east-1_Other1"
}

func ExampleNewKMS() {
	ctx := context.Background()
	kms, err := kmslocal.Start(kmslocal.Options{Seed: fixtures.KMSSeed()})
	if err != nil {
		panic(err)
	}
	defer kms.Close()

	// In the Lambda: kms.NewFromConfig(cfg); AWS_ENDPOINT_URL_KMS is honoured.
	dec, err := codecrypt.NewKMS(ctx, kms.Client(), kms.KeyARN())
	if err != nil {
		panic(err)
	}
	ev := fixtures.MustLoadEvents()
	for _, c := range ev.ByKeyring("kms")[:2] {
		e, _ := cognito.Parse(c.Event)
		code, err := dec.Decrypt(ctx, e.Ciphertext(), e.UserPoolID)
		fmt.Println(c.Name, code.Reveal() == c.Secret, err)
	}

	_, err = dec.Decrypt(ctx, "not base64!", ev.UserPoolID)
	var ce *codecrypt.Error
	if errors.As(err, &ce) {
		fmt.Println(ce.Kind, ce.Retryable())
	}
	// Output:
	// kms-SignUp true <nil>
	// kms-ResendCode true <nil>
	// malformed code false
}
