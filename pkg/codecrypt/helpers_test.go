package codecrypt_test

import (
	"context"
	"net"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/cogmail/cogmail/internal/local/kmslocal"
	"github.com/cogmail/cogmail/internal/testkit/fixtures"
	"github.com/cogmail/cogmail/pkg/awsclient"
	"github.com/cogmail/cogmail/pkg/codecrypt"
	"github.com/cogmail/cogmail/pkg/cognito"
)

var events = fixtures.MustLoadEvents()

func rawKey() codecrypt.RawAESKey {
	return codecrypt.RawAESKey{Namespace: events.KeyNamespace, Name: events.KeyName, Key: events.AESKey()}
}

// startKMS runs local-kms seeded with the key of the shared kms cases.
func startKMS(tb testing.TB) *kmslocal.Server {
	tb.Helper()
	s, err := kmslocal.Start(kmslocal.Options{Seed: fixtures.KMSSeed()})
	if err != nil {
		tb.Fatalf("kmslocal: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// decrypterFor builds the Decrypter for a shared case's keyring.
func decrypterFor(tb testing.TB, keyring string, kmsClient *kms.Client) *codecrypt.Decrypter {
	tb.Helper()
	var (
		d   *codecrypt.Decrypter
		err error
	)
	switch keyring {
	case "raw-aes":
		d, err = codecrypt.NewRawAES(context.Background(), rawKey())
	case "kms":
		d, err = codecrypt.NewKMS(context.Background(), kmsClient, events.KMSKeyARN)
	default:
		tb.Fatalf("unknown keyring %q in the shared events", keyring)
	}
	if err != nil {
		tb.Fatalf("%s decrypter: %v", keyring, err)
	}
	return d
}

// parseCase returns a shared case's event.
func parseCase(tb testing.TB, c fixtures.Case) *cognito.Event {
	tb.Helper()
	ev, err := cognito.Parse(c.Event)
	if err != nil {
		tb.Fatalf("%s: %v", c.Name, err)
	}
	return ev
}

// closedPortURL is the URL of a loopback port nothing listens on.
func closedPortURL(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// kmsClientAt is a KMS client for endpoint that tries each call once.
func kmsClientAt(endpoint string) *kms.Client {
	return kms.NewFromConfig(awsclient.Config("us-east-1", aws.AnonymousCredentials{}), func(o *kms.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.RetryMaxAttempts = 1
	})
}

func encrypterRaw(tb testing.TB) *codecrypt.Encrypter {
	tb.Helper()
	e, err := codecrypt.NewRawAESEncrypter(context.Background(), rawKey())
	if err != nil {
		tb.Fatal(err)
	}
	return e
}
