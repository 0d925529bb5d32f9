// Package motoserver starts moto_server (the reference AWS emulator,
// preinstalled on the project's machines and CI) on a free loopback port for
// integration tests. Under CI (CI=true) a missing moto_server fails the test;
// on a developer machine without it the test is skipped with the reason, and
// `pip install "moto[server]"` provides it.
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
)

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

// Start launches a private moto_server for one test and stops it at cleanup.
func Start(t testing.TB) string {
	t.Helper()
	url, cmd, err := start()
	if err != nil {
		missing(t, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
	})
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
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Env = append(os.Environ(), "MOTO_ALLOW_NONEXISTENT_REGION=true")
	setPdeathsig(cmd)
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return url, cmd, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	_, _ = cmd.Process.Wait()
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
