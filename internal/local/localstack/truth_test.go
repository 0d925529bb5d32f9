package localstack_test

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/cogmail/cogmail/internal/local/localstack"
	"github.com/cogmail/cogmail/pkg/cognito"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// Sample events carry a sub shaped as Cognito's: a version 4 UUID, one per
// user, the same for the same user.
func TestSampleSubIsAUUID(t *testing.T) {
	seen := map[string]string{}
	for _, user := range []string{"ana", "jose", "lea", "chloe", "joao", "a", "", "a-much-longer-user-name@example.com"} {
		raw, err := localstack.Event(localstack.EventSpec{Trigger: cognito.SignUp, Pool: localstack.SamplePool, UserName: user, Email: "u@example.com"}, "AAAA")
		if err != nil {
			if user == "" {
				continue
			}
			t.Fatal(err)
		}
		e, err := cognito.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		sub := e.Sub()
		if !uuidV4.MatchString(sub) {
			t.Errorf("user %q: sub %q is not a version 4 UUID", user, sub)
		}
		if other, dup := seen[sub]; dup {
			t.Errorf("users %q and %q share sub %s", other, user, sub)
		}
		seen[sub] = user
		again, _ := localstack.Event(localstack.EventSpec{Trigger: cognito.SignUp, Pool: localstack.SamplePool, UserName: user, Email: "u@example.com"}, "AAAA")
		if e2, _ := cognito.Parse(again); e2.Sub() != sub {
			t.Errorf("user %q: sub changes between events", user)
		}
	}
}

// An empty inbox is [] in the JSON API, not null.
func TestEmptyInboxIsAnEmptyList(t *testing.T) {
	s, err := localstack.Start(context.Background(), localstack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	resp, err := http.Get(s.URL + "/api/messages")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if got := strings.TrimSpace(string(b)); got != "[]" {
		t.Errorf("GET /api/messages on an empty inbox = %s, want []", got)
	}
}
