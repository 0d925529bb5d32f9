// Package routingparam reads and writes the SSM parameter that holds the
// live routing document dispatch re-reads (pkg/routing): what
// `cogmail providers show|set` and `cogmail config check` work on.
package routingparam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/cogmail/cogmail/pkg/routing"
)

// Getter reads a parameter (an *ssm.Client does).
type Getter interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// Client reads and writes a parameter (an *ssm.Client does).
type Client interface {
	Getter
	PutParameter(ctx context.Context, in *ssm.PutParameterInput, opts ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
}

// Param is the parameter as read: it may not exist, or hold something
// dispatch rejects.
type Param struct {
	Parameter    string          `json:"parameter"`
	Exists       bool            `json:"exists"`
	Version      int64           `json:"version,omitempty"`
	LastModified *time.Time      `json:"lastModified,omitempty"`
	Valid        bool            `json:"valid"`
	Error        string          `json:"error,omitempty"` // why dispatch rejects it
	Routing      *routing.Config `json:"routing,omitempty"`
	Value        string          `json:"value,omitempty"` // as stored
}

// Read reads the parameter; the error is for a read that failed, not for a
// parameter that is missing or invalid (Param says which).
func Read(ctx context.Context, c Getter, name string) (Param, error) {
	p := Param{Parameter: name}
	out, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	var nf *ssmtypes.ParameterNotFound
	switch {
	case errors.As(err, &nf):
		return p, nil
	case err != nil:
		return p, fmt.Errorf("read SSM parameter %s: %w", name, err)
	case out.Parameter == nil:
		return p, fmt.Errorf("read SSM parameter %s: the answer has no parameter", name)
	}
	p.Exists = true
	p.Value = aws.ToString(out.Parameter.Value)
	p.Version = out.Parameter.Version
	p.LastModified = out.Parameter.LastModifiedDate
	if c, err := routing.Parse([]byte(p.Value), nil); err != nil {
		p.Error = strings.ReplaceAll(strings.TrimPrefix(err.Error(), "routing: "), "\n", "; ")
	} else {
		p.Valid, p.Routing = true, &c
	}
	return p, nil
}

// SetInput is a routing to write: Want is validated and normalised by the
// caller; its Brands are ignored (the parameter's brand document stays as
// it is).
type SetInput struct {
	Name   string // a parameter name, not an ARN (PutParameter takes names)
	Want   routing.Config
	DryRun bool
}

// SetResult is what Set did, as `cogmail providers set --json` prints it.
type SetResult struct {
	Parameter string         `json:"parameter"`
	Before    Param          `json:"before"`
	After     routing.Config `json:"after"`
	Version   int64          `json:"version,omitempty"` // the new version; the current one when nothing was written
	Changed   bool           `json:"changed"`
	DryRun    bool           `json:"dryRun"`
}

// Set reads the parameter and writes in.Want unless it already holds that
// routing or this is a dry run. A parameter it creates is a String; one that
// exists keeps its type (it may be a SecureString).
func Set(ctx context.Context, c Client, in SetInput) (SetResult, error) {
	before, err := Read(ctx, c, in.Name)
	if err != nil {
		return SetResult{}, err
	}
	want := in.Want
	want.Brands = nil
	if before.Valid && before.Routing != nil {
		want.Brands = before.Routing.Brands
	}
	r := SetResult{Parameter: in.Name, Before: before, After: want, DryRun: in.DryRun, Version: before.Version}
	r.Changed = !before.Valid || !reflect.DeepEqual(*before.Routing, want)
	if !r.Changed || in.DryRun {
		return r, nil
	}
	value, err := json.Marshal(want)
	if err != nil {
		return r, err
	}
	put := &ssm.PutParameterInput{Name: aws.String(in.Name), Value: aws.String(string(value)), Overwrite: aws.Bool(true)}
	if !before.Exists {
		put.Type = ssmtypes.ParameterTypeString
		put.Description = aws.String("cogmail provider routing: cogmail providers set")
	}
	out, err := c.PutParameter(ctx, put)
	if err != nil {
		return r, fmt.Errorf("write SSM parameter %s: %w", in.Name, err)
	}
	r.Version = out.Version
	return r, nil
}
