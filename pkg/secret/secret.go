// Package secret holds the Code type: a decrypted verification code or
// temporary password that can be passed around but never printed.
package secret

import (
	"fmt"
	"log/slog"
)

// Redacted is what every formatting path prints instead of a secret.
const Redacted = "REDACTED"

// Code is a decrypted Cognito code or temporary password. Its String, GoString,
// LogValue and MarshalText methods all return Redacted, so a stray %v, a slog
// attribute or a JSON encoder cannot leak it. Reveal returns the value for the
// one place that needs it: the template that renders the email.
type Code struct{ v string }

// New wraps a plaintext value.
func New(v string) Code { return Code{v: v} }

// Reveal returns the plaintext. Call it only to put the value into an email.
func (c Code) Reveal() string { return c.v }

// IsZero reports whether the code is empty (AccountTakeOverNotification events carry none).
func (c Code) IsZero() bool { return c.v == "" }

func (c Code) String() string               { return Redacted }
func (c Code) GoString() string             { return Redacted }
func (c Code) LogValue() slog.Value         { return slog.StringValue(Redacted) }
func (c Code) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// Format makes every fmt verb (%s, %v, %+v, %#v, %q, %x) print Redacted.
func (c Code) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }
