package ingest_test

import (
	"context"
	"testing"

	"github.com/cogmail/cogmail/internal/testkit/fakekms"
	"github.com/cogmail/cogmail/internal/testkit/fixtures"
	"github.com/cogmail/cogmail/pkg/codecrypt"
	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/ingest"
	"github.com/cogmail/cogmail/pkg/recipient"
	"github.com/cogmail/cogmail/pkg/render"
	"github.com/cogmail/cogmail/pkg/seal"
)

// marshalPublisher does the publisher's CPU work (marshal the envelope) and
// stops before the network.
type marshalPublisher struct{ n int }

func (m *marshalPublisher) Publish(_ context.Context, e *envelope.Envelope) (string, error) {
	b, err := e.Marshal()
	m.n += len(b)
	return "x", err
}

// BenchmarkHandleRawAES is the handler's cost per event excluding the
// network: parse, decrypt (Encryption SDK, raw-AES keyring, suite 0x0378
// with its ECDSA P-384 verify), resolve, render, seal (data key cached, as in
// steady state) and marshal. `make bench` records it in docs/benchmarks.md.
func BenchmarkHandleRawAES(b *testing.B) {
	benchmarkHandle(b, fixtures.MustLoadEvents())
}

// BenchmarkHandleSMSRawAES is BenchmarkHandleRawAES for a Custom SMS Sender
// SignUp: the number parsed and normalised (libphonenumber), the text
// rendered and its segments counted, in place of the address and the email.
func BenchmarkHandleSMSRawAES(b *testing.B) {
	benchmarkHandle(b, fixtures.MustLoadSMSEvents())
}

func benchmarkHandle(b *testing.B, ev *fixtures.Events) {
	ctx := context.Background()
	dec, err := codecrypt.NewRawAES(ctx, codecrypt.RawAESKey{Namespace: ev.KeyNamespace, Name: ev.KeyName, Key: ev.AESKey()})
	if err != nil {
		b.Fatal(err)
	}
	rnd, err := render.New(render.Options{Brand: render.Brand{ProductName: "Acme"}})
	if err != nil {
		b.Fatal(err)
	}
	rc, err := recipient.New(recipient.Options{})
	if err != nil {
		b.Fatal(err)
	}
	sl, err := seal.NewSealer(seal.Options{KMS: fakekms.New(), KeyID: "k"})
	if err != nil {
		b.Fatal(err)
	}
	h, err := ingest.New(ingest.Deps{Decrypter: dec, Recipient: rc, Renderer: rnd, Sealer: sl, Publisher: &marshalPublisher{}},
		ingest.Options{})
	if err != nil {
		b.Fatal(err)
	}
	raw := ev.ByKeyring("raw-aes")[0].Event // SignUp
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Handle(ctx, raw); err != nil {
			b.Fatal(err)
		}
	}
}
