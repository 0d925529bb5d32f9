package smsguard_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cogmail/cogmail/pkg/sendlimit"
	"github.com/cogmail/cogmail/pkg/smsguard"
)

func TestParseEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want smsguard.Options // after WithDefaults
		errs []string         // substrings, in order
	}{
		{"nothing set: the defaults, SMS off", nil, smsguard.Options{
			NumberLimit: sendlimit.Limit{N: 5, Window: time.Hour}, CountryCap: 100, DailySegments: 1000,
			PrefixVelocity: sendlimit.Limit{N: 10, Window: time.Hour},
		}, nil},
		{"everything set", map[string]string{
			"COGMAIL_SMS_COUNTRIES": " gb, US,GB ", "COGMAIL_SMS_NUMBER_LIMIT": "3/15m",
			"COGMAIL_SMS_COUNTRY_CAP": "50, us=2000", "COGMAIL_SMS_DAILY_SEGMENTS": "20000",
			"COGMAIL_SMS_PREFIX_VELOCITY": "20/1h",
		}, smsguard.Options{
			Countries: []string{"GB", "US"}, NumberLimit: sendlimit.Limit{N: 3, Window: 15 * time.Minute},
			CountryCap: 50, CountryCaps: map[string]int{"US": 2000}, DailySegments: 20000,
			PrefixVelocity: sendlimit.Limit{N: 20, Window: time.Hour},
		}, nil},
		{"off", map[string]string{
			"COGMAIL_SMS_COUNTRIES": "GB", "COGMAIL_SMS_NUMBER_LIMIT": "off", "COGMAIL_SMS_COUNTRY_CAP": "off",
			"COGMAIL_SMS_DAILY_SEGMENTS": "off", "COGMAIL_SMS_PREFIX_VELOCITY": "off",
		}, smsguard.Options{
			Countries: []string{"GB"}, NumberLimit: sendlimit.Limit{N: -1}, CountryCap: -1, DailySegments: -1,
			PrefixVelocity: sendlimit.Limit{N: -1},
		}, nil},
		{"every problem at once, in the variables' order", map[string]string{
			"COGMAIL_SMS_COUNTRIES": "GB,UK,XX", "COGMAIL_SMS_NUMBER_LIMIT": "lots",
			"COGMAIL_SMS_COUNTRY_CAP": "ten,FR=5,GB=0,GB:3", "COGMAIL_SMS_DAILY_SEGMENTS": "-4",
			"COGMAIL_SMS_PREFIX_VELOCITY": "10/1ms",
		}, smsguard.Options{}, []string{
			"COGMAIL_SMS_COUNTRIES: \"UK\"", "COGMAIL_SMS_COUNTRIES: \"XX\"",
			"COGMAIL_SMS_NUMBER_LIMIT:",
			"COGMAIL_SMS_COUNTRY_CAP: \"ten\"", "COGMAIL_SMS_COUNTRY_CAP: \"GB:3\"",
			"COGMAIL_SMS_COUNTRY_CAP: FR has a cap but is not on COGMAIL_SMS_COUNTRIES", "COGMAIL_SMS_COUNTRY_CAP: GB=0",
			"COGMAIL_SMS_DAILY_SEGMENTS:", "COGMAIL_SMS_PREFIX_VELOCITY:",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := smsguard.ParseEnv(func(k string) string { return tt.env[k] })
			if len(tt.errs) > 0 {
				if err == nil {
					t.Fatal("no error")
				}
				msg, at := err.Error(), 0
				for _, e := range tt.errs {
					i := strings.Index(msg[at:], e)
					if i < 0 {
						t.Fatalf("%q missing (or out of order) in:\n%s", e, msg)
					}
					at += i
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := o.WithDefaults()
			if strings.Join(got.Countries, ",") != strings.Join(tt.want.Countries, ",") || got.NumberLimit != tt.want.NumberLimit ||
				got.CountryCap != tt.want.CountryCap || len(got.CountryCaps) != len(tt.want.CountryCaps) ||
				got.DailySegments != tt.want.DailySegments || got.PrefixVelocity != tt.want.PrefixVelocity {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
			for c, n := range tt.want.CountryCaps {
				if got.CountryCaps[c] != n {
					t.Fatalf("CountryCaps[%s] = %d, want %d", c, got.CountryCaps[c], n)
				}
			}
		})
	}
}

// New refuses options the environment could not have produced either,
// naming the variable.
func TestNewValidates(t *testing.T) {
	_, err := smsguard.New(smsguard.Options{Countries: []string{"gb"}}, smsguard.Deps{})
	if err == nil || !strings.Contains(err.Error(), "COGMAIL_SMS_COUNTRIES") {
		t.Fatalf("lower-case country: %v", err)
	}
}
