package ingest_test

import (
	"testing"
	"time"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/ingest"
)

func TestExpiryFor(t *testing.T) {
	overrides := map[cognito.Trigger]time.Duration{cognito.ForgotPassword: 30 * time.Minute, "CustomEmailSender_Future": 5 * time.Minute}
	for _, tc := range []struct {
		overrides map[cognito.Trigger]time.Duration
		trigger   cognito.Trigger
		want      time.Duration
	}{
		{nil, cognito.SignUp, 24 * time.Hour},
		{nil, cognito.ResendCode, 24 * time.Hour},
		{nil, cognito.UpdateUserAttribute, 24 * time.Hour},
		{nil, cognito.VerifyUserAttribute, 24 * time.Hour},
		{nil, cognito.ForgotPassword, time.Hour},
		{nil, cognito.Authentication, 3 * time.Minute},
		{nil, cognito.AdminCreateUser, 7 * 24 * time.Hour},
		{nil, cognito.AccountTakeOverNotification, 24 * time.Hour},
		{nil, "CustomEmailSender_Future", ingest.GenericExpiry},
		{overrides, cognito.ForgotPassword, 30 * time.Minute},
		{overrides, cognito.SignUp, 24 * time.Hour}, // not overridden: the default stays
		{overrides, "CustomEmailSender_Future", 5 * time.Minute},
	} {
		if got := ingest.ExpiryFor(tc.overrides, tc.trigger); got != tc.want {
			t.Errorf("ExpiryFor(%v, %s) = %v, want %v", tc.overrides, tc.trigger, got, tc.want)
		}
	}
	if len(ingest.DefaultExpiry) != len(cognito.Triggers) {
		t.Errorf("DefaultExpiry has %d triggers, cognito knows %d", len(ingest.DefaultExpiry), len(cognito.Triggers))
	}
}
