package main

// JSON output (--json): indented, one value per command.

import (
	"encoding/json"
	"io"
)

// writeJSON writes v indented, as every --json output is.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeJSONOut writes v on stdout; exit 1 when it could not.
func writeJSONOut(e *env, v any) int {
	if writeJSON(e.stdout, v) != nil {
		return exitFailed
	}
	return exitOK
}

// writeReportJSON is writeJSON for a report whose write error the caller
// cannot act on (config check's).
func writeReportJSON(w io.Writer, v any) { _ = writeJSON(w, v) }
