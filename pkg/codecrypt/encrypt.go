package codecrypt

import (
	"context"
	"encoding/base64"
	"errors"

	mpltypes "github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/awscryptographymaterialproviderssmithygeneratedtypes"
	esdktypes "github.com/aws/aws-encryption-sdk/releases/go/encryption-sdk/awscryptographyencryptionsdksmithygeneratedtypes"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// Encrypter encrypts codes the way Cognito does: message format 1, suite
// 0x0378 (AES-256-GCM, HKDF-SHA384, ECDSA P-384, not key-committing), and
// the encryption context {"userpool-id": pool}. It is for tests, the local
// stack and the `cogmail event` command; the Lambda functions never encrypt.
// Like Decrypter, it is safe for concurrent use; SDK calls run one at a time.
type Encrypter struct{ e *engine }

// cognitoSuite is the suite Cognito encrypts with. Writing a non-committing
// suite needs the commitment policy FORBID_ENCRYPT_ALLOW_DECRYPT.
const cognitoSuite = mpltypes.ESDKAlgorithmSuiteIdAlgAes256GcmIv12Tag16HkdfSha384EcdsaP384

// NewRawAESEncrypter returns an Encrypter that wraps data keys with a raw AES key.
func NewRawAESEncrypter(ctx context.Context, key RawAESKey) (*Encrypter, error) {
	spec, err := rawAESSpec(key)
	if err != nil {
		return nil, err
	}
	return newEncrypter(ctx, spec)
}

// NewKMSEncrypter returns an Encrypter that asks KMS for data keys under
// keyID (a key ARN, alias ARN or alias name).
func NewKMSEncrypter(ctx context.Context, client *kms.Client, keyID string) (*Encrypter, error) {
	spec, err := kmsSpec(client, keyID, false)
	if err != nil {
		return nil, err
	}
	return newEncrypter(ctx, spec)
}

func newEncrypter(ctx context.Context, spec keyringSpec) (*Encrypter, error) {
	e, err := newEngine(ctx, spec, mpltypes.ESDKCommitmentPolicyForbidEncryptAllowDecrypt)
	if err != nil {
		return nil, err
	}
	return &Encrypter{e: e}, nil
}

// Encrypt returns the base64 Encryption SDK message of plaintext, bound to
// userPoolID: what Cognito puts in request.code.
func (e *Encrypter) Encrypt(ctx context.Context, plaintext, userPoolID string) (string, error) {
	return e.encrypt(ctx, plaintext, userPoolID, cognitoSuite)
}

// encrypt is Encrypt with another suite, for the tests of the suites Decrypt
// refuses. A committing suite needs an engine built with a REQUIRE_ENCRYPT
// commitment policy.
func (e *Encrypter) encrypt(ctx context.Context, plaintext, userPoolID string, suite mpltypes.ESDKAlgorithmSuiteId) (string, error) {
	const op = "encrypt"
	switch {
	case plaintext == "":
		return "", &Error{Kind: KindMalformed, Op: op, Reason: "the code to encrypt is empty"}
	case userPoolID == "":
		return "", &Error{Kind: KindMalformed, Op: op, Reason: "no user pool id to bind the code to"}
	}
	out, err := run(ctx, op, func() (*esdktypes.EncryptOutput, error) {
		return e.e.client.Encrypt(ctx, esdktypes.EncryptInput{
			Plaintext:         []byte(plaintext),
			AlgorithmSuiteId:  &suite,
			EncryptionContext: map[string]string{contextKeyPool: userPoolID},
			Keyring:           e.e.ring,
		})
	})
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			return "", ce
		}
		return "", classifySDK(op, err)
	}
	return base64.StdEncoding.EncodeToString(out.Ciphertext), nil
}
