package reader

import "errors"

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
	ErrNotInTransaction   = errors.New("no transaction in progress")
	ErrInvalidCommand     = errors.New("invalid command APDU")
	ErrClosed             = errors.New("connection closed")
	ErrTimeout            = errors.New("timed out")
	ErrNotSupported       = errors.New("operation not supported by this reader")
	// ErrProtocol: the reader's answers make no sense (damaged frames
	// that retries did not cure, refused commands, a failure the reader
	// reports); the line is resynchronised before the next command.
	ErrProtocol = errors.New("reader protocol error")
)
