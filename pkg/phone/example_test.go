package phone_test

import (
	"fmt"

	"github.com/cogmail/cogmail/pkg/phone"
)

func ExampleParse() {
	n, err := phone.Parse("+44 20 7123 4567")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(n.E164(), n.Country(), n)
	_, err = phone.Parse("020 7123 4567")
	fmt.Println(err)
	// Output:
	// +442071234567 GB +44******4567
	// phone: phone_number: is not in international form (+ and the country calling code, as Cognito stores it)
}
