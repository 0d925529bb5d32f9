package codecrypt_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/cogmail/cogmail/pkg/codecrypt"
)

// FuzzDecrypt feeds arbitrary codes to a raw AES Decrypter: raw bytes
// (base64-encoded for it, to reach the message parser and the SDK) or
// arbitrary text. It must never panic, and every failure must be a
// well-formed *Error that echoes none of its input.
func FuzzDecrypt(f *testing.F) {
	d, err := codecrypt.NewRawAES(context.Background(), rawKey())
	if err != nil {
		f.Fatal(err)
	}
	secrets := map[string]bool{}
	for _, c := range events.Cases {
		ev := parseCase(f, c)
		if ev.Ciphertext() == "" {
			continue
		}
		if c.Keyring == "raw-aes" && c.Deliver() {
			secrets[c.Secret] = true
		}
		msg := mustDecode(f, ev.Ciphertext())
		f.Add(msg, true)
		f.Add(msg[:len(msg)/3], true)
		f.Add([]byte(ev.Ciphertext()), false)
	}
	f.Add([]byte{}, false)
	f.Add([]byte{}, true)
	f.Add([]byte{0x01, 0x80, 0x03, 0x78}, true)
	f.Add([]byte{0x02, 0x05, 0x78}, true)
	f.Add([]byte("AYADeLhj9uv06B3zrdW8=="), false)
	f.Add([]byte("\x00\xff not base64 \u2603"), false)

	f.Fuzz(func(t *testing.T, data []byte, encode bool) {
		code := string(data)
		if encode {
			code = base64.StdEncoding.EncodeToString(data)
		}
		got, err := d.Decrypt(context.Background(), code, events.UserPoolID)
		if err == nil {
			// Only a shared message (or another base64 spelling of one) decrypts.
			if !secrets[got.Reveal()] {
				t.Fatalf("decrypted an unknown code from %q", code)
			}
			return
		}
		var ce *codecrypt.Error
		if !errors.As(err, &ce) {
			t.Fatalf("error is %T, want *codecrypt.Error: %v", err, err)
		}
		if ce.Kind == codecrypt.KindUnavailable || ce.Kind == codecrypt.KindInternal {
			t.Fatalf("raw AES decrypt failed with kind %v: %v", ce.Kind, err)
		}
		msg := err.Error()
		if strings.Contains(msg, "%!") || (len(code) >= 16 && strings.Contains(msg, code)) {
			t.Fatalf("error leaks its input or the SDK's text: %s", msg)
		}
	})
}
