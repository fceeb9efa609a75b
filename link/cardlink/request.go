package cardlink

import (
	"fmt"

	"github.com/sscard/ssc/link"
	"github.com/sscard/ssc/sscard"
)

// Request is what the platform asks for.
type Request struct {
	Level  int
	Origin string
	Nonce  []byte
	// PIN is the user PIN of the card's PKI application.
	PIN string
	// Force allows the last try of the PKI PIN; without it a card with one
	// try left is refused with sscard.ErrPINLastTry before anything is
	// read.
	Force bool
}

// Check validates the request before any card access.
func (r Request) Check() error {
	if r.Level != link.Level1 && r.Level != link.Level2 {
		return fmt.Errorf("%w: level %d: want 1 or 2", ErrRequest, r.Level)
	}
	if err := link.CheckOrigin(r.Origin); err != nil {
		return fmt.Errorf("%w: %w", ErrRequest, err)
	}
	if n := len(r.Nonce); n < link.MinNonceSize || n > link.MaxNonceSize {
		return fmt.Errorf("%w: nonce is %d bytes, want %d to %d", ErrRequest, n, link.MinNonceSize, link.MaxNonceSize)
	}
	if r.PIN == "" {
		return fmt.Errorf("%w: the PKI PIN is required to sign the proof", ErrRequest)
	}
	// The PIN's format before any card access (the HSM, the bank reads).
	if err := sscard.CheckPIN(r.PIN); err != nil {
		return fmt.Errorf("cardlink: PKI PIN: %w", err)
	}
	return nil
}
