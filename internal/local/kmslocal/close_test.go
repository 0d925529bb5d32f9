package kmslocal

import (
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

func TestCloseRemovesStore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		start func(Options) (*Server, error)
	}{
		{"Start", Start},
		{"New", New},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := tt.start(Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(s.dir); err != nil {
				t.Fatalf("store directory: %v", err)
			}
			h := s.Handler()
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if _, err := os.Stat(s.dir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("store directory after Close: err = %v, want not exist", err)
			}
			if err := s.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}"))
			r.Header.Set("Content-Type", "application/x-amz-json-1.1")
			r.Header.Set("X-Amz-Target", "TrentService.ListKeys")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusServiceUnavailable {
				t.Errorf("request after Close: status %d, want 503", w.Code)
			}
		})
	}
}
