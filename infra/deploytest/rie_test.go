package deploytest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// emulated is one bootstrap running under aws-lambda-rie, AWS's Runtime
// Interface Emulator (the one SAM local and Lambda's container images use).
// RIE serves one invoke at a time; invoke is serialised accordingly.
type emulated struct {
	name   string
	url    string
	cmd    *exec.Cmd
	output *lockedBuffer // RIE's and the bootstrap's stdout and stderr
	mu     sync.Mutex
}

// startRIE runs bootstrap under rie with exactly env (RIE passes its own
// environment on to the bootstrap), both RIE listeners on 127.0.0.1.
func startRIE(t *testing.T, rie, name, bootstrap string, env []string) *emulated {
	t.Helper()
	invokeAddr, apiAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(rie,
		"--runtime-interface-emulator-address", invokeAddr,
		"--runtime-api-address", apiAddr,
		"--log-level", "error",
		bootstrap)
	cmd.Env = env
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start aws-lambda-rie for %s: %v", name, err)
	}
	e := &emulated{name: name, url: "http://" + invokeAddr + "/2015-03-31/functions/function/invocations", cmd: cmd, output: out}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Logf("%s under aws-lambda-rie wrote:\n%s", name, out.String())
	})
	// RIE starts the bootstrap on the first invoke; wait for its listener.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", invokeAddr, time.Second)
		if err == nil {
			c.Close()
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("aws-lambda-rie for %s did not listen on %s: %v\n%s", name, invokeAddr, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// functionError is a failed invocation as Lambda reports it.
type functionError struct {
	Message string `json:"errorMessage"`
	Type    string `json:"errorType"`
}

func (e *functionError) Error() string { return e.Type + ": " + e.Message }

// invoke posts payload as one synchronous invocation. A function error or
// a failed init (errorMessage/errorType, as RIE returns them) is a *functionError.
func (e *emulated) invoke(ctx context.Context, payload []byte) ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", e.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", e.name, err)
	}
	// A function error comes back as 200, a failed init as 502, both with
	// Lambda's error document.
	var fe functionError
	if json.Unmarshal(body, &fe) == nil && (fe.Message != "" || fe.Type != "") {
		return nil, &fe
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("invoke %s: HTTP %d: %s", e.name, resp.StatusCode, body)
	}
	return body, nil
}

// logLines returns the JSON log records the bootstrap wrote (RIE's own
// lines and the metrics' EMF lines are left out).
func (e *emulated) logLines() []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(e.output.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		if _, ok := rec["message"]; ok { // lambdacontext's JSON handler names it so
			out = append(out, rec)
		}
	}
	return out
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

var errNoTool = errors.New("not installed")
