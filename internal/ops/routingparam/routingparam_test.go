package routingparam_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/cogmail/cogmail/internal/ops/routingparam"
	"github.com/cogmail/cogmail/pkg/routing"
)

// fakeSSM holds one parameter, as SSM does: a missing one is
// ParameterNotFound; a write bumps the version.
type fakeSSM struct {
	value   *string
	version int64
	puts    []*ssm.PutParameterInput
}

func (f *fakeSSM) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	if f.value == nil {
		return nil, &ssmtypes.ParameterNotFound{}
	}
	return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Name: in.Name, Value: f.value, Version: f.version}}, nil
}

func (f *fakeSSM) PutParameter(_ context.Context, in *ssm.PutParameterInput, _ ...func(*ssm.Options)) (*ssm.PutParameterOutput, error) {
	f.puts = append(f.puts, in)
	f.value, f.version = in.Value, f.version+1
	return &ssm.PutParameterOutput{Version: f.version}, nil
}

func list(t *testing.T, s string) routing.Config {
	t.Helper()
	c, err := routing.ParseList(s, "")
	if err != nil {
		t.Fatal(err)
	}
	return c.Normalize()
}

func TestSet(t *testing.T) {
	withBrands := `{"providers":["ses"],"strategy":"failover","brands":{"brands":[{"name":"Solo","from":{"address":"a@solo.example"}}]}}`
	cases := []struct {
		name        string
		stored      *string
		want        string
		dryRun      bool
		changed     bool
		puts        int
		createsType bool
		keepsBrands bool
	}{
		{name: "missing parameter is created as a String", want: "ses,sendgrid", changed: true, puts: 1, createsType: true},
		{name: "same routing writes nothing", stored: aws.String(`{"providers":["ses","sendgrid"],"strategy":"failover"}`), want: "ses,sendgrid"},
		{name: "dry run writes nothing", stored: aws.String(`{"providers":["ses"],"strategy":"failover"}`), want: "sendgrid", dryRun: true, changed: true},
		{name: "invalid parameter is overwritten, keeping its type", stored: aws.String(`{"providers":[`), want: "ses", changed: true, puts: 1},
		{name: "brand document is kept", stored: aws.String(withBrands), want: "sendgrid", changed: true, puts: 1, keepsBrands: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeSSM{value: tc.stored, version: 4}
			r, err := routingparam.Set(context.Background(), f, routingparam.SetInput{Name: "/cogmail/providers", Want: list(t, tc.want), DryRun: tc.dryRun})
			if err != nil {
				t.Fatal(err)
			}
			if r.Changed != tc.changed || len(f.puts) != tc.puts || r.DryRun != tc.dryRun {
				t.Fatalf("changed %v, %d puts, dry run %v; want %v, %d, %v", r.Changed, len(f.puts), r.DryRun, tc.changed, tc.puts, tc.dryRun)
			}
			if r.Before.Exists != (tc.stored != nil) {
				t.Errorf("before exists %v", r.Before.Exists)
			}
			if tc.puts == 0 {
				if r.Version != r.Before.Version {
					t.Errorf("version %d, want the current %d", r.Version, r.Before.Version)
				}
				return
			}
			put := f.puts[0]
			if (put.Type == ssmtypes.ParameterTypeString) != tc.createsType || r.Version != f.version {
				t.Errorf("type %q, version %d (stored %d)", put.Type, r.Version, f.version)
			}
			var written routing.Config
			if err := json.Unmarshal([]byte(aws.ToString(put.Value)), &written); err != nil {
				t.Fatal(err)
			}
			if (written.Brands != nil) != tc.keepsBrands || (r.After.Brands != nil) != tc.keepsBrands {
				t.Errorf("brands written %v, in result %v; want kept %v", written.Brands != nil, r.After.Brands != nil, tc.keepsBrands)
			}
		})
	}
}

func TestReadFailure(t *testing.T) {
	_, err := routingparam.Read(context.Background(), failingSSM{}, "/p")
	if !errors.Is(err, errDenied) {
		t.Fatalf("err %v, want the SDK's error wrapped", err)
	}
}

var errDenied = errors.New("access denied")

type failingSSM struct{}

func (failingSSM) GetParameter(context.Context, *ssm.GetParameterInput, ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	return nil, errDenied
}
