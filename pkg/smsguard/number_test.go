package smsguard

import (
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// FuzzRegion: for any E.164 number phonenumbers.Parse reads back as itself,
// parse finds the same region.
func FuzzRegion(f *testing.F) {
	for _, s := range []string{"+14155552671", "+18765550123", "+447911123456", "+447400123456", "+3906123456",
		"+390612345678", "+881612345678", "+4915112345678", "+35312", "+2250712345678", "+80012345678", "+12"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parse(s)
		pn, perr := phonenumbers.Parse(s, "")
		if perr != nil || phonenumbers.Format(pn, phonenumbers.E164) != s || len(s) > 16 {
			return // not an E.164 number (at most 15 digits) Parse reads as this string
		}
		want := phonenumbers.GetRegionCodeForNumber(pn)
		if want == phonenumbers.UNKNOWN_REGION {
			want = ""
		}
		if err != nil || n.region != want {
			t.Fatalf("parse(%q) = %q, %v; phonenumbers says %q", s, n.region, err, want)
		}
	})
}
