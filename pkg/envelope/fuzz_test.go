package envelope_test

import (
	"testing"

	"github.com/cogmail/cogmail/pkg/envelope"
)

// FuzzParse: arbitrary queue bodies must never panic, and whatever parses
// must have every required field.
func FuzzParse(f *testing.F) {
	good, _ := sample().Marshal()
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"v":1,"sealed":{"ct":"!!"}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := envelope.Parse(b)
		if err != nil {
			return
		}
		if e.ID == "" || e.Version != envelope.SchemaVersion || len(e.Sealed.Ciphertext) == 0 || e.ExpiresAt.IsZero() {
			t.Fatalf("accepted an incomplete envelope: %+v", e)
		}
	})
}
