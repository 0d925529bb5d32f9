package cognito_test

import (
	"errors"
	"testing"

	"github.com/cogmail/cogmail/internal/testkit/fixtures"
	"github.com/cogmail/cogmail/pkg/cognito"
)

// FuzzParse feeds arbitrary bytes to the event parser: it must never panic,
// and every error must be a *cognito.Error.
func FuzzParse(f *testing.F) {
	for _, c := range fixtures.MustLoadEvents().Cases {
		f.Add([]byte(c.Event))
	}
	for _, c := range fixtures.MustLoadSMSEvents().Cases {
		f.Add([]byte(c.Event))
	}
	f.Add([]byte(validEvent))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"request":{"userAttributes":{"a":"\ud800"}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := cognito.Parse(b)
		if err != nil {
			if !errors.Is(err, cognito.ErrMalformed) {
				t.Fatalf("error is not ErrMalformed: %v", err)
			}
			return
		}
		if e.UserPoolID == "" || e.UserName == "" || e.TriggerSource == "" {
			t.Fatalf("accepted an event without pool/user/trigger")
		}
	})
}
