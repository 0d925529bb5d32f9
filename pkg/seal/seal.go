// Package seal encrypts queue payloads with KMS data keys (envelope
// encryption, AES-256-GCM) so that no code, password, address or rendered
// body is readable in SQS or the DLQ. A Sealer reuses one data key for a
// bounded time and number of messages, so KMS is called about once per
// thousand messages; an Opener caches the data keys it has decrypted.
package seal

import (
	"container/list"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// KeyService is the part of the KMS client that sealing needs; *kms.Client
// satisfies it.
type KeyService interface {
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// Algorithm names the only sealing algorithm of envelope schema 1.
const Algorithm = "AES-256-GCM"

// kmsContext binds every data key to its purpose, so a data key made for
// cogmail envelopes cannot be passed off as anything else (and a CloudTrail
// entry says what it was for).
var kmsContext = map[string]string{"purpose": "cogmail-envelope"}

// Sealed is the encrypted payload as it travels in the queue message.
type Sealed struct {
	Alg        string `json:"alg"`
	KeyID      string `json:"kid,omitempty"` // the KMS key that encrypted DataKey
	DataKey    []byte `json:"dk"`            // the KMS-encrypted data key
	Nonce      []byte `json:"iv"`
	Ciphertext []byte `json:"ct"` // AES-256-GCM ciphertext and tag
}

// Error says why sealing or opening failed.
type Error struct {
	Op    string // "seal" or "open"
	retry bool
	Err   error
}

func (e *Error) Error() string { return "seal: " + e.Op + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether the same call may succeed later: true when KMS
// was unreachable or throttled, false when the data itself is bad. Callers
// classify by this method (interface{ Retryable() bool }), as they do the
// other packages' errors.
func (e *Error) Retryable() bool { return e.retry }

// ErrTampered is returned by Open when authentication fails: the ciphertext,
// the nonce or the associated data (the message id) was changed.
var ErrTampered = errors.New("payload failed authentication (tampered, or sealed for another message id)")

// Options configures a Sealer. Zero values mean the documented defaults.
type Options struct {
	KMS     KeyService
	KeyID   string           // KMS key id, ARN or alias for new data keys (required)
	MaxAge  time.Duration    // default 5m: a data key is replaced after this long
	MaxUses int              // default 10,000: a data key is replaced after this many messages
	Now     func() time.Time // default time.Now
}

// Sealer encrypts payloads. It is safe for concurrent use.
type Sealer struct {
	kms     KeyService
	keyID   string
	maxAge  time.Duration
	maxUses int
	now     func() time.Time

	// lock guards current and calls. It is a channel rather than a mutex so
	// that a Seal waiting for another caller's KMS call gives up when its
	// context ends.
	lock    chan struct{}
	current *dataKey
	calls   int // GenerateDataKey calls, for tests and metrics
}

type dataKey struct {
	aead      cipher.AEAD
	encrypted []byte
	keyID     string
	created   time.Time
	uses      int
}

// NewSealer checks the options and returns a Sealer. It does not call KMS.
func NewSealer(o Options) (*Sealer, error) {
	if o.KMS == nil {
		return nil, errors.New("seal: a KMS client is required")
	}
	if o.KeyID == "" {
		return nil, errors.New("seal: a KMS key id is required")
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 5 * time.Minute
	}
	if o.MaxUses <= 0 {
		o.MaxUses = 10000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Sealer{kms: o.KMS, keyID: o.KeyID, maxAge: o.MaxAge, maxUses: o.MaxUses, now: o.Now, lock: make(chan struct{}, 1)}, nil
}

// Seal encrypts plaintext for the message id (the associated data: a payload
// moved to another message fails to open).
func (s *Sealer) Seal(ctx context.Context, id string, plaintext []byte) (Sealed, error) {
	dk, err := s.key(ctx)
	if err != nil {
		return Sealed{}, err
	}
	nonce := make([]byte, dk.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return Sealed{}, &Error{Op: "seal", retry: true, Err: err}
	}
	return Sealed{
		Alg:        Algorithm,
		KeyID:      dk.keyID,
		DataKey:    dk.encrypted,
		Nonce:      nonce,
		Ciphertext: dk.aead.Seal(nil, nonce, plaintext, []byte(id)),
	}, nil
}

// KMSCalls returns how many data keys this Sealer has asked KMS for.
func (s *Sealer) KMSCalls() int {
	s.lock <- struct{}{}
	defer func() { <-s.lock }()
	return s.calls
}

// Prefetch fetches a data key now if the Sealer has no usable one, so that
// the first Seal finds it ready: a cold start calls it in the background
// while it waits for its first event and decrypts that event's code. It
// counts no use. A Seal that starts while Prefetch waits for KMS waits for
// the same key instead of asking for its own; if Prefetch fails, the next
// Seal asks KMS again and reports its own error.
func (s *Sealer) Prefetch(ctx context.Context) error {
	_, err := s.ensure(ctx, 0)
	return err
}

// key returns the current data key for one more use, replacing it when it
// is too old or too used.
func (s *Sealer) key(ctx context.Context) (*dataKey, error) { return s.ensure(ctx, 1) }

// ensure returns a usable data key after counting uses against it. The KMS
// call happens under the lock: concurrent sealers wait for one new key
// rather than each asking KMS for its own, each for as long as its context
// lasts.
func (s *Sealer) ensure(ctx context.Context, uses int) (*dataKey, error) {
	select {
	case s.lock <- struct{}{}:
	case <-ctx.Done():
		return nil, &Error{Op: "seal", retry: true, Err: fmt.Errorf("waiting for a data key: %w", ctx.Err())}
	}
	defer func() { <-s.lock }()
	now := s.now()
	if dk := s.current; dk != nil && dk.uses < s.maxUses && now.Sub(dk.created) < s.maxAge {
		dk.uses += uses
		return dk, nil
	}
	out, err := s.kms.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId:             aws.String(s.keyID),
		KeySpec:           kmstypes.DataKeySpecAes256,
		EncryptionContext: kmsContext,
	})
	s.calls++
	if err != nil {
		return nil, &Error{Op: "seal", retry: retryableKMS(err), Err: fmt.Errorf("KMS GenerateDataKey: %w", err)}
	}
	aead, err := newAEAD(out.Plaintext)
	clear(out.Plaintext)
	if err != nil {
		return nil, &Error{Op: "seal", Err: err}
	}
	s.current = &dataKey{aead: aead, encrypted: out.CiphertextBlob, keyID: aws.ToString(out.KeyId), created: now, uses: uses}
	return s.current, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("data key is %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// OpenerOptions configures an Opener.
type OpenerOptions struct {
	KMS       KeyService
	CacheSize int           // decrypted data keys kept, default 64
	MaxAge    time.Duration // how long a decrypted data key is kept, default 15m
	Now       func() time.Time
}

// Opener decrypts Sealed payloads, caching data keys so that a batch sealed
// under one data key costs one KMS call. It is safe for concurrent use.
type Opener struct {
	kms    KeyService
	size   int
	maxAge time.Duration
	now    func() time.Time

	mu    sync.Mutex
	lru   *list.List // of *cachedKey, most recent first
	byKey map[[32]byte]*list.Element
	calls int
	// fetching holds the KMS Decrypt under way per data key, so that a
	// batch's concurrent first opens of one key share a single call.
	fetching map[[32]byte]*fetch
}

// fetch is one KMS Decrypt of a data key; done closes when aead or err is set.
type fetch struct {
	done chan struct{}
	aead cipher.AEAD
	err  error
}

type cachedKey struct {
	hash    [32]byte
	aead    cipher.AEAD
	fetched time.Time
}

// NewOpener returns an Opener.
func NewOpener(o OpenerOptions) (*Opener, error) {
	if o.KMS == nil {
		return nil, errors.New("seal: a KMS client is required")
	}
	if o.CacheSize <= 0 {
		o.CacheSize = 64
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 15 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Opener{kms: o.KMS, size: o.CacheSize, maxAge: o.MaxAge, now: o.Now, lru: list.New(), byKey: map[[32]byte]*list.Element{}, fetching: map[[32]byte]*fetch{}}, nil
}

// Open decrypts a payload sealed for message id.
func (o *Opener) Open(ctx context.Context, id string, s Sealed) ([]byte, error) {
	if s.Alg != Algorithm {
		return nil, &Error{Op: "open", Err: fmt.Errorf("unknown algorithm %q", s.Alg)}
	}
	if len(s.DataKey) == 0 || len(s.Ciphertext) == 0 {
		return nil, &Error{Op: "open", Err: errors.New("missing data key or ciphertext")}
	}
	aead, err := o.key(ctx, s)
	if err != nil {
		return nil, err
	}
	if len(s.Nonce) != aead.NonceSize() {
		return nil, &Error{Op: "open", Err: fmt.Errorf("nonce is %d bytes, want %d", len(s.Nonce), aead.NonceSize())}
	}
	pt, err := aead.Open(nil, s.Nonce, s.Ciphertext, []byte(id))
	if err != nil {
		return nil, &Error{Op: "open", Err: ErrTampered}
	}
	return pt, nil
}

// KMSCalls returns how many data keys this Opener has asked KMS to decrypt.
func (o *Opener) KMSCalls() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.calls
}

func (o *Opener) key(ctx context.Context, s Sealed) (cipher.AEAD, error) {
	h := sha256.Sum256(s.DataKey)
	now := o.now()
	o.mu.Lock()
	if el, ok := o.byKey[h]; ok {
		ck := el.Value.(*cachedKey)
		if now.Sub(ck.fetched) < o.maxAge {
			o.lru.MoveToFront(el)
			o.mu.Unlock()
			return ck.aead, nil
		}
		o.lru.Remove(el)
		delete(o.byKey, h)
	}
	if f, ok := o.fetching[h]; ok { // another open is fetching this key
		o.mu.Unlock()
		select {
		case <-f.done:
			return f.aead, f.err
		case <-ctx.Done():
			return nil, &Error{Op: "open", retry: true, Err: fmt.Errorf("waiting for the data key: %w", ctx.Err())}
		}
	}
	f := &fetch{done: make(chan struct{})}
	o.fetching[h] = f
	o.calls++
	o.mu.Unlock()

	f.aead, f.err = o.decryptKey(ctx, s)
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.fetching, h)
	close(f.done)
	if f.err != nil {
		return nil, f.err
	}
	if _, ok := o.byKey[h]; !ok {
		o.byKey[h] = o.lru.PushFront(&cachedKey{hash: h, aead: f.aead, fetched: now})
		for o.lru.Len() > o.size {
			last := o.lru.Back()
			o.lru.Remove(last)
			delete(o.byKey, last.Value.(*cachedKey).hash)
		}
	}
	return f.aead, nil
}

// decryptKey asks KMS for a data key's plaintext and keeps only its AEAD.
func (o *Opener) decryptKey(ctx context.Context, s Sealed) (cipher.AEAD, error) {
	in := &kms.DecryptInput{CiphertextBlob: s.DataKey, EncryptionContext: kmsContext}
	if s.KeyID != "" {
		in.KeyId = aws.String(s.KeyID)
	}
	out, err := o.kms.Decrypt(ctx, in)
	if err != nil {
		return nil, &Error{Op: "open", retry: retryableKMS(err), Err: fmt.Errorf("KMS Decrypt of the data key: %w", err)}
	}
	aead, err := newAEAD(out.Plaintext)
	clear(out.Plaintext)
	if err != nil {
		return nil, &Error{Op: "open", Err: err}
	}
	return aead, nil
}

// retryableKMS decides by error type whether a KMS failure may pass: a bad
// ciphertext or a disabled/missing key will not heal by retrying; anything
// else (throttling, network, 5xx, an expired context) may.
func retryableKMS(err error) bool {
	var (
		invalidCT  *kmstypes.InvalidCiphertextException
		incorrect  *kmstypes.IncorrectKeyException
		notFound   *kmstypes.NotFoundException
		disabled   *kmstypes.DisabledException
		invalidKey *kmstypes.InvalidKeyUsageException
		denied     *kmstypes.KMSInvalidStateException
	)
	switch {
	case errors.As(err, &invalidCT), errors.As(err, &incorrect), errors.As(err, &notFound),
		errors.As(err, &disabled), errors.As(err, &invalidKey), errors.As(err, &denied):
		return false
	}
	return true
}
