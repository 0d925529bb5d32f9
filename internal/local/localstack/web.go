package localstack

import (
	"html/template"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/envelope"
)

// routes adds the inbox, the queues page and their JSON APIs to Mux.
func (s *Stack) routes() {
	s.Mux.HandleFunc("GET /api/messages", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Delivered())
	})
	s.Mux.HandleFunc("DELETE /api/messages", func(w http.ResponseWriter, _ *http.Request) {
		s.inbox.clear()
		w.WriteHeader(http.StatusNoContent)
	})
	s.Mux.HandleFunc("GET /api/invocations/failed", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.FailedInvocations())
	})
	s.Mux.HandleFunc("GET /api/queues", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.queueStatus())
	})
	// GET shows the injected faults; PUT replaces them with a --fail list
	// ("ses=1,sendgrid=0.5"); an empty PUT clears them.
	s.Mux.HandleFunc("GET /api/faults", func(w http.ResponseWriter, _ *http.Request) {
		f := s.Faults()
		if f == nil {
			f = map[string]Fault{}
		}
		spec := make([]string, 0, len(f))
		for _, name := range slices.Sorted(maps.Keys(f)) {
			if f[name] != (Fault{}) {
				spec = append(spec, name+"="+f[name].String())
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"fail": strings.Join(spec, ","), "faults": f})
	})
	s.Mux.HandleFunc("PUT /api/faults", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 4096))
		f, err := ParseFaults(string(b))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
			return
		}
		s.SetFaults(f)
		w.WriteHeader(http.StatusNoContent)
	})
	s.Mux.HandleFunc("GET /messages/{id}/html", func(w http.ResponseWriter, r *http.Request) {
		for _, d := range s.Delivered() {
			if d.MessageID == r.PathValue("id") {
				// The email is shown as the user's client would, with no script.
				w.Header().Set("Content-Security-Policy", "script-src 'none'; frame-ancestors 'self'")
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				_, _ = io.WriteString(w, d.HTML)
				return
			}
		}
		http.NotFound(w, r)
	})
	s.Mux.HandleFunc("GET /api/messages/{id}/timeline", func(w http.ResponseWriter, r *http.Request) {
		steps := s.Timeline(r.PathValue("id"))
		if len(steps) == 0 {
			writeJSON(w, http.StatusNotFound, map[string]string{"message": "no timeline for this message id"})
			return
		}
		writeJSON(w, http.StatusOK, steps)
	})
	s.Mux.HandleFunc("GET /queues", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = queuesPage.Execute(w, s.queueStatus())
	})
	s.Mux.HandleFunc("GET /{$}", s.serveInbox)
}

// QueueStatus is one queue's counts, for /queues and /api/queues (and
// `cogmail queue stats` against the local stack).
type QueueStatus struct {
	Name     string `json:"name"`
	URL      string `json:"url"` // what COGMAIL_QUEUE_URL, COGMAIL_DLQ_URL and `--queue` take
	Visible  int    `json:"visible"`
	InFlight int    `json:"inFlight"` // on the emails queue: held for a later try, or being sent
	Delayed  int    `json:"delayed"`
	// OldestAgeSeconds is the age of the oldest message, held ones included
	// (SQS's own metric stops counting a message after three receives).
	OldestAgeSeconds float64                 `json:"oldestAgeSeconds"`
	ByTrigger        map[string]TriggerCount `json:"byTrigger,omitempty"`
	DLQ              string                  `json:"deadLetterQueue,omitempty"`
	IsDLQ            bool                    `json:"isDeadLetterQueue"`
}

// TriggerCount is a trigger's messages in a queue, ready and held.
type TriggerCount struct {
	Visible  int `json:"visible"`
	InFlight int `json:"inFlight"`
}

func (s *Stack) queueStatus() []QueueStatus {
	var out []QueueStatus
	now := time.Now()
	for _, q := range s.SQS.Stats() {
		st := QueueStatus{Name: q.Name, URL: s.queueURLOf(q.Name), Visible: q.Visible, InFlight: q.InFlight, Delayed: q.Delayed,
			DLQ: q.DeadLetterQueue, IsDLQ: len(q.DeadLetterSources) > 0}
		if b, ok := s.SQS.BreakdownBy(q.Name, envelope.AttrTrigger); ok && !b.Oldest.IsZero() {
			st.OldestAgeSeconds = now.Sub(b.Oldest).Round(time.Second).Seconds()
			for t, n := range b.Visible {
				if t != "" {
					c := st.ByTrigger[shortTrigger(t)]
					c.Visible = n
					st.ByTrigger = setCount(st.ByTrigger, shortTrigger(t), c)
				}
			}
			for t, n := range b.InFlight {
				if t != "" {
					c := st.ByTrigger[shortTrigger(t)]
					c.InFlight = n
					st.ByTrigger = setCount(st.ByTrigger, shortTrigger(t), c)
				}
			}
		}
		out = append(out, st)
	}
	return out
}

func setCount(m map[string]TriggerCount, k string, c TriggerCount) map[string]TriggerCount {
	if m == nil {
		m = map[string]TriggerCount{}
	}
	m[k] = c
	return m
}

func shortTrigger(t string) string { return strings.TrimPrefix(t, cognito.TriggerPrefix) }

// queueURLOf is the URL SQS clients use for the queue named name: the
// local endpoint, the account, the name.
func (s *Stack) queueURLOf(name string) string {
	return s.URL + "/" + s.KMS.AccountID() + "/" + name
}

var funcs = template.FuncMap{
	"ago":   func(t, now time.Time) string { return now.Sub(t).Round(time.Second).String() + " ago" },
	"short": func(t string) string { return strings.TrimPrefix(t, "CustomEmailSender_") },
	"ms":    func(f float64) string { return strconv.FormatFloat(f, 'f', 3, 64) + " ms" },
	"seconds": func(f float64) string {
		return (time.Duration(f) * time.Second).String()
	},
}

const style = `<style>
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1f2933;background:#f5f7fa}
header{background:#243b53;color:#fff;padding:12px 20px;display:flex;gap:20px;align-items:center}
header a{color:#bcccdc;text-decoration:none}header h1{font-size:18px;margin:0}
main{display:flex;height:calc(100vh - 48px)}
.list{width:420px;overflow:auto;border-right:1px solid #d9e2ec;background:#fff}
.item{display:block;padding:10px 14px;border-bottom:1px solid #f0f4f8;color:inherit;text-decoration:none}
.item.sel{background:#e6f6ff}.item:hover{background:#f0f4f8}
.subj{font-weight:600;margin:2px 0}.meta{font-size:12px;color:#627d98}
.tag{display:inline-block;font-size:11px;padding:1px 6px;border-radius:8px;background:#d9e2ec;margin-right:4px}
.tag.fail{background:#ffe3e3;color:#8a1c1c}
.view{flex:1;display:flex;flex-direction:column}.view iframe{flex:1;border:0;background:#fff}
.tag.brand{background:#fff3c4;color:#8d2b0b}
.timeline{font-size:12px;border-top:1px solid #d9e2ec;background:#fff;max-height:30vh;overflow:auto}
.timeline table{margin:0;width:100%}.timeline td,.timeline th{padding:3px 10px}
.empty{padding:40px;color:#627d98}table{border-collapse:collapse;margin:20px;background:#fff}
td,th{padding:8px 14px;border-bottom:1px solid #d9e2ec;text-align:left}
</style>`

var queuesPage = template.Must(template.New("queues").Funcs(funcs).Parse(`<!doctype html><html><head><meta charset="utf-8">
<title>cogmail local queues</title>` + style + `</head><body>
<header><h1>cogmail local queues</h1><a href="/">Inbox</a><a href="/queues">Queues</a><a href="/api/queues">JSON</a></header>
<table><tr><th>queue</th><th>visible</th><th>in flight (held)</th><th>delayed</th><th>oldest</th><th>by trigger (visible / held)</th><th>dead-letter queue</th></tr>
{{range .}}<tr><td>{{.Name}}{{if .IsDLQ}} <span class="tag fail">DLQ</span>{{end}}<div class="meta"><code>{{.URL}}</code></div></td><td>{{.Visible}}</td><td>{{.InFlight}}</td><td>{{.Delayed}}</td><td>{{if .OldestAgeSeconds}}{{seconds .OldestAgeSeconds}}{{end}}</td>
<td>{{range $t, $c := .ByTrigger}}<span class="tag">{{$t}} {{$c.Visible}} / {{$c.InFlight}}</span>{{end}}</td><td>{{.DLQ}}</td></tr>{{end}}
</table>
<p class="meta" style="margin:0 20px">Held mail (in flight on the emails queue) is what an outage looks like: dispatch retries it until its code expires. The DLQ holds what retrying cannot fix (docs/operations.md, "Held mail").</p>
</body></html>`))
