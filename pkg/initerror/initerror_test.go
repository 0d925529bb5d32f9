package initerror_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cogmail/cogmail/internal/testkit/lambdaruntime"
	"github.com/cogmail/cogmail/pkg/initerror"
)

func TestReportReachesTheRuntimeAPI(t *testing.T) {
	s, err := lambdaruntime.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	reason := errors.New(`config: COGMAIL_PROVIDERS: "postmark" is not a provider`)
	if err := initerror.Report(context.Background(), s.Addr(), initerror.TypeConfiguration, reason); err != nil {
		t.Fatal(err)
	}
	// The next invoke finds the function failed, with the reason.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = s.Invoke(ctx, []byte(`{}`))
	var fe *lambdaruntime.FunctionError
	if !errors.As(err, &fe) {
		t.Fatalf("Invoke = %v, want the init error", err)
	}
	if fe.Type != initerror.TypeConfiguration || !strings.Contains(fe.Message, `"postmark" is not a provider`) {
		t.Errorf("init error = %+v", fe)
	}
}

func TestReportWithoutARuntimeAPI(t *testing.T) {
	if err := initerror.Report(context.Background(), "127.0.0.1:1", initerror.TypeColdStart, errors.New("x")); err == nil {
		t.Error("Report to nothing succeeded")
	}
}
