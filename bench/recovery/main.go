// Command recovery measures how fast held mail goes out once the providers
// answer again, on the local stack with its real handlers, SQS endpoint,
// provider fakes and the stack's retry schedule (dispatch's defaults): every
// provider is down (PUT /api/faults), -n ForgotPassword emails go through
// ingest and are held by dispatch, the outage lasts -outage, then every
// provider is healed. It reports the time from the heal to the last held
// email delivered, and the peak send rate after it (emails per second, in
// one-second buckets of the fakes' delivery times), with how many held
// messages dispatch released on the first successful probe.
//
//	go run ./bench/recovery [-n 1000] [-outage 90s]
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cogmail/cogmail/internal/local/localstack"
	"github.com/cogmail/cogmail/pkg/cognito"
)

func main() {
	n := flag.Int("n", 1000, "held messages")
	outage := flag.Duration("outage", 90*time.Second, "how long every provider is down, from the first message")
	flag.Parse()
	if err := run(*n, *outage); err != nil {
		fmt.Fprintln(os.Stderr, "recovery:", err)
		os.Exit(1)
	}
}

// released counts the held messages dispatch's log says it released.
type released struct {
	mu    sync.Mutex
	n     int
	lines int
}

func (r *released) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, line := range bytes.Split(p, []byte("\n")) {
		if bytes.Contains(line, []byte(`"provider back: held messages released"`)) {
			r.lines++
			var k int
			if i := bytes.Index(line, []byte(`"released":`)); i >= 0 {
				_, _ = fmt.Sscanf(string(line[i+len(`"released":`):]), "%d", &k)
			}
			r.n += k
		}
	}
	return len(p), nil
}

func run(n int, outage time.Duration) error {
	ctx := context.Background()
	rel := &released{}
	s, err := localstack.Start(ctx, localstack.Options{Logger: slog.New(slog.NewJSONHandler(rel, nil))})
	if err != nil {
		return err
	}
	defer s.Close()
	faults := func(body string) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, s.URL+"/api/faults", strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			return fmt.Errorf("PUT /api/faults %q: %s", body, resp.Status)
		}
		return nil
	}
	if err := faults("ses=1,sendgrid=1,mailgun=1,smtp=1"); err != nil {
		return err
	}
	down := time.Now()
	ids := make([]string, 0, n)
	for i := range n {
		user := fmt.Sprintf("held%04d", i)
		ct, err := s.Encrypter.Encrypt(ctx, localstack.NewCode(cognito.ForgotPassword), localstack.SamplePool)
		if err != nil {
			return err
		}
		raw, err := localstack.Event(localstack.EventSpec{Trigger: cognito.ForgotPassword, Pool: localstack.SamplePool, UserName: user, Email: user + "@example.com"}, ct)
		if err != nil {
			return err
		}
		res, err := s.Ingest.Handle(ctx, raw)
		if err != nil {
			return err
		}
		ids = append(ids, res.MessageID)
	}
	fmt.Printf("%d ForgotPassword emails enqueued in %v with every provider down\n", n, time.Since(down).Round(time.Millisecond))
	time.Sleep(time.Until(down.Add(outage)))
	held := 0
	for _, q := range s.SQS.Stats() {
		if q.Name == localstack.QueueName {
			held = q.InFlight
		}
	}
	if len(s.Delivered()) != 0 {
		return fmt.Errorf("%d delivered during the outage", len(s.Delivered()))
	}
	if err := faults(""); err != nil {
		return err
	}
	healed := time.Now()
	fmt.Printf("healed after %v: %d held in flight\n", healed.Sub(down).Round(time.Second), held)
	wctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	got := s.WaitDelivered(wctx, ids...)
	if len(got) != n {
		return fmt.Errorf("%d of %d delivered after the heal", len(got), n)
	}
	var times []time.Time
	for _, d := range got {
		times = append(times, d.DeliveredAt)
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	buckets := map[int64]int{}
	peak := 0
	for _, at := range times {
		k := at.Sub(healed).Milliseconds() / 1000
		buckets[k]++
		peak = max(peak, buckets[k])
	}
	rel.mu.Lock()
	r, lines := rel.n, rel.lines
	rel.mu.Unlock()
	fmt.Printf("first delivered %v after the heal, last %v after it (%d emails)\n",
		times[0].Sub(healed).Round(10*time.Millisecond), times[len(times)-1].Sub(healed).Round(10*time.Millisecond), n)
	fmt.Printf("peak send rate %d emails/s (one-second buckets); mean over the recovery %.0f emails/s\n",
		peak, float64(n)/times[len(times)-1].Sub(times[0]).Seconds())
	fmt.Printf("released on recovery: %d messages in %d release(s)\n", r, lines)
	return nil
}
