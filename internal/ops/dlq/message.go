package dlq

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/envelope"
)

// Message is what the tools show of one DLQ message: its clear metadata and
// the dead-lettering attributes. The sealed payload (recipient, subject,
// bodies) is never opened; the user name is shown as a short hash because
// in some pools it is the email address.
type Message struct {
	ID           string            `json:"id,omitempty"` // cogmail message id; empty when the body is not an envelope
	SQSID        string            `json:"sqsMessageId"`
	Trigger      string            `json:"trigger,omitempty"` // short form: "SignUp"
	Pool         string            `json:"pool,omitempty"`
	UserHash     string            `json:"userHash,omitempty"` // UserHash(pool, userName)
	Locale       string            `json:"locale,omitempty"`
	CreatedAt    time.Time         `json:"createdAt"` // the envelope's, else when SQS got the message
	ExpiresAt    time.Time         `json:"expiresAt,omitzero"`
	Expired      bool              `json:"expired"`
	ExpiresIn    time.Duration     `json:"-"` // from the time of reading; negative once expired
	Age          time.Duration     `json:"-"`
	AgeSeconds   int64             `json:"ageSeconds"`
	Reason       string            `json:"reason"`
	Detail       string            `json:"detail,omitempty"`     // dispatch's cogmail.error
	LastErrors   map[string]string `json:"lastErrors,omitempty"` // by provider, already classified and secret-free
	Attempts     int               `json:"attempts,omitempty"`   // deliveries to dispatch, when dispatch dead-lettered it
	FirstAttempt time.Time         `json:"firstAttempt,omitzero"`
	LastAttempt  time.Time         `json:"lastAttempt,omitzero"`
	SentAt       time.Time         `json:"sentAt,omitzero"` // SQS SentTimestamp
	ReceiveCount int               `json:"receiveCount"`    // ApproximateReceiveCount, this read included
	SealedBytes  int               `json:"sealedBytes"`     // size of the sealed payload, which is never shown
	Problem      string            `json:"problem,omitempty"`
	Attributes   map[string]string `json:"attributes,omitempty"` // every message attribute (all clear metadata)

	user    string // for Filter.User; never printed
	body    string
	attrs   map[string]sqstypes.MessageAttributeValue
	receipt string
}

// UserHash is the short hash shown instead of a user name: the same user in
// the same pool always gets the same hash, so messages can be correlated
// (and `--user NAME` matched) without printing a name that may be an
// address. It is not a way to keep the name from someone who can guess it.
func UserHash(pool, user string) string {
	if user == "" {
		return ""
	}
	h := sha256.Sum256([]byte(pool + "\x00" + user))
	return hex.EncodeToString(h[:5])
}

// LastError is the message's errors in one line: dispatch's detail, then
// each provider's last error in name order.
func (m *Message) LastError() string {
	var parts []string
	if m.Detail != "" {
		parts = append(parts, m.Detail)
	}
	for _, p := range slices.Sorted(maps.Keys(m.LastErrors)) {
		e := m.LastErrors[p]
		if !strings.HasPrefix(e, p+": ") { // a provider's error names it already
			e = p + ": " + e
		}
		parts = append(parts, e)
	}
	return strings.Join(parts, "; ")
}

// decode reads one received message. The body is parsed as an envelope for
// its clear fields; what cannot be read is said in Problem, never quoted.
func decode(raw sqstypes.Message, now time.Time) Message {
	m := Message{
		SQSID:      aws.ToString(raw.MessageId),
		body:       aws.ToString(raw.Body),
		attrs:      raw.MessageAttributes,
		receipt:    aws.ToString(raw.ReceiptHandle),
		Attributes: map[string]string{},
	}
	str := func(name string) string {
		v, ok := raw.MessageAttributes[name]
		if !ok {
			return ""
		}
		return aws.ToString(v.StringValue)
	}
	for name, v := range raw.MessageAttributes {
		if v.StringValue != nil {
			m.Attributes[name] = *v.StringValue
		} else {
			m.Attributes[name] = "(" + aws.ToString(v.DataType) + ", " + strconv.Itoa(len(v.BinaryValue)) + " bytes)"
		}
		if p, ok := strings.CutPrefix(name, envelope.AttrLastError); ok && v.StringValue != nil {
			if m.LastErrors == nil {
				m.LastErrors = map[string]string{}
			}
			m.LastErrors[p] = *v.StringValue
		}
	}
	if ms, err := strconv.ParseInt(raw.Attributes[string(sqstypes.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil {
		m.SentAt = time.UnixMilli(ms).UTC()
	}
	m.ReceiveCount, _ = strconv.Atoi(raw.Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)])

	if env, err := envelope.Parse([]byte(m.body)); err == nil {
		m.ID, m.Trigger, m.Pool, m.Locale = env.ID, env.Trigger.Short(), env.Pool, env.Locale
		m.UserHash, m.user = UserHash(env.Pool, env.UserName), env.UserName
		m.CreatedAt, m.ExpiresAt = env.CreatedAt.UTC(), env.ExpiresAt.UTC()
		m.SealedBytes = len(env.Sealed.Ciphertext)
	} else {
		// The attributes repeat the clear fields; the error names fields only.
		m.Problem = err.Error()
		m.ID, m.Pool = str(envelope.AttrMessageID), str(envelope.AttrPool)
		m.Trigger = cognito.Trigger(str(envelope.AttrTrigger)).Short()
		if t, err := time.Parse(time.RFC3339, str(envelope.AttrExpiresAt)); err == nil {
			m.ExpiresAt = t.UTC()
		}
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = m.SentAt
	}
	m.Reason = str(envelope.AttrReason)
	if m.Reason == "" {
		m.Reason = string(envelope.ReasonRetriesExhausted)
	}
	m.Detail = str(envelope.AttrError)
	m.Attempts, _ = strconv.Atoi(str(envelope.AttrAttempts))
	m.FirstAttempt, _ = time.Parse(time.RFC3339Nano, str(envelope.AttrFirstAttempt))
	m.LastAttempt, _ = time.Parse(time.RFC3339Nano, str(envelope.AttrLastAttempt))
	m.at(now)
	return m
}

// at sets the fields that depend on the time of reading.
func (m *Message) at(now time.Time) {
	m.Expired = !m.ExpiresAt.IsZero() && !now.Before(m.ExpiresAt)
	m.ExpiresIn = 0
	if !m.ExpiresAt.IsZero() {
		m.ExpiresIn = m.ExpiresAt.Sub(now)
	}
	m.Age = 0
	if !m.CreatedAt.IsZero() {
		m.Age = max(now.Sub(m.CreatedAt), 0)
	}
	m.AgeSeconds = int64(m.Age / time.Second)
}

// Filter selects messages. The zero Filter selects every message.
type Filter struct {
	Trigger   string        // short ("SignUp") or full trigger source, case-insensitive
	Reason    string        // a cogmail.reason value, case-insensitive
	User      string        // the user name (matched in the envelope, never printed)
	OlderThan time.Duration // age over this
	NewerThan time.Duration // age under this
	Limit     int           // at most this many, oldest first (0: no limit)
}

// IsZero reports whether f selects everything.
func (f Filter) IsZero() bool { return f == Filter{} }

// Match reports whether m passes every condition but Limit.
func (f Filter) Match(m *Message) bool {
	switch {
	case f.Trigger != "" && !strings.EqualFold(m.Trigger, cognito.Trigger(f.Trigger).Short()):
		return false
	case f.Reason != "" && !strings.EqualFold(m.Reason, f.Reason):
		return false
	case f.User != "" && m.user != f.User:
		return false
	case f.OlderThan > 0 && m.Age <= f.OlderThan:
		return false
	case f.NewerThan > 0 && m.Age >= f.NewerThan:
		return false
	}
	return true
}

// sortOldest orders messages oldest first, then by SQS id for a stable order.
func sortOldest(ms []Message) {
	slices.SortStableFunc(ms, func(a, b Message) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.SQSID, b.SQSID)
	})
}
