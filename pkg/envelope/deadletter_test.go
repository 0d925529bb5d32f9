package envelope_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"testing"

	"github.com/cogmail/cogmail/pkg/envelope"
)

// TestDeadLetterReasonsListsEveryReason: DeadLetterReasons, which the DLQ
// tools' --reason checks against, names every Reason constant declared in
// deadletter.go, so a new reason cannot be refused by the tools.
func TestDeadLetterReasonsListsEveryReason(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "deadletter.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || vs.Type == nil || len(vs.Values) != 1 {
			return true
		}
		if id, ok := vs.Type.(*ast.Ident); ok && id.Name == "Reason" {
			if lit, ok := vs.Values[0].(*ast.BasicLit); ok {
				v, _ := strconv.Unquote(lit.Value)
				declared = append(declared, v)
			}
		}
		return true
	})
	var listed []string
	for _, r := range envelope.DeadLetterReasons() {
		listed = append(listed, string(r))
	}
	slices.Sort(declared)
	slices.Sort(listed)
	if len(declared) < 5 || !slices.Equal(declared, listed) {
		t.Errorf("declared reasons %v, DeadLetterReasons %v", declared, listed)
	}
}
