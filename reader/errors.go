package reader

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error from this package matches one of them with
// errors.Is (through *Error), except context errors: a cancelled or expired
// ctx is returned as context.Canceled / context.DeadlineExceeded (possibly
// wrapped, and a deadline reached while waiting for the card also matches
// ErrTimeout).
var (
	ErrNoReaders          = errors.New("no readers available")
	ErrReaderNotFound     = errors.New("reader not found")
	ErrAmbiguousReader    = errors.New("reader name matches more than one reader")
	ErrReaderUnavailable  = errors.New("reader unavailable (unplugged or failed)")
	ErrNoCard             = errors.New("no card in the reader")
	ErrCardRemoved        = errors.New("card removed")
	ErrCardReset          = errors.New("card was reset by another application")
	ErrCardUnresponsive   = errors.New("card does not respond")
	ErrSharingViolation   = errors.New("card is in use by another application")
	ErrServiceUnavailable = errors.New("PC/SC service (pcscd) not available")
	// ErrBackendStuck: a call into the backend (pcscd) did not return
	// before the caller's deadline and was abandoned; the connection it
	// used is discarded. It also matches ErrServiceUnavailable.
	ErrBackendStuck     = fmt.Errorf("%w: backend does not answer", ErrServiceUnavailable)
	ErrNotInTransaction = errors.New("no transaction in progress")
	ErrInvalidCommand   = errors.New("invalid command APDU")
	ErrClosed           = errors.New("connection closed")
	ErrTimeout          = errors.New("timed out")
	ErrNotSupported     = errors.New("operation not supported by this reader")
	// ErrProtocol: the reader's answers make no sense (damaged frames
	// that retries did not cure, refused commands, a failure the reader
	// reports); the line is resynchronised before the next command.
	ErrProtocol = errors.New("reader protocol error")
)
