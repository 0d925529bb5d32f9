// Command pack is `make package`: it writes dist/template.yaml from
// infra/template.yaml, pointing each function at its zip in dist/.
//
//	go run ./infra/cmd/pack -template infra/template.yaml -dist dist
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cogmail/cogmail/infra"
)

func main() {
	tpl := flag.String("template", "infra/template.yaml", "the SAM template to package")
	dist := flag.String("dist", "dist", "the directory holding the zips from `make build`; the packaged template is written there")
	flag.Parse()
	arts, err := infra.Package(*tpl, *dist)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, a := range arts {
		fmt.Printf("%-20s %-16s %8d bytes\n", a.Resource, a.CodeURI, a.Bytes)
	}
	fmt.Println("wrote", filepath.Join(*dist, "template.yaml"))
}
