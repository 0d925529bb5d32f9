package main

import (
	"bytes"
	"context"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cogmail/cogmail/internal/testkit/fakekms"
	"github.com/cogmail/cogmail/pkg/seal"
)

func TestScaledCPUAndBilled(t *testing.T) {
	a := Assumptions{ArchFactor: 1.5, FullCoreMB: 1769}
	msec := float64(time.Millisecond)
	tests := []struct {
		name  string
		d     time.Duration
		memMB int
		want  time.Duration
	}{
		{"a share of a core at 256 MB", time.Millisecond, 256, time.Duration(msec * 1.5 * 1769 / 256)},
		{"a whole core at 1769 MB", time.Millisecond, 1769, 1500 * time.Microsecond},
		{"never more than a core", time.Millisecond, 4096, 1500 * time.Microsecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := a.scaledCPU(tt.d, tt.memMB); got != tt.want {
				t.Errorf("scaledCPU(%s, %d) = %s, want %s", tt.d, tt.memMB, got, tt.want)
			}
		})
	}
	for d, want := range map[time.Duration]time.Duration{
		0: 0, time.Millisecond: time.Millisecond, time.Millisecond + time.Nanosecond: 2 * time.Millisecond, 10400 * time.Microsecond: 11 * time.Millisecond,
	} {
		if got := billed(d); got != want {
			t.Errorf("billed(%s) = %s, want %s", d, got, want)
		}
	}
}

// unitPrices makes every price 1 so that each line's dollars equal its quantity.
var unitPrices = Prices{LambdaRequest: 1, LambdaGBSecond: 1, SQSRequest: 1, KMSRequest: 1, KMSKeyMonth: 1, DynamoDBWrite: 1,
	LogsIngestGB: 1, XRayTrace: 1, SecretMonth: 1, AlarmMonth: 1, DashboardMonth: 1, MetricMonth: 1, SESEmail: 1}

// One email a second for a month, on round numbers, worked out by hand.
func TestCostByHand(t *testing.T) {
	a := Assumptions{ArchFactor: 1, FullCoreMB: 1024, AWSCallRTT: 0, ProviderLatency: 100 * time.Millisecond,
		IdleTimeout: time.Hour, DispatchLogBytes: 1500, PlatformLogBytes: 600, IdleReceivesPerMin: 15, MetricSeries: 40,
		SealMaxAge: 5 * time.Minute, SealMaxUses: 10000, XRayReservoirPerSec: 1, XRayRate: 0.05}
	st := Stack{IngestMemoryMB: 1024, DispatchMemoryMB: 1024, BatchSize: 10, BatchingWindow: time.Second, DispatchMaxConcurrency: 5,
		Keys: 1, Secrets: 3, Alarms: 6, Dashboards: 1}
	ingest := Function{ColdCPU: 50 * time.Millisecond, WarmCPU: 10 * time.Millisecond, Cold: time.Second, Warm: time.Second, LogBytes: 1000}
	m := Measured{Ingest: ingest, DispatchCPU: time.Millisecond}
	const n = 2_592_000 // 30 days of seconds
	e := Cost(n, ingest, m, st, a, unitPrices)

	want := map[string]float64{
		itemIngestRequests: n,
		// 10 ms of CPU warm (cold starts: exp(-3600) of them), 1 GB; wall times are not priced
		itemIngestDuration: n * 0.010,
		// batches of 1 + 1/s × 1 s = 2 messages
		itemDispatchRequests: n / 2,
		// 1 ms CPU per message × 2 + the 100 ms provider
		itemDispatchDuration: n / 2 * 0.102,
		// a Decrypt per code; a data key per 5-minute window, generated once and opened once
		itemKMSRequests: n + 2*8640,
		// SendMessage per email; Receive + Delete per batch; 15 idle polls a minute
		itemSQSRequests: n + 2*n/2 + 15*43200,
		itemDynamoDB:    2 * n,
		itemLogs:        (n*(1000+600) + n/2*600 + n*1500) / float64(1<<30),
		// one invocation a second (ingest) and one every two (dispatch): all sampled
		itemXRay:      n + n/2,
		itemKey:       1,
		itemSecrets:   3,
		itemAlarms:    6,
		itemDashboard: 1,
		itemMetrics:   40,
		itemSES:       n,
	}
	if len(e.Lines) != len(want) {
		t.Fatalf("%d lines, want %d", len(e.Lines), len(want))
	}
	total := 0.0
	for _, l := range e.Lines {
		w, ok := want[l.Item]
		if !ok {
			t.Errorf("unexpected line %q", l.Item)
			continue
		}
		if math.Abs(l.USD-w) > 1e-6*math.Max(1, w) {
			t.Errorf("%s = %.6f, want %.6f", l.Item, l.USD, w)
		}
		total += w
	}
	if got := e.Total(true); math.Abs(got-total) > 1e-6*total {
		t.Errorf("Total(true) = %f, want %f", got, total)
	}
	if got := e.Total(false); math.Abs(got-(total-n)) > 1e-6*total {
		t.Errorf("Total(false) = %f, want %f (without SES)", got, total-n)
	}
}

func TestVolumeShape(t *testing.T) {
	a := DefaultAssumptions
	st := Stack{BatchSize: 10, BatchingWindow: time.Second}
	low, high := a.volume(10_000, st), a.volume(10_000_000, st)
	if low.ColdFraction < 0.2 || low.ColdFraction > 0.5 {
		t.Errorf("10k emails a month (one every 4 minutes): cold fraction %.2f, want about exp(-1.16) = 0.31", low.ColdFraction)
	}
	if high.ColdFraction > 1e-6 {
		t.Errorf("10M emails a month: cold fraction %g, want about 0", high.ColdFraction)
	}
	if low.BatchMessages > 1.01 || high.BatchMessages < 4 || high.BatchMessages > 5 {
		t.Errorf("batch sizes %.2f and %.2f, want about 1 and 1 + 3.86", low.BatchMessages, high.BatchMessages)
	}
	if got := a.volume(1e9, st).BatchMessages; got != 10 {
		t.Errorf("batch size %v at a billion a month, want the BatchSize 10", got)
	}
	if got, want := a.sampled(21, 21), 2.0; math.Abs(got-want) > 1e-9 {
		t.Errorf("X-Ray at 21/s records %v of 21 a second, want 1 + 5%% of 20 = %v", got, want)
	}
}

// The sealing assumptions are pkg/seal's behaviour: a data key lasts
// SealMaxUses messages or SealMaxAge, whichever comes first.
func TestSealAssumptionsMatchPkgSeal(t *testing.T) {
	a := DefaultAssumptions
	now := time.Unix(0, 0)
	k := fakekms.New()
	s, err := seal.NewSealer(seal.Options{KMS: k, KeyID: "k", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range a.SealMaxUses {
		if _, err := s.Seal(ctx, "m", []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if s.KMSCalls() != 1 {
		t.Fatalf("%d data keys for %d messages, want 1", s.KMSCalls(), a.SealMaxUses)
	}
	if _, err := s.Seal(ctx, "m", nil); err != nil {
		t.Fatal(err)
	}
	if s.KMSCalls() != 2 {
		t.Errorf("message %d used the old key (%d data keys): SealMaxUses is not pkg/seal's", a.SealMaxUses+1, s.KMSCalls())
	}
	now = now.Add(a.SealMaxAge - time.Second)
	_, _ = s.Seal(ctx, "m", nil)
	if s.KMSCalls() != 2 {
		t.Errorf("a key younger than %s was replaced", a.SealMaxAge)
	}
	now = now.Add(time.Second)
	_, _ = s.Seal(ctx, "m", nil)
	if s.KMSCalls() != 3 {
		t.Errorf("a key %s old was kept: SealMaxAge is not pkg/seal's", a.SealMaxAge)
	}
}

func TestReadStackFromTheTemplate(t *testing.T) {
	src, err := os.ReadFile("../../infra/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	st, err := readStack(src)
	if err != nil {
		t.Fatal(err)
	}
	if st.IngestMemoryMB < 128 || st.DispatchMemoryMB < 128 || st.BatchSize < 1 || st.BatchingWindow < 0 || st.DispatchMaxConcurrency < 2 {
		t.Errorf("implausible stack %+v", st)
	}
	if st.Keys != 1 || st.Dashboards != 1 || st.Secrets < 3 || st.Alarms < 6 {
		t.Errorf("resources %+v, want 1 key, 1 dashboard, at least 3 secrets and 6 alarms", st)
	}
	if _, err := readStack([]byte("Resources: {}\n")); err == nil || !strings.Contains(err.Error(), "MemorySize") {
		t.Errorf("a template without the functions: error %v, want one naming MemorySize", err)
	}
}

const sampleColdStart = `## Cold start: exec to first event handled (5 runs each, linux/amd64, 2 CPUs)

| implementation | median | min | p90 |
| --- | --- | --- | --- |
| Go ingest bootstrap | 54.0 ms | 52.4 ms | 58.0 ms |
| Node v20.20.2 reference handler | 386.4 ms | 370.0 ms | 403.1 ms |

Go / Node median ratio: 0.140 (goal: <= 0.2)

## Warm invocations: 10 per process after its cold start (medians over the processes)

| implementation | warm median | warm p90 | cold CPU | warm CPU/event | peak memory (VmHWM) | log bytes/event | minor faults/warm event |
| --- | --- | --- | --- | --- | --- | --- | --- |
| Go ingest bootstrap | 2.1 ms | 3.0 ms | 30.2 ms | 1.9 ms | 31.5 MiB | 912 | 120 |
| Node v20.20.2 reference handler | 6.4 ms | 9.9 ms | 410.0 ms | 5.5 ms | 98.2 MiB | 0 | 246 |
`

func TestParseColdStartOutput(t *testing.T) {
	ingest, node, err := coldStart(strings.NewReader(sampleColdStart))
	if err != nil {
		t.Fatal(err)
	}
	wantGo := Function{Name: "Go ingest bootstrap", Cold: 54 * time.Millisecond, Warm: 2100 * time.Microsecond,
		ColdCPU: 30200 * time.Microsecond, WarmCPU: 1900 * time.Microsecond, PeakMiB: 31.5, LogBytes: 912}
	wantNode := Function{Name: "Node v20.20.2 reference handler", Cold: 386400 * time.Microsecond, Warm: 6400 * time.Microsecond,
		ColdCPU: 410 * time.Millisecond, WarmCPU: 5500 * time.Microsecond, PeakMiB: 98.2}
	if ingest != wantGo || node != wantNode {
		t.Errorf("parsed\n  %+v\n  %+v\nwant\n  %+v\n  %+v", ingest, node, wantGo, wantNode)
	}
	cold := strings.Split(sampleColdStart, "## Warm")[0]
	if _, _, err := coldStart(strings.NewReader(cold)); err == nil || !strings.Contains(err.Error(), "warm") {
		t.Errorf("output without the warm table: error %v, want one naming it", err)
	}
}

func TestReportPrintsEveryVolume(t *testing.T) {
	ingest, node, err := coldStart(strings.NewReader(sampleColdStart))
	if err != nil {
		t.Fatal(err)
	}
	m := Measured{Ingest: ingest, Node: node, DispatchCPU: 200 * time.Microsecond}
	st := Stack{IngestMemoryMB: 256, DispatchMemoryMB: 256, BatchSize: 10, BatchingWindow: time.Second, DispatchMaxConcurrency: 5, Keys: 1, Secrets: 3, Alarms: 6, Dashboards: 1}
	var buf bytes.Buffer
	report(&buf, []int{10_000, 1_000_000, 10_000_000}, m, st, DefaultAssumptions, ListPrices)
	out := buf.String()
	for _, s := range []string{"10,000 emails", "1,000,000 emails", "10,000,000 emails", itemKMSRequests, itemDynamoDB,
		"Node v20.20.2 reference handler: warm event", "| 10,000,000 |", ListPrices.Region} {
		if !strings.Contains(out, s) {
			t.Errorf("report lacks %q:\n%s", s, out)
		}
	}
}

// docs/cost.md shows the report of the figures it records: re-pricing them
// with today's model, prices and template gives the same text.
func TestDocIsTheModelsOutput(t *testing.T) {
	doc, err := os.ReadFile("../../docs/cost.md")
	if err != nil {
		t.Fatal(err)
	}
	coldOut, dcpu, want, err := parseDoc(doc)
	if err != nil {
		t.Fatalf("docs/cost.md: %v", err)
	}
	ingest, node, err := coldStart(bytes.NewReader(coldOut))
	if err != nil {
		t.Fatalf("docs/cost.md's bench/coldstart output: %v", err)
	}
	st, err := templateStack("../..")
	if err != nil {
		t.Fatal(err)
	}
	ns, err := volumeList(docVolumes)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	report(&got, ns, Measured{Ingest: ingest, Node: node, DispatchCPU: dcpu}, st, DefaultAssumptions, ListPrices)
	if strings.TrimSpace(got.String()) != strings.TrimSpace(want) {
		t.Errorf("docs/cost.md is stale (the model, the prices or infra/template.yaml changed): run\n"+
			"  go run ./bench/cost -reprice -write docs/cost.md\nto re-price its figures, or make cost-doc to measure anew. Today's report:\n%s", got.String())
	}
}

func TestSpliceAndParseDoc(t *testing.T) {
	doc := []byte("# Cost\n\nintro\n\n" + markMeasured + "\nSTALE-REPORT\n" + markEnd + "\n\noutro\n")
	out, err := splice(doc, generated([]byte(sampleColdStart), 183*time.Microsecond, []byte("| report |\n")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), "# Cost\n\nintro\n\n") || !strings.HasSuffix(string(out), markEnd+"\n\noutro\n") || strings.Contains(string(out), "STALE-REPORT") {
		t.Errorf("splice kept or lost the wrong parts:\n%s", out)
	}
	cold, dcpu, rep, err := parseDoc(out)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(cold)) != strings.TrimSpace(sampleColdStart) || dcpu != 183*time.Microsecond || strings.TrimSpace(rep) != "| report |" {
		t.Errorf("read back %q, %s, %q", cold, dcpu, rep)
	}
	if _, err := splice([]byte("no markers"), "x"); err == nil {
		t.Error("splice into a document without markers succeeded")
	}
}
