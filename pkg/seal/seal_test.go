package seal_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/cogmail/cogmail/internal/testkit/fakekms"
	"github.com/cogmail/cogmail/pkg/seal"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newPair(t *testing.T, k seal.KeyService, o seal.Options) (*seal.Sealer, *seal.Opener) {
	t.Helper()
	o.KMS, o.KeyID = k, "alias/test"
	s, err := seal.NewSealer(o)
	if err != nil {
		t.Fatal(err)
	}
	op, err := seal.NewOpener(seal.OpenerOptions{KMS: k, Now: o.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s, op
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, o := newPair(t, fakekms.New(), seal.Options{})
	msg := []byte(`{"to":"ana@example.com","text":"your code is 123456"}`)
	sealed, err := s.Seal(ctx, "m-1", msg)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed.Ciphertext, []byte("123456")) || bytes.Contains(sealed.Ciphertext, []byte("ana@")) {
		t.Fatal("ciphertext contains plaintext")
	}
	got, err := o.Open(ctx, "m-1", sealed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("Open = %q", got)
	}
}

func TestOpenRejects(t *testing.T) {
	ctx := context.Background()
	k := fakekms.New()
	s, o := newPair(t, k, seal.Options{})
	good, err := s.Seal(ctx, "m-1", []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(b []byte) []byte { c := bytes.Clone(b); c[0] ^= 1; return c }
	cases := []struct {
		name      string
		id        string
		mut       func(seal.Sealed) seal.Sealed
		tampered  bool
		retryable bool
	}{
		{"other message id", "m-2", func(s seal.Sealed) seal.Sealed { return s }, true, false},
		{"flipped ciphertext", "m-1", func(s seal.Sealed) seal.Sealed { s.Ciphertext = flip(s.Ciphertext); return s }, true, false},
		{"flipped nonce", "m-1", func(s seal.Sealed) seal.Sealed { s.Nonce = flip(s.Nonce); return s }, true, false},
		{"short nonce", "m-1", func(s seal.Sealed) seal.Sealed { s.Nonce = s.Nonce[:4]; return s }, false, false},
		{"foreign data key", "m-1", func(s seal.Sealed) seal.Sealed { s.DataKey = flip(s.DataKey); return s }, false, false},
		{"unknown alg", "m-1", func(s seal.Sealed) seal.Sealed { s.Alg = "ROT13"; return s }, false, false},
		{"no ciphertext", "m-1", func(s seal.Sealed) seal.Sealed { s.Ciphertext = nil; return s }, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := o.Open(ctx, tc.id, tc.mut(good))
			var se *seal.Error
			if !errors.As(err, &se) {
				t.Fatalf("Open error = %v, want *seal.Error", err)
			}
			if errors.Is(err, seal.ErrTampered) != tc.tampered {
				t.Errorf("tampered = %v, want %v (%v)", !tc.tampered, tc.tampered, err)
			}
			if se.Retryable() != tc.retryable {
				t.Errorf("retryable = %v, want %v", se.Retryable(), tc.retryable)
			}
		})
	}
}

func TestDataKeyReuseBounds(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name    string
		opts    seal.Options
		n       int
		advance time.Duration // clock step per message
		calls   int
	}{
		{"defaults: one key for a thousand messages", seal.Options{}, 1000, 0, 1},
		{"max uses", seal.Options{MaxUses: 10}, 25, 0, 3},
		{"max age", seal.Options{MaxAge: time.Minute}, 10, 30 * time.Second, 5},
		{"default max uses is 10,000", seal.Options{}, 10001, 0, 2},
		{"default max age is 5 minutes", seal.Options{}, 4, 2 * time.Minute, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{t: time.Unix(1_800_000_000, 0)}
			k := fakekms.New()
			tc.opts.Now = c.now
			s, o := newPair(t, k, tc.opts)
			var last seal.Sealed
			for i := 0; i < tc.n; i++ {
				var err error
				if last, err = s.Seal(ctx, "id", []byte("x")); err != nil {
					t.Fatal(err)
				}
				c.t = c.t.Add(tc.advance)
			}
			if s.KMSCalls() != tc.calls || k.Generate != tc.calls {
				t.Errorf("GenerateDataKey calls = %d (fake saw %d), want %d", s.KMSCalls(), k.Generate, tc.calls)
			}
			if _, err := o.Open(ctx, "id", last); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestOpenerCachesDataKeys(t *testing.T) {
	ctx := context.Background()
	k := fakekms.New()
	s, o := newPair(t, k, seal.Options{})
	var sealed []seal.Sealed
	for i := 0; i < 100; i++ {
		x, err := s.Seal(ctx, "id", []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		sealed = append(sealed, x)
	}
	var wg sync.WaitGroup
	for _, x := range sealed {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := o.Open(ctx, "id", x); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if o.KMSCalls() != 1 { // concurrent first opens share one fetch
		t.Errorf("KMS Decrypt calls = %d for 100 messages under one data key", o.KMSCalls())
	}
}

func TestKMSFailureIsRetryable(t *testing.T) {
	k := fakekms.New()
	k.Fail = errors.New("dial tcp 127.0.0.1:1: connection refused")
	s, _ := newPair(t, k, seal.Options{})
	_, err := s.Seal(context.Background(), "id", []byte("x"))
	var se *seal.Error
	if !errors.As(err, &se) || !se.Retryable() {
		t.Fatalf("err = %v, want retryable *seal.Error", err)
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := seal.NewSealer(seal.Options{KeyID: "k"}); err == nil {
		t.Error("NewSealer without KMS accepted")
	}
	if _, err := seal.NewSealer(seal.Options{KMS: fakekms.New()}); err == nil {
		t.Error("NewSealer without key id accepted")
	}
	if _, err := seal.NewOpener(seal.OpenerOptions{}); err == nil {
		t.Error("NewOpener without KMS accepted")
	}
}

func BenchmarkSealOpen(b *testing.B) {
	ctx := context.Background()
	k := fakekms.New()
	s, _ := seal.NewSealer(seal.Options{KMS: k, KeyID: "k"})
	o, _ := seal.NewOpener(seal.OpenerOptions{KMS: k})
	msg := bytes.Repeat([]byte("x"), 4096)
	b.ReportAllocs()
	for b.Loop() {
		x, err := s.Seal(ctx, "id", msg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := o.Open(ctx, "id", x); err != nil {
			b.Fatal(err)
		}
	}
}

// gatedKMS holds GenerateDataKey until released, and says when a call is in.
type gatedKMS struct {
	*fakekms.KMS
	entered chan struct{}
	release chan struct{}
}

func (g *gatedKMS) GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, o ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	g.entered <- struct{}{}
	<-g.release
	return g.KMS.GenerateDataKey(ctx, in, o...)
}

func TestPrefetch(t *testing.T) {
	ctx := context.Background()
	t.Run("the prefetched key serves the first seals and counts no use", func(t *testing.T) {
		k := fakekms.New()
		s, o := newPair(t, k, seal.Options{MaxUses: 10})
		if err := s.Prefetch(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Prefetch(ctx); err != nil { // a usable key: no second call
			t.Fatal(err)
		}
		var last seal.Sealed
		for i := 0; i < 10; i++ {
			var err error
			if last, err = s.Seal(ctx, "id", []byte("x")); err != nil {
				t.Fatal(err)
			}
		}
		if k.Generate != 1 {
			t.Errorf("GenerateDataKey calls = %d after a prefetch and 10 seals, want 1", k.Generate)
		}
		if _, err := s.Seal(ctx, "id", []byte("x")); err != nil || k.Generate != 2 {
			t.Errorf("the 11th seal: err %v, calls %d, want a new key (max uses 10)", err, k.Generate)
		}
		if _, err := o.Open(ctx, "id", last); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a failed prefetch leaves the next seal to ask again", func(t *testing.T) {
		k := fakekms.New()
		k.Fail = errors.New("dial tcp 127.0.0.1:1: connection refused")
		s, _ := newPair(t, k, seal.Options{})
		var se *seal.Error
		if err := s.Prefetch(ctx); !errors.As(err, &se) || !se.Retryable() {
			t.Fatalf("prefetch err = %v, want a retryable *seal.Error", err)
		}
		k.Fail = nil
		if _, err := s.Seal(ctx, "id", []byte("x")); err != nil {
			t.Fatal(err)
		}
		if k.Generate != 2 {
			t.Errorf("GenerateDataKey calls = %d, want 2 (the failed prefetch, then the seal's own)", k.Generate)
		}
	})
	t.Run("a seal during the prefetch waits for the same key", func(t *testing.T) {
		g := &gatedKMS{KMS: fakekms.New(), entered: make(chan struct{}, 2), release: make(chan struct{})}
		s, o := newPair(t, g, seal.Options{})
		prefetched := make(chan error, 1)
		go func() { prefetched <- s.Prefetch(ctx) }()
		<-g.entered // the prefetch holds the key lock inside its KMS call
		sealed := make(chan error, 1)
		var x seal.Sealed
		go func() {
			var err error
			x, err = s.Seal(ctx, "id", []byte("x"))
			sealed <- err
		}()
		close(g.release)
		if err := <-prefetched; err != nil {
			t.Fatal(err)
		}
		if err := <-sealed; err != nil {
			t.Fatal(err)
		}
		if g.Generate != 1 {
			t.Errorf("GenerateDataKey calls = %d, want 1 shared by the prefetch and the seal", g.Generate)
		}
		if _, err := o.Open(ctx, "id", x); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSealWaitingForAPrefetchHonoursItsContext(t *testing.T) {
	g := &gatedKMS{KMS: fakekms.New(), entered: make(chan struct{}, 2), release: make(chan struct{})}
	s, _ := newPair(t, g, seal.Options{})
	prefetched := make(chan error, 1)
	go func() { prefetched <- s.Prefetch(context.Background()) }()
	<-g.entered // the prefetch holds the key lock inside a KMS call that does not return
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Seal(ctx, "id", []byte("x"))
	var se *seal.Error
	if !errors.As(err, &se) || !se.Retryable() || !errors.Is(err, context.Canceled) {
		t.Fatalf("Seal with an ended context while KMS hangs = %v, want a retryable *seal.Error wrapping context.Canceled", err)
	}
	close(g.release)
	if err := <-prefetched; err != nil {
		t.Fatal(err)
	}
	if _, err := s.Seal(context.Background(), "id", []byte("x")); err != nil || g.Generate != 1 {
		t.Errorf("after the prefetch: err %v, GenerateDataKey calls %d, want 1", err, g.Generate)
	}
}
