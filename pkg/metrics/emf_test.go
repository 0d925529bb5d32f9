package metrics_test

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/cogmail/cogmail/pkg/metrics"
)

func TestEmitWritesEMF(t *testing.T) {
	var buf bytes.Buffer
	at := time.UnixMilli(1_800_000_000_123)
	m := metrics.New(&buf, "dispatch", func() time.Time { return at })
	m.Emit(map[string]string{"Provider": "ses", "Reason": "permanent"},
		metrics.Metric{Name: "Failed", Unit: metrics.Count, Value: 1},
		metrics.Metric{Name: "Latency", Unit: metrics.Milliseconds, Value: 12.5})
	var doc struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Function, Provider, Reason string
		Failed, Latency            float64
	}
	if err := json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &doc); err != nil {
		t.Fatalf("not one JSON line: %v\n%s", err, buf.String())
	}
	cw := doc.AWS.CloudWatchMetrics
	if doc.AWS.Timestamp != at.UnixMilli() || len(cw) != 1 || cw[0].Namespace != "cogmail" {
		t.Fatalf("bad _aws block: %+v", doc.AWS)
	}
	if got := cw[0].Dimensions; len(got) != 1 || len(got[0]) != 3 || got[0][0] != "Function" || got[0][1] != "Provider" || got[0][2] != "Reason" {
		t.Errorf("dimensions = %v", got)
	}
	if len(cw[0].Metrics) != 2 || cw[0].Metrics[1].Unit != "Milliseconds" {
		t.Errorf("metric definitions = %+v", cw[0].Metrics)
	}
	if doc.Function != "dispatch" || doc.Provider != "ses" || doc.Failed != 1 || doc.Latency != 12.5 {
		t.Errorf("values wrong: %+v", doc)
	}
}

func TestNilWriterAndNoMetrics(t *testing.T) {
	var buf bytes.Buffer
	metrics.New(&buf, "ingest", nil).Emit(nil)
	if buf.Len() != 0 {
		t.Errorf("Emit with no metrics wrote %q", buf.String())
	}
	metrics.New(nil, "ingest", nil).Count("X", 1, nil) // must not panic
	var e *metrics.Emitter
	e.Count("X", 1, nil) // a nil emitter is a no-op
}

func ExampleEmitter_Count() {
	m := metrics.New(os.Stdout, "ingest", func() time.Time { return time.UnixMilli(0) })
	m.Count("Enqueued", 1, map[string]string{"Trigger": "SignUp"})
	// Output:
	// {"Enqueued":1,"Function":"ingest","Trigger":"SignUp","_aws":{"CloudWatchMetrics":[{"Dimensions":[["Function","Trigger"]],"Metrics":[{"Name":"Enqueued","Unit":"Count"}],"Namespace":"cogmail"}],"Timestamp":0}}
}
