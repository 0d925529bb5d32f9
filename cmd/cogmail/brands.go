package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/cogmail/cogmail/pkg/brand"
	"github.com/cogmail/cogmail/pkg/ingest"
	"github.com/cogmail/cogmail/pkg/render"
)

// readBrands reads a --brands file with its brands' templates checked as
// ingest checks them at cold start, so that every problem of the file and of
// its templates comes out in one round; on failure it prints them, one a
// line as FILE:LINE: PATH: MESSAGE, under what (the command and flag). A
// brand whose built-in SMS texts are over the default segment limit, which
// nothing refuses, gets a warning (ingest.SMSWarnings).
func readBrands(w io.Writer, what, file string) (*brand.Set, bool) {
	set, err := brand.ReadFile(file, ingest.CheckTemplates(render.DefaultLocale))
	if err == nil {
		for _, warning := range ingest.SMSWarnings(set, render.DefaultLocale) {
			fmt.Fprintf(w, "%s %s: warning: %s\n", what, file, warning)
		}
		return set, true
	}
	var be *brand.Error
	if !errors.As(err, &be) {
		fmt.Fprintf(w, "%s: %v\n", what, err)
		return nil, false
	}
	n := "1 problem"
	if len(be.Problems) != 1 {
		n = fmt.Sprintf("%d problems", len(be.Problems))
	}
	fmt.Fprintf(w, "%s %s: %s (docs/brands.md):\n%v\n", what, file, n, be)
	return nil, false
}
