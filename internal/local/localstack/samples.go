package localstack

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"html"
	"math/big"
	"time"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/ingest"
)

// SamplePool is the user pool id the sample events use, unless
// Options.UserPoolIDs names others.
const SamplePool = "us-east-1_CogmailLocal"

// EventSpec describes a Cognito-shaped event to make.
type EventSpec struct {
	Trigger  cognito.Trigger
	Pool     string
	UserName string
	Email    string            // the email attribute ("" for none: an SMS event's user may have none)
	Phone    string            // the phone_number attribute of an SMS event (E.164)
	Locale   string            // the user's locale attribute ("" for none)
	Extra    map[string]string // more user attributes
	// ClientID is the app client (callerContext.clientId) that picks the
	// brand; default SampleClientID.
	ClientID string
}

// SampleClientID is the app client id of events that name none.
const SampleClientID = "1example23456789"

// Event builds the JSON of a Custom Email Sender or Custom SMS Sender event
// (by spec.Trigger's family) whose request.code is ciphertext (empty for
// AccountTakeOverNotification), shaped as Cognito sends it.
func Event(spec EventSpec, ciphertext string) ([]byte, error) {
	attrs := map[string]string{
		"sub":                 pseudoSub(spec.UserName),
		"cognito:user_status": "UNCONFIRMED",
	}
	if spec.Email != "" {
		attrs["email"], attrs["email_verified"] = spec.Email, "false"
	}
	if spec.Phone != "" {
		attrs["phone_number"], attrs["phone_number_verified"] = spec.Phone, "false"
	}
	requestType := "customEmailSenderRequestV1"
	if spec.Trigger.Channel() == cognito.ChannelSMS {
		requestType = "customSMSSenderRequestV1"
	}
	if spec.Trigger.On(cognito.ChannelEmail) == cognito.AdminCreateUser {
		attrs["cognito:user_status"] = "FORCE_CHANGE_PASSWORD"
	}
	if spec.Locale != "" {
		attrs["locale"] = spec.Locale
	}
	for k, v := range spec.Extra {
		attrs[k] = v
	}
	if spec.ClientID == "" {
		spec.ClientID = SampleClientID
	}
	var code *string
	if ciphertext != "" {
		code = &ciphertext
	}
	e := cognito.Event{
		Version: "1", TriggerSource: spec.Trigger, Region: "us-east-1", UserPoolID: spec.Pool, UserName: spec.UserName,
		CallerContext: cognito.CallerContext{AWSSDKVersion: "aws-sdk-unknown-unknown", ClientID: spec.ClientID},
		Request:       cognito.Request{Type: requestType, Code: code, UserAttributes: attrs},
	}
	b, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	if _, err := cognito.Parse(b); err != nil {
		return nil, fmt.Errorf("the event would be rejected: %w", err)
	}
	return b, nil
}

func pseudoSub(user string) string {
	b := sha256.Sum256([]byte("cogmail local sub\x00" + user))
	b[6] = b[6]&0x0f | 0x40 // version 4, as Cognito's subs are
	b[8] = b[8]&0x3f | 0x80 // the RFC 9562 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// AccountTakeOverAttributes are the sign-in details Cognito puts in an
// account-takeover notice.
func AccountTakeOverAttributes(now time.Time) map[string]string {
	return map[string]string{
		cognito.AttrLoginTime: now.UTC().Format("Jan 2, 2006 3:04:05 PM"), cognito.AttrCity: "Lisbon",
		cognito.AttrCountry: "Portugal", cognito.AttrIPAddress: "203.0.113.7", cognito.AttrDeviceName: "Chrome, Linux",
		cognito.AttrEventResponse:       "BLOCK",
		cognito.AttrOneClickLinkValid:   "https://example.com/valid",
		cognito.AttrOneClickLinkInvalid: "https://example.com/invalid",
	}
}

// NewCode returns what Cognito would put in request.code before encrypting:
// a 6-digit code, or for AdminCreateUser a temporary password, HTML-escaped
// as Cognito escapes it.
func NewCode(t cognito.Trigger) string {
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if t.On(cognito.ChannelEmail) == cognito.AdminCreateUser {
		return html.EscapeString(fmt.Sprintf("Tmp<%06d>", n.Int64()))
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// Sample is one sample event's outcome.
type Sample struct {
	Trigger cognito.Trigger
	Email   string
	Locale  string
	Result  ingest.Result
	Err     error // ingest failed, or the email was not delivered in time
	// Delivery is the email as a provider accepted it (zero until delivered).
	Delivery Delivered
}

// Delivered reports whether a provider accepted the sample's email.
func (s Sample) Delivered() bool { return s.Delivery.MessageID != "" }

var sampleUsers = []struct{ user, email, locale string }{
	{"ana", "ana@example.com", "en"}, {"jose", "jose@example.com", "es"}, {"lea", "lea@example.com", "de-DE"},
	{"chloe", "chloe@example.com", "fr"}, {"joao", "joao@example.com", "pt-BR"},
}

// RunSamples sends one sample event per trigger source through the ingest
// handler, each encrypted as Cognito would encrypt it, and waits up to
// timeout for dispatch to deliver them through the providers.
func (s *Stack) RunSamples(ctx context.Context, timeout time.Duration) []Sample {
	out := make([]Sample, 0, len(cognito.Triggers))
	for i, t := range cognito.Triggers {
		u := sampleUsers[i%len(sampleUsers)]
		smp := Sample{Trigger: t, Email: u.email, Locale: u.locale}
		spec := EventSpec{Trigger: t, Pool: s.samplePool, UserName: u.user, Email: u.email, Locale: u.locale}
		var ct string
		if t.RequiresCode() {
			ct, smp.Err = s.Encrypter.Encrypt(ctx, NewCode(t), s.samplePool)
		} else {
			spec.Extra = AccountTakeOverAttributes(time.Now())
		}
		var raw []byte
		if smp.Err == nil {
			raw, smp.Err = Event(spec, ct)
		}
		if smp.Err == nil {
			smp.Result, smp.Err = s.Invoke(ctx, raw)
		}
		out = append(out, smp)
	}
	var ids []string
	for _, smp := range out {
		if smp.Err == nil {
			ids = append(ids, smp.Result.MessageID)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	got := s.WaitDelivered(wctx, ids...)
	for i := range out {
		if out[i].Err != nil {
			continue
		}
		if d, ok := got[out[i].Result.MessageID]; ok {
			out[i].Delivery = d
		} else {
			out[i].Err = fmt.Errorf("not delivered within %s (see /queues and `cogmail dlq list`)", timeout)
		}
	}
	return out
}
