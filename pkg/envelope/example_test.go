package envelope_test

import (
	"fmt"

	"github.com/cogmail/cogmail/pkg/envelope"
)

func ExampleParse() {
	b, _ := sample().Marshal()
	e, err := envelope.Parse(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e.Trigger.Short(), e.Attributes()[envelope.AttrExpiresAt])
	_, err = envelope.Parse([]byte(`{"v":9}`))
	fmt.Println(err)
	// Output:
	// SignUp 2026-11-26T10:00:00Z
	// envelope: schema version 9 is not supported (want 1 or 2)
}
