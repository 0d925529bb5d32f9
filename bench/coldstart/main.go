// Command coldstart measures, in one run on this machine, the cold start of
// the ingest bootstrap against the reference JavaScript handler (Node, the
// @aws-crypto/client-node pattern of the Cognito documentation) doing the
// same work: process exec to the first event handled (decrypt with the KMS
// keyring, enqueue to SQS), with KMS and SQS on loopback. It also reports the
// stripped linux/arm64 bootstrap size of each function.
//
//	go run ./bench/coldstart [-runs 15]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/cogmail/cogmail/internal/local/localstack"
	"github.com/cogmail/cogmail/internal/testkit/fixtures"
	"github.com/cogmail/cogmail/internal/testkit/lambdaruntime"
)

func main() {
	runs := flag.Int("runs", 15, "cold starts per implementation")
	flag.Parse()
	if err := run(*runs); err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

func run(runs int) error {
	ctx := context.Background()
	root := fixtures.Root()
	tmp, err := os.MkdirTemp("", "cogmail-coldstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	bin, err := lambdaruntime.Build(ctx, root, "./functions/ingest", tmp)
	if err != nil {
		return err
	}
	nodeDir := filepath.Join(root, "bench", "coldstart", "node")
	if _, err := os.Stat(filepath.Join(nodeDir, "node_modules")); err != nil {
		fmt.Println("installing the reference handler's npm packages (npm ci)...")
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir, cmd.Stdout, cmd.Stderr = nodeDir, os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("npm ci: %w", err)
		}
	}

	ev := fixtures.MustLoadEvents()
	stack, err := localstack.Start(ctx, localstack.Options{KMSSeed: fixtures.KMSSeed()})
	if err != nil {
		return err
	}
	defer stack.Close()
	event := ev.ByKeyring("kms")[0].Event // kms-SignUp
	common := []string{
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=" + os.DevNull, "AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_ENDPOINT_URL_KMS=" + stack.URL, "AWS_ENDPOINT_URL_SQS=" + stack.URL, "PATH=" + os.Getenv("PATH"), "HOME=" + tmp,
	}
	goEnv := append(slices.Clone(common), "AWS_LAMBDA_LOG_FORMAT=JSON", "COGMAIL_KEYRING=kms",
		"COGMAIL_QUEUE_URL="+stack.QueueURL, "COGMAIL_KMS_KEY_ARN="+ev.KMSKeyARN, "COGMAIL_SEAL_KEY_ID="+ev.KMSKeyARN)
	nodeEnv := append(slices.Clone(common), "KEY_ARN="+ev.KMSKeyARN, "QUEUE_URL="+stack.QueueURL)

	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return err
	}
	nodeVersion, _ := exec.Command(nodeBin, "--version").Output()
	impls := []struct {
		name string
		cmd  []string
		env  []string
	}{
		{"Go ingest bootstrap", []string{bin}, goEnv},
		{"Node " + string(trim(nodeVersion)) + " reference handler", []string{nodeBin, filepath.Join(nodeDir, "bootstrap.js")}, nodeEnv},
	}
	results := make([][]time.Duration, len(impls))
	// Interleave the runs so machine load affects both alike.
	for i := 0; i < runs+1; i++ {
		for j, im := range impls {
			d, err := coldStart(ctx, im.cmd, im.env, event)
			if err != nil {
				return fmt.Errorf("%s: %w", im.name, err)
			}
			if i > 0 { // the first run of each warms the page cache
				results[j] = append(results[j], d)
			}
		}
	}

	fmt.Printf("## Cold start: exec to first event handled (%d runs each, %s/%s, %d CPUs)\n\n", runs, runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	fmt.Println("| implementation | median | min | p90 |")
	fmt.Println("| --- | --- | --- | --- |")
	medians := make([]time.Duration, len(impls))
	for j, im := range impls {
		r := results[j]
		slices.Sort(r)
		medians[j] = r[len(r)/2]
		fmt.Printf("| %s | %s | %s | %s |\n", im.name, ms(medians[j]), ms(r[0]), ms(r[len(r)*9/10]))
	}
	fmt.Printf("\nGo / Node median ratio: %.3f (goal: <= 0.2)\n\n", float64(medians[0])/float64(medians[1]))

	fmt.Println("## Stripped linux/arm64 bootstrap sizes")
	fmt.Println()
	fmt.Println("| function | bytes | MiB |")
	fmt.Println("| --- | --- | --- |")
	for _, fn := range []string{"ingest", "dispatch"} {
		if _, err := os.Stat(filepath.Join(root, "functions", fn, "main.go")); err != nil {
			continue
		}
		out := filepath.Join(tmp, fn+"-arm64")
		cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags=-s -w", "-o", out, "./functions/"+fn)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %v\n%s", fn, err, b)
		}
		st, err := os.Stat(out)
		if err != nil {
			return err
		}
		fmt.Printf("| %s | %d | %.1f |\n", fn, st.Size(), float64(st.Size())/(1<<20))
	}
	return nil
}

// coldStart execs one process and times exec → first invocation answered.
func coldStart(ctx context.Context, argv, env []string, event []byte) (time.Duration, error) {
	rt, err := lambdaruntime.Start()
	if err != nil {
		return 0, err
	}
	defer rt.Close()
	start := time.Now()
	p, err := rt.Exec(argv[0], env, argv[1:]...)
	if err != nil {
		return 0, err
	}
	defer p.Stop()
	ictx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	res, err := rt.Invoke(ictx, event)
	if err != nil {
		return 0, fmt.Errorf("%w (stderr: %s)", err, p.Stderr())
	}
	if res.Err != nil {
		return 0, fmt.Errorf("function error: %v", res.Err)
	}
	return res.Received.Sub(start), nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func trim(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
