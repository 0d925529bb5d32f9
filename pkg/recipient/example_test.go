package recipient_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/recipient"
)

func ExampleResolver_Resolve() {
	r, err := recipient.New(recipient.Options{Attributes: []string{"custom:contact_email", "email"}})
	if err != nil {
		panic(err)
	}
	e := &cognito.Event{Request: cognito.Request{UserAttributes: map[string]string{
		"custom:contact_email": "", "email": "ana@example.com",
	}}}
	addr, err := r.Resolve(context.Background(), e)
	fmt.Println(addr, err)

	e.Request.UserAttributes["email"] = "Ana <ana@example.com>"
	_, err = r.Resolve(context.Background(), e)
	var re *recipient.Error
	fmt.Println(errors.As(err, &re), re.Retryable(), errors.Is(err, recipient.ErrInvalidAddress))
	fmt.Println(err)
	// Output:
	// ana@example.com <nil>
	// true false true
	// recipient: attribute email: the address is not a plain address (display name, brackets, quotes or a list)
}

func ExampleLookup() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"email": "%s@example.com"}`, r.URL.Query().Get("username"))
	}))
	defer srv.Close()

	r, err := recipient.New(recipient.Options{Lookup: &recipient.Lookup{
		URL:         srv.URL + "/lookup?sub={sub}&username={username}",
		Placeholder: regexp.MustCompile(`@placeholder\.invalid$`),
		Header:      http.Header{"X-Api-Key": {"key"}},
	}})
	if err != nil {
		panic(err)
	}
	e := &cognito.Event{UserName: "ana", Request: cognito.Request{UserAttributes: map[string]string{
		"sub": "0bff1f1f", "email": "0bff1f1f@placeholder.invalid",
	}}}
	fmt.Println(r.Resolve(context.Background(), e))
	// Output: ana@example.com <nil>
}
