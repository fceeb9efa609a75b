// Package pcsc is the PC/SC reader backend (pcsc-lite through
// github.com/ebfe/scard, winscard.dll on Windows), including PC/SC part 10
// secure PIN entry. Builds without cgo (other than Windows) or with the
// nopcsc tag get a stub whose methods fail with reader.ErrNotSupported, so
// programs still run on their other backends.
package pcsc
