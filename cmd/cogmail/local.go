package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"syscall"

	"github.com/cogmail/cogmail/internal/local/localstack"
	"github.com/cogmail/cogmail/pkg/cognito"
)

func localCommand() command {
	return command{name: "local", summary: "run the local stack on embedded defaults (what `make run` starts)", run: runLocal}
}

const localExamples = `
Examples:
  cogmail local --once                 # samples through ingest, then exit (make run)
  cogmail local                        # keep the stack up until Ctrl-C
  cogmail local --kms-seed testdata/cognito/local-kms-seed.yaml
  cogmail local --fail ses=1,sendgrid=0.5   # watch failover; ses always down, sendgrid half the time
  cogmail local --fail ses=400,sendgrid=400,mailgun=400,smtp=550   # every provider refuses: watch the DLQ fill
  COGMAIL_LOCAL_AES_KEY_HEX=$(openssl rand -hex 32) cogmail local --aes-key-namespace ns --aes-key-name k
  cogmail local --addr 127.0.0.1:18025   # another port (make run ADDR=127.0.0.1:18025)
  cogmail local --log-format json --log-level info   # every log line, as CloudWatch shows them
  eval "$(cogmail local --print-env)"  # in another shell: point AWS clients at the running stack
  cogmail local --user-pool-id us-east-1_CogmailLocal   # refuse events of any other pool, as the deployed ingest does

The tables and addresses go to stdout; the functions' log lines go to stderr, as text from
warn up by default (--log-format json --log-level info for every line as Lambda writes it),
each with a "function" attribute. While it runs the stack publishes its wiring (endpoint
URLs, queue, DLQ and parameter names, key ARN, sender, providers, each fake's URL) in
.cogmail/local.env ($COGMAIL_LOCAL_ENV or --env-file names another file): cogmail invoke,
event, dlq, providers, suppressions and config check read it when no flag or variable names
another target, and --print-env prints it. Everything lives in memory: stopping the stack
(Ctrl-C or kill -9 alike) loses mail ingest had acknowledged but dispatch had not sent, the
queues and the DLQ, the suppression list, the de-duplication cache (re-invoking delivered
events sends them again), the send counters and webhook replay records, the inbox, and a
generated KMS key (--kms-seed keeps the key, so events made for it stay valid across
restarts). docs/operations.md lists it all.
`

// localAESKeyVar gives the raw AES key when --aes-key-hex is not set: a
// flag's value is visible to every user in ps, the environment is not.
const localAESKeyVar = "COGMAIL_LOCAL_AES_KEY_HEX"

// defaultLocalAddr is where `cogmail local` listens unless --addr says otherwise.
const defaultLocalAddr = "127.0.0.1:8025"

func runLocal(ctx context.Context, e *env, args []string) int {
	f := newLocalFlags()
	rest, code, ok := parseFlags(e, f.fs, args)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		fmt.Fprintf(e.stderr, "cogmail local: unexpected argument %q (cogmail local --help)\n", rest[0])
		return exitUsage
	}
	if *f.printEnv {
		return printLocalEnv(ctx, e)
	}
	o, ok := f.options(e)
	if !ok {
		return exitUsage
	}
	stack, err := localstack.Start(ctx, o)
	if errors.Is(err, syscall.EADDRINUSE) {
		fmt.Fprintf(e.stderr, "cogmail local: %s is in use (another cogmail local?): stop it, or pick another address with --addr, e.g. --addr 127.0.0.1:18025 (make run ADDR=127.0.0.1:18025), or --addr 127.0.0.1:0 for any free port\n", o.Addr)
		return exitFailed
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail local: %v\n", err)
		return exitFailed
	}
	defer stack.Close()
	wiringFile := firstNonEmpty(strings.TrimSpace(*f.envFile), wiringPath(e.getenv))
	if !*f.once && wiringFile != "none" {
		// Published before the samples run, so that a command run meanwhile finds the stack.
		remove, err := publishWiring(wiringFile, localWiringFile(stack, wiringFile))
		if err != nil {
			fmt.Fprintf(e.stderr, "cogmail local: --env-file: %v\n", err)
			return exitFailed
		}
		defer remove()
	}
	keyring := "KMS " + stack.KMSKeyARN
	if o.AES != nil {
		keyring = "raw AES " + o.AES.Namespace + "/" + o.AES.Name
	}
	fmt.Fprintf(e.stdout, "cogmail local stack on %s (codes: %s)\n\n", stack.URL, keyring)

	samples := stack.RunSamples(ctx, *f.wait)
	dead := deadLettered(ctx, stack, samples)
	if failed := printSamples(e, samples, dead); failed > 0 {
		printFailures(e, samples, dead, *f.once, args)
		if *f.once {
			return exitFailed
		}
	}
	if *f.once {
		return exitOK
	}
	printLocalAddresses(e, stack, wiringFile)
	fmt.Fprintln(e.stdout, "\nRunning; Ctrl-C to stop.")
	<-ctx.Done()
	fmt.Fprintln(e.stdout, "stopping")
	return exitOK
}

// functionLogger is the functions' logger for `cogmail local`: JSON or text
// lines on w from level up.
func functionLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	o := &slog.HandlerOptions{Level: l}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want json or text", format)
}

// poolIDs is a repeatable --user-pool-id flag.
type poolIDs []string

func (p *poolIDs) String() string { return strings.Join(*p, ",") }

func (p *poolIDs) Set(v string) error {
	if !cognito.ValidPoolID(v) {
		return fmt.Errorf("%q is not a user pool id (REGION_ID, e.g. eu-west-1_AbCdEf123)", v)
	}
	*p = append(*p, v)
	return nil
}

// localWiringFile is the wiring file's content for a running stack.
func localWiringFile(stack *localstack.Stack, path string) []byte {
	return formatEnvFile(fmt.Sprintf("The wiring of the cogmail local stack on %s (pid %d), written when it started and removed\n"+
		"when it stops. The cogmail commands read it; a shell can source it: . %s", stack.URL, os.Getpid(), path), stack.Wiring())
}
