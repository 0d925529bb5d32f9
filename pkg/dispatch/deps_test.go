package dispatch_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestLambdaDependencies: the dispatch function must not link local-kms
// (test-only) or, through it, aws-sdk-go v1.
func TestLambdaDependencies(t *testing.T) {
	t.Parallel()
	for _, pkg := range []string{"github.com/cogmail/cogmail/pkg/dispatch", "github.com/cogmail/cogmail/functions/dispatch"} {
		t.Run(filepath.Base(filepath.Dir(pkg))+"/"+filepath.Base(pkg), func(t *testing.T) {
			t.Parallel()
			out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "list", "-deps", pkg).Output()
			if err != nil {
				t.Fatalf("go list -deps: %v", err)
			}
			deps := strings.Fields(string(out))
			if len(deps) < 50 {
				t.Fatalf("go list -deps listed only %d packages", len(deps))
			}
			forbidden := []string{"github.com/nsmithuk/local-kms", "github.com/aws/aws-sdk-go/",
				"github.com/cogmail/cogmail/internal/local/kmslocal", "github.com/cogmail/cogmail/internal/testkit/fakekms", "github.com/cogmail/cogmail/internal/local/sqslocal"}
			for _, d := range deps {
				for _, f := range forbidden {
					if strings.HasPrefix(d, f) {
						t.Errorf("%s depends on %s", pkg, d)
					}
				}
			}
		})
	}
}
