package codecrypt_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestLambdaDependencies: codecrypt is linked into the Lambda functions, so
// it must not pull in local-kms (test-only) or, through it, aws-sdk-go v1.
func TestLambdaDependencies(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "list", "-deps", "github.com/cogmail/cogmail/pkg/codecrypt").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("go list -deps listed only %d packages", len(deps))
	}
	forbidden := []string{"github.com/nsmithuk/local-kms", "github.com/aws/aws-sdk-go/", "github.com/cogmail/cogmail/internal/local/kmslocal"}
	for _, d := range deps {
		for _, f := range forbidden {
			if strings.HasPrefix(d, f) {
				t.Errorf("codecrypt depends on %s", d)
			}
		}
	}
}
