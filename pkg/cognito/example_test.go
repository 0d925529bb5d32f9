package cognito_test

import (
	"fmt"

	"github.com/cogmail/cogmail/pkg/cognito"
)

func ExampleParse() {
	e, err := cognito.Parse([]byte(validEvent))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e.TriggerSource.Short(), e.UserPoolID, e.Attr("email"))

	_, err = cognito.Parse([]byte(`{"triggerSource":"CustomMessage_SignUp"}`))
	fmt.Println(err != nil)
	// Output:
	// SignUp us-east-1_Abc123 ana@example.com
	// true
}
