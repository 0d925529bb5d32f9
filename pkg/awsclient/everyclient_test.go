package awsclient_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Every AWS client in the module must carry the workaround. This check reads
// the module's source (tests included) and reports each way of building a
// client or configuration that would bypass it:
//   - config.LoadDefaultConfig (use awsclient.Load);
//   - an aws.Config literal with fields (use awsclient.Config or awsclient.With);
//   - awshttp.NewBuildableClient (use awsclient.HTTPClient);
//   - <service>.New(<service>.Options{...}) without HTTPClient: awsclient.…;
//   - o.HTTPClient = … in a <service>.Options function, unless from awsclient.
// It is a syntax check: a configuration passed around by value is trusted
// once it was built by awsclient.

const (
	awsPkg     = "github.com/aws/aws-sdk-go-v2/aws"
	configPkg  = "github.com/aws/aws-sdk-go-v2/config"
	awshttpPkg = "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	servicePfx = "github.com/aws/aws-sdk-go-v2/service/"
	selfPkg    = "github.com/cogmail/cogmail/pkg/awsclient"
)

func TestEveryAWSClientCarriesTheWorkaround(t *testing.T) {
	root := moduleRoot(t)
	self := filepath.Join(root, "pkg", "awsclient")
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules" || name == "vendor") || path == self {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		rel, _ := filepath.Rel(root, path)
		for _, v := range bypasses(t, rel, src) {
			t.Error(v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("read only %d Go files under %s: wrong root?", files, root)
	}
}

// The check itself, on small sources.
func TestBypassesAreFound(t *testing.T) {
	const head = `package p
import (
	"context"
	"net/http"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/cogmail/cogmail/pkg/awsclient"
)
var _, _, _ = context.Background, http.DefaultClient, awsclient.Wrap
`
	tests := []struct {
		name string
		body string
		want int
	}{
		{"awsclient.Load", `func f(ctx context.Context) { cfg, _ := awsclient.Load(ctx); _ = sqs.NewFromConfig(cfg) }`, 0},
		{"awsclient.Config", `var c = sqs.NewFromConfig(awsclient.Config("us-east-1", nil), func(o *sqs.Options) { o.BaseEndpoint = aws.String("x") })`, 0},
		{"empty aws.Config for an error return", `func f() (aws.Config, error) { return aws.Config{}, nil }`, 0},
		{"timeout from awsclient", `var c = sqs.NewFromConfig(awsclient.Config("r", nil), func(o *sqs.Options) { o.HTTPClient = awsclient.HTTPClient(5) })`, 0},
		{"New with awsclient", `var c = sqs.New(sqs.Options{Region: "r", HTTPClient: awsclient.HTTPClient(0)})`, 0},
		{"LoadDefaultConfig", `func f(ctx context.Context) { _, _ = awsconfig.LoadDefaultConfig(ctx) }`, 1},
		{"aws.Config literal", `var c = sqs.NewFromConfig(aws.Config{Region: "us-east-1"})`, 1},
		{"pointer to aws.Config literal", `var c = &aws.Config{Region: "us-east-1"}`, 1},
		{"NewBuildableClient", `var h = awshttp.NewBuildableClient()`, 1},
		{"New without HTTPClient", `var c = sqs.New(sqs.Options{Region: "r"})`, 1},
		{"New with another HTTPClient", `var c = sqs.New(sqs.Options{Region: "r", HTTPClient: http.DefaultClient})`, 1},
		{"HTTPClient overridden", `var c = sqs.NewFromConfig(awsclient.Config("r", nil), func(o *sqs.Options) { o.HTTPClient = http.DefaultClient })`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := bypasses(t, "p.go", []byte(head+tt.body+"\n"))
			if len(got) != tt.want {
				t.Errorf("got %d findings %q, want %d", len(got), got, tt.want)
			}
		})
	}
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// bypasses lists the ways src builds an AWS client without the workaround.
func bypasses(t *testing.T, name string, src []byte) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	var awsName, configName, awshttpName, selfName string
	services := map[string]bool{}
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		local := path[strings.LastIndex(path, "/")+1:]
		if imp.Name != nil {
			local = imp.Name.Name
		}
		switch {
		case path == awsPkg:
			awsName = local
		case path == configPkg:
			configName = local
		case path == awshttpPkg:
			awshttpName = local
		case path == selfPkg:
			selfName = local
		case strings.HasPrefix(path, servicePfx) && !strings.Contains(strings.TrimPrefix(path, servicePfx), "/"):
			services[local] = true
		}
	}
	isSel := func(e ast.Expr, pkg, sel string) bool {
		s, ok := e.(*ast.SelectorExpr)
		if !ok || pkg == "" {
			return false
		}
		id, ok := s.X.(*ast.Ident)
		return ok && id.Name == pkg && (sel == "" || s.Sel.Name == sel)
	}
	fromSelf := func(e ast.Expr) bool {
		c, ok := e.(*ast.CallExpr)
		return ok && isSel(c.Fun, selfName, "")
	}
	serviceOptions := func(e ast.Expr) bool {
		s, ok := e.(*ast.SelectorExpr)
		if !ok || s.Sel.Name != "Options" {
			return false
		}
		id, ok := s.X.(*ast.Ident)
		return ok && services[id.Name]
	}

	var out []string
	report := func(n ast.Node, what string) {
		out = append(out, fset.Position(n.Pos()).String()+": "+what)
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if isSel(n, configName, "LoadDefaultConfig") {
				report(n, "config.LoadDefaultConfig: use awsclient.Load")
			}
			if isSel(n, awshttpName, "NewBuildableClient") {
				report(n, "awshttp.NewBuildableClient: use awsclient.HTTPClient")
			}
		case *ast.CompositeLit:
			if isSel(n.Type, awsName, "Config") && len(n.Elts) > 0 {
				report(n, "aws.Config literal: use awsclient.Config or awsclient.With")
			}
		case *ast.CallExpr:
			s, ok := n.Fun.(*ast.SelectorExpr)
			if !ok || s.Sel.Name != "New" || len(n.Args) == 0 {
				break
			}
			if id, ok := s.X.(*ast.Ident); !ok || !services[id.Name] {
				break
			}
			lit, ok := n.Args[0].(*ast.CompositeLit)
			if !ok {
				report(n, "service New with options from elsewhere: use NewFromConfig with an awsclient configuration")
				break
			}
			wrapped := false
			for _, e := range lit.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok {
					if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "HTTPClient" && fromSelf(kv.Value) {
						wrapped = true
					}
				}
			}
			if !wrapped {
				report(n, "service New without HTTPClient: awsclient.HTTPClient(...)")
			}
		case *ast.FuncLit:
			if len(n.Type.Params.List) != 1 || len(n.Type.Params.List[0].Names) != 1 {
				break
			}
			p := n.Type.Params.List[0]
			star, ok := p.Type.(*ast.StarExpr)
			if !ok || !serviceOptions(star.X) {
				break
			}
			param := p.Names[0].Name
			ast.Inspect(n.Body, func(m ast.Node) bool {
				as, ok := m.(*ast.AssignStmt)
				if !ok {
					return true
				}
				for i, lhs := range as.Lhs {
					if isSel(lhs, param, "HTTPClient") && (i >= len(as.Rhs) || !fromSelf(as.Rhs[i])) {
						report(as, "Options.HTTPClient set outside awsclient: use awsclient.HTTPClient or awsclient.Wrap")
					}
				}
				return true
			})
		}
		return true
	})
	return out
}
