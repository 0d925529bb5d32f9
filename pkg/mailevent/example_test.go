package mailevent_test

import (
	"fmt"

	"github.com/cogmail/cogmail/pkg/mailevent"
)

func ExampleParseSendGrid() {
	body := []byte(`[{"email":"nobody@Example.org","timestamp":1764403202,"event":"bounce","type":"bounce","sg_message_id":"abc.filter0001"}]`)
	evs, err := mailevent.ParseSendGrid(body)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range evs {
		fmt.Println(e.Kind, e.Bounce, e.Address, e.Suppresses())
	}
	// Output:
	// bounce permanent nobody@example.org true
}
