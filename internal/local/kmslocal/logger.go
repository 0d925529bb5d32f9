package kmslocal

import (
	"io"
	_ "unsafe" // for go:linkname

	"github.com/sirupsen/logrus"

	_ "github.com/nsmithuk/local-kms/src" // the package whose logger is linked below
)

// kmsLogger is local-kms's own request logger (unexported in its package). It
// prints every request to stderr in colour, which drowns the local stack's
// output, and there is no exported way to quiet it; HandleRequest is still
// used as it is, only its log output is redirected.
//
//go:linkname kmsLogger github.com/nsmithuk/local-kms/src.logger
var kmsLogger *logrus.Logger

// SetLogOutput sends local-kms's request log to w (nil discards it). It is
// process-wide, like local-kms's logger; New calls it with Options.Log.
func SetLogOutput(w io.Writer) {
	if w == nil {
		w = io.Discard
	}
	kmsLogger.SetOutput(w)
}
