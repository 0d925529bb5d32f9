package main

// The local stack's published wiring: `cogmail local` writes it to an env
// file while it runs, and every command that can talk to the local stack
// reads it when no flag or variable names another target, so a stack on a
// non-default --addr, or one whose exports were never pasted, is still found.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/cogmail/cogmail/internal/local/localstack"
)

// defaultWiringFile is where `cogmail local` publishes its wiring, relative
// to the directory it runs in; COGMAIL_LOCAL_ENV names another file.
const defaultWiringFile = ".cogmail/local.env"

// wiringPath is the wiring file the commands read and `cogmail local` writes.
func wiringPath(getenv func(string) string) string {
	return firstNonEmpty(strings.TrimSpace(getenv("COGMAIL_LOCAL_ENV")), defaultWiringFile)
}

// wiring is a running local stack's variables, as read from its file.
type wiring struct {
	path string
	vars map[string]string
}

// url is the stack's one endpoint.
func (w *wiring) url() string { return w.vars["COGMAIL_LOCAL_URL"] }

// describe names the stack for a "which endpoint" line.
func (w *wiring) describe() string {
	return "the local stack at " + w.url() + " (" + w.path + ")"
}

// passThrough are the AWS settings a command on the local stack still takes
// from the environment: where the SDK's files are, not what they say.
var passThrough = map[string]bool{"AWS_CONFIG_FILE": true, "AWS_SHARED_CREDENTIALS_FILE": true, "AWS_EC2_METADATA_DISABLED": true}

// getenv is the environment a command on the local stack builds its clients
// from: the wiring's variables, and nothing else of the user's AWS or
// cogmail settings (a profile or a region of the shell must not send a
// local command elsewhere, or sign it for another account).
func (w *wiring) getenv(outer func(string) string) func(string) string {
	return func(k string) string {
		if v, ok := w.vars[k]; ok {
			return v
		}
		if passThrough[k] || !(strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "COGMAIL_")) {
			return outer(k)
		}
		return ""
	}
}

// localWiring reads the wiring of a running local stack; nil when there is
// none (no file: no stack was started here, or it stopped).
func localWiring(getenv func(string) string) (*wiring, error) {
	path := wiringPath(getenv)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("the local stack's wiring: %w", err)
	}
	vars, err := parseEnvFile(b)
	if err != nil {
		return nil, fmt.Errorf("the local stack's wiring %s: %w", path, err)
	}
	if vars["COGMAIL_LOCAL_URL"] == "" {
		return nil, fmt.Errorf("the local stack's wiring %s has no COGMAIL_LOCAL_URL (restart cogmail local to rewrite it)", path)
	}
	return &wiring{path: path, vars: vars}, nil
}

// formatEnvFile writes vars as lines a POSIX shell sources (`. FILE`) and
// parseEnvFile reads: `export NAME='value'`.
func formatEnvFile(header string, vars []localstack.Var) []byte {
	var b bytes.Buffer
	for _, line := range strings.Split(strings.TrimSpace(header), "\n") {
		b.WriteString("# " + line + "\n")
	}
	for _, v := range vars {
		fmt.Fprintf(&b, "export %s=%s\n", v.Name, shellQuote(v.Value))
	}
	return b.Bytes()
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:@,+=%-]+$`)

func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// parseEnvFile reads NAME=value lines, with an optional `export `, values
// bare or single-quoted (with '\” inside), and # comments.
func parseEnvFile(b []byte) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		name, raw, ok := strings.Cut(line, "=")
		if !ok || !envName.MatchString(name) {
			return nil, fmt.Errorf("line %d: not NAME=value", n)
		}
		v, err := shellUnquote(raw)
		if err != nil {
			return nil, fmt.Errorf("line %d (%s): %w", n, name, err)
		}
		out[name] = v
	}
	return out, sc.Err()
}

func shellUnquote(s string) (string, error) {
	var b strings.Builder
	for s != "" {
		if s[0] != '\'' {
			i := strings.IndexAny(s, `'"\ `)
			if i < 0 {
				b.WriteString(s)
				break
			}
			if s[i] != '\'' {
				return "", errors.New(`only bare or single-quoted values`)
			}
			b.WriteString(s[:i])
			s = s[i:]
			continue
		}
		end := strings.IndexByte(s[1:], '\'')
		if end < 0 {
			return "", errors.New("unterminated quote")
		}
		b.WriteString(s[1 : 1+end])
		s = s[2+end:]
		if strings.HasPrefix(s, `\'`) {
			b.WriteByte('\'')
			s = s[2:]
		}
	}
	return b.String(), nil
}

// publishWiring writes the wiring file (0600: the file holds the stack's
// local keys) through a temporary file, so a reader never sees half of it.
// The returned function removes it, unless another stack replaced it since.
func publishWiring(path string, content []byte) (remove func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".local.env.*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(content); err != nil {
		_ = tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return nil, err
	}
	return func() {
		if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, content) {
			_ = os.Remove(path)
		}
	}, nil
}
