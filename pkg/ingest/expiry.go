package ingest

import (
	"time"

	"github.com/cogmail/cogmail/pkg/cognito"
)

// DefaultExpiry is how long each trigger's code stays useful: a message not
// sent by then is never sent. Options.Expiry replaces entries.
var DefaultExpiry = map[cognito.Trigger]time.Duration{
	cognito.SignUp:                      24 * time.Hour,
	cognito.ResendCode:                  24 * time.Hour,
	cognito.UpdateUserAttribute:         24 * time.Hour,
	cognito.VerifyUserAttribute:         24 * time.Hour,
	cognito.ForgotPassword:              time.Hour,
	cognito.Authentication:              3 * time.Minute,
	cognito.AdminCreateUser:             7 * 24 * time.Hour,
	cognito.AccountTakeOverNotification: 24 * time.Hour,
}

// GenericExpiry applies to trigger sources this version does not know,
// unless Options.Expiry names them.
const GenericExpiry = time.Hour

// ExpiryFor is how long t's code stays useful: overrides' entry for t, else
// DefaultExpiry's, else GenericExpiry. A CustomSMSSender_ source without an
// entry of its own takes its email namesake's (CustomSMSSender_SignUp
// that of SignUp): Cognito's codes are valid as long by SMS as by email,
// so COGMAIL_EXPIRY's "Authentication=90s" applies to both, and
// "CustomSMSSender_Authentication=2m" to the SMS one alone.
func ExpiryFor(overrides map[cognito.Trigger]time.Duration, t cognito.Trigger) time.Duration {
	namesake := t.On(cognito.ChannelEmail)
	for _, m := range []map[cognito.Trigger]time.Duration{overrides, DefaultExpiry} {
		if d, ok := m[t]; ok {
			return d
		}
		if d, ok := m[namesake]; ok {
			return d
		}
	}
	return GenericExpiry
}
