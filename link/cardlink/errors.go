package cardlink

import "errors"

// Errors of Create (besides those of sscard and pboc, which it wraps, and
// link.ErrBankBlocked for a blocked bank application).
var (
	// ErrRequest: the request is invalid (level, origin, nonce size); the
	// card was not touched.
	ErrRequest = errors.New("cardlink: invalid request")
	// ErrNoBankApp: level 2 was asked of a card without a bank (PBOC)
	// application. Wraps pboc.ErrNoApplication.
	ErrNoBankApp = errors.New("cardlink: the card has no bank application")
	// ErrNoPKI: the card has no PKI application to sign the proof with (a
	// 2nd-generation card).
	ErrNoPKI = errors.New("cardlink: the card has no PKI application")
)
