package localstack

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cogmail/cogmail/pkg/provider/mailgun"
	"github.com/cogmail/cogmail/pkg/provider/mailgun/mailgunfake"
	"github.com/cogmail/cogmail/pkg/provider/sendgrid"
	"github.com/cogmail/cogmail/pkg/provider/sendgrid/sendgridfake"
	"github.com/cogmail/cogmail/pkg/provider/ses"
	"github.com/cogmail/cogmail/pkg/provider/ses/sesfake"
	"github.com/cogmail/cogmail/pkg/provider/smtp"
	"github.com/cogmail/cogmail/pkg/provider/smtp/smtpfake"
)

// Delivered is one email a provider fake accepted: what `GET /api/messages`
// lists and the web inbox shows.
type Delivered struct {
	MessageID string  `json:"messageId"`
	To        string  `json:"to"`
	From      Address `json:"from"`
	// Brand is the brand ingest rendered the message for (its timeline's).
	Brand    string `json:"brand"`
	Subject  string `json:"subject"`
	Text     string `json:"text"`
	HTML     string `json:"html"`
	Provider string `json:"provider"`
	// ProviderMessageID is the provider's own id for the email: the
	// receipt its Send returned, which dispatch logs as providerMessageId.
	ProviderMessageID string    `json:"providerMessageId"`
	TriggerSource     string    `json:"triggerSource"`
	DeliveredAt       time.Time `json:"deliveredAt"`
	// Failovers lists the providers that failed this message first, with
	// the class of their failure ("sendgrid: unavailable").
	Failovers []string `json:"failovers"`
	// Attempts sums up what dispatch went through before the outcome
	// (failed attempts, receives, dead letters); nil when it took one
	// receive and no failure.
	Attempts *Attempts `json:"attempts,omitempty"`
	// ReplyTo is the Reply-To the provider was given, if any.
	ReplyTo string `json:"replyTo,omitempty"`
	// Headers are the email's headers as the provider received them: every
	// one for SMTP, the custom ones (X-...) for the HTTP APIs.
	Headers map[string]string `json:"headers"`
	// Tags are the provider's metadata for the email (SendGrid custom
	// args, Mailgun variables, SES tags, the X-Cogmail-* SMTP headers).
	Tags map[string]string `json:"tags"`
	// Status is "suppressed" or "throttled" for a message the reputation
	// guard stopped (not sent: no provider, no body), with Why; empty for
	// a delivered one.
	Status string `json:"status,omitempty"`
	Why    string `json:"why,omitempty"`
}

// Attempts is a message's delivery history in one line: the inbox shows
// "19 failed attempts over 5 receives, then sent via ses", not one tag per
// failure.
type Attempts struct {
	Failed       int `json:"failed"`       // provider attempts that failed
	Receives     int `json:"receives"`     // deliveries to dispatch, replays included
	DeadLettered int `json:"deadLettered"` // times it went to the DLQ (each then replayed)
	// ByProvider counts the failures per provider and class, in the order
	// they first happened: "sendgrid: unavailable ×10".
	ByProvider []string `json:"byProvider"`
	Summary    string   `json:"summary"`
}

// summarise reads a message's timeline (dispatch's steps) and its outcome
// ("sent via ses", "suppressed") into Attempts; nil for a message sent at
// its first attempt.
func summarise(steps []Step, outcome string) *Attempts {
	a := &Attempts{ByProvider: []string{}}
	var order []string
	count := map[string]int{}
	for _, st := range steps {
		if st.Function != "dispatch" {
			continue
		}
		switch {
		case st.Step == "received":
			a.Receives++
		case st.Step == "dead-lettered":
			a.DeadLettered++
		case st.Step == "attempt" && st.Outcome != "sent":
			a.Failed++
			k := st.Provider + ": " + st.Outcome
			if count[k] == 0 {
				order = append(order, k)
			}
			count[k]++
		}
	}
	if a.Failed == 0 && a.DeadLettered == 0 && a.Receives <= 1 {
		return nil
	}
	for _, k := range order {
		a.ByProvider = append(a.ByProvider, fmt.Sprintf("%s ×%d", k, count[k]))
	}
	parts := []string{plural(a.Failed, "failed attempt") + " over " + plural(a.Receives, "receive")}
	switch a.DeadLettered {
	case 0:
	case 1:
		parts = append(parts, "dead-lettered and replayed")
	default:
		parts = append(parts, fmt.Sprintf("dead-lettered and replayed %d times", a.DeadLettered))
	}
	a.Summary = strings.Join(parts, ", ")
	if outcome != "" {
		a.Summary += ", then " + outcome
	}
	return a
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// Address is a sender as the provider received it.
type Address struct {
	Address string `json:"address"`
	Name    string `json:"name"`
}

// String is the address as a From header shows it.
func (a Address) String() string {
	if a.Name == "" {
		return a.Address
	}
	return a.Name + " <" + a.Address + ">"
}

// parseFrom reads a From header value ("Name <a@b.c>" or "a@b.c").
func parseFrom(h string) Address {
	a, err := mail.ParseAddress(h)
	if err != nil {
		return Address{Address: h}
	}
	return Address{Address: a.Address, Name: a.Name}
}

// inbox gathers the fakes' accepted messages. The fakes only keep what they
// accepted, so it notes each new one with the time it first saw it.
type inbox struct {
	sg   *sendgridfake.Server
	mg   *mailgunfake.Server
	ses  *sesfake.Server
	smtp *smtpfake.Server
	obs  *failoverObserver
	// timeline, when set, names each message's brand.
	timeline *timeline
	// rep, when set, adds the messages the reputation guard stopped.
	rep *reputation

	mu        sync.Mutex
	seen      map[string]int // per provider: messages already taken from its fake
	delivered []Delivered    // oldest first
	changed   chan struct{}
}

func newInbox(sg *sendgridfake.Server, mg *mailgunfake.Server, se *sesfake.Server, sm *smtpfake.Server, obs *failoverObserver) *inbox {
	return &inbox{sg: sg, mg: mg, ses: se, smtp: sm, obs: obs, seen: map[string]int{}, changed: make(chan struct{})}
}

// run syncs every interval until ctx ends.
func (b *inbox) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			b.sync()
		}
	}
}

func (b *inbox) sync() {
	now := time.Now().UTC()
	var fresh []Delivered
	take := func(provider string, n int, at func(i int) Delivered) {
		b.mu.Lock()
		from := b.seen[provider]
		b.seen[provider] = n
		b.mu.Unlock()
		for i := from; i < n; i++ {
			d := at(i)
			d.Provider, d.DeliveredAt = provider, now
			fresh = append(fresh, d)
		}
	}
	sg := b.sg.Messages()
	take("sendgrid", len(sg), func(i int) Delivered {
		m := sg[i]
		return Delivered{MessageID: m.CustomArgs[sendgrid.MessageIDArg], ProviderMessageID: m.ID, From: Address{m.From, m.FromName}, To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML, TriggerSource: m.CustomArgs["trigger"],
			ReplyTo: m.ReplyTo, Headers: apiHeaders(m.Headers, Address{m.From, m.FromName}.String(), m.To, m.Subject, m.ReplyTo), Tags: maps.Clone(m.CustomArgs)}
	})
	mg := b.mg.Messages()
	take("mailgun", len(mg), func(i int) Delivered {
		m := mg[i]
		return Delivered{MessageID: m.Variables[mailgun.MessageIDVariable], ProviderMessageID: m.ID, From: parseFrom(m.From), To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML, TriggerSource: m.Variables["trigger"],
			ReplyTo: m.ReplyTo, Headers: apiHeaders(m.Headers, m.From, m.To, m.Subject, m.ReplyTo), Tags: maps.Clone(m.Variables)}
	})
	se := b.ses.Messages()
	take("ses", len(se), func(i int) Delivered {
		m := se[i]
		return Delivered{MessageID: m.Tags[ses.MessageIDTag], ProviderMessageID: m.MessageID, From: parseFrom(m.From), To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML, TriggerSource: m.Tags["trigger"],
			ReplyTo: strings.Join(m.ReplyTo, ", "), Headers: apiHeaders(m.Headers, m.From, m.To, m.Subject, strings.Join(m.ReplyTo, ", ")), Tags: maps.Clone(m.Tags)}
	})
	sm := b.smtp.Messages()
	take("smtp", len(sm), func(i int) Delivered {
		m := sm[i]
		to := ""
		if len(m.To) > 0 {
			to = m.To[0]
		}
		headers, tags := map[string]string{}, map[string]string{}
		for k, v := range m.Header {
			headers[k] = strings.Join(v, ", ")
			if strings.HasPrefix(k, smtp.TagHeaderPrefix) {
				tags[strings.ToLower(strings.TrimPrefix(k, smtp.TagHeaderPrefix))] = strings.Join(v, ", ")
			}
		}
		return Delivered{MessageID: first(m.Header[smtp.MessageIDHeader]), ProviderMessageID: first(m.Header["Message-Id"]), From: parseFrom(first(m.Header["From"])), To: to, Subject: m.Subject, Text: m.Text, HTML: m.HTML,
			TriggerSource: first(m.Header[smtp.TagHeaderPrefix+"Trigger"]), ReplyTo: first(m.Header["Reply-To"]), Headers: headers, Tags: tags}
	})
	if len(fresh) == 0 {
		return
	}
	for i := range fresh {
		if t := fresh[i].TriggerSource; t != "" && !strings.HasPrefix(t, "CustomEmailSender_") {
			fresh[i].TriggerSource = "CustomEmailSender_" + t
		}
		if b.timeline != nil {
			fresh[i].Brand = b.timeline.brand(fresh[i].MessageID)
		}
		fresh[i].Failovers = b.obs.failovers(fresh[i].MessageID)
		if fresh[i].Failovers == nil {
			fresh[i].Failovers = []string{}
		}
		if fresh[i].Headers == nil {
			fresh[i].Headers = map[string]string{}
		}
		if fresh[i].Tags == nil {
			fresh[i].Tags = map[string]string{}
		}
		if b.timeline != nil {
			// Every failure and receive came before the provider took it.
			fresh[i].Attempts = summarise(b.timeline.of(fresh[i].MessageID), "sent via "+fresh[i].Provider)
		}
	}
	b.mu.Lock()
	b.delivered = append(b.delivered, fresh...)
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()
}

// apiHeaders are the headers an HTTP API provider writes from the fields it
// was given (From, To, Subject, Reply-To), with the custom ones it was
// given as they are.
func apiHeaders(custom map[string]string, from, to, subject, replyTo string) map[string]string {
	h := maps.Clone(custom)
	if h == nil {
		h = map[string]string{}
	}
	h["From"], h["To"], h["Subject"] = from, to, subject
	if replyTo != "" {
		h["Reply-To"] = replyTo
	}
	return h
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// list returns the delivered emails, newest first.
func (b *inbox) list() []Delivered {
	b.mu.Lock()
	out := make([]Delivered, 0, len(b.delivered)) // [] rather than null in JSON when empty
	out = append(out, b.delivered...)
	b.mu.Unlock()
	if b.rep != nil {
		for _, d := range b.rep.notSentList() {
			if b.timeline != nil {
				d.Attempts = summarise(b.timeline.of(d.MessageID), d.Status)
			}
			out = append(out, d)
		}
		slices.SortStableFunc(out, func(x, y Delivered) int { return x.DeliveredAt.Compare(y.DeliveredAt) })
	}
	slices.Reverse(out)
	return out
}

// clear forgets every delivered email (the fakes too).
func (b *inbox) clear() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sg.ClearMessages()
	b.mg.ClearMessages()
	b.ses.ClearMessages()
	b.smtp.ClearMessages()
	b.delivered, b.seen = nil, map[string]int{}
	if b.timeline != nil {
		b.timeline.clear()
	}
}

// wait blocks until a message with each id has been delivered, or ctx ends.
func (b *inbox) wait(ctx context.Context, ids []string) map[string]Delivered {
	for {
		b.mu.Lock()
		got := map[string]Delivered{}
		for _, d := range b.delivered {
			if slices.Contains(ids, d.MessageID) {
				got[d.MessageID] = d
			}
		}
		ch := b.changed
		b.mu.Unlock()
		if len(got) >= len(ids) {
			return got
		}
		select {
		case <-ctx.Done():
			return got
		case <-ch:
		}
	}
}

// failoverObserver is a slog.Handler in front of dispatch's log handler: it
// notes, per message id, which providers failed (dispatch's "provider
// failed" records), so the inbox can show the failovers a message took.
// It reads only names and classes, which carry nothing secret.
type failoverObserver struct {
	next  slog.Handler
	attrs []slog.Attr
	state *observed
}

type observed struct {
	mu     sync.Mutex
	failed map[string][]string
}

func newFailoverObserver(next slog.Handler) *failoverObserver {
	return &failoverObserver{next: next, state: &observed{failed: map[string][]string{}}}
}

func (o *failoverObserver) failovers(id string) []string {
	o.state.mu.Lock()
	defer o.state.mu.Unlock()
	return slices.Clone(o.state.failed[id])
}

func (o *failoverObserver) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn || o.next.Enabled(ctx, l)
}

func (o *failoverObserver) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "provider failed" {
		vals := map[string]string{}
		collect := func(a slog.Attr) bool { vals[a.Key] = a.Value.String(); return true }
		for _, a := range o.attrs {
			collect(a)
		}
		r.Attrs(collect)
		if id := vals["messageId"]; id != "" {
			o.state.mu.Lock()
			o.state.failed[id] = append(o.state.failed[id], vals["provider"]+": "+vals["class"])
			o.state.mu.Unlock()
		}
	}
	if o.next.Enabled(ctx, r.Level) {
		return o.next.Handle(ctx, r)
	}
	return nil
}

func (o *failoverObserver) WithAttrs(as []slog.Attr) slog.Handler {
	return &failoverObserver{next: o.next.WithAttrs(as), attrs: append(slices.Clone(o.attrs), as...), state: o.state}
}

func (o *failoverObserver) WithGroup(name string) slog.Handler {
	return &failoverObserver{next: o.next.WithGroup(name), attrs: o.attrs, state: o.state}
}
