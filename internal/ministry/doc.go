// Package ministry is the logic behind libsscard, the C library with the
// ministry's reader interface (社保卡读写卡通用接口, ssc-facts §2): iType
// mapping onto the configured readers, the |-separated strings, GBK or UTF-8
// output, the per-function output limits, the per-process HSM step state
// with its timeout, the error-code table, and the configuration from the
// environment and a file. cmd/libsscard holds only the cgo shims that copy C
// strings in and out; everything else is here, testable without cgo.
//
// Points the public sources leave open (the iReadCard address syntax, the
// card-info argument, the PIN reload/unblock step strings, the PKI string
// formats) are SIM choices, documented in docs/c-api.md and labelled SIM
// below.
package ministry
