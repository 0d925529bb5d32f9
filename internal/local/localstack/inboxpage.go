package localstack

import (
	"html/template"
	"net/http"
	"time"
)

// inboxView is what the inbox page shows: the list, and the selected
// message with its headers and timeline.
type inboxView struct {
	Messages []Delivered
	Selected *Delivered
	Timeline []Step
	Failed   []FailedInvocation
	Now      time.Time
}

// serveInbox is the web inbox: GET / (the newest message) or /?id=ID.
func (s *Stack) serveInbox(w http.ResponseWriter, r *http.Request) {
	v := inboxView{Messages: s.Delivered(), Failed: s.FailedInvocations(), Now: time.Now()}
	id := r.URL.Query().Get("id")
	for i := range v.Messages {
		if m := &v.Messages[i]; m.MessageID == id || (id == "" && i == 0) {
			v.Selected = m
			break
		}
	}
	if v.Selected != nil {
		v.Timeline = s.Timeline(v.Selected.MessageID)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = inboxPage.Execute(w, v)
}

// inboxStyle is the inbox's own look, after the pages' shared style.
const inboxStyle = `<style>
.list{width:400px;flex:none}
.tags{margin-top:3px}.tag.warn{background:#fff3c4;color:#8d2b0b}.tag.brand{background:#e0e8f9;color:#2d3a8c}
.item.stopped .subj{color:#8a1c1c}.why{font-size:12px;color:#8a1c1c;margin-top:3px}
.view{min-width:0;overflow:hidden}
.msg{flex:none;max-height:36%;overflow:auto;padding:12px 18px 8px;background:#fff;border-bottom:1px solid #d9e2ec}
.msg h2{font-size:17px;margin:0 0 8px}
.banner{font-size:13px;padding:6px 10px;border-radius:6px;margin:0 0 8px}
.banner.fail{background:#ffe3e3;color:#8a1c1c}.banner.warn{background:#fff3c4;color:#8d2b0b}
.banner small{display:block;color:#627d98;margin-top:2px}
.fields{display:grid;grid-template-columns:max-content 1fr max-content 1fr;gap:3px 12px;font-size:13px;margin:0}
.fields dt{color:#627d98}.fields dd{margin:0;overflow-wrap:anywhere}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;background:#f0f4f8;padding:1px 4px;border-radius:4px}
details{font-size:12px;margin-top:6px}details summary{cursor:pointer;color:#486581}
details table{margin:4px 0 0;width:100%}details td{padding:2px 8px;border-bottom:1px solid #f0f4f8;vertical-align:top;overflow-wrap:anywhere}
details .hdrs{max-height:120px;overflow:auto}
.view iframe{min-height:150px}
.notsent{flex:1;padding:18px 22px;background:#fff;font-size:14px;line-height:1.5}
.notsent h3{margin:0 0 6px;color:#8a1c1c}
.timeline{flex:0 0 42%;min-height:240px;max-height:none;display:flex;flex-direction:column;border-top:2px solid #d9e2ec}
.timeline h2{font-size:14px;margin:0;padding:8px 12px;background:#e4ecf7;border-bottom:1px solid #d9e2ec}
.timeline h2 small{font-weight:normal;color:#627d98}
.timeline .rows{overflow:auto;flex:1}
.timeline tr.failed td{color:#8a1c1c}.timeline tr.sent td{color:#0b6e4f;font-weight:600}.timeline tr.dead td{color:#8a1c1c;font-weight:600}
</style>`

var inboxPage = template.Must(template.New("inbox").Funcs(funcs).Parse(`<!doctype html><html><head><meta charset="utf-8">
<title>cogmail local inbox</title>` + style + inboxStyle + `</head><body>
<header><h1>cogmail local inbox</h1><a href="/">Inbox ({{len .Messages}})</a><a href="/queues">Queues</a><a href="/api/messages">JSON</a></header>
<main><div class="list">
{{range .Failed}}<div class="item"><div class="meta">{{.Function}} · Event invocation failed · {{ago .At $.Now}}</div>
<div class="subj">{{.ErrorType}}</div><div><span class="tag fail" title="{{.Error}}">sent to the on-failure destination {{.Destination}}</span></div></div>
{{end}}{{range .Messages}}<a class="item{{if and $.Selected (eq .MessageID $.Selected.MessageID)}} sel{{end}}{{if .Status}} stopped{{end}}" href="/?id={{.MessageID}}">
<div class="meta">{{with .To}}{{.}}{{else}}(recipient unknown){{end}} · {{ago .DeliveredAt $.Now}}</div>
<div class="subj">{{.Subject}}</div>
<div class="tags">{{with .Brand}}<span class="tag brand">{{.}}</span>{{end}}<span class="tag">{{short .TriggerSource}}</span>{{if .Status}}<span class="tag fail">not sent: {{.Status}}</span>{{else}}<span class="tag" title="{{.Provider}} message id {{.ProviderMessageID}}">via {{.Provider}}</span>{{end}}{{with .Attempts}}<span class="tag warn" title="{{range $i, $p := .ByProvider}}{{if $i}}; {{end}}{{$p}}{{end}}">{{.Summary}}</span>{{end}}</div>
{{if .Status}}<div class="why">{{.Why}}</div>{{end}}
</a>{{else}}{{if not .Failed}}<div class="empty">No email yet. Run <code>cogmail invoke --event FILE</code> or restart <code>cogmail local</code>.</div>{{end}}{{end}}
</div><div class="view">{{with .Selected}}
<section class="msg"><h2>{{.Subject}}</h2>
{{if .Status}}<div class="banner fail">Not sent: {{.Status}}{{with .Why}} ({{.}}){{end}}</div>{{end}}
{{with .Attempts}}<div class="banner warn">{{.Summary}}{{with .ByProvider}}<small>{{range $i, $p := .}}{{if $i}} · {{end}}{{$p}}{{end}}</small>{{end}}</div>{{end}}
<dl class="fields">
<dt>Message id</dt><dd><code>{{.MessageID}}</code> <a href="/api/messages/{{.MessageID}}/timeline">timeline JSON</a></dd>
<dt>Trigger</dt><dd>{{.TriggerSource}}</dd>
<dt>From</dt><dd>{{with .From.Name}}{{.}} {{end}}{{with .From.Address}}&lt;{{.}}&gt;{{end}}</dd>
<dt>Brand</dt><dd>{{with .Brand}}{{.}}{{else}}(none){{end}}</dd>
<dt>To</dt><dd>{{.To}}</dd>
{{if .Status}}<dt>Outcome</dt><dd>{{.Status}} by dispatch's reputation guard</dd>{{else}}<dt>Provider</dt><dd>{{.Provider}} <code title="the provider's message id">{{.ProviderMessageID}}</code></dd>{{end}}
{{with .ReplyTo}}<dt>Reply-To</dt><dd>{{.}}</dd>{{end}}
<dt>{{if .Status}}Stopped{{else}}Delivered{{end}}</dt><dd>{{.DeliveredAt.Format "15:04:05.000"}} ({{ago .DeliveredAt $.Now}})</dd>
</dl>
{{if or .Headers .Tags}}<details open><summary>Headers ({{len .Headers}}) and provider tags ({{len .Tags}})</summary><div class="hdrs"><table>
{{range $k, $v := .Headers}}<tr><td>{{$k}}</td><td>{{$v}}</td></tr>{{end}}
{{range $k, $v := .Tags}}<tr><td>tag {{$k}}</td><td>{{$v}}</td></tr>{{end}}
</table></div></details>{{end}}
</section>
{{if eq .Status "suppressed"}}<div class="notsent"><h3>Not sent: {{.To}} is on the suppression list</h3>
<p>{{.Why}}. Dispatch deleted the message from the queue: it is not retried and not dead-lettered.</p>
<p>To send to this address again, lift the entry, then send a new event:<br><code>cogmail suppressions remove {{.To}}</code></p></div>
{{else if .Status}}<div class="notsent"><h3>Not sent: {{.Status}}</h3>
<p>{{.To}}: {{.Why}}. A code-bearing email beyond the recipient limit is deleted unsent, so a flood of codes cannot reach one address.</p>
<p>Wait for the window to pass, or start the stack with a higher <code>cogmail local --recipient-limit N/DURATION</code> (COGMAIL_RECIPIENT_LIMIT in AWS).</p></div>
{{else}}<iframe sandbox title="email" src="/messages/{{.MessageID}}/html"></iframe>{{end}}
<section class="timeline"><h2>Timeline <small>· {{len $.Timeline}} steps from both functions' logs, +ms from ingest's receipt</small></h2><div class="rows">
{{if $.Timeline}}<table><tr><th>+ms</th><th>function</th><th>step</th><th>detail</th></tr>
{{range $.Timeline}}<tr{{if eq .Step "attempt"}}{{if eq .Outcome "sent"}} class="sent"{{else}} class="failed"{{end}}{{else if eq .Step "dead-lettered"}} class="dead"{{end}}><td>{{ms .OffsetMs}}</td><td>{{.Function}}</td><td>{{.Step}}</td><td>{{with .Brand}}brand {{.}} {{end}}{{with .Provider}}{{.}} {{end}}{{with .Outcome}}{{.}} {{end}}{{if .LatencyMs}}in {{ms .LatencyMs}} {{end}}{{with .Receives}}receive {{.}} {{end}}{{with .Reason}}{{.}}{{end}}</td></tr>
{{end}}</table>{{else}}<div class="empty">No timeline for this message (the stack keeps the last 10000).</div>{{end}}
</div></section>{{end}}</div></main>
</body></html>`))
