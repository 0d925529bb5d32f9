package segment_test

import (
	"fmt"

	"github.com/cogmail/cogmail/pkg/segment"
)

func ExampleCount() {
	fmt.Println(segment.Count("Acme: your code is 123456"))
	fmt.Println(segment.Count("Acme: tu código es 123456"))
	// Output:
	// {GSM-7 25 1}
	// {UCS-2 25 1}
}
