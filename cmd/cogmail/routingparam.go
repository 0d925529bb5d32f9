package main

// The routing parameter in SSM (the live operations document dispatch
// reads): read, described and addressed the same way by providers show,
// providers set and config check.

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/cogmail/cogmail/internal/ops/routingparam"
	"github.com/cogmail/cogmail/pkg/routing"
)

// parameterName is the name in a parameter ARN
// (arn:aws:ssm:REGION:ACCOUNT:parameter/NAME), or s itself. A name in a
// hierarchy starts with a slash, which the ARN drops.
func parameterName(s string) string {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return s
	}
	name, ok := strings.CutPrefix(parts[5], "parameter/")
	if !ok {
		return s
	}
	if strings.Contains(name, "/") {
		return "/" + name
	}
	return name
}

func ssmClient(ctx context.Context, e *env, region, param string) (*ssm.Client, error) {
	if region == "" {
		region = arnRegion(param)
	}
	cfg, err := awsConfigFromEnv(ctx, e.getenv, region)
	if err != nil {
		return nil, err
	}
	return ssm.NewFromConfig(cfg, func(o *ssm.Options) {
		if u := serviceEndpoint(e.getenv, "SSM"); u != "" {
			o.BaseEndpoint = aws.String(u)
		}
	}), nil
}

// routingParam is the parameter as read (internal/ops/routingparam).
type routingParam = routingparam.Param

// readRouting reads the parameter; the error is for a read that failed,
// not for a parameter that is missing or invalid.
func readRouting(ctx context.Context, c *ssm.Client, name string) (routingParam, error) {
	return routingparam.Read(ctx, c, name)
}

// describeRouting is the routing in one line: "failover: ses, then
// sendgrid" or "weighted: sendgrid=3 (75%), mailgun=1 (25%)".
func describeRouting(c routing.Config) string {
	c = c.Normalize()
	if c.Strategy != routing.Weighted {
		return string(c.Strategy) + ": " + strings.Join(c.Providers, ", then ")
	}
	total := 0
	for _, p := range c.Providers {
		total += max(c.Weights[p], 0)
	}
	parts := make([]string, 0, len(c.Providers))
	for _, p := range c.Providers {
		w := c.Weights[p]
		share := "standby"
		if w > 0 && total > 0 {
			share = strconv.FormatFloat(float64(w)*100/float64(total), 'f', 0, 64) + "%"
		}
		parts = append(parts, fmt.Sprintf("%s=%d (%s)", p, w, share))
	}
	return "weighted: " + strings.Join(parts, ", ")
}

// describeParam is a parameter's state in one line.
func describeParam(p routingParam) string {
	switch {
	case !p.Exists:
		return "(none: dispatch routes by its COGMAIL_PROVIDERS)"
	case !p.Valid:
		return fmt.Sprintf("invalid, version %d: %s (dispatch ignores it: %s)", p.Version, strconv.Quote(p.Value), p.Error)
	}
	return fmt.Sprintf("%s (version %d)", describeRouting(*p.Routing), p.Version)
}
