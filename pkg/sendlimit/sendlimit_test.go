package sendlimit_test

import (
	"testing"
	"time"

	"github.com/cogmail/cogmail/internal/testkit/sendlimittest"
	"github.com/cogmail/cogmail/pkg/sendlimit"
)

func TestMemory(t *testing.T) {
	sendlimittest.Run(t, func(t *testing.T, now func() time.Time) sendlimit.Counter { return sendlimit.NewMemory(now) })
}

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want sendlimit.Limit
		ok   bool
	}{
		{"5/1h", sendlimit.Limit{N: 5, Window: time.Hour}, true},
		{" 3 / 15m ", sendlimit.Limit{N: 3, Window: 15 * time.Minute}, true},
		{"off", sendlimit.Limit{}, true},
		{"0", sendlimit.Limit{}, true},
		{"5", sendlimit.Limit{}, false},
		{"0/1h", sendlimit.Limit{}, false},
		{"5/soon", sendlimit.Limit{}, false},
		{"5/10ms", sendlimit.Limit{}, false},
		{"x/1h", sendlimit.Limit{}, false},
	}
	for _, tt := range tests {
		got, err := sendlimit.Parse(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("Parse(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	var l sendlimit.Limit
	if err := l.UnmarshalText([]byte("3/1h")); err != nil || l.String() != "3/1h0m0s" {
		t.Errorf("UnmarshalText: %v %v", l, err)
	}
}
