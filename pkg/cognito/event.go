// Package cognito defines the AWS Cognito custom sender trigger events, Custom
// Email Sender and Custom SMS Sender (aws-lambda-go has no type for them),
// their trigger sources, and a parser that validates an event before anything
// else touches it. Both triggers share one event shape; the trigger source's
// family (CustomEmailSender_ or CustomSMSSender_) is the message's channel.
package cognito

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Trigger is the event's triggerSource.
type Trigger string

// The trigger sources Cognito sends to a Custom Email Sender.
const (
	SignUp                      Trigger = "CustomEmailSender_SignUp"
	ResendCode                  Trigger = "CustomEmailSender_ResendCode"
	ForgotPassword              Trigger = "CustomEmailSender_ForgotPassword"
	UpdateUserAttribute         Trigger = "CustomEmailSender_UpdateUserAttribute"
	VerifyUserAttribute         Trigger = "CustomEmailSender_VerifyUserAttribute"
	AdminCreateUser             Trigger = "CustomEmailSender_AdminCreateUser"
	Authentication              Trigger = "CustomEmailSender_Authentication"
	AccountTakeOverNotification Trigger = "CustomEmailSender_AccountTakeOverNotification"
)

// The trigger sources Cognito sends to a Custom SMS Sender: the email ones
// but the account-takeover notice, which Cognito sends only by email.
const (
	SMSSignUp              Trigger = "CustomSMSSender_SignUp"
	SMSResendCode          Trigger = "CustomSMSSender_ResendCode"
	SMSForgotPassword      Trigger = "CustomSMSSender_ForgotPassword"
	SMSUpdateUserAttribute Trigger = "CustomSMSSender_UpdateUserAttribute"
	SMSVerifyUserAttribute Trigger = "CustomSMSSender_VerifyUserAttribute"
	SMSAdminCreateUser     Trigger = "CustomSMSSender_AdminCreateUser"
	SMSAuthentication      Trigger = "CustomSMSSender_Authentication"
)

// TriggerPrefix starts every Custom Email Sender trigger source.
const TriggerPrefix = "CustomEmailSender_"

// SMSTriggerPrefix starts every Custom SMS Sender trigger source.
const SMSTriggerPrefix = "CustomSMSSender_"

// Triggers lists the known Custom Email Sender trigger sources in a stable
// order (the email templates are these).
var Triggers = []Trigger{SignUp, ResendCode, ForgotPassword, UpdateUserAttribute,
	VerifyUserAttribute, AdminCreateUser, Authentication, AccountTakeOverNotification}

// SMSTriggers lists the known Custom SMS Sender trigger sources in a stable
// order (the SMS templates are these).
var SMSTriggers = []Trigger{SMSSignUp, SMSResendCode, SMSForgotPassword, SMSUpdateUserAttribute,
	SMSVerifyUserAttribute, SMSAdminCreateUser, SMSAuthentication}

// Channel is how a message reaches its user: the trigger family Cognito
// invoked.
type Channel string

// The channels.
const (
	ChannelEmail Channel = "email"
	ChannelSMS   Channel = "sms"
)

// Channel is the channel of t's family: ChannelSMS for a CustomSMSSender_
// source, ChannelEmail for every other (a malformed source never gets
// past Validate).
func (t Trigger) Channel() Channel {
	if strings.HasPrefix(string(t), SMSTriggerPrefix) {
		return ChannelSMS
	}
	return ChannelEmail
}

// Known reports whether t is one of the trigger sources this version knows.
func (t Trigger) Known() bool {
	return slices.Contains(Triggers, t) || slices.Contains(SMSTriggers, t)
}

// Short is the source without its family's prefix ("SignUp"); templates are
// named by it, and an email and an SMS source of the same event share it.
func (t Trigger) Short() string {
	if s, ok := strings.CutPrefix(string(t), SMSTriggerPrefix); ok {
		return s
	}
	return strings.TrimPrefix(string(t), TriggerPrefix)
}

// On is the source of the same name in channel c's family:
// SignUp.On(ChannelSMS) is SMSSignUp. The result may not be Known (there is
// no SMS account-takeover notice).
func (t Trigger) On(c Channel) Trigger {
	if c == ChannelSMS {
		return Trigger(SMSTriggerPrefix + t.Short())
	}
	return Trigger(TriggerPrefix + t.Short())
}

// RequiresCode reports whether events of this source must carry request.code.
// Every source but the account-takeover notice does, unknown ones included:
// a future source is delivered through the generic template, which shows a code.
func (t Trigger) RequiresCode() bool { return t != AccountTakeOverNotification }

// ParseTrigger accepts a full source of either family
// ("CustomEmailSender_SignUp", "CustomSMSSender_SignUp") or the short form of
// an email source ("SignUp"), case-insensitively for the short form; an SMS
// source's short form is ParseTrigger(s) and then On(ChannelSMS).
func ParseTrigger(s string) (Trigger, error) {
	if strings.HasPrefix(s, TriggerPrefix) || strings.HasPrefix(s, SMSTriggerPrefix) {
		return Trigger(s), nil
	}
	for _, k := range Triggers {
		if strings.EqualFold(k.Short(), s) {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown trigger %q (want one of %s)", s, shortList())
}

func shortList() string {
	names := make([]string, len(Triggers))
	for i, t := range Triggers {
		names[i] = t.Short()
	}
	return strings.Join(names, ", ")
}

// Event is a custom sender trigger event (email or SMS: the same shape).
type Event struct {
	Version       string        `json:"version"`
	TriggerSource Trigger       `json:"triggerSource"`
	Region        string        `json:"region"`
	UserPoolID    string        `json:"userPoolId"`
	UserName      string        `json:"userName"`
	CallerContext CallerContext `json:"callerContext"`
	Request       Request       `json:"request"`
	Response      struct{}      `json:"response"`
}

// CallerContext says which SDK and app client caused the event.
type CallerContext struct {
	AWSSDKVersion string `json:"awsSdkVersion"`
	ClientID      string `json:"clientId"`
}

// Request carries the encrypted code and the user's attributes. Type is
// customEmailSenderRequestV1 or customSMSSenderRequestV1; the trigger source,
// not Type, picks the channel.
// Code is the base64 AWS Encryption SDK message; it is empty for
// AccountTakeOverNotification. ClientMetadata may be null.
type Request struct {
	Type           string            `json:"type"`
	Code           *string           `json:"code"`
	ClientMetadata map[string]string `json:"clientMetadata"`
	UserAttributes map[string]string `json:"userAttributes"`
}

// Ciphertext returns request.code, or "" when it is null or absent.
func (e *Event) Ciphertext() string {
	if e.Request.Code == nil {
		return ""
	}
	return *e.Request.Code
}

// Attr returns a user attribute ("" when absent).
func (e *Event) Attr(name string) string { return e.Request.UserAttributes[name] }

// Sub returns the user's immutable id (the "sub" attribute).
func (e *Event) Sub() string { return e.Attr("sub") }

// Account-takeover notice attributes (AccountTakeOverNotification events carry
// these in userAttributes instead of a profile).
const (
	AttrLoginTime           = "LOGIN_TIME"
	AttrCity                = "CITY"
	AttrCountry             = "COUNTRY"
	AttrIPAddress           = "IP_ADDRESS"
	AttrDeviceName          = "DEVICE_NAME"
	AttrEventResponse       = "EVENT_RESPONSE"
	AttrOneClickLinkValid   = "ONE_CLICK_LINK_VALID"
	AttrOneClickLinkInvalid = "ONE_CLICK_LINK_INVALID"
)

// Limits applied by Parse. Cognito caps a custom attribute at 2,048 characters
// and a pool at 50 custom attributes; these leave room for the standard ones.
const (
	MaxEventBytes      = 256 << 10
	MaxAttributes      = 128
	MaxAttributeLength = 2048
	MaxMetadataEntries = 64
	MaxCiphertextBytes = 16 << 10
)

// Error is a malformed or unacceptable event. It is permanent: retrying the
// same event cannot succeed. Field names the offending JSON path.
type Error struct {
	Field  string
	Reason string
}

func (e *Error) Error() string { return "cognito event: " + e.Field + ": " + e.Reason }

// ErrMalformed matches every *Error with errors.Is.
var ErrMalformed = errors.New("malformed cognito event")

// Is makes errors.Is(err, ErrMalformed) true for every *Error.
func (e *Error) Is(target error) bool { return target == ErrMalformed }

// ValidPoolID reports whether s has the shape of a user pool id: a region
// ("eu-west-1", "us-gov-west-1"), an underscore and letters and digits, which
// is ^[a-z]{2}(-[a-z]+)+-[0-9]+_[0-9A-Za-z]+$. It is written out rather than
// compiled from that pattern so that the package costs nothing at cold start.
func ValidPoolID(s string) bool {
	region, id, ok := strings.Cut(s, "_")
	if !ok || id == "" || !allOf(id, isAlnum) {
		return false
	}
	parts := strings.Split(region, "-")
	if len(parts) < 3 || len(parts[0]) != 2 || !allOf(parts[0], isLower) {
		return false
	}
	for _, p := range parts[1 : len(parts)-1] {
		if p == "" || !allOf(p, isLower) {
			return false
		}
	}
	last := parts[len(parts)-1]
	return last != "" && allOf(last, isDigit)
}

func allOf(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func isLower(c byte) bool { return 'a' <= c && c <= 'z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isAlnum(c byte) bool { return isLower(c) || isDigit(c) || ('A' <= c && c <= 'Z') }

// Parse decodes and validates an event. It never echoes attribute values or
// the code in its errors: only field names and sizes.
func Parse(raw []byte) (*Event, error) {
	if len(raw) > MaxEventBytes {
		return nil, &Error{"(event)", fmt.Sprintf("%d bytes is over the %d byte limit", len(raw), MaxEventBytes)}
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, &Error{"(event)", "not a JSON object"}
	}
	var e Event
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, &Error{"(event)", "invalid JSON: " + describeJSONError(err)}
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return &e, nil
}

// describeJSONError keeps the position and type of a JSON error but not the
// offending value, which could be a secret.
func describeJSONError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q must be %s, not %s", typ.Field, typ.Type, typ.Value)
	default:
		return "cannot decode"
	}
}

// Validate checks an event's fields and limits.
func (e *Event) Validate() error {
	var errs []error
	bad := func(field, reason string) { errs = append(errs, &Error{field, reason}) }
	ts := string(e.TriggerSource)
	switch {
	case ts == "":
		bad("triggerSource", "missing")
	case (!strings.HasPrefix(ts, TriggerPrefix) || len(ts) == len(TriggerPrefix)) &&
		(!strings.HasPrefix(ts, SMSTriggerPrefix) || len(ts) == len(SMSTriggerPrefix)):
		bad("triggerSource", fmt.Sprintf("%q is not a Custom Email Sender or Custom SMS Sender source", clip(ts, 64)))
	case len(ts) > 128:
		bad("triggerSource", "too long")
	}
	switch {
	case e.UserPoolID == "":
		bad("userPoolId", "missing")
	case !ValidPoolID(e.UserPoolID):
		bad("userPoolId", fmt.Sprintf("%q is not a user pool id", clip(e.UserPoolID, 64)))
	}
	if e.UserName == "" {
		bad("userName", "missing")
	} else if len(e.UserName) > 256 {
		bad("userName", "longer than 256 bytes")
	}
	code := e.Ciphertext()
	if e.TriggerSource.RequiresCode() && code == "" && ts != "" {
		bad("request.code", "missing; "+e.TriggerSource.Short()+" events must carry an encrypted code")
	}
	if len(code) > MaxCiphertextBytes {
		bad("request.code", fmt.Sprintf("%d bytes is over the %d byte limit", len(code), MaxCiphertextBytes))
	}
	if e.Request.UserAttributes == nil {
		bad("request.userAttributes", "missing")
	}
	if n := len(e.Request.UserAttributes); n > MaxAttributes {
		bad("request.userAttributes", fmt.Sprintf("%d attributes is over the limit of %d", n, MaxAttributes))
	}
	for k, v := range e.Request.UserAttributes {
		if len(v) > MaxAttributeLength {
			bad("request.userAttributes."+clip(k, 64), fmt.Sprintf("value of %d bytes is over the %d byte limit", len(v), MaxAttributeLength))
		}
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			bad("request.userAttributes."+clip(k, 64), "not valid UTF-8")
		}
	}
	if n := len(e.Request.ClientMetadata); n > MaxMetadataEntries {
		bad("request.clientMetadata", fmt.Sprintf("%d entries is over the limit of %d", n, MaxMetadataEntries))
	}
	for k, v := range e.Request.ClientMetadata {
		if len(v) > MaxAttributeLength {
			bad("request.clientMetadata."+clip(k, 64), fmt.Sprintf("value of %d bytes is over the %d byte limit", len(v), MaxAttributeLength))
		}
	}
	return errors.Join(errs...)
}

func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
