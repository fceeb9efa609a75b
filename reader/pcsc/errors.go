//go:build !nopcsc && (cgo || windows)

package pcsc

import (
	"errors"
	"fmt"

	"github.com/ebfe/scard"
	"github.com/sscard/ssc/reader"
)

// pcscError keeps both the package sentinel and the PC/SC return code in the
// chain, so errors.Is(err, reader.ErrCardRemoved) and
// errors.As(err, new(scard.Error)) both work.
type pcscError struct {
	sentinel error
	code     scard.Error
}

func (e *pcscError) Error() string {
	return fmt.Sprintf("%v (%v, 0x%08X)", e.sentinel, e.code, uint32(e.code))
}

func (e *pcscError) Unwrap() []error { return []error{e.sentinel, e.code} }

// pcscSentinel maps a PC/SC return code to the sentinel of this package.
func pcscSentinel(code scard.Error) error {
	switch code {
	case scard.ErrRemovedCard:
		return reader.ErrCardRemoved
	case scard.ErrNoSmartcard:
		return reader.ErrNoCard
	case scard.ErrResetCard, scard.ErrUnpoweredCard:
		// Either way another application ended the card session: the
		// card's security state is gone; Reset reconnects.
		return reader.ErrCardReset
	case scard.ErrUnresponsiveCard, scard.ErrInvalidAtr, scard.ErrCommDataLost,
		// pcsc-lite returns NOT_TRANSACTED from SCardTransmit when the
		// reader driver failed to exchange the APDU with the card.
		// (EndTransaction without a transaction is caught before pcscd.)
		scard.ErrNotTransacted:
		return reader.ErrCardUnresponsive
	case scard.ErrSharingViolation:
		return reader.ErrSharingViolation
	case scard.ErrNoService, scard.ErrServiceStopped, scard.ErrCommError, scard.ErrShutdown:
		return reader.ErrServiceUnavailable
	case scard.ErrNoReadersAvailable:
		return reader.ErrNoReaders
	case scard.ErrUnknownReader:
		return reader.ErrReaderNotFound
	case scard.ErrReaderUnavailable, scard.ErrReaderUnsupported, scard.ErrNotReady:
		return reader.ErrReaderUnavailable
	case scard.ErrTimeout, scard.ErrWaitedTooLong:
		return reader.ErrTimeout
	case scard.ErrInvalidHandle:
		// The handle or context no longer exists on either side.
		return reader.ErrClosed
	case scard.ErrProtoMismatch, scard.ErrUnsupportedFeature, scard.ErrCardUnsupported,
		scard.ErrUnsupportedCard, scard.ErrUnknownCard:
		return reader.ErrNotSupported
	case scard.ErrInvalidParameter, scard.ErrInvalidValue, scard.ErrInsufficientBuffer,
		scard.ErrPciTooSmall:
		return reader.ErrInvalidCommand
	}
	return reader.ErrReaderUnavailable
}

// pcscErr turns err from ebfe/scard into an *reader.Error. ctx errors and errors
// that are already *reader.Error pass through (wrapped in *reader.Error with op).
func pcscErr(op, name string, err error) error {
	if err == nil {
		return nil
	}
	var re *reader.Error
	if errors.As(err, &re) {
		return err
	}
	var code scard.Error
	if errors.As(err, &code) {
		return &reader.Error{Op: op, Reader: name, Err: &pcscError{sentinel: pcscSentinel(code), code: code}}
	}
	return &reader.Error{Op: op, Reader: name, Err: err}
}

// isServiceGone reports whether code means the PC/SC service (or our
// connection to it) is gone, so the context must be established again.
func isServiceGone(code scard.Error) bool {
	switch code {
	case scard.ErrNoService, scard.ErrServiceStopped, scard.ErrCommError, scard.ErrInvalidHandle,
		scard.ErrShutdown:
		return true
	}
	return false
}
