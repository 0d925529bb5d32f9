// Package fakekms is an in-memory stand-in for the two KMS calls that
// envelope sealing makes (GenerateDataKey, Decrypt), for unit tests and
// benchmarks that must not measure a network round trip. Integration tests
// use local-kms through the real client instead.
package fakekms

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

const keyARN = "arn:aws:kms:us-east-1:111122223333:key/fake"

// KMS wraps data keys under one in-memory master key.
type KMS struct {
	aead cipher.AEAD

	mu       sync.Mutex
	Generate int   // GenerateDataKey calls
	Decrypts int   // Decrypt calls
	Fail     error // when set, every call returns it
}

// New returns a KMS with a random master key.
func New() *KMS {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	b, _ := aes.NewCipher(k)
	g, _ := cipher.NewGCM(b)
	return &KMS{aead: g}
}

func (k *KMS) GenerateDataKey(_ context.Context, in *kms.GenerateDataKeyInput, _ ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.Generate++
	if k.Fail != nil {
		return nil, k.Fail
	}
	pt := make([]byte, 32)
	_, _ = rand.Read(pt)
	nonce := make([]byte, 12)
	_, _ = rand.Read(nonce)
	ct := k.aead.Seal(nonce, nonce, pt, contextAAD(in.EncryptionContext))
	return &kms.GenerateDataKeyOutput{KeyId: aws.String(keyARN), Plaintext: pt, CiphertextBlob: ct}, nil
}

func (k *KMS) Decrypt(_ context.Context, in *kms.DecryptInput, _ ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.Decrypts++
	if k.Fail != nil {
		return nil, k.Fail
	}
	if len(in.CiphertextBlob) < 12 {
		return nil, &kmstypes.InvalidCiphertextException{Message: aws.String("short")}
	}
	pt, err := k.aead.Open(nil, in.CiphertextBlob[:12], in.CiphertextBlob[12:], contextAAD(in.EncryptionContext))
	if err != nil {
		return nil, &kmstypes.InvalidCiphertextException{Message: aws.String(errors.New("cannot decrypt").Error())}
	}
	return &kms.DecryptOutput{KeyId: aws.String(keyARN), Plaintext: pt}, nil
}

func contextAAD(c map[string]string) []byte {
	// Only the "purpose" key is used by cogmail; a stable encoding of it suffices.
	return []byte("purpose=" + c["purpose"])
}
