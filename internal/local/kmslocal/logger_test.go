package kmslocal_test

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/cogmail/cogmail/internal/local/kmslocal"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestLogOutputIsRedirected(t *testing.T) {
	var buf syncBuf
	srv, err := kmslocal.Start(kmslocal.Options{Log: &buf})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	defer kmslocal.SetLogOutput(nil)
	if _, err := srv.Client().ListKeys(context.Background(), &kms.ListKeysInput{}); err != nil {
		t.Fatal(err)
	}
	if buf.String() == "" {
		t.Errorf("local-kms logged nothing to the writer given")
	}
}
