package infra

// The template is read two ways:
//
//   - typed, with goformation: intrinsics become readable markers ("Ref(Queue)",
//     "GetAtt(Queue.Arn)", "Sub(arn:...)"), Number parameters resolve to their
//     defaults (typed fields need numbers), and Fn::If takes its "true" branch,
//     which for every Fn::If in this template is the larger grant (the else
//     branch is AWS::NoValue; rawIfsElseNoValue checks that);
//   - raw, with a tag-aware YAML decoder, where the short-form tags are kept
//     as {"Ref": ...} / {"Fn::GetAtt": ...} maps.
//
// goformation v7.14.9 does not know AWS::Serverless::Function's LoggingConfig
// (added to SAM in 2023) and rejects unknown properties ("json: unknown field
// LoggingConfig"), so LoggingConfig is lifted out of the serverless functions
// before the typed parse and checked on the raw tree instead. Nothing else is
// stripped.

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/intrinsics"
	"gopkg.in/yaml.v3"
)

const templatePath = "template.yaml"

type stack struct {
	tpl *cloudformation.Template
	raw map[string]any
}

func loadStack(t testing.TB, path string) *stack {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := parseStack(src)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}

func parseStack(src []byte) (*stack, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	raw, ok := plain(doc.Content[0]).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the template is not a mapping")
	}
	// Lift LoggingConfig out of the serverless functions for goformation.
	resources := lookup(doc.Content[0], "Resources")
	for i := 0; resources != nil && i+1 < len(resources.Content); i += 2 {
		res := resources.Content[i+1]
		if t := lookup(res, "Type"); t == nil || t.Value != "AWS::Serverless::Function" {
			continue
		}
		props := lookup(res, "Properties")
		for j := 0; props != nil && j+1 < len(props.Content); j += 2 {
			if props.Content[j].Value == "LoggingConfig" {
				props.Content = append(props.Content[:j], props.Content[j+2:]...)
				break
			}
		}
	}
	var buf bytes.Buffer
	if err := yaml.NewEncoder(&buf).Encode(&doc); err != nil {
		return nil, err
	}
	tpl, err := goformation.ParseYAMLWithOptions(buf.Bytes(), &intrinsics.ProcessorOptions{
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
			"Ref":           refMarker,
			"Fn::GetAtt":    getAttMarker,
			"Fn::Sub":       subMarker,
			"Fn::If":        ifTrueBranch,
			"Fn::Equals":    keep,
			"Fn::Not":       keep,
			"Fn::And":       keep,
			"Fn::Or":        keep,
			"Fn::Join":      joinMarker,
			"Fn::Select":    keep,
			"Fn::Split":     splitMarker,
			"Fn::FindInMap": keep,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("goformation: %w", err)
	}
	return &stack{tpl: tpl, raw: raw}, nil
}

// Marker spellings used by the tests.
func ref(name string) string    { return "Ref(" + name + ")" }
func getAtt(path string) string { return "GetAtt(" + path + ")" }
func sub(s string) string       { return "Sub(" + s + ")" }

func refMarker(_ string, input, template any) any {
	name, _ := input.(string)
	if name == "AWS::NoValue" {
		return nil
	}
	if p, ok := dig(template, "Parameters", name).(map[string]any); ok && p["Type"] == "Number" {
		return p["Default"]
	}
	return ref(name)
}

func getAttMarker(_ string, input, _ any) any {
	switch v := input.(type) {
	case string:
		return getAtt(v)
	case []any:
		parts := make([]string, len(v))
		for i, p := range v {
			parts[i] = fmt.Sprint(p)
		}
		return getAtt(strings.Join(parts, "."))
	}
	return getAtt(fmt.Sprint(input))
}

func subMarker(_ string, input, _ any) any {
	if v, ok := input.([]any); ok && len(v) > 0 {
		return sub(fmt.Sprint(v[0]))
	}
	return sub(fmt.Sprint(input))
}

func ifTrueBranch(_ string, input, _ any) any {
	if v, ok := input.([]any); ok && len(v) == 3 {
		return v[1]
	}
	return nil
}

func keep(name string, input, _ any) any { return map[string]any{name: input} }

// joinMarker joins strings (markers included), so a joined string property
// stays a string; splitMarker keeps the split as a one-element list marker.
func joinMarker(name string, input, _ any) any {
	v, ok := input.([]any)
	if !ok || len(v) != 2 {
		return keep(name, input, nil)
	}
	delim, _ := v[0].(string)
	return strings.Join(strs(v[1]), delim)
}

func splitMarker(_ string, input, _ any) any {
	if v, ok := input.([]any); ok && len(v) == 2 {
		return []any{fmt.Sprintf("Split(%v,%v)", v[0], v[1])}
	}
	return []any{fmt.Sprintf("Split(%v)", input)}
}

// plain decodes a YAML node into maps, slices and scalars, turning the
// CloudFormation short-form tags into their long form.
func plain(n *yaml.Node) any {
	var v any
	switch n.Kind {
	case yaml.DocumentNode:
		return plain(n.Content[0])
	case yaml.AliasNode:
		return plain(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = plain(n.Content[i+1])
		}
		v = m
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, c := range n.Content {
			s[i] = plain(c)
		}
		v = s
	default:
		if strings.HasPrefix(n.Tag, "!!") || n.Tag == "" {
			_ = n.Decode(&v)
		} else {
			v = n.Value
		}
	}
	if tag, ok := strings.CutPrefix(n.Tag, "!"); ok && !strings.HasPrefix(tag, "!") {
		if tag != "Ref" && tag != "Condition" {
			tag = "Fn::" + tag
		}
		return map[string]any{tag: v}
	}
	return v
}

// dig walks maps by key.
func dig(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func (s *stack) rawProps(id string) map[string]any {
	m, _ := dig(s.raw, "Resources", id, "Properties").(map[string]any)
	return m
}

// resourcesOfType returns the logical ids of a type, sorted.
func (s *stack) resourcesOfType(typ string) []string {
	var ids []string
	for id, r := range s.raw["Resources"].(map[string]any) {
		if dig(r, "Type") == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// statement is one IAM statement, normalised.
type statement struct {
	where     string // e.g. "IngestRole/ingest" or "CodeKey (key policy)"
	sid       string
	effect    string
	actions   []string
	resources []string
	principal any
	condition map[string]any
	keys      []string // every key the statement has
}

func statements(where string, doc any) []statement {
	var out []statement
	list, _ := dig(doc, "Statement").([]any)
	if m, ok := dig(doc, "Statement").(map[string]any); ok {
		list = []any{m}
	}
	for _, raw := range list {
		m, ok := raw.(map[string]any)
		if !ok {
			continue // an Fn::If whose condition is false (AWS::NoValue)
		}
		st := statement{where: where, principal: m["Principal"]}
		st.sid, _ = m["Sid"].(string)
		st.effect, _ = m["Effect"].(string)
		st.actions = strs(m["Action"])
		st.resources = strs(m["Resource"])
		st.condition, _ = m["Condition"].(map[string]any)
		for k := range m {
			st.keys = append(st.keys, k)
		}
		sort.Strings(st.keys)
		out = append(out, st)
	}
	return out
}

// strs flattens a string or a list (dropping AWS::NoValue entries).
func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, strs(e)...)
		}
		return out
	}
	return nil
}

// roleStatements returns every statement of every inline policy of a role.
func (s *stack) roleStatements(t testing.TB, role string) []statement {
	t.Helper()
	r, err := s.tpl.GetIAMRoleWithName(role)
	if err != nil {
		t.Fatal(err)
	}
	var out []statement
	for _, p := range r.Policies {
		out = append(out, statements(role+"/"+p.PolicyName, p.PolicyDocument)...)
	}
	return out
}

// allStatements is every IAM statement in the stack: role policies, trust
// policies and the key policy.
func (s *stack) allStatements(t testing.TB) []statement {
	t.Helper()
	var out []statement
	for _, id := range s.resourcesOfType("AWS::IAM::Role") {
		r, _ := s.tpl.GetIAMRoleWithName(id)
		out = append(out, s.roleStatements(t, id)...)
		out = append(out, statements(id+" (trust policy)", r.AssumeRolePolicyDocument)...)
	}
	for _, id := range s.resourcesOfType("AWS::KMS::Key") {
		k, _ := s.tpl.GetKMSKeyWithName(id)
		out = append(out, statements(id+" (key policy)", k.KeyPolicy)...)
	}
	return out
}

// noValue is AWS::NoValue in evaluate's results.
type noValueT struct{}

var noValue = noValueT{}

// evaluation resolves the raw tree as CloudFormation would for one set of
// parameter values, with resources stood in for by realistic values.
type evaluation struct {
	s      *stack
	params map[string]string // overrides of the parameters' defaults
	stand  map[string]string // "Ref(X)" / "GetAtt(X.Y)" -> value
}

var pseudo = map[string]string{
	"AWS::AccountId": "123456789012", "AWS::Region": "eu-west-1", "AWS::Partition": "aws",
	"AWS::StackName": "cogmail", "AWS::URLSuffix": "amazonaws.com",
}

func (s *stack) evaluate(params map[string]string) *evaluation {
	q := func(name string) string {
		return "https://sqs.eu-west-1.amazonaws.com/123456789012/cogmail-" + name + "-1AB2CD3EF"
	}
	secret := func(name string) string {
		return "arn:aws:secretsmanager:eu-west-1:123456789012:secret:" + name + "-AbCdEf"
	}
	return &evaluation{s: s, params: params, stand: map[string]string{
		ref("Queue"):                          q("Queue"),
		ref("DeadLetterQueue"):                q("DeadLetterQueue"),
		ref("IngestFailureQueue"):             q("IngestFailureQueue"),
		getAtt("CodeKey.Arn"):                 "arn:aws:kms:eu-west-1:123456789012:key/0d7b1c3e-1111-2222-3333-444455556666",
		ref("SendGridApiKeySecret"):           secret("SendGridApiKeySecret"),
		ref("MailgunApiKeySecret"):            secret("MailgunApiKeySecret"),
		ref("SmtpPasswordSecret"):             secret("SmtpPasswordSecret"),
		ref("ProvidersParameter"):             "/cogmail/cogmail/providers",
		ref("IdempotencyTable"):               "cogmail-IdempotencyTable-1AB2CD3EF",
		ref("ReputationTable"):                "cogmail-ReputationTable-1AB2CD3EF",
		ref("SesEventsConfigurationSet"):      "cogmail-SesEventsConfigurationSet-1AB2CD3EF",
		ref("MailgunWebhookSigningKeySecret"): secret("MailgunWebhookSigningKeySecret"),
		ref("EventsLogGroup"):                 "/cogmail/cogmail/events",
		ref("IngestLogGroup"):                 "/cogmail/cogmail/ingest",
		ref("DispatchLogGroup"):               "/cogmail/cogmail/dispatch",
		getAtt("IngestFunction.Arn"):          "arn:aws:lambda:eu-west-1:123456789012:function:cogmail-IngestFunction-1AB2CD3EF",
	}}
}

func (e *evaluation) param(name string) (string, bool) {
	if v, ok := e.params[name]; ok {
		return v, true
	}
	p, ok := e.s.tpl.Parameters[name]
	if !ok {
		return "", false
	}
	if p.Default == nil {
		return "", true
	}
	return fmt.Sprint(p.Default), true
}

func (e *evaluation) ref(name string) (any, error) {
	if name == "AWS::NoValue" {
		return noValue, nil
	}
	if v, ok := pseudo[name]; ok {
		return v, nil
	}
	if v, ok := e.param(name); ok {
		if p, ok := e.s.tpl.Parameters[name]; ok && (p.Type == "CommaDelimitedList" || strings.HasPrefix(p.Type, "List<")) {
			var list []any // a list parameter's Ref is a list
			for _, el := range strings.Split(v, ",") {
				list = append(list, strings.TrimSpace(el))
			}
			return list, nil
		}
		return v, nil
	}
	if v, ok := e.stand[ref(name)]; ok {
		return v, nil
	}
	return nil, fmt.Errorf("no stand-in for Ref %s", name)
}

var subVar = regexp.MustCompile(`\$\{([^}]+)\}`)

// value evaluates v, dropping AWS::NoValue from maps and lists.
func (e *evaluation) value(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					return e.intrinsic(k, arg)
				}
			}
		}
		out := map[string]any{}
		for k, el := range x {
			r, err := e.value(el)
			if err != nil {
				return nil, err
			}
			if r != noValue {
				out[k] = r
			}
		}
		return out, nil
	case []any:
		var out []any
		for _, el := range x {
			r, err := e.value(el)
			if err != nil {
				return nil, err
			}
			if r != noValue {
				out = append(out, r)
			}
		}
		return out, nil
	}
	return v, nil
}

func (e *evaluation) str(v any) (string, error) {
	r, err := e.value(v)
	if err != nil {
		return "", err
	}
	s, ok := r.(string)
	if !ok {
		return "", fmt.Errorf("%v is not a string", r)
	}
	return s, nil
}

func (e *evaluation) intrinsic(fn string, arg any) (any, error) {
	args, _ := arg.([]any)
	switch fn {
	case "Ref":
		return e.ref(fmt.Sprint(arg))
	case "Fn::GetAtt":
		path := fmt.Sprint(arg)
		if args != nil {
			path = fmt.Sprintf("%v.%v", args[0], args[1])
		}
		if v, ok := e.stand[getAtt(path)]; ok {
			return v, nil
		}
		return nil, fmt.Errorf("no stand-in for GetAtt %s", path)
	case "Fn::Sub":
		var err error
		out := subVar.ReplaceAllStringFunc(fmt.Sprint(arg), func(m string) string {
			name := m[2 : len(m)-1]
			var v any
			var e2 error
			if strings.Contains(name, ".") && !strings.HasPrefix(name, "AWS::") {
				v, e2 = e.intrinsic("Fn::GetAtt", name)
			} else {
				v, e2 = e.ref(name)
			}
			if e2 != nil {
				err = e2
			}
			return fmt.Sprint(v)
		})
		return out, err
	case "Fn::If":
		ok, err := e.condition(map[string]any{"Condition": args[0]})
		if err != nil {
			return nil, err
		}
		if ok {
			return e.value(args[1])
		}
		return e.value(args[2])
	case "Fn::Join":
		list, err := e.value(args[1])
		if err != nil {
			return nil, err
		}
		return strings.Join(strs(list), fmt.Sprint(args[0])), nil
	case "Fn::Split":
		src, err := e.str(args[1])
		if err != nil {
			return nil, err
		}
		var out []any
		for _, p := range strings.Split(src, fmt.Sprint(args[0])) {
			out = append(out, p)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s is not evaluated here", fn)
}

// condition evaluates a condition expression or a {"Condition": name}.
func (e *evaluation) condition(v any) (bool, error) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return false, fmt.Errorf("not a condition: %v", v)
	}
	for fn, arg := range m {
		args, _ := arg.([]any)
		switch fn {
		case "Condition":
			def := dig(e.s.raw, "Conditions", fmt.Sprint(arg))
			if def == nil {
				return false, fmt.Errorf("no condition %v", arg)
			}
			return e.condition(def)
		case "Fn::Equals":
			a, err := e.str(args[0])
			if err != nil {
				return false, err
			}
			b, err := e.str(args[1])
			return a == b, err
		case "Fn::Not":
			r, err := e.condition(args[0])
			return !r, err
		case "Fn::Contains": // a rule function: [list of strings, string]
			list, err := e.value(args[0])
			if err != nil {
				return false, err
			}
			want, err := e.str(args[1])
			return slices.Contains(strs(list), want), err
		case "Fn::And", "Fn::Or":
			all := fn == "Fn::And"
			for _, c := range args {
				r, err := e.condition(c)
				if err != nil {
					return false, err
				}
				if r != all {
					return !all, nil
				}
			}
			return all, nil
		}
		return false, fmt.Errorf("%s is not a condition function", fn)
	}
	return false, nil
}

// environment evaluates a function's environment variables.
func (e *evaluation) environment(t testing.TB, function string) map[string]string {
	t.Helper()
	vars, _ := dig(e.s.rawProps(function), "Environment", "Variables").(map[string]any)
	env := map[string]string{}
	for k, v := range vars {
		s, err := e.str(v)
		if err != nil {
			t.Fatalf("%s %s: %v", function, k, err)
		}
		env[k] = s
	}
	return env
}
