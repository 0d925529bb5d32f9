package codecrypt

import (
	"encoding/binary"
	"fmt"
)

// header is the part of an Encryption SDK message header that codecrypt
// reads itself, before the SDK sees the message: enough to reject a message
// that is not one, or that names another user pool, by its structure rather
// than by the SDK's error text.
// (Message format: https://docs.aws.amazon.com/encryption-sdk/latest/developer-guide/message-format.html)
type header struct {
	version byte   // 1 or 2
	suite   uint16 // algorithm suite id, e.g. 0x0378
	context map[string]string
	keys    []dataKey
}

type dataKey struct {
	providerID   string
	providerInfo []byte
}

const (
	// maxDataKeys bounds the encrypted data keys a message may carry. Cognito
	// writes one (its KMS key); each extra key may cost a KMS call.
	maxDataKeys = 4
	// contextKeyPool is the encryption context key Cognito binds a code to.
	contextKeyPool = "userpool-id"
)

// headerError says why a message header is not one.
type headerError struct{ reason string }

func (e *headerError) Error() string { return e.reason }

// parseHeader reads the version, suite, encryption context and encrypted
// data keys of a format v1 or v2 message. It does not authenticate anything:
// the SDK does, and codecrypt trusts only what the SDK returns.
func parseHeader(b []byte) (*header, error) {
	r := reader{b: b}
	h := &header{version: r.byte("version")}
	switch h.version {
	case 1:
		if t := r.byte("message type"); r.err == nil && t != 0x80 {
			return nil, &headerError{fmt.Sprintf("message type 0x%02x is not 0x80 (customer authenticated encrypted data)", t)}
		}
		h.suite = r.uint16("algorithm suite")
		r.skip(16, "message id")
	case 2:
		h.suite = r.uint16("algorithm suite")
		r.skip(32, "message id")
	default:
		if r.err == nil {
			return nil, &headerError{fmt.Sprintf("message format version 0x%02x is neither 1 nor 2", h.version)}
		}
	}
	h.context = r.context()
	if n := int(r.uint16("encrypted data key count")); r.err == nil {
		switch {
		case n == 0:
			return nil, &headerError{"message carries no encrypted data key"}
		case n > maxDataKeys:
			return nil, &headerError{fmt.Sprintf("message carries %d encrypted data keys, more than %d", n, maxDataKeys)}
		}
		for i := 0; i < n && r.err == nil; i++ {
			id := r.bytes16("key provider id")
			info := r.bytes16("key provider info")
			r.bytes16("encrypted data key")
			h.keys = append(h.keys, dataKey{providerID: string(id), providerInfo: info})
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return h, nil
}

// reader reads big-endian fields and remembers the first short read.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) take(n int, field string) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b)-r.off {
		r.err = &headerError{fmt.Sprintf("header truncated in %s (at byte %d of %d)", field, r.off, len(r.b))}
		return nil
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p
}

func (r *reader) byte(field string) byte {
	if p := r.take(1, field); p != nil {
		return p[0]
	}
	return 0
}

func (r *reader) uint16(field string) uint16 {
	if p := r.take(2, field); p != nil {
		return binary.BigEndian.Uint16(p)
	}
	return 0
}

func (r *reader) skip(n int, field string) { r.take(n, field) }

func (r *reader) bytes16(field string) []byte {
	n := int(r.uint16(field + " length"))
	return r.take(n, field)
}

// context reads the AAD section: a length, then (if not zero) a count and
// that many key/value pairs which must fill the length exactly.
func (r *reader) context() map[string]string {
	n := int(r.uint16("encryption context length"))
	if r.err != nil || n == 0 {
		return nil
	}
	end := r.off + n
	if end > len(r.b) {
		r.err = &headerError{fmt.Sprintf("header truncated in encryption context (%d bytes announced, %d left)", n, len(r.b)-r.off)}
		return nil
	}
	count := int(r.uint16("encryption context count"))
	ctx := make(map[string]string, min(count, 8))
	for i := 0; i < count && r.err == nil; i++ {
		k := r.bytes16("encryption context key")
		v := r.bytes16("encryption context value")
		if r.err != nil {
			break
		}
		if _, dup := ctx[string(k)]; dup {
			r.err = &headerError{"encryption context repeats a key"}
			break
		}
		ctx[string(k)] = string(v)
	}
	if r.err == nil && r.off != end {
		r.err = &headerError{fmt.Sprintf("encryption context is %d bytes, not the %d announced", r.off-(end-n), n)}
	}
	return ctx
}
