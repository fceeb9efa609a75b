// Package sscd is the v1 API of the sscd reader daemon, shared by the server
// (internal/daemon, cmd/sscd) and its Go client.
//
// The daemon owns the card readers of a machine and serves JSON over HTTP/1.1
// on a Unix socket (default DefaultSocket). Every card operation runs alone on
// its reader (one connection, one transaction, FIFO per reader), so the APDUs
// of two clients never interleave, and a card whose security state was raised
// (PIN verified, HSM authentication) is reset before anyone else uses it.
//
// Failures travel as an error envelope
//
//	{"error":{"code":"card_changed","message":"...","sw":"6982"}}
//
// whose code is one of the Code constants; the client returns them as *Error,
// which matches the sentinel of its code with errors.Is (ErrCardChanged, ...)
// and the SDK's sentinels the daemon sends that code for (sscard.ErrPINLastTry,
// reader.ErrNoPINPad, ...; with sw, the card's apdu error such as
// *apdu.AuthError), so a client handles them as the library's own errors.
//
// Card operations take an optional expected insertion id (Reader.Insertion,
// Event.Insertion): if the card in the reader is not that insertion any more,
// the daemon answers card_changed instead of acting on another person's card.
//
// See docs/api.md for the endpoints.
package sscd

// APIVersion is the version prefix of every path.
const APIVersion = "v1"

// DefaultSocket is where the daemon listens by default.
const DefaultSocket = "/run/sscd/sscd.sock"
