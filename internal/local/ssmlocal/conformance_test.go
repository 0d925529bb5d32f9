package ssmlocal_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/cogmail/cogmail/internal/local/ssmlocal"
	"github.com/cogmail/cogmail/internal/testkit/motoserver"
)

// backends are the endpoints the suite runs against: ssmlocal, and moto_server
// as the reference for what the SDK sees from a real Parameter Store.
var backends = []struct {
	name  string
	start func(t *testing.T) string
}{
	{"ssmlocal", func(t *testing.T) string {
		srv := httptest.NewServer(ssmlocal.New(ssmlocal.Options{}))
		t.Cleanup(srv.Close)
		return srv.URL
	}},
	{"moto", func(t *testing.T) string { return motoserver.Shared(t) }},
}

func newClient(url string) *ssm.Client {
	return ssm.NewFromConfig(motoserver.Config(), func(o *ssm.Options) {
		o.BaseEndpoint = aws.String(url)
		o.RetryMaxAttempts = 1
	})
}

// step is one call of a conformance case and what must come of it.
type step struct {
	call    func(ctx context.Context, c *ssm.Client, name string) (any, error)
	check   func(t *testing.T, name string, out any)
	errCode string // the smithy error code expected, "" for success
}

func put(value string, typ ssmtypes.ParameterType, overwrite bool) func(context.Context, *ssm.Client, string) (any, error) {
	return func(ctx context.Context, c *ssm.Client, name string) (any, error) {
		return c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(value), Type: typ, Overwrite: aws.Bool(overwrite)})
	}
}

func get(suffix string, decrypt bool) func(context.Context, *ssm.Client, string) (any, error) {
	return func(ctx context.Context, c *ssm.Client, name string) (any, error) {
		return c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name + suffix), WithDecryption: aws.Bool(decrypt)})
	}
}

func del(ctx context.Context, c *ssm.Client, name string) (any, error) {
	return c.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(name)})
}

func version(want int64) func(*testing.T, string, any) {
	return func(t *testing.T, _ string, out any) {
		t.Helper()
		if got := out.(*ssm.PutParameterOutput).Version; got != want {
			t.Errorf("PutParameter version %d, want %d", got, want)
		}
	}
}

func value(want string, typ ssmtypes.ParameterType, ver int64) func(*testing.T, string, any) {
	return func(t *testing.T, name string, out any) {
		t.Helper()
		p := out.(*ssm.GetParameterOutput).Parameter
		if aws.ToString(p.Name) != name || aws.ToString(p.Value) != want || p.Type != typ || p.Version != ver {
			t.Errorf("GetParameter = {%s %q %s v%d}, want {%s %q %s v%d}", aws.ToString(p.Name), aws.ToString(p.Value), p.Type, p.Version, name, want, typ, ver)
		}
		if !strings.HasSuffix(aws.ToString(p.ARN), ":parameter"+name) || p.LastModifiedDate == nil || p.LastModifiedDate.IsZero() {
			t.Errorf("ARN %q / LastModifiedDate %v: want an ARN ending in :parameter%s and a date", aws.ToString(p.ARN), p.LastModifiedDate, name)
		}
	}
}

func TestConformance(t *testing.T) {
	cases := []struct {
		name  string
		steps []step
	}{
		{"put then get", []step{
			{call: put("v1", ssmtypes.ParameterTypeString, false), check: version(1)},
			{call: get("", false), check: value("v1", ssmtypes.ParameterTypeString, 1)},
		}},
		{"put twice without overwrite", []step{
			{call: put("v1", ssmtypes.ParameterTypeString, false)},
			{call: put("v2", ssmtypes.ParameterTypeString, false), errCode: "ParameterAlreadyExists"},
			{call: get("", false), check: value("v1", ssmtypes.ParameterTypeString, 1)},
		}},
		{"overwrite increments the version", []step{
			{call: put("v1", ssmtypes.ParameterTypeString, false), check: version(1)},
			{call: put("v2", ssmtypes.ParameterTypeString, true), check: version(2)},
			{call: put("v3", "", true), check: version(3)},
			{call: get("", false), check: value("v3", ssmtypes.ParameterTypeString, 3)},
			{call: get(":1", false), check: value("v1", ssmtypes.ParameterTypeString, 1)},
			{call: get(":9", false), errCode: "ParameterVersionNotFound"},
		}},
		{"secure string", []step{
			{call: put("s3cret", ssmtypes.ParameterTypeSecureString, false), check: version(1)},
			{call: get("", true), check: value("s3cret", ssmtypes.ParameterTypeSecureString, 1)},
			{call: get("", false), check: func(t *testing.T, _ string, out any) {
				if v := aws.ToString(out.(*ssm.GetParameterOutput).Parameter.Value); v == "s3cret" {
					t.Errorf("WithDecryption=false returned the plaintext")
				}
			}},
		}},
		{"missing parameter", []step{
			{call: get("", true), errCode: "ParameterNotFound"},
			{call: del, errCode: "ParameterNotFound"},
		}},
		{"delete", []step{
			{call: put("v1", ssmtypes.ParameterTypeString, false)},
			{call: del},
			{call: get("", false), errCode: "ParameterNotFound"},
			{call: put("again", ssmtypes.ParameterTypeString, false), check: version(1)},
		}},
		{"get parameters", []step{
			{call: put("one", ssmtypes.ParameterTypeString, false)},
			{call: func(ctx context.Context, c *ssm.Client, name string) (any, error) {
				return c.GetParameters(ctx, &ssm.GetParametersInput{Names: []string{name, name + "-missing"}, WithDecryption: aws.Bool(true)})
			}, check: func(t *testing.T, name string, out any) {
				o := out.(*ssm.GetParametersOutput)
				if len(o.Parameters) != 1 || aws.ToString(o.Parameters[0].Value) != "one" || !slices.Equal(o.InvalidParameters, []string{name + "-missing"}) {
					t.Errorf("GetParameters = %d parameters, invalid %v; want [one], [%s-missing]", len(o.Parameters), o.InvalidParameters, name)
				}
			}},
		}},
		{"new parameter needs a type", []step{
			{call: put("v1", "", false), errCode: "ValidationException"},
		}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			client := newClient(b.start(t))
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					ctx := context.Background()
					// A distinct hierarchical name per backend and case: moto is shared.
					name := "/cogmail-ssmlocal-test/" + strings.ReplaceAll(t.Name(), "/", "-")
					for i, s := range tc.steps {
						out, err := s.call(ctx, client, name)
						var ae smithy.APIError
						switch {
						case s.errCode == "" && err != nil:
							t.Fatalf("step %d: %v", i, err)
						case s.errCode != "" && (!errors.As(err, &ae) || ae.ErrorCode() != s.errCode):
							t.Fatalf("step %d: error %v, want code %s", i, err, s.errCode)
						case s.check != nil:
							s.check(t, name, out)
						}
					}
				})
			}
		})
	}
}

func TestTypedErrors(t *testing.T) {
	srv := httptest.NewServer(ssmlocal.New(ssmlocal.Options{}))
	defer srv.Close()
	c := newClient(srv.URL)
	ctx := context.Background()
	if _, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/p"), Value: aws.String("x"), Type: ssmtypes.ParameterTypeString}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		call  func() error
		match func(error) bool
	}{
		{"not found", func() error {
			_, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/nope")})
			return err
		}, func(err error) bool { var e *ssmtypes.ParameterNotFound; return errors.As(err, &e) }},
		{"already exists", func() error {
			_, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/p"), Value: aws.String("y"), Type: ssmtypes.ParameterTypeString})
			return err
		}, func(err error) bool { var e *ssmtypes.ParameterAlreadyExists; return errors.As(err, &e) }},
		{"version not found", func() error {
			_, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/p:2")})
			return err
		}, func(err error) bool { var e *ssmtypes.ParameterVersionNotFound; return errors.As(err, &e) }},
		{"unsupported type", func() error {
			_, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/q"), Value: aws.String("y"), Type: "Binary"})
			return err
		}, func(err error) bool { var e *ssmtypes.UnsupportedParameterType; return errors.As(err, &e) }},
		{"delete missing", func() error {
			_, err := c.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("/nope")})
			return err
		}, func(err error) bool { var e *ssmtypes.ParameterNotFound; return errors.As(err, &e) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !tc.match(err) {
				t.Errorf("error %v (%T) is not the expected SDK type", err, err)
			}
		})
	}
}
