package codecrypt

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	mpl "github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/awscryptographymaterialproviderssmithygenerated"
	mpltypes "github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/awscryptographymaterialproviderssmithygeneratedtypes"
	esdk "github.com/aws/aws-encryption-sdk/releases/go/encryption-sdk/awscryptographyencryptionsdksmithygenerated"
	esdktypes "github.com/aws/aws-encryption-sdk/releases/go/encryption-sdk/awscryptographyencryptionsdksmithygeneratedtypes"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// RawAESKey is a raw AES wrapping key for the Encryption SDK's raw AES
// keyring (AES-GCM, 12-byte IV, 16-byte tag). Namespace and Name must match
// the ones the messages were encrypted with. Tests and the local stack use it;
// Cognito itself always encrypts with KMS.
type RawAESKey struct {
	Namespace string
	Name      string
	Key       []byte // 16, 24 or 32 bytes
}

// keyringSpec says how to build a keyring, and what it expects of a message.
type keyringSpec struct {
	desc  string // for error messages: "raw AES key cogmail-local/local-aes-256"
	build func(ctx context.Context, m *mpl.Client) (mpltypes.IKeyring, error)
	// owns reports whether an encrypted data key is one this keyring can
	// open, by provider id and info, to tell "another key" from "tampered".
	owns func(dataKey) bool
}

func rawAESSpec(k RawAESKey) (keyringSpec, error) {
	var errs []error
	if k.Namespace == "" {
		errs = append(errs, errors.New("raw AES key: Namespace is empty"))
	} else if strings.HasPrefix(k.Namespace, "aws-kms") {
		errs = append(errs, fmt.Errorf("raw AES key: Namespace %q: the aws-kms prefix is reserved for KMS keyrings", k.Namespace))
	}
	if k.Name == "" {
		errs = append(errs, errors.New("raw AES key: Name is empty"))
	}
	alg, ok := map[int]mpltypes.AesWrappingAlg{
		16: mpltypes.AesWrappingAlgAlgAes128GcmIv12Tag16,
		24: mpltypes.AesWrappingAlgAlgAes192GcmIv12Tag16,
		32: mpltypes.AesWrappingAlgAlgAes256GcmIv12Tag16,
	}[len(k.Key)]
	if !ok {
		errs = append(errs, fmt.Errorf("raw AES key: Key is %d bytes, want 16, 24 or 32", len(k.Key)))
	}
	if err := errors.Join(errs...); err != nil {
		return keyringSpec{}, fmt.Errorf("codecrypt: %w", err)
	}
	key := append([]byte(nil), k.Key...)
	return keyringSpec{
		desc: "raw AES key " + k.Namespace + "/" + k.Name,
		build: func(ctx context.Context, m *mpl.Client) (mpltypes.IKeyring, error) {
			return m.CreateRawAesKeyring(ctx, mpltypes.CreateRawAesKeyringInput{
				KeyNamespace: k.Namespace, KeyName: k.Name, WrappingKey: key, WrappingAlg: alg,
			})
		},
		// Raw AES provider info is the key name followed by the tag and IV lengths and the IV.
		owns: func(d dataKey) bool {
			return d.providerID == k.Namespace && strings.HasPrefix(string(d.providerInfo), k.Name)
		},
	}, nil
}

// kmsSpec builds a strict KMS keyring. Messages name their KMS key by ARN,
// and the keyring only uses data keys whose ARN equals keyID, so decrypting
// requires the key ARN; encrypting also accepts an alias.
func kmsSpec(client *kms.Client, keyID string, needKeyARN bool) (keyringSpec, error) {
	if client == nil {
		return keyringSpec{}, errors.New("codecrypt: KMS keyring: the *kms.Client is nil")
	}
	if needKeyARN {
		a, err := arn.Parse(keyID)
		if err != nil || a.Service != "kms" || !strings.HasPrefix(a.Resource, "key/") || len(a.Resource) == len("key/") {
			return keyringSpec{}, fmt.Errorf("codecrypt: KMS keyring: %q is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID); messages name their key by ARN, so an alias or bare key id never matches", keyID)
		}
	} else if keyID == "" {
		return keyringSpec{}, errors.New("codecrypt: KMS keyring: the key id is empty")
	}
	return keyringSpec{
		desc: "KMS key " + keyID,
		build: func(ctx context.Context, m *mpl.Client) (mpltypes.IKeyring, error) {
			return m.CreateAwsKmsKeyring(ctx, mpltypes.CreateAwsKmsKeyringInput{KmsClient: client, KmsKeyId: keyID})
		},
		owns: func(d dataKey) bool { return d.providerID == "aws-kms" && string(d.providerInfo) == keyID },
	}, nil
}

// sdk is the one goroutine that calls into the Encryption SDK in this
// process, keyring construction included, one call at a time. The SDK's
// generated Dafny code writes shared runtime values without synchronisation
// (e.g. dafny.EmptySeq.SetString() in every KMS keyring constructor and
// OnDecrypt call), so even two separate keyrings race: the race detector
// reports it, and upstream knows
// (github.com/aws/aws-encryption-sdk/issues/902). A package-wide worker is
// the only scope that matches the SDK's global state. A decrypt takes a few
// milliseconds plus any KMS round trip, and a Lambda instance handles one
// event at a time, so serialising costs nothing there.
//
// One long-lived goroutine rather than a fresh one per call: a decrypt runs
// deep in the generated code, and a new goroutine grew its stack from 8 KiB
// to 64 KiB and more on every call (stack copies, fresh memory), a cost the
// worker pays once.
var sdk struct {
	start sync.Once
	calls chan func() // unbuffered: a send succeeds once the worker is free
}

func sdkWorker() {
	for call := range sdk.calls {
		call()
	}
}

// submit hands call to the worker, waiting until it is free or ctx ends.
func submit(ctx context.Context, op string, call func()) error {
	if err := ctx.Err(); err != nil {
		return &Error{Kind: KindUnavailable, Op: op, Reason: "the context ended before the call: " + ctxReason(err), Err: err}
	}
	sdk.start.Do(func() {
		sdk.calls = make(chan func())
		go sdkWorker()
	})
	select {
	case sdk.calls <- call:
		return nil
	case <-ctx.Done():
		return &Error{Kind: KindUnavailable, Op: op, Reason: "waited for a previous Encryption SDK call until the context ended: " + ctxReason(ctx.Err()), Err: ctx.Err()}
	}
}

// engine is one Encryption SDK client and one keyring, built once.
type engine struct {
	client *esdk.Client
	ring   mpltypes.IKeyring
	spec   keyringSpec
}

func newEngine(ctx context.Context, spec keyringSpec, policy mpltypes.ESDKCommitmentPolicy) (*engine, error) {
	e, err := run(ctx, "setup", func() (e *engine, err error) {
		defer func() {
			if r := recover(); r != nil {
				e, err = nil, fmt.Errorf("codecrypt: %s: the Encryption SDK panicked while building the keyring", spec.desc)
			}
		}()
		m, err := mpl.NewClient(mpltypes.MaterialProvidersConfig{})
		if err != nil {
			return nil, errors.New("codecrypt: the material providers client could not be built")
		}
		ring, err := spec.build(ctx, m)
		if err != nil {
			return nil, fmt.Errorf("codecrypt: %s: the Encryption SDK rejected the keyring", spec.desc)
		}
		maxKeys := int64(maxDataKeys)
		c, err := esdk.NewClient(esdktypes.AwsEncryptionSdkConfig{CommitmentPolicy: &policy, MaxEncryptedDataKeys: &maxKeys})
		if err != nil {
			return nil, errors.New("codecrypt: the Encryption SDK client could not be built")
		}
		return &engine{client: c, ring: ring, spec: spec}, nil
	})
	var ce *Error
	if errors.As(err, &ce) && ce.Op == "setup" { // the worker was busy or the context ended
		return nil, fmt.Errorf("codecrypt: %s: %w", spec.desc, err)
	}
	return e, err
}

// run calls f on the SDK's worker and recovers a panic from the generated
// code into a KindInternal error. The SDK ignores the context it is given
// (its KMS calls use context.Background), so the caller stops waiting when
// ctx ends; the abandoned call finishes on the worker (as long as the KMS
// client's own timeouts allow), and later calls wait for it.
func run[T any](ctx context.Context, op string, f func() (T, error)) (T, error) {
	var zero T
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	call := func() {
		defer func() {
			if r := recover(); r != nil {
				done <- result{err: &Error{Kind: KindInternal, Op: op, Reason: "the Encryption SDK panicked on this message"}}
			}
		}()
		v, err := f()
		done <- result{v, err}
	}
	if err := submit(ctx, op, call); err != nil {
		return zero, err
	}
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		return zero, &Error{Kind: KindUnavailable, Op: op, Reason: "the Encryption SDK (or its KMS call) did not finish: " + ctxReason(ctx.Err()), Err: ctx.Err()}
	}
}
