// Package motoserver starts moto_server (the reference AWS emulator,
// preinstalled on the project's machines and CI) on a free loopback port for
// integration tests. Under CI (CI=true) a missing moto_server fails the test;
// on a developer machine without it the test is skipped with the reason, and
// `pip install "moto[server]"` provides it.
//
// moto_server serves each request on its own thread, and moto's DynamoDB
// backend evaluates a condition expression and writes the item in separate
// steps with no lock per item: two conditional writes to one item can both
// pass, which DynamoDB never allows. A test that asserts DynamoDB's per-item
// atomicity (one claim wins, a counter allows exactly N) therefore uses
// SharedSerial, the same moto application on a server that handles one
// request at a time, so that it can fail only because of our own condition.
package motoserver

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/cogmail/cogmail/pkg/awsclient"
)

// Region and credentials every moto-backed test uses.
const (
	Region    = "us-east-1"
	AccountID = "123456789012" // moto's default account
)

var (
	sharedOnce sync.Once
	sharedURL  string
	sharedErr  error

	serialOnce sync.Once
	serialURL  string
	serialErr  error
)

// serialScript runs moto's WSGI application (what moto_server runs) on
// werkzeug's server with threaded=False: one request at a time, each
// applied whole before the next is read. moto 5.2.1's own entry points
// (moto_server, ThreadedMotoServer) are always threaded. The server speaks
// HTTP/1.0, closing each connection after its answer, so one client's
// idle keep-alive connection cannot hold up the others.
const serialScript = `
import sys
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
run_simple(sys.argv[1], int(sys.argv[2]), DomainDispatcherApplication(create_backend_app), threaded=False)
`

// Shared returns the URL of one moto_server shared by every test in the
// package's test binary (started on first use, stopped when the process
// exits). Tests that share it must use distinct resource names.
func Shared(t testing.TB) string {
	t.Helper()
	sharedOnce.Do(func() {
		var cmd *exec.Cmd
		sharedURL, cmd, sharedErr = start()
		_ = cmd // the process ends with the test binary: moto_server is killed by its parent's exit via Pdeathsig where available
	})
	if sharedErr != nil {
		missing(t, sharedErr)
	}
	return sharedURL
}

// SharedSerial is like Shared, but the moto it returns applies one request
// at a time (see the package comment): for tests that assert DynamoDB's
// per-item atomicity. Concurrent requests queue, so it is slower under load.
func SharedSerial(t testing.TB) string {
	t.Helper()
	serialOnce.Do(func() {
		serialURL, _, serialErr = startSerial()
	})
	if serialErr != nil {
		missing(t, serialErr)
	}
	return serialURL
}

// Start launches a private moto_server for one test and stops it at cleanup.
func Start(t testing.TB) string {
	t.Helper()
	url, cmd, err := start()
	if err != nil {
		missing(t, err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() }) // launch's goroutine reaps it
	return url
}

func missing(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("moto_server is required under CI: %v", err)
	}
	t.Skipf("moto_server not available (pip install \"moto[server]\"): %v", err)
}

func start() (string, *exec.Cmd, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return "", nil, err
	}
	return launch(func(port string) *exec.Cmd { return exec.Command(bin, "-H", "127.0.0.1", "-p", port) })
}

func startSerial() (string, *exec.Cmd, error) {
	if _, err := exec.LookPath("moto_server"); err != nil {
		return "", nil, err // moto is not installed
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		return "", nil, err
	}
	return launch(func(port string) *exec.Cmd { return exec.Command(py, "-c", serialScript, "127.0.0.1", port) })
}

// launch starts the server command on a free port and waits until it answers.
func launch(command func(port string) *exec.Cmd) (string, *exec.Cmd, error) {
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	cmd := command(strconv.Itoa(port))
	// MOTO_PORT: moto builds some URLs (SQS queue URLs) from it, as moto_server sets it.
	cmd.Env = append(os.Environ(), "MOTO_ALLOW_NONEXISTENT_REGION=true", "MOTO_PORT="+strconv.Itoa(port))
	setPdeathsig(cmd)
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return url, cmd, nil
		}
		select {
		case err := <-exited: // e.g. python3 without moto
			return "", nil, fmt.Errorf("%s exited before answering: %v", cmd.Path, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	_ = cmd.Process.Kill()
	<-exited
	return "", nil, fmt.Errorf("moto_server did not answer on %s within 30s", url)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Config returns an aws.Config for moto: static test credentials, Region,
// and BaseEndpoint set by the caller on each client (e.g. sqs.Options.BaseEndpoint).
func Config() aws.Config {
	return awsclient.Config(Region, credentials.NewStaticCredentialsProvider("testing", "testing", ""))
}

// Reset wipes moto's state (POST /moto-api/reset).
func Reset(ctx context.Context, url string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/moto-api/reset", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}
