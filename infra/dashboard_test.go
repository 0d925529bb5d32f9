package infra

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cogmail/cogmail/pkg/metrics"
)

// notYetEmitted names the dashboard's metrics that no code emits yet, and
// who will. Once the code emits one, it is checked like any other.
var notYetEmitted = map[string]string{}

// awsMetrics are the AWS-published metrics the dashboard may use, with the
// dimension that names the resource and the resource type it must name.
var awsMetrics = map[string]struct {
	metrics      []string
	dimension    string
	resourceType string
}{
	"AWS/Lambda": {[]string{"Duration", "Errors", "Invocations", "Throttles"}, "FunctionName", "AWS::Serverless::Function"},
	"AWS/SQS":    {[]string{"ApproximateAgeOfOldestMessage", "ApproximateNumberOfMessagesVisible"}, "QueueName", "AWS::SQS::Queue"},
}

// emitted maps a function (the Function dimension) to the EMF metrics its
// code emits, each with the dimensions the call adds (Function aside). It
// reads the Go source: functions/<f>/main.go names the emitter
// (metrics.New(w, "<f>", ...)), and every Metrics.Count/Duration/Emit call
// under pkg/<f>/ is one metric. A metric renamed in code, or a dimension
// dropped, therefore breaks the dashboard test.
func emitted(t *testing.T) map[string]map[string][]string {
	t.Helper()
	out := map[string]map[string][]string{}
	mains, err := filepath.Glob("../functions/*/main.go")
	if err != nil || len(mains) == 0 {
		t.Fatalf("no functions/*/main.go (%v)", err)
	}
	for _, main := range mains {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, main, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		var function string
		ast.Inspect(f, func(n ast.Node) bool {
			if c, ok := n.(*ast.CallExpr); ok && isSelector(c.Fun, "metrics", "New") && len(c.Args) >= 2 {
				function, _ = stringLit(c.Args[1], nil)
			}
			return true
		})
		if function == "" {
			continue // no metrics in this function
		}
		pkgDir := filepath.Join("..", "pkg", filepath.Base(filepath.Dir(main)))
		ms := map[string][]string{}
		if _, err := os.Stat(pkgDir); err == nil {
			scanEmits(t, pkgDir, ms)
		}
		out[function] = ms
	}
	return out
}

// scanEmits records every metric emitted under dir.
func scanEmits(t *testing.T, dir string, into map[string][]string) {
	t.Helper()
	byDir := map[string][]*ast.File{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		byDir[filepath.Dir(path)] = append(byDir[filepath.Dir(path)], f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	add := func(name string, dims []string) {
		for _, d := range dims {
			if !slices.Contains(into[name], d) {
				into[name] = append(into[name], d)
			}
		}
		if _, ok := into[name]; !ok {
			into[name] = []string{}
		}
		sort.Strings(into[name])
	}
	for _, files := range byDir {
		consts := stringConsts(files)
		for _, f := range files {
			ast.Inspect(f, func(n ast.Node) bool {
				c, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := c.Fun.(*ast.SelectorExpr)
				if !ok || !isSelector(sel.X, "", "Metrics") {
					return true
				}
				switch sel.Sel.Name {
				case "Count", "Duration": // (name, value, dims)
					if len(c.Args) == 3 {
						if name, ok := stringLit(c.Args[0], consts); ok {
							add(name, mapKeys(c.Args[2], consts))
						}
					}
				case "Emit": // (dims, metrics...)
					if len(c.Args) >= 2 {
						dims := mapKeys(c.Args[0], consts)
						for _, a := range c.Args[1:] {
							if name, ok := metricName(a, consts); ok {
								add(name, dims)
							}
						}
					}
				}
				return true
			})
		}
	}
}

// isSelector reports whether e is x.sel (any x when x is "").
func isSelector(e ast.Expr, x, sel string) bool {
	s, ok := e.(*ast.SelectorExpr)
	if !ok || s.Sel.Name != sel {
		return false
	}
	if x == "" {
		return true
	}
	id, ok := s.X.(*ast.Ident)
	return ok && id.Name == x
}

// stringConsts collects a package's string constants.
func stringConsts(files []*ast.File) map[string]string {
	out := map[string]string{}
	for _, f := range files {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						if s, ok := stringLit(vs.Values[i], nil); ok {
							out[n.Name] = s
						}
					}
				}
			}
		}
	}
	return out
}

// stringLit is a string literal's value, or a package constant's.
func stringLit(e ast.Expr, consts map[string]string) (string, bool) {
	switch x := e.(type) {
	case *ast.BasicLit:
		if x.Kind == token.STRING {
			s, err := strconv.Unquote(x.Value)
			return s, err == nil
		}
	case *ast.Ident:
		s, ok := consts[x.Name]
		return s, ok
	}
	return "", false
}

// mapKeys is the keys of a map[string]string literal; a variable gives none.
func mapKeys(e ast.Expr, consts map[string]string) []string {
	lit, ok := e.(*ast.CompositeLit)
	if !ok {
		return nil
	}
	var keys []string
	for _, el := range lit.Elts {
		if kv, ok := el.(*ast.KeyValueExpr); ok {
			if k, ok := stringLit(kv.Key, consts); ok {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// metricName reads metrics.Metric{Name: "X", ...} or a helper call f("X").
func metricName(e ast.Expr, consts map[string]string) (string, bool) {
	switch x := e.(type) {
	case *ast.CompositeLit:
		for _, el := range x.Elts {
			if kv, ok := el.(*ast.KeyValueExpr); ok {
				if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Name" {
					return stringLit(kv.Value, consts)
				}
			}
		}
	case *ast.CallExpr:
		if len(x.Args) == 1 {
			return stringLit(x.Args[0], consts)
		}
	}
	return "", false
}

func TestEmittedMetricsAreFound(t *testing.T) {
	got := emitted(t)
	// What the dispatcher is known to emit; if the scan misses these, it is broken.
	for metric, dims := range map[string][]string{
		"Sent": {"Provider", "Trigger"}, "Failover": {"Primary", "Provider"}, "Expired": {"Trigger"},
		"Duplicate": {"Trigger"}, "DLQ": {"Reason"}, "Suppressed": {"Reason", "Trigger"}, "Throttled": {"Trigger"},
	} {
		if d, ok := got["dispatch"][metric]; !ok || !slices.Equal(d, dims) {
			t.Errorf("dispatch %s: dimensions %v (found %v), want %v", metric, d, ok, dims)
		}
	}
	if _, ok := got["ingest"]["Enqueued"]; !ok {
		t.Errorf("ingest's Enqueued not found: %v", got["ingest"])
	}
}

// dashboardMetric is one line of a widget, normalised: an EMF query
// ("cogmail Sent where Function=dispatch by Provider") or an AWS metric
// ("AWS/Lambda Duration IngestFunction p99", with the resource's logical id).
type dashboardMetric struct {
	widget string
	key    string
}

// miQuery is the one Metrics Insights form the dashboard uses.
var miQuery = regexp.MustCompile(`^SELECT SUM\((\w+)\) FROM "([^"]+)" WHERE Function = '(\w+)'(?: GROUP BY (\w+(?:, \w+)*))?$`)

type widget struct {
	Type                string
	X, Y, Width, Height int
	Properties          struct {
		Title, Region string
		Metrics       [][]any
	}
}

// dashboard evaluates the dashboard body with stand-in names for the stack's
// functions and queues, and returns its widgets and a map from each stand-in
// back to "type id".
func dashboard(t *testing.T, s *stack) ([]widget, map[string]string) {
	t.Helper()
	e := s.evaluate(nil)
	back := map[string]string{}
	for _, id := range s.resourcesOfType("AWS::Serverless::Function") {
		name := "cogmail-" + id + "-1AB2CD3EF"
		e.stand[ref(id)] = name
		back[name] = "AWS::Serverless::Function " + id
	}
	for _, id := range s.resourcesOfType("AWS::SQS::Queue") {
		name := "cogmail-" + id + "-1AB2CD3EF"
		e.stand[getAtt(id+".QueueName")] = name
		back[name] = "AWS::SQS::Queue " + id
	}
	body, err := e.str(dig(s.rawProps("Dashboard"), "DashboardBody"))
	if err != nil {
		t.Fatalf("DashboardBody: %v", err)
	}
	var doc struct{ Widgets []widget }
	dec := json.NewDecoder(strings.NewReader(body))
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("DashboardBody is not JSON once substituted: %v\n%s", err, body)
	}
	if len(doc.Widgets) == 0 {
		t.Fatal("the dashboard has no widgets")
	}
	return doc.Widgets, back
}

func TestDashboard(t *testing.T) {
	s := loadStack(t, templatePath)
	d, err := s.tpl.GetCloudWatchDashboardWithName("Dashboard")
	if err != nil {
		t.Fatal(err)
	}
	if d.DashboardName == nil || !strings.Contains(*d.DashboardName, "${AWS::StackName}") {
		t.Errorf("DashboardName = %v, want one per stack", d.DashboardName)
	}
	if raw := fmt.Sprint(dig(s.rawProps("Dashboard"), "DashboardBody", "Fn::Sub")); strings.Contains(raw, "arn:") || regexp.MustCompile(`\b\d{12}\b`).MatchString(raw) {
		t.Error("the body hard-codes an ARN or an account: name resources with ${...}")
	}
	widgets, back := dashboard(t, s)
	code := emitted(t)

	var lines []dashboardMetric
	for _, w := range widgets {
		title := w.Properties.Title
		if w.Type != "metric" || title == "" || w.Properties.Region != pseudo["AWS::Region"] {
			t.Errorf("widget %q: type %s, region %q: want a titled metric widget in the stack's region", title, w.Type, w.Properties.Region)
		}
		if len(w.Properties.Metrics) == 0 {
			t.Errorf("widget %q has no metrics", title)
		}
		queries := 0
		for _, m := range w.Properties.Metrics {
			key, isQuery, err := checkLine(m, code, back)
			if err != nil {
				t.Errorf("widget %q: %v", title, err)
				continue
			}
			if isQuery {
				queries++
			}
			lines = append(lines, dashboardMetric{title, key})
		}
		if queries > 1 {
			t.Errorf("widget %q has %d Metrics Insights queries: CloudWatch runs one per widget", title, queries)
		}
	}

	// What the issue asks the dashboard to show.
	want := []string{
		`cogmail Sent where Function=dispatch by Provider`,                   // sent per provider
		`cogmail Failover where Function=dispatch by Primary, Provider`,      // failovers
		`AWS/SQS ApproximateNumberOfMessagesVisible DeadLetterQueue Maximum`, // DLQ depth
		`AWS/SQS ApproximateAgeOfOldestMessage DeadLetterQueue Maximum`,      // DLQ age
		`cogmail Expired where Function=dispatch`,
		`cogmail Duplicate where Function=dispatch`,
		`cogmail Suppressed where Function=dispatch`,
		`cogmail Throttled where Function=dispatch`,
		`AWS/Lambda Duration IngestFunction p50`,
		`AWS/Lambda Duration IngestFunction p99`,
		`AWS/Lambda Duration DispatchFunction p50`,
		`AWS/Lambda Duration DispatchFunction p99`,
		`AWS/SQS ApproximateAgeOfOldestMessage Queue Maximum`, // the oldest message in the queue
	}
	for _, w := range want {
		if !slices.ContainsFunc(lines, func(l dashboardMetric) bool { return l.key == w }) {
			var have []string
			for _, l := range lines {
				have = append(have, l.key)
			}
			t.Errorf("the dashboard does not show %s; it shows:\n  %s", w, strings.Join(have, "\n  "))
		}
	}

	t.Run("layout", func(t *testing.T) {
		type cell struct{ x, y int }
		used := map[cell]string{}
		for _, w := range widgets {
			if w.Width <= 0 || w.Height <= 0 || w.X < 0 || w.Y < 0 || w.X+w.Width > 24 {
				t.Errorf("widget %q at (%d,%d) %dx%d is outside the 24-column grid", w.Properties.Title, w.X, w.Y, w.Width, w.Height)
			}
			for x := w.X; x < w.X+w.Width; x++ {
				for y := w.Y; y < w.Y+w.Height; y++ {
					if other, ok := used[cell{x, y}]; ok {
						t.Fatalf("widgets %q and %q overlap at (%d,%d)", other, w.Properties.Title, x, y)
					}
					used[cell{x, y}] = w.Properties.Title
				}
			}
		}
	})
}

// checkLine checks one metrics line of a widget against the code and the
// stack and returns its normalised key.
func checkLine(m []any, code map[string]map[string][]string, back map[string]string) (key string, isQuery bool, err error) {
	if len(m) == 1 { // [{"expression": ...}]
		opts, _ := m[0].(map[string]any)
		q, _ := opts["expression"].(string)
		g := miQuery.FindStringSubmatch(q)
		if g == nil {
			return "", false, fmt.Errorf("expression %q is not SELECT SUM(metric) FROM \"namespace\" WHERE Function = 'f' [GROUP BY dims]", q)
		}
		metric, ns, function, groupBy := g[1], g[2], g[3], g[4]
		if ns != metrics.Namespace {
			return "", false, fmt.Errorf("%s: namespace %q, the code writes %q", metric, ns, metrics.Namespace)
		}
		ms, ok := code[function]
		if !ok {
			return "", false, fmt.Errorf("%s: no function emits with Function=%s", metric, function)
		}
		dims, ok := ms[metric]
		if _, pending := notYetEmitted[metric]; !ok && (!pending || groupBy != "") {
			return "", false, fmt.Errorf("%s emits no metric %s (it emits %v)", function, metric, sortedKeys(ms))
		}
		for _, by := range strings.Split(groupBy, ", ") {
			if by != "" && !slices.Contains(dims, by) {
				return "", false, fmt.Errorf("%s is grouped by %s, but %s emits it with dimensions %v", metric, by, function, dims)
			}
		}
		key = fmt.Sprintf("%s %s where Function=%s", ns, metric, function)
		if groupBy != "" {
			key += " by " + groupBy
		}
		return key, true, nil
	}
	// [namespace, metric, dimension, value, {options}]
	if len(m) != 5 {
		return "", false, fmt.Errorf("metric %v: want [namespace, metric, dimension, value, options]", m)
	}
	ns, _ := m[0].(string)
	metric, _ := m[1].(string)
	dim, _ := m[2].(string)
	value, _ := m[3].(string)
	opts, _ := m[4].(map[string]any)
	known, ok := awsMetrics[ns]
	if !ok || !slices.Contains(known.metrics, metric) {
		return "", false, fmt.Errorf("%s %s is not a metric this test knows AWS publishes", ns, metric)
	}
	if dim != known.dimension {
		return "", false, fmt.Errorf("%s %s by %s, want %s", ns, metric, dim, known.dimension)
	}
	typ, id, _ := strings.Cut(back[value], " ")
	if typ != known.resourceType {
		return "", false, fmt.Errorf("%s %s %s=%q names no %s of this stack", ns, metric, dim, value, known.resourceType)
	}
	stat, _ := opts["stat"].(string)
	if stat == "" {
		return "", false, fmt.Errorf("%s %s %s has no stat", ns, metric, id)
	}
	return fmt.Sprintf("%s %s %s %s", ns, metric, id, stat), false, nil
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
