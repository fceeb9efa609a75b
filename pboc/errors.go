package pboc

import (
	"errors"
	"fmt"

	"github.com/sscard/ssc/apdu"
)

// Errors of this package. Card status words are returned as apdu errors
// (errors.Is with apdu.ErrNotFound, ...) wrapped with the step that failed.
var (
	// ErrMalformed is wrapped by every parsing error (see FormatError).
	ErrMalformed = errors.New("pboc: malformed data")
	// ErrNoApplication: no application of the terminal's list is on the
	// card (or every one is blocked or needs a confirmation nobody gave).
	ErrNoApplication = errors.New("pboc: no matching payment application")
	// ErrApplicationBlocked: SELECT answered 6283 (application invalidated).
	ErrApplicationBlocked = errors.New("pboc: payment application blocked")
	// ErrCardBlocked: SELECT answered 6A81 (card blocked or command unsupported).
	ErrCardBlocked = errors.New("pboc: card blocked")
	// ErrPSENotFound: the card has no PSE/PPSE (6A82); selection falls back
	// to the AID list.
	ErrPSENotFound = errors.New("pboc: payment system environment not found")
	// ErrNotSelected: the operation needs a selected application (and, for
	// records, a successful GPO).
	ErrNotSelected = errors.New("pboc: no application selected")
	// ErrMissingData: a data object the step needs is absent (see
	// MissingDataError for the tag).
	ErrMissingData = errors.New("pboc: required data object missing")
	// ErrODANotSupported: neither the card (AIP) nor the data allow any
	// offline data authentication method.
	ErrODANotSupported = errors.New("pboc: offline data authentication not supported by the card")
	// ErrODAData: a data object offline data authentication needs is
	// missing or malformed (8F, 90, 9F46, 93, 9F4B); wraps the cause.
	ErrODAData = errors.New("pboc: offline data authentication data missing or malformed")
)

// FormatError is a parsing failure: What names the object ("FCI",
// "AFL", "record SFI 1 #2", ...). It matches ErrMalformed with errors.Is.
type FormatError struct {
	What string
	Err  error
}

func (e *FormatError) Error() string { return fmt.Sprintf("pboc: malformed %s: %v", e.What, e.Err) }

// Is makes errors.Is(err, ErrMalformed) true.
func (e *FormatError) Is(target error) bool { return target == ErrMalformed }

func (e *FormatError) Unwrap() error { return e.Err }

func malformed(what string, format string, a ...any) error {
	return &FormatError{What: what, Err: fmt.Errorf(format, a...)}
}

// MissingDataError names the missing data object. It matches
// ErrMissingData with errors.Is.
type MissingDataError struct {
	Tag  apdu.Tag
	Step string // what needed it: "account", "ODA", ...
}

func (e *MissingDataError) Error() string {
	return fmt.Sprintf("pboc: %s: data object %s (%s) missing", e.Step, e.Tag, TagName(e.Tag))
}

// Is makes errors.Is(err, ErrMissingData) true.
func (e *MissingDataError) Is(target error) bool { return target == ErrMissingData }
