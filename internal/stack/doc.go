// Package stack turns configuration into the live objects both binaries run
// on: reader backends, key systems, CAs, journals.
package stack
