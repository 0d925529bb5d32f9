package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/cogmail/cogmail/pkg/suppression"
)

// localSuppressions is the local stack's list through its API
// (/api/suppressions).
type localSuppressions struct {
	base string
	hc   *http.Client
}

func (l *localSuppressions) do(ctx context.Context, method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, l.base+path, rd)
	if err != nil {
		return err
	}
	resp, err := l.hc.Do(req)
	if err != nil {
		return fmt.Errorf("local stack: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 10<<20))
	if resp.StatusCode >= 300 {
		var m struct{ Message string }
		_ = json.Unmarshal(b, &m)
		return fmt.Errorf("local stack: %s: %s", resp.Status, m.Message)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func (l *localSuppressions) Add(ctx context.Context, e suppression.Entry) error {
	return l.do(ctx, http.MethodPost, "/api/suppressions", map[string]string{"address": e.Address, "reason": string(e.Reason)}, nil)
}

func (l *localSuppressions) Lookup(ctx context.Context, address string) ([]suppression.Entry, error) {
	var out []suppression.Entry
	return out, l.do(ctx, http.MethodGet, "/api/suppressions/"+url.PathEscape(strings.TrimSpace(address)), nil, &out)
}

func (l *localSuppressions) Remove(ctx context.Context, address string) (int, error) {
	var out struct{ Removed int }
	return out.Removed, l.do(ctx, http.MethodDelete, "/api/suppressions/"+url.PathEscape(strings.TrimSpace(address)), nil, &out)
}

func (l *localSuppressions) List(ctx context.Context) ([]suppression.Entry, error) {
	var out []suppression.Entry
	return out, l.do(ctx, http.MethodGet, "/api/suppressions", nil, &out)
}
