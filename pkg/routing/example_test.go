package routing_test

import (
	"fmt"

	"github.com/cogmail/cogmail/pkg/routing"
)

// The environment form: the order of failover, or weights.
func ExampleParseList() {
	c, _ := routing.ParseList("sendgrid=3,mailgun=1", "")
	fmt.Println(c.Strategy, c.Providers, c.Weights)
	// Output: weighted [sendgrid mailgun] map[mailgun:1 sendgrid:3]
}

// The SSM parameter form, checked against the providers this function has.
func ExampleParse() {
	_, err := routing.Parse([]byte(`{"providers":["mailgun","ses"]}`), []string{"ses", "sendgrid"})
	fmt.Println(err)
	c, _ := routing.Parse([]byte(`{"providers":["sendgrid","ses"]}`), []string{"ses", "sendgrid"})
	fmt.Println(c.Strategy, c.Providers)
	// Output:
	// routing: "mailgun" is not configured in this function (its settings or key are missing)
	// failover [sendgrid ses]
}
