package secret_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/cogmail/cogmail/pkg/secret"
)

func TestCodeNeverPrints(t *testing.T) {
	const plain = "123456"
	c := secret.New(plain)
	if c.Reveal() != plain {
		t.Fatalf("Reveal() = %q, want %q", c.Reveal(), plain)
	}
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("x", "code", c, "wrapped", struct{ C secret.Code }{c})
	js, err := json.Marshal(map[string]any{"c": c})
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v":    fmt.Sprintf("%v", c),
		"%s":    fmt.Sprintf("%s", c),
		"%+v":   fmt.Sprintf("%+v", struct{ C secret.Code }{c}),
		"%#v":   fmt.Sprintf("%#v", c),
		"%q":    fmt.Sprintf("%q", c),
		"%x":    fmt.Sprintf("%x", c),
		"Print": fmt.Sprint(c),
		"error": fmt.Errorf("wrap: %v", c).Error(),
		"errs":  errors.Join(fmt.Errorf("%s", c)).Error(),
		"slog":  logBuf.String(),
		"json":  string(js),
	}
	for name, out := range outputs {
		if strings.Contains(out, plain) {
			t.Errorf("%s leaked the code: %s", name, out)
		}
		if !strings.Contains(out, secret.Redacted) {
			t.Errorf("%s did not print %s: %s", name, secret.Redacted, out)
		}
	}
}

func TestIsZero(t *testing.T) {
	if !(secret.Code{}).IsZero() {
		t.Error("zero Code should be IsZero")
	}
	if secret.New("x").IsZero() {
		t.Error("non-empty Code should not be IsZero")
	}
}

func ExampleCode() {
	c := secret.New("042195")
	fmt.Println(c)
	fmt.Println(len(c.Reveal()))
	// Output:
	// REDACTED
	// 6
}
