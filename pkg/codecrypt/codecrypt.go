// Package codecrypt decrypts the code of a Cognito Custom Email Sender event
// (request.code, an AWS Encryption SDK message) with the official Encryption
// SDK for Go, and encrypts codes the way Cognito does for tests and the local
// stack. The SDK's generated packages stay behind this package.
//
// Cognito encrypts with message format 1 and the signed, non-committing suite
// 0x0378, bound to the encryption context {"userpool-id": pool}. A Decrypter
// therefore uses the commitment policy REQUIRE_ENCRYPT_ALLOW_DECRYPT (which
// also accepts committing suites such as 0x0578); a bare KMS Decrypt of the
// code cannot work. Decrypt accepts only the signed suites Cognito sends
// (0x0378, 0x0578) and refuses any other from the header (see suite.go).
package codecrypt

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"unicode/utf8"

	mpltypes "github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/awscryptographymaterialproviderssmithygeneratedtypes"
	esdktypes "github.com/aws/aws-encryption-sdk/releases/go/encryption-sdk/awscryptographyencryptionsdksmithygeneratedtypes"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/secret"
)

// Decrypter decrypts codes with one keyring. Build it once (at cold start)
// and share it. It is safe for concurrent use, but calls into the
// Encryption SDK run one at a time in the whole process: the SDK's generated
// code is not race-free (see sdk). A call whose context ends first,
// waiting or in KMS, returns KindUnavailable.
type Decrypter struct{ e *engine }

// NewRawAES returns a Decrypter for messages wrapped with a raw AES key.
func NewRawAES(ctx context.Context, key RawAESKey) (*Decrypter, error) {
	spec, err := rawAESSpec(key)
	if err != nil {
		return nil, err
	}
	return newDecrypter(ctx, spec)
}

// NewKMS returns a Decrypter for messages encrypted under the KMS key
// keyARN (Cognito's KMSKeyID setting; an alias does not work here). The
// caller builds client, so its region, credentials, retry settings and
// endpoint (BaseEndpoint, AWS_ENDPOINT_URL_KMS) apply. Give it an HTTP
// timeout: the SDK calls KMS with context.Background, so Decrypt returns when
// its context ends but the abandoned KMS call (which holds the SDK lock, see
// Decrypter) lasts as long as the client lets it. Nothing is called until
// the first Decrypt.
func NewKMS(ctx context.Context, client *kms.Client, keyARN string) (*Decrypter, error) {
	spec, err := kmsSpec(client, keyARN, true)
	if err != nil {
		return nil, err
	}
	return newDecrypter(ctx, spec)
}

func newDecrypter(ctx context.Context, spec keyringSpec) (*Decrypter, error) {
	e, err := newEngine(ctx, spec, mpltypes.ESDKCommitmentPolicyRequireEncryptAllowDecrypt)
	if err != nil {
		return nil, err
	}
	return &Decrypter{e: e}, nil
}

// Decrypt decrypts ciphertextB64 (request.code as Cognito sends it: base64
// of an Encryption SDK message) and checks that it was encrypted for
// userPoolID. Every failure is an *Error: KindUnavailable is retryable, the
// other kinds are permanent. The plaintext is returned as Cognito encrypted
// it (AdminCreateUser passwords are HTML-escaped; unescaping is the
// caller's job).
func (d *Decrypter) Decrypt(ctx context.Context, ciphertextB64, userPoolID string) (secret.Code, error) {
	const op = "decrypt"
	malformed := func(reason string, err error) (secret.Code, error) {
		return secret.Code{}, &Error{Kind: KindMalformed, Op: op, Reason: reason, Err: err}
	}
	switch {
	case ciphertextB64 == "":
		return malformed("the code is empty", nil)
	case userPoolID == "":
		return malformed("no user pool id to check the code against", nil)
	case len(ciphertextB64) > cognito.MaxCiphertextBytes:
		return malformed(fmt.Sprintf("the code is %d bytes, over the %d byte limit", len(ciphertextB64), cognito.MaxCiphertextBytes), nil)
	}
	msg, err := base64.StdEncoding.DecodeString(ciphertextB64)
	if err != nil {
		var ce base64.CorruptInputError
		if errors.As(err, &ce) {
			return malformed(fmt.Sprintf("the code is not base64 (bad input at byte %d)", int64(ce)), err)
		}
		return malformed("the code is not base64", err)
	}
	h, err := parseHeader(msg)
	if err != nil {
		return malformed("not an Encryption SDK message: "+err.Error(), err)
	}
	if err := checkSuite(op, h); err != nil {
		return secret.Code{}, err
	}
	if got, ok := h.context[contextKeyPool]; !ok {
		return secret.Code{}, &Error{Kind: KindWrongPool, Op: op, Reason: "the message's encryption context names no user pool (no " + contextKeyPool + ")"}
	} else if got != userPoolID {
		return secret.Code{}, &Error{Kind: KindWrongPool, Op: op, Reason: fmt.Sprintf("the message is bound to user pool %q, not %q", clip(got, 64), userPoolID)}
	}
	if !d.ownsAny(h.keys) {
		return secret.Code{}, &Error{Kind: KindUndecryptable, Op: op,
			Reason: fmt.Sprintf("the message was encrypted for another key: none of its %d data keys is for the %s", len(h.keys), d.e.spec.desc)}
	}

	out, err := run(ctx, op, func() (*esdktypes.DecryptOutput, error) {
		return d.e.client.Decrypt(ctx, esdktypes.DecryptInput{
			Ciphertext:        msg,
			Keyring:           d.e.ring,
			EncryptionContext: map[string]string{contextKeyPool: userPoolID},
		})
	})
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			return secret.Code{}, ce
		}
		return secret.Code{}, classifySDK(op, err)
	}
	defer clear(out.Plaintext)
	// The SDK checked the context it was given; check what it authenticated too.
	if got := out.EncryptionContext[contextKeyPool]; got != userPoolID {
		return secret.Code{}, &Error{Kind: KindWrongPool, Op: op, Reason: fmt.Sprintf("the decrypted message is bound to user pool %q, not %q", clip(got, 64), userPoolID)}
	}
	switch {
	case len(out.Plaintext) == 0:
		return malformed("the decrypted code is empty", nil)
	case !utf8.Valid(out.Plaintext):
		return malformed("the decrypted code is not UTF-8 text", nil)
	}
	return secret.New(string(out.Plaintext)), nil
}

func (d *Decrypter) ownsAny(keys []dataKey) bool {
	for _, k := range keys {
		if d.e.spec.owns(k) {
			return true
		}
	}
	return false
}
