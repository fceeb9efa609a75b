package sscard

import (
	"errors"
	"fmt"

	"github.com/sscard/ssc/apdu"
)

// Sentinel errors. Errors returned by this package match them with errors.Is
// and, where a card status word caused them, also the apdu class error.
var (
	// ErrNotSSC: the card has no SSSE application (SELECT by name answered 6A82).
	ErrNotSSC = errors.New("sscard: not a social security card (SSSE not found)")
	// ErrNeedsHSM: a protected field of a 3rd-gen card was requested without
	// HSM (external) authentication. It wraps apdu.ErrSecurityStatus.
	ErrNeedsHSM = fmt.Errorf("sscard: protected field needs HSM authentication: %w", apdu.ErrSecurityStatus)
	// ErrCardNotGenuine: the card's internal-authentication cryptogram did not
	// match the HSM's RESULT1.
	ErrCardNotGenuine = errors.New("sscard: card failed internal authentication (not genuine)")
	// ErrHSMAnswer: the HSM answer does not belong to the request (original
	// data differ from the challenges sent).
	ErrHSMAnswer = errors.New("sscard: HSM answer does not match the request")
	// ErrApplicationBlocked: SELECT of SSSE answered 6283. Wraps apdu.ErrAppBlocked.
	ErrApplicationBlocked = fmt.Errorf("sscard: SSSE application blocked: %w", apdu.ErrAppBlocked)
	// ErrMalformedRecord is matched by every *RecordError.
	ErrMalformedRecord = errors.New("sscard: malformed record")
	// ErrMinistryFormat is matched by every *FormatError.
	ErrMinistryFormat = errors.New("sscard: malformed ministry string")
	// ErrRequestDone: an HSMRequest was used after Complete or Abort, or a
	// WriteSession after it ended.
	ErrRequestDone = errors.New("sscard: HSM request already completed or aborted")
	// ErrBusy: the session has an HSM request or a write session in progress.
	ErrBusy = errors.New("sscard: an HSM request is in progress on this session")
	// ErrHSM: the HSM failed or answered badly.
	ErrHSM = errors.New("sscard: HSM error")
	// ErrNoPKI: the card has no PKI application (its SELECT answered
	// 6A82; a 2nd-gen card). It comes with apdu.ErrNotFound.
	ErrNoPKI = errors.New("sscard: the card has no PKI application")
)

// RecordError is a record that does not have the expected tag, length or
// encoding. Field names the BasicInfo field.
type RecordError struct {
	Field  string
	Tag    byte
	Reason string
	Err    error
}

func (e *RecordError) Error() string {
	s := fmt.Sprintf("sscard: malformed record %s (tag %02X): %s", e.Field, e.Tag, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is matches ErrMalformedRecord.
func (e *RecordError) Is(target error) bool { return target == ErrMalformedRecord }

// Unwrap returns the underlying error, if any.
func (e *RecordError) Unwrap() error { return e.Err }

// FormatError is a ministry string (iReadCardBas, HSM Step-1, Step-2 input)
// that cannot be parsed. Field is the field name ("" for the field count).
type FormatError struct {
	Format string // "iReadCardBas", "Step1", "Step2Input"
	Field  string
	Reason string
}

func (e *FormatError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("sscard: malformed %s string: %s", e.Format, e.Reason)
	}
	return fmt.Sprintf("sscard: malformed %s string: field %s: %s", e.Format, e.Field, e.Reason)
}

// Is matches ErrMinistryFormat.
func (e *FormatError) Is(target error) bool { return target == ErrMinistryFormat }

// selectError maps a SELECT status error to the package errors.
func selectError(err error) error {
	switch {
	case errors.Is(err, apdu.ErrNotFound):
		return fmt.Errorf("%w: %w", ErrNotSSC, err)
	case errors.Is(err, apdu.ErrAppBlocked):
		return fmt.Errorf("%w (%w)", ErrApplicationBlocked, err)
	}
	return fmt.Errorf("sscard: select SSSE: %w", err)
}
