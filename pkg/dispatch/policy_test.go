package dispatch

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"testing"
)

// TestEveryReasonHasAPolicyRow: a Reason declared without a row in policy
// would be retried forever by default; the table must name every one.
func TestEveryReasonHasAPolicyRow(t *testing.T) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "outcome.go", nil, 0)
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
					t.Fatalf("%s is not a string literal", name.Name)
				}
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := policy[Reason(v)]; !ok {
					t.Errorf("%s has no row in policy", name.Name)
				}
			}
		}
	}
	if n != len(policy) {
		t.Errorf("%d Reason constants, %d policy rows", n, len(policy))
	}
}
