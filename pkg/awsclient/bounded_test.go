package awsclient

import (
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

type ownClient struct{}

func (ownClient) Do(*http.Request) (*http.Response, error) { return nil, nil }

// Bounded puts a timeout on the SDK's client only: a caller's client, or one
// already bounded, is kept as it is.
func TestBounded(t *testing.T) {
	tests := []struct {
		name string
		in   aws.HTTPClient
		want time.Duration // -1: the caller's own client
	}{
		{"nil", nil, 5 * time.Second},
		{"from Config", HTTPClient(0), 5 * time.Second},
		{"the SDK's, unwrapped", awshttp.NewBuildableClient(), 5 * time.Second},
		{"already bounded", HTTPClient(time.Second), time.Second},
		{"a caller's own", ownClient{}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := Bounded(tt.in, 5*time.Second).(client)
			if !ok {
				t.Fatal("not wrapped")
			}
			switch next := c.next.(type) {
			case *awshttp.BuildableClient:
				if next.GetTimeout() != tt.want {
					t.Errorf("timeout %v, want %v", next.GetTimeout(), tt.want)
				}
			case ownClient:
				if tt.want != -1 {
					t.Error("the caller's client was kept where the SDK's was expected")
				}
			default:
				t.Errorf("wraps %T", next)
			}
		})
	}
}
