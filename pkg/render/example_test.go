package render_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/render"
	"github.com/cogmail/cogmail/pkg/secret"
)

func ExampleRenderer_Render() {
	r, err := render.New(render.Options{
		Brand: render.Brand{ProductName: "Acme", SupportURL: "https://acme.example/help"},
	})
	if err != nil {
		panic(err)
	}
	e, err := r.Render(render.Input{
		Trigger:    cognito.SignUp,
		Locale:     "de_DE",
		Code:       secret.New("042195"),
		Attributes: map[string]string{"name": "Lea"},
		ValidFor:   24 * time.Hour,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(e.Locale, e.Template)
	fmt.Println(e.Subject)
	fmt.Println(strings.Contains(e.HTML, `<p class="code" style="`))
	fmt.Println(strings.Split(e.Text, "\n\n")[3])
	// Output:
	// de SignUp
	// Bestätigen Sie Ihre E-Mail-Adresse für Acme
	// true
	// Der Code ist 24 Stunden gültig.
}

func ExampleRenderer_Render_unknownTrigger() {
	r, err := render.New(render.Options{Brand: render.Brand{ProductName: "Acme"}})
	if err != nil {
		panic(err)
	}
	e, err := r.Render(render.Input{Trigger: "CustomEmailSender_SomethingNew", Locale: "fr", Code: secret.New("1234")})
	if err != nil {
		panic(err)
	}
	fmt.Println(e.Template, e.Fallback, e.Subject)
	// Output:
	// Generic true Votre code Acme
}

func ExampleNormalizeLocale() {
	for _, s := range []string{"de_DE", "DE-de", "pt_br.UTF-8", "fr-CA,fr;q=0.9", "C"} {
		fmt.Printf("%q\n", render.NormalizeLocale(s))
	}
	// Output:
	// "de-DE"
	// "de-DE"
	// "pt-BR"
	// "fr-CA"
	// ""
}

func ExampleLocaleResolver_ForEvent() {
	lr, err := render.NewLocaleResolver("en", "en", "es", "de")
	if err != nil {
		panic(err)
	}
	e := &cognito.Event{Request: cognito.Request{
		ClientMetadata: map[string]string{"locale": "ja-JP"}, // not supported: next candidate
		UserAttributes: map[string]string{"locale": "de_AT"}, // de-AT, then de
	}}
	fmt.Println(lr.ForEvent(e))
	// Output: de
}
