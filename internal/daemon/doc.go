// Package daemon is the sscd server: it owns the readers of a reader.System,
// follows their events, and serves the v1 API of package sscd on a Unix
// socket. Each reader has a FIFO queue so that one API operation at a time
// talks to its card, in one exclusive connection; a card whose security state
// was raised (PIN verified, HSM authentication) is reset before the next
// operation.
package daemon
