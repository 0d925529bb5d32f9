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

// QueueStatus is one queue's counts, for /queues and /api/queues.
type QueueStatus struct {
	Name     string `json:"name"`
	Visible  int    `json:"visible"`
	InFlight int    `json:"inFlight"`
	Delayed  int    `json:"delayed"`
	DLQ      string `json:"deadLetterQueue,omitempty"`
	IsDLQ    bool   `json:"isDeadLetterQueue"`
}

func (s *Stack) queueStatus() []QueueStatus {
	var out []QueueStatus
	for _, q := range s.SQS.Stats() {
		out = append(out, QueueStatus{Name: q.Name, Visible: q.Visible, InFlight: q.InFlight, Delayed: q.Delayed,
			DLQ: q.DeadLetterQueue, IsDLQ: len(q.DeadLetterSources) > 0})
	}
	return out
}

var funcs = template.FuncMap{
	"ago":   func(t, now time.Time) string { return now.Sub(t).Round(time.Second).String() + " ago" },
	"short": func(t string) string { return strings.TrimPrefix(t, "CustomEmailSender_") },
	"ms":    func(f float64) string { return strconv.FormatFloat(f, 'f', 3, 64) + " ms" },
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

var queuesPage = template.Must(template.New("queues").Parse(`<!doctype html><html><head><meta charset="utf-8">
<title>cogmail local queues</title>` + style + `</head><body>
<header><h1>cogmail local queues</h1><a href="/">Inbox</a><a href="/queues">Queues</a><a href="/api/queues">JSON</a></header>
<table><tr><th>queue</th><th>visible</th><th>in flight</th><th>delayed</th><th>dead-letter queue</th></tr>
{{range .}}<tr><td>{{.Name}}{{if .IsDLQ}} <span class="tag fail">DLQ</span>{{end}}</td><td>{{.Visible}}</td><td>{{.InFlight}}</td><td>{{.Delayed}}</td><td>{{.DLQ}}</td></tr>{{end}}
</table></body></html>`))
