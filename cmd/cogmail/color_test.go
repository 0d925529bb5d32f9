package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cogmail/cogmail/internal/local/localstack"
	"github.com/cogmail/cogmail/pkg/cognito"
)

// TestColour: colour only on a terminal (a character device: /dev/null is
// one) and only while NO_COLOR is unset or empty; never in a pipe or file.
func TestColour(t *testing.T) {
	tty, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	file, err := os.Create(t.TempDir() + "/out")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	none := func(string) string { return "" }
	noColor := func(k string) string {
		if k == "NO_COLOR" {
			return "1"
		}
		return ""
	}
	cases := []struct {
		name string
		ok   bool
		got  bool
	}{
		{"terminal", true, wantColor(tty, none)},
		{"terminal with NO_COLOR", false, wantColor(tty, noColor)},
		{"file", false, wantColor(file, none)},
		{"pipe or buffer", false, wantColor(&bytes.Buffer{}, none)},
	}
	for _, tc := range cases {
		if tc.got != tc.ok {
			t.Errorf("%s: colour %v, want %v", tc.name, tc.got, tc.ok)
		}
	}

	samples := []localstack.Sample{{Trigger: cognito.SignUp, Email: "a@example.com"}, {Trigger: cognito.ForgotPassword, Email: "b@example.com", Err: os.ErrDeadlineExceeded}}
	samples[0].Delivery.Provider, samples[0].Delivery.MessageID = "ses", "m1"
	samples[0].Result.ExpiresAt = time.Now().Add(time.Hour)
	for _, color := range []bool{true, false} {
		var out bytes.Buffer
		printSamples(&env{stdout: &out, color: color}, samples, nil)
		if got := strings.Contains(out.String(), green+"delivered"+reset) && strings.Contains(out.String(), red+"FAILED"); got != color {
			t.Errorf("colour %v: coloured outcomes %v:\n%q", color, got, out.String())
		}
		if !color && strings.Contains(out.String(), "\x1b[") {
			t.Errorf("escape codes without colour:\n%q", out.String())
		}
	}
}
