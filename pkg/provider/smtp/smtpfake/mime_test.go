package smtpfake

import (
	"fmt"
	"strings"
	"testing"
)

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

func TestParse(t *testing.T) {
	tests := []struct {
		name                string
		raw                 string
		subject, text, html string
	}{
		{"plain, no content type", "Subject: Hi\n\nhello\n", "Hi", "hello\n", ""},
		{"encoded subject, quoted-printable", "Subject: =?UTF-8?q?C=C3=B3digo?=\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: quoted-printable\n\nOl=C3=A1, c=\n=C3=B3digo 1=3D1\n", "Código", "Olá, código 1=1\n", ""},
		{"alternative", "Subject: Alt\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=B\n\n--B\nContent-Type: text/plain\n\ntext part\n--B\nContent-Type: text/html\nContent-Transfer-Encoding: base64\n\nPHA+aHRtbCBw\nYXJ0PC9wPg==\n--B--\n", "Alt", "text part", "<p>html part</p>"},
		{"mixed around alternative", "Subject: Mixed\nContent-Type: multipart/mixed; boundary=M\n\n--M\nContent-Type: multipart/alternative; boundary=A\n\n--A\nContent-Type: text/plain\n\nt\n--A\nContent-Type: text/html\n\n<b>h</b>\n--A--\n--M\nContent-Type: application/pdf\n\n%PDF\n--M--\n", "Mixed", "t", "<b>h</b>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse(crlf(tt.raw))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if m.Subject != tt.subject || m.Text != tt.text || m.HTML != tt.html {
				t.Errorf("got %q %q %q, want %q %q %q", m.Subject, m.Text, m.HTML, tt.subject, tt.text, tt.html)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name string
		raw  string
	}{
		{"no header end", "Subject"},
		{"multipart without boundary", "Content-Type: multipart/mixed\n\nx"},
		{"bad media type", "Content-Type: ;;;\n\nx"},
		{"too deep", nested(12)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse(crlf(tt.raw)); err == nil {
				t.Error("Parse: nil error")
			}
		})
	}
}

// nested is a message with n multipart levels, each with its own boundary.
func nested(n int) string {
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=B0\n\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "--B%d\nContent-Type: multipart/mixed; boundary=B%d\n\n", i-1, i)
	}
	fmt.Fprintf(&b, "--B%d\nContent-Type: text/plain\n\ndeep\n", n)
	for i := n; i >= 0; i-- {
		fmt.Fprintf(&b, "--B%d--\n", i)
	}
	return b.String()
}

func TestParseDepth(t *testing.T) {
	tests := []struct {
		levels int
		ok     bool
	}{{maxDepth - 1, true}, {maxDepth + 3, false}}
	for _, tt := range tests {
		m, err := Parse(crlf(nested(tt.levels)))
		if ok := err == nil && m.Text == "deep"; ok != tt.ok {
			t.Errorf("%d levels: text %q, err %v; want ok %v", tt.levels, m.Text, err, tt.ok)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(crlf("Subject: Hi\n\nhello\n"))
	f.Add(crlf("Subject: Alt\nContent-Type: multipart/alternative; boundary=B\n\n--B\nContent-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\nt=3D\n--B\nContent-Type: text/html\nContent-Transfer-Encoding: base64\n\nPGI+aDwvYj4=\n--B--\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Parse(raw)
		if err == nil && len(m.Text)+len(m.HTML) > 4*len(raw)+16 {
			t.Fatalf("decoded %d bytes from %d", len(m.Text)+len(m.HTML), len(raw))
		}
	})
}
