package routing_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/cogmail/cogmail/internal/testkit/motoserver"
	"github.com/cogmail/cogmail/pkg/routing"
	"github.com/cogmail/cogmail/pkg/routing/ssmparam"
)

func TestParseList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		list     string
		strategy routing.Strategy
		want     routing.Config
		wantErr  string
	}{
		{"ordered", "ses, sendgrid", "", routing.Config{Providers: []string{"ses", "sendgrid"}}, ""},
		{"names are case-insensitive", "SES,SendGrid", "", routing.Config{Providers: []string{"ses", "sendgrid"}}, ""},
		{"weights imply weighted", "sendgrid=3,mailgun=1", "", routing.Config{
			Providers: []string{"sendgrid", "mailgun"}, Strategy: routing.Weighted,
			Weights: map[string]int{"sendgrid": 3, "mailgun": 1}}, ""},
		{"weighted without weights", "ses,smtp", routing.Weighted, routing.Config{
			Providers: []string{"ses", "smtp"}, Strategy: routing.Weighted}, ""},
		{"a bad weight", "sendgrid=x", "", routing.Config{}, `weight of "sendgrid"`},
		{"a negative weight", "sendgrid=-1", "", routing.Config{}, `weight of "sendgrid"`},
		{"empty items are skipped", "ses,,sendgrid,", "", routing.Config{Providers: []string{"ses", "sendgrid"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := routing.ParseList(tt.list, tt.strategy)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseList = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		c         routing.Config
		available []string
		wantErrs  []string // each must appear; none means valid
	}{
		{"valid failover", routing.Config{Providers: []string{"ses", "sendgrid"}}, nil, nil},
		{"valid weighted", routing.Config{Providers: []string{"ses", "smtp"}, Strategy: "weighted", Weights: map[string]int{"ses": 0}}, nil, nil},
		{"empty", routing.Config{}, nil, []string{"names no provider"}},
		{"unknown and duplicate", routing.Config{Providers: []string{"postmark", "ses", "ses"}}, nil,
			[]string{`"postmark" is not a provider`, `"ses" is listed twice`}},
		{"not available here", routing.Config{Providers: []string{"mailgun"}}, []string{"ses"},
			[]string{`"mailgun" is not configured`}},
		{"weights without weighted", routing.Config{Providers: []string{"ses"}, Weights: map[string]int{"ses": 1}}, nil,
			[]string{"only used with the weighted strategy"}},
		{"bad weights", routing.Config{Providers: []string{"ses", "smtp"}, Strategy: "weighted",
			Weights: map[string]int{"ses": -1, "smtp": 0, "mailgun": 2}}, nil,
			[]string{`weight for "ses" is negative`, `weight for "mailgun", which is not listed`, "every weight is 0"}},
		{"unknown strategy", routing.Config{Providers: []string{"ses"}, Strategy: "random"}, nil,
			[]string{`strategy "random"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.c.Validate(tt.available)
			if len(tt.wantErrs) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			for _, w := range tt.wantErrs {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestParseAndNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		json    string
		want    routing.Config
		wantErr bool
	}{
		{"failover by default", `{"providers":["ses","sendgrid"]}`,
			routing.Config{Providers: []string{"ses", "sendgrid"}, Strategy: routing.Failover}, false},
		{"weighted fills missing weights", `{"providers":["sendgrid","mailgun","ses"],"strategy":"weighted","weights":{"sendgrid":3,"ses":0}}`,
			routing.Config{Providers: []string{"sendgrid", "mailgun", "ses"}, Strategy: routing.Weighted,
				Weights: map[string]int{"sendgrid": 3, "mailgun": 1, "ses": 0}}, false},
		{"unknown field", `{"providers":["ses"],"order":["ses"]}`, routing.Config{}, true},
		{"not JSON", `ses,sendgrid`, routing.Config{}, true},
		{"invalid", `{"providers":[]}`, routing.Config{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := routing.Parse([]byte(tt.json), nil)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Parse error = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// params is an in-memory SSM parameter store.
type params struct {
	mu      sync.Mutex
	value   string
	version int64
	fail    error
	reads   int
}

func (p *params) set(v string) { p.mu.Lock(); defer p.mu.Unlock(); p.value = v; p.version++ }

func (p *params) ReadParameter(context.Context, string) (routing.Parameter, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reads++
	if p.fail != nil {
		return routing.Parameter{}, p.fail
	}
	return routing.Parameter{Value: p.value, Version: p.version}, nil
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

func TestSourceRefresh(t *testing.T) {
	t.Parallel()
	fallback := routing.Config{Providers: []string{"smtp"}}
	type step struct {
		set     string        // new parameter value ("" keeps it)
		fail    bool          // reads fail from now on
		advance time.Duration // before Current
		want    []string      // providers Current returns
		reads   int           // total reads so far
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"reads once per refresh interval", []step{
			{set: `{"providers":["ses"]}`, want: []string{"ses"}, reads: 1},
			{set: `{"providers":["sendgrid"]}`, advance: 59 * time.Second, want: []string{"ses"}, reads: 1},
			{advance: time.Second, want: []string{"sendgrid"}, reads: 2},
		}},
		{"an invalid parameter keeps the last good configuration", []step{
			{set: `{"providers":["ses"]}`, want: []string{"ses"}, reads: 1},
			{set: `{"providers":["postmark"]}`, advance: time.Minute, want: []string{"ses"}, reads: 2},
			{set: `{"providers":["mailgun"]}`, advance: time.Minute, want: []string{"mailgun"}, reads: 3},
		}},
		{"a failed read keeps the last good configuration", []step{
			{set: `{"providers":["ses"]}`, want: []string{"ses"}, reads: 1},
			{fail: true, advance: time.Minute, want: []string{"ses"}, reads: 2},
		}},
		{"the fallback serves until the parameter is good", []step{
			{fail: true, want: []string{"smtp"}, reads: 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := &clock{t: time.Unix(1e9, 0)}
			p := &params{}
			src, err := routing.NewSource(routing.SourceOptions{Client: p, Parameter: "/cogmail/providers",
				Fallback: fallback, Available: []string{"ses", "sendgrid", "mailgun", "smtp"}, Now: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tt.steps {
				if s.set != "" {
					p.set(s.set)
				}
				if s.fail {
					p.mu.Lock()
					p.fail = errors.New("ThrottlingException")
					p.mu.Unlock()
				}
				clk.Add(s.advance)
				got := src.Current(context.Background())
				if !reflect.DeepEqual(got.Providers, s.want) || src.Reads() != s.reads {
					t.Fatalf("step %d: Current = %v after %d reads, want %v after %d", i, got.Providers, src.Reads(), s.want, s.reads)
				}
			}
		})
	}
}

func TestSourceLogsRejectedParameter(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	p := &params{}
	p.set(`{"providers":["mailgun"]}`)
	src, err := routing.NewSource(routing.SourceOptions{Client: p, Parameter: "/p",
		Fallback: routing.Config{Providers: []string{"ses"}}, Available: []string{"ses"},
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Load(context.Background()); err == nil || !strings.Contains(err.Error(), `"mailgun" is not configured`) {
		t.Fatalf("Load = %v, want the parameter rejected", err)
	}
	if got := src.Current(context.Background()).Providers; !reflect.DeepEqual(got, []string{"ses"}) {
		t.Fatalf("Current = %v, want the fallback", got)
	}
	if !strings.Contains(logs.String(), "provider configuration rejected") {
		t.Fatalf("no rejection logged: %s", logs.String())
	}
}

func TestNewSourceChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		o    routing.SourceOptions
	}{
		{"no client", routing.SourceOptions{Parameter: "/p", Fallback: routing.Config{Providers: []string{"ses"}}}},
		{"no parameter", routing.SourceOptions{Client: &params{}, Fallback: routing.Config{Providers: []string{"ses"}}}},
		{"invalid fallback", routing.SourceOptions{Client: &params{}, Parameter: "/p"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := routing.NewSource(tt.o); err == nil {
				t.Fatal("NewSource accepted it")
			}
		})
	}
}

// TestSourceAgainstMotoSSM switches the routing through a real SSM API (a
// SecureString: ssmparam must ask for it decrypted).
func TestSourceAgainstMotoSSM(t *testing.T) {
	url := motoserver.Shared(t)
	client := ssm.NewFromConfig(motoserver.Config(), func(o *ssm.Options) { o.BaseEndpoint = aws.String(url) })
	ctx := context.Background()
	name := fmt.Sprintf("/cogmail/test/providers-%d", time.Now().UnixNano())
	put := func(v string) {
		t.Helper()
		if _, err := client.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(v),
			Type: ssmtypes.ParameterTypeSecureString, Overwrite: aws.Bool(true)}); err != nil {
			t.Fatalf("PutParameter: %v", err)
		}
	}
	put(`{"providers":["ses","sendgrid"],"strategy":"failover"}`)
	clk := &clock{t: time.Unix(1e9, 0)}
	src, err := routing.NewSource(routing.SourceOptions{Client: ssmparam.Reader{Client: client}, Parameter: name,
		Fallback: routing.Config{Providers: []string{"smtp"}}, Refresh: 30 * time.Second, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		put     string
		advance time.Duration
		want    routing.Config
	}{
		{"", 0, routing.Config{Providers: []string{"ses", "sendgrid"}, Strategy: routing.Failover}},
		{`{"providers":["sendgrid","mailgun"],"strategy":"weighted","weights":{"sendgrid":3,"mailgun":1}}`, 10 * time.Second,
			routing.Config{Providers: []string{"ses", "sendgrid"}, Strategy: routing.Failover}},
		{"", 20 * time.Second, routing.Config{Providers: []string{"sendgrid", "mailgun"}, Strategy: routing.Weighted,
			Weights: map[string]int{"sendgrid": 3, "mailgun": 1}}},
	}
	for i, s := range steps {
		if s.put != "" {
			put(s.put)
		}
		clk.Add(s.advance)
		if got := src.Current(ctx); !reflect.DeepEqual(got, s.want) {
			t.Fatalf("step %d: Current = %+v, want %+v", i, got, s.want)
		}
	}
}

func BenchmarkSourceCurrentCached(b *testing.B) {
	p := &params{}
	p.set(`{"providers":["ses","sendgrid"]}`)
	src, err := routing.NewSource(routing.SourceOptions{Client: p, Parameter: "/p",
		Fallback: routing.Config{Providers: []string{"ses"}}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		src.Current(ctx)
	}
}

// TestValidateOrder: the weights' problems are listed by name, the same
// every run (a map's order would change within a few runs).
func TestValidateOrder(t *testing.T) {
	t.Parallel()
	c := routing.Config{Providers: []string{"ses"}, Strategy: "weighted", Weights: map[string]int{"smtp": -1, "mailgun": -2, "sendgrid": 1, "ses": 0}}
	want := `weight for "mailgun", which is not listed` + "\n" + `weight for "mailgun" is negative` + "\n" +
		`weight for "sendgrid", which is not listed` + "\n" + `weight for "smtp", which is not listed` + "\n" +
		`weight for "smtp" is negative` + "\n" + "every weight is 0"
	for range 20 {
		if err := c.Validate(nil); err == nil || err.Error() != want {
			t.Fatalf("Validate = %q, want %q", err, want)
		}
	}
}
