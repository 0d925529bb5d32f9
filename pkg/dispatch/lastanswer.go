package dispatch

import (
	"sync"
	"time"
)

// lastAnswers keeps each provider's last failed answer in this container.
// A provider skipped because its breaker is open has not answered in this
// delivery, but the breaker opened on answers this container saw: the last
// of them is what that provider last said, and the DLQ entry carries it
// (cogmail.lastError.<provider>), on whichever receive the message ends.
type lastAnswers struct {
	mu sync.Mutex
	m  map[string]lastAnswer
}

type lastAnswer struct {
	text string
	at   time.Time
}

func (l *lastAnswers) failed(provider, text string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]lastAnswer{}
	}
	l.m[provider] = lastAnswer{text: text, at: at}
}

// succeeded forgets a provider's failure: it works again.
func (l *lastAnswers) succeeded(provider string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, provider)
}

// skipped is what to record for a provider whose breaker kept it out of
// this delivery: its last answer and when it came ("" when none is known).
func (l *lastAnswers) skipped(provider string) string {
	l.mu.Lock()
	a, ok := l.m[provider]
	l.mu.Unlock()
	if !ok {
		return ""
	}
	return a.text + " (breaker open; answered " + a.at.UTC().Format(time.RFC3339) + ")"
}
