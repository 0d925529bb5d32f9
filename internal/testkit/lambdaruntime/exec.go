package lambdaruntime

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// Build compiles a function main package (e.g. "./functions/ingest") for
// this machine into dir as `bootstrap`, stripped as `make build` strips it.
func Build(ctx context.Context, root, pkg, dir string) (string, error) {
	out := filepath.Join(dir, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return out, nil
}

// Process is a function binary running against a Server.
type Process struct {
	Cmd    *exec.Cmd
	stdout lockedBuffer
	stderr lockedBuffer
}

// Exec starts bin with args and env (and AWS_LAMBDA_RUNTIME_API set to s)
// and nothing else from this process's environment, so a test sees exactly
// the configuration it gave.
func (s *Server) Exec(bin string, env []string, args ...string) (*Process, error) {
	p := &Process{Cmd: exec.Command(bin, args...)}
	p.Cmd.Env = append(append([]string{}, env...), "AWS_LAMBDA_RUNTIME_API="+s.Addr())
	p.Cmd.Stdout, p.Cmd.Stderr = &p.stdout, &p.stderr
	if err := p.Cmd.Start(); err != nil {
		return nil, err
	}
	return p, nil
}

// Stop kills the process and waits for it.
func (p *Process) Stop() {
	_ = p.Cmd.Process.Kill()
	_ = p.Cmd.Wait()
}

// Stdout and Stderr return what the process wrote so far.
func (p *Process) Stdout() string { return p.stdout.String() }
func (p *Process) Stderr() string { return p.stderr.String() }

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
