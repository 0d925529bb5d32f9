package codecrypt

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	mpltypes "github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/awscryptographymaterialproviderssmithygeneratedtypes"
	esdktypes "github.com/aws/aws-encryption-sdk/releases/go/encryption-sdk/awscryptographyencryptionsdksmithygeneratedtypes"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// Kind classifies a failure by what the caller should do about it.
type Kind int

const (
	// KindMalformed: the code is not an Encryption SDK message (empty, not
	// base64, too long, bad header). Permanent.
	KindMalformed Kind = iota + 1
	// KindWrongPool: the message is bound to another user pool. Permanent.
	KindWrongPool
	// KindUndecryptable: the message is well formed but does not decrypt or
	// verify: tampered, truncated, or encrypted under another key (or KMS
	// refused the key, e.g. access denied). Permanent.
	KindUndecryptable
	// KindUnavailable: KMS could not be reached, was throttled or failed, or
	// the context ended first. Retryable: fail the invocation so Cognito
	// (or Lambda) tries again.
	KindUnavailable
	// KindInternal: the Encryption SDK failed in a way it does not model
	// (a recovered panic). Permanent: the same input fails the same way.
	KindInternal
	// KindSuite: the message uses an algorithm suite Cognito never sends
	// (0x0378 and 0x0578 are accepted), decided from its header before any KMS call.
	// Permanent.
	KindSuite
)

var kindNames = map[Kind]string{
	KindMalformed:     "malformed code",
	KindWrongPool:     "code is for another user pool",
	KindUndecryptable: "code does not decrypt",
	KindUnavailable:   "temporarily unavailable",
	KindInternal:      "encryption SDK failure",
	KindSuite:         "algorithm suite refused",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Sentinels for errors.Is: errors.Is(err, codecrypt.ErrUnavailable) is true
// for every *Error of KindUnavailable, and so on.
var (
	ErrMalformed     = errors.New("codecrypt: malformed code")
	ErrWrongPool     = errors.New("codecrypt: code is for another user pool")
	ErrUndecryptable = errors.New("codecrypt: code does not decrypt")
	ErrUnavailable   = errors.New("codecrypt: temporarily unavailable")
	ErrInternal      = errors.New("codecrypt: encryption SDK failure")
	ErrSuite         = errors.New("codecrypt: algorithm suite refused")
)

var sentinels = map[Kind]error{
	KindMalformed:     ErrMalformed,
	KindWrongPool:     ErrWrongPool,
	KindUndecryptable: ErrUndecryptable,
	KindUnavailable:   ErrUnavailable,
	KindInternal:      ErrInternal,
	KindSuite:         ErrSuite,
}

// Error is a failed Decrypt or Encrypt. Its message is written by codecrypt,
// never copied from the Encryption SDK, and never contains the plaintext or
// the ciphertext. Err, when set, is the underlying cause for errors.As
// (e.g. a *smithy.OperationError from KMS, or context.DeadlineExceeded); do
// not print it to users: the SDK's own texts are garbled.
type Error struct {
	Kind   Kind
	Op     string // "decrypt" or "encrypt"
	Reason string // what went wrong, safe to log
	Err    error
}

func (e *Error) Error() string {
	return "codecrypt: " + e.Op + ": " + e.Kind.String() + ": " + e.Reason
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches the sentinel of e's kind.
func (e *Error) Is(target error) bool { return target != nil && sentinels[e.Kind] == target }

// Retryable reports whether the same call may succeed later (KindUnavailable).
func (e *Error) Retryable() bool { return e.Kind == KindUnavailable }

// classifySDK turns an Encryption SDK failure into an *Error. The SDK nests
// errors in its own collection and opaque types, which do not implement
// Unwrap, so walk them; a KMS or network error found anywhere decides the
// kind by its behaviour (fault, throttling, retryability), not its text.
func classifySDK(op string, err error) *Error {
	var causes []error
	walk(err, 0, func(e error) { causes = append(causes, e) })
	var refused *Error
	for _, c := range causes {
		switch {
		case errors.Is(c, context.DeadlineExceeded), errors.Is(c, context.Canceled):
			return &Error{Kind: KindUnavailable, Op: op, Reason: "KMS call did not finish: " + ctxReason(c), Err: c}
		case kmsRetryable(c):
			return &Error{Kind: KindUnavailable, Op: op, Reason: "KMS call failed: " + describeKMS(c), Err: c}
		}
		var api smithy.APIError
		if refused == nil && errors.As(c, &api) {
			refused = &Error{Kind: KindUndecryptable, Op: op, Reason: "KMS refused: " + describeKMS(c), Err: c}
		}
	}
	if refused != nil {
		return refused
	}
	for _, c := range causes {
		var opErr *smithy.OperationError
		if errors.As(c, &opErr) {
			// A KMS call that failed before any answer and is not known
			// to be permanent: let the invocation be retried.
			return &Error{Kind: KindUnavailable, Op: op, Reason: "KMS call failed: " + describeKMS(c), Err: c}
		}
	}
	if op == "encrypt" {
		return &Error{Kind: KindInternal, Op: op, Reason: "the Encryption SDK could not encrypt", Err: err}
	}
	return &Error{Kind: KindUndecryptable, Op: op,
		Reason: "the message is tampered or truncated, or was encrypted under another key", Err: err}
}

// walk visits err and everything nested in it, through Unwrap, errors.Join
// and the SDK's collection and opaque error types.
func walk(err error, depth int, visit func(error)) {
	if err == nil || depth > 16 {
		return
	}
	visit(err)
	var next []error
	switch e := err.(type) {
	case esdktypes.CollectionOfErrors:
		next = e.ListOfErrors
	case mpltypes.CollectionOfErrors:
		next = e.ListOfErrors
	case esdktypes.OpaqueError:
		if inner, ok := e.ErrObject.(error); ok {
			next = []error{inner}
		}
	case mpltypes.OpaqueError:
		if inner, ok := e.ErrObject.(error); ok {
			next = []error{inner}
		}
	case interface{ Unwrap() []error }:
		next = e.Unwrap()
	case interface{ Unwrap() error }:
		next = []error{e.Unwrap()}
	}
	for _, n := range next {
		walk(n, depth+1, visit)
	}
}

// kmsRetryable reports whether a KMS error is worth retrying: a server
// fault, throttling, or what the SDK's own retryer retries (connection
// errors, 5xx, timeouts).
func kmsRetryable(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorFault() == smithy.FaultServer {
		return true
	}
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary {
		return true
	}
	if retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// describeKMS names a KMS failure without the SDK's full text: the API
// error code, or the network error.
func describeKMS(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return clip(op.Error(), 200)
	}
	var ne net.Error
	if errors.As(err, &ne) {
		if ne.Timeout() {
			return "network timeout"
		}
		return "network error"
	}
	return "request failed"
}

func ctxReason(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "deadline exceeded"
	}
	return "canceled"
}

func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
