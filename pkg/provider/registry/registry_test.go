package registry_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/cogmail/cogmail/pkg/provider/registry"
)

func TestNames(t *testing.T) {
	t.Parallel()
	if got, want := registry.Names(registry.Email), []string{"sendgrid", "mailgun", "ses", "smtp"}; !slices.Equal(got, want) {
		t.Errorf("Names(Email) = %v, want %v", got, want)
	}
	if got := registry.Names(registry.SMS); len(got) != 0 {
		t.Errorf("Names(SMS) = %v, want none until dispatch sends SMS", got)
	}
	// The caller's slice: changing it does not change the registry.
	registry.Names(registry.Email)[0] = "changed"
	if registry.Names(registry.Email)[0] != "sendgrid" {
		t.Error("Names returned the registry's own slice")
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	if e, ok := registry.Lookup("ses"); !ok || e.Channel != registry.Email {
		t.Errorf("Lookup(ses) = %+v, %v", e, ok)
	}
	if _, ok := registry.Lookup("postmark"); ok {
		t.Error("Lookup(postmark) found an unregistered provider")
	}
}

func ExampleNames() {
	fmt.Println(registry.Names(registry.Email))
	// Output: [sendgrid mailgun ses smtp]
}
