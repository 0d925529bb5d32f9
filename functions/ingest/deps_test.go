package main_test

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// TestIngestLinksOnlyWhatItRuns: the ingest binary decrypts with KMS and
// enqueues to SQS; it must not link the SSM, Secrets Manager or DynamoDB
// clients that dispatch uses, nor the local emulators and test kits.
//
// One exception is outside our code: the official Encryption SDK's material
// providers library imports the DynamoDB client for its hierarchical
// keyring's key store, which we never build. The test allows DynamoDB only
// when every package importing it belongs to that library, so no cogmail
// package (config above all) can bring it in.
func TestIngestLinksOnlyWhatItRuns(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "list", "-deps",
		"-f", "{{.ImportPath}} {{join .Imports \" \"}}", "github.com/cogmail/cogmail/functions/ingest").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 50 {
		t.Fatalf("go list -deps listed only %d packages", len(lines))
	}
	forbidden := regexp.MustCompile(`^github\.com/aws/aws-sdk-go-v2/service/(ssm|secretsmanager)(/|$)|` +
		`^github\.com/cogmail/cogmail/(internal/|pkg/routing/ssmparam|pkg/idempotency|functions/dispatch)`)
	dynamodb := regexp.MustCompile(`^github\.com/aws/aws-sdk-go-v2/service/dynamodb(/|$)`)
	const sdkLibrary = "github.com/aws/aws-cryptographic-material-providers-library/"
	for _, line := range lines {
		pkg, imports, _ := strings.Cut(line, " ")
		if forbidden.MatchString(pkg) {
			t.Errorf("functions/ingest links %s", pkg)
		}
		for _, imp := range strings.Fields(imports) {
			if dynamodb.MatchString(imp) && !dynamodb.MatchString(pkg) && !strings.HasPrefix(pkg, sdkLibrary) {
				t.Errorf("%s imports %s: only the Encryption SDK's key store may", pkg, imp)
			}
		}
	}
}
