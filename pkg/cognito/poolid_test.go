package cognito_test

import (
	"regexp"
	"testing"

	"github.com/cogmail/cogmail/pkg/cognito"
)

// poolIDPattern is the shape ValidPoolID spells out; the tests hold them equal.
var poolIDPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+_[0-9A-Za-z]+$`)

func TestValidPoolID(t *testing.T) {
	for _, c := range []struct {
		id   string
		want bool
	}{
		{"us-east-1_Abc123", true},
		{"eu-west-1_x", true},
		{"us-gov-west-1_AbCdEf123", true},
		{"ap-southeast-2_9", true},
		{"us-east-1", false},
		{"us-east-1_", false},
		{"us-east-1_a_b", false},
		{"us-east-1_a-b", false},
		{"useast-1_a", false},
		{"u-east-1_a", false},
		{"US-east-1_a", false},
		{"us--1_a", false},
		{"us-east-_a", false},
		{"us-east-1a_a", false},
		{"us-1_a", false},
		{"_a", false},
		{"", false},
		{"us-east-1_Ab\n", false},
		{"us-ëast-1_a", false},
	} {
		if got := cognito.ValidPoolID(c.id); got != c.want {
			t.Errorf("ValidPoolID(%q) = %v, want %v", c.id, got, c.want)
		}
		if re := poolIDPattern.MatchString(c.id); re != c.want {
			t.Errorf("the pattern says %v for %q: the table is wrong", re, c.id)
		}
	}
}

func FuzzValidPoolID(f *testing.F) {
	for _, s := range []string{"us-east-1_Abc123", "us-gov-west-1_x", "a-b-1_c", "us-east-1__", "xx-y-0_Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := cognito.ValidPoolID(s), poolIDPattern.MatchString(s); got != want {
			t.Errorf("ValidPoolID(%q) = %v, the pattern says %v", s, got, want)
		}
	})
}
