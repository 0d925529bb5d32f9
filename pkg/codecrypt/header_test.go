package codecrypt

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/cogmail/cogmail/internal/testkit/fixtures"
	"github.com/cogmail/cogmail/pkg/cognito"
)

// TestParseHeaderSharedEvents reads the headers of the shared messages.
func TestParseHeaderSharedEvents(t *testing.T) {
	t.Parallel()
	ev := fixtures.MustLoadEvents()
	for _, c := range ev.Cases {
		e, err := cognito.Parse(c.Event)
		if err != nil {
			t.Fatal(err)
		}
		if e.Ciphertext() == "" {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			msg, err := base64.StdEncoding.DecodeString(e.Ciphertext())
			if err != nil {
				t.Fatal(err)
			}
			h, err := parseHeader(msg)
			if err != nil {
				t.Fatalf("parseHeader: %v", err)
			}
			wantVersion, wantSuite := byte(1), uint16(0x0378)
			if strings.HasSuffix(c.Name, "-suite-0578") {
				wantVersion, wantSuite = 2, 0x0578
			}
			if h.version != wantVersion || h.suite != wantSuite {
				t.Errorf("version %d suite 0x%04x, want %d 0x%04x", h.version, h.suite, wantVersion, wantSuite)
			}
			if pool := h.context[contextKeyPool]; (pool == ev.UserPoolID) != !strings.HasSuffix(c.Name, "-wrong-pool") {
				t.Errorf("userpool-id = %q (shared pool %q)", pool, ev.UserPoolID)
			}
			if _, ok := h.context["aws-crypto-public-key"]; !ok {
				t.Error("a signed suite's context must carry aws-crypto-public-key")
			}
			wantProvider := map[string]string{"raw-aes": ev.KeyNamespace, "kms": "aws-kms"}[c.Keyring]
			if len(h.keys) != 1 || h.keys[0].providerID != wantProvider {
				t.Errorf("data keys %+v, want one from provider %q", h.keys, wantProvider)
			}
		})
	}
}

func TestParseHeaderErrors(t *testing.T) {
	t.Parallel()
	v1 := func(rest ...byte) []byte {
		return append(append([]byte{0x01, 0x80, 0x03, 0x78}, make([]byte, 16)...), rest...)
	}
	edk := []byte{0x00, 0x01, 'p', 0x00, 0x01, 'i', 0x00, 0x01, 'k'}
	tests := []struct {
		name string
		msg  []byte
		want string
	}{
		{"empty", nil, "truncated in version"},
		{"version only", []byte{0x01}, "truncated in message type"},
		{"v2 short id", []byte{0x02, 0x05, 0x78, 0x00}, "truncated in message id"},
		{"no context length", v1(), "truncated in encryption context length"},
		{"context overruns", v1(0x00, 0x20, 0x00, 0x01), "32 bytes announced"},
		{"context underfilled", v1(0x00, 0x08, 0x00, 0x01, 0x00, 0x01, 'a', 0x00, 0x00, 0xff, 0xff), "not the 8 announced"},
		{"duplicate context key", v1(0x00, 0x0c, 0x00, 0x02, 0x00, 0x01, 'a', 0x00, 0x00, 0x00, 0x01, 'a', 0x00, 0x00), "repeats a key"},
		{"no data keys", v1(0x00, 0x00, 0x00, 0x00), "no encrypted data key"},
		{"too many data keys", v1(0x00, 0x00, 0x00, 0x05), "5 encrypted data keys"},
		{"data key truncated", v1(append([]byte{0x00, 0x00, 0x00, 0x01}, edk[:5]...)...), "truncated in key provider info"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseHeader(tt.msg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseHeader = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	h, err := parseHeader(v1(append([]byte{0x00, 0x00, 0x00, 0x01}, edk...)...))
	if err != nil || len(h.context) != 0 || len(h.keys) != 1 || h.keys[0].providerID != "p" || string(h.keys[0].providerInfo) != "i" {
		t.Errorf("minimal header: %+v, %v", h, err)
	}
}
