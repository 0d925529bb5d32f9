package dispatch

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"testing"
)

// TestEveryReasonHasAPolicyRow: a Reason declared without a row in policy
// would fall back to RetryLater; the table must name every one, those of
// dispatch and the dead-letter ones in pkg/envelope.
func TestEveryReasonHasAPolicyRow(t *testing.T) {
	var n int
	for _, path := range []string{"outcome.go", "../envelope/deadletter.go"} {
		k := checkReasons(t, path)
		if k == 0 {
			t.Errorf("%s declares no Reason constants", path)
		}
		n += k
	}
	if n != len(policy) {
		t.Errorf("%d Reason constants, %d policy rows", n, len(policy))
	}
}

// checkReasons checks that every Reason constant declared in one file has
// a row in policy, and returns how many there are.
func checkReasons(t *testing.T, path string) int {
	t.Helper()
	file, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for _, decl := range file.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Reason" {
				continue
			}
			for i, name := range vs.Names {
				n++
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok {
					t.Fatalf("%s: %s is not a string literal", path, name.Name)
				}
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := policy[Reason(v)]; !ok {
					t.Errorf("%s: %s has no row in policy", path, name.Name)
				}
			}
		}
	}
	return n
}
