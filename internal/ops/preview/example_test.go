package preview_test

import (
	"fmt"
	"os"

	"github.com/cogmail/cogmail/internal/ops/preview"
	"github.com/cogmail/cogmail/pkg/render"
)

func ExampleWrite() {
	dir, err := os.MkdirTemp("", "preview")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	r, err := render.New(render.Options{Brand: render.Brand{ProductName: "Acme"}, CheckAll: true})
	if err != nil {
		panic(err)
	}
	g, err := preview.Write(dir, r)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(g.Entries), g.Locales, g.Templates[0], g.Entries[0].HTML)
	// Output: 45 [de en es fr pt] SignUp de/SignUp.html
}
