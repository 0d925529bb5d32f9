package baseurl

import "testing"

func TestCheck(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" means valid
	}{
		{"https://api.sendgrid.com", ""},
		{"http://127.0.0.1:8080", ""},
		{"https://proxy.example.com/sendgrid", ""},
		{"api.sendgrid.com", "must be an http or https URL"},
		{"ftp://example.com", "must be an http or https URL"},
		{"https://", "has no host"},
		{"https://user:pass@example.com", "must not contain user info"},
		{"https://example.com?key=1", "must not have a query or fragment"},
		{"https://example.com#x", "must not have a query or fragment"},
		{"http://[::1", "is not a URL"},
	}
	for _, tt := range tests {
		err := Check(tt.in)
		if (err == nil) != (tt.want == "") || (err != nil && err.Error() != tt.want) {
			t.Errorf("Check(%q) = %v, want %q", tt.in, err, tt.want)
		}
	}
}
