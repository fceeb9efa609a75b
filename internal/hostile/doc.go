// Package hostile lets the hostile and fault tests record what they did —
// requests sent, cards pulled, pcscd frozen or killed, swaps, fuzz inputs —
// so that the table of hostile tests in docs/reliability.md is produced by
// the tests themselves rather than kept by hand.
//
// A test calls Record with a row name and its counts. When the environment
// variable SSC_HOSTILE_LOG names a file, each call appends one JSON line to
// it (the test command sets it for the whole `go test ./...` run); otherwise
// Record only logs the counts. The test command then runs TestReliabilityTable
// with SSC_HOSTILE_CHECK naming the same file, which fails when the table in
// docs/reliability.md differs from what the run recorded (`-update` rewrites
// it).
package hostile
