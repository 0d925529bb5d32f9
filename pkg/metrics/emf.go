// Package metrics writes CloudWatch Embedded Metric Format (EMF) lines: one
// JSON object per line on stdout, which Lambda's log pipeline turns into
// CloudWatch metrics with no API calls. Dimensions and values are only ever
// names, counts and durations: nothing secret can be a metric.
package metrics

import (
	"encoding/json"
	"io"
	"sort"
	"sync"
	"time"
)

// Namespace is the CloudWatch namespace of every cogmail metric.
const Namespace = "cogmail"

// Unit is a CloudWatch unit.
type Unit string

// The units cogmail uses.
const (
	Count        Unit = "Count"
	Milliseconds Unit = "Milliseconds"
	Seconds      Unit = "Seconds"
)

// Emitter writes EMF lines to w. It is safe for concurrent use.
type Emitter struct {
	mu       sync.Mutex
	w        io.Writer
	function string
	now      func() time.Time
}

// New returns an Emitter for a function ("ingest" or "dispatch"). A nil
// writer discards metrics.
func New(w io.Writer, function string, now func() time.Time) *Emitter {
	if w == nil {
		w = io.Discard
	}
	if now == nil {
		now = time.Now
	}
	return &Emitter{w: w, function: function, now: now}
}

// Metric is one named value.
type Metric struct {
	Name  string
	Unit  Unit
	Value float64
}

// Emit writes one EMF line with the given dimensions (plus Function) and metrics.
func (e *Emitter) Emit(dims map[string]string, ms ...Metric) {
	if e == nil || len(ms) == 0 {
		return
	}
	keys := make([]string, 0, len(dims)+1)
	keys = append(keys, "Function")
	for k := range dims {
		keys = append(keys, k)
	}
	sort.Strings(keys[1:])
	doc := make(map[string]any, len(dims)+len(ms)+2)
	defs := make([]map[string]string, len(ms))
	for i, m := range ms {
		defs[i] = map[string]string{"Name": m.Name, "Unit": string(m.Unit)}
		doc[m.Name] = m.Value
	}
	for k, v := range dims {
		doc[k] = v
	}
	doc["Function"] = e.function
	doc["_aws"] = map[string]any{
		"Timestamp": e.now().UnixMilli(),
		"CloudWatchMetrics": []map[string]any{{
			"Namespace":  Namespace,
			"Dimensions": [][]string{keys},
			"Metrics":    defs,
		}},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _ = e.w.Write(append(b, '\n'))
}

// Count emits one counter.
func (e *Emitter) Count(name string, n int, dims map[string]string) {
	e.Emit(dims, Metric{Name: name, Unit: Count, Value: float64(n)})
}

// Duration emits one latency in milliseconds.
func (e *Emitter) Duration(name string, d time.Duration, dims map[string]string) {
	e.Emit(dims, Metric{Name: name, Unit: Milliseconds, Value: float64(d.Microseconds()) / 1000})
}
