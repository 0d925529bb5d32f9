package render

// FormatDurationForTest exposes formatDuration to the external tests.
var FormatDurationForTest = formatDuration
