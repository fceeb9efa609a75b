package apdu

import (
	"errors"
	"fmt"
)

// StatusWord is the SW1-SW2 trailer of a response APDU.
type StatusWord uint16

// Well-known status words (ISO/IEC 7816-4 §5.6 and the card specifications
// this project implements).
const (
	SWOK                     StatusWord = 0x9000
	SWFileInvalidated        StatusWord = 0x6283 // selected file/application invalidated (blocked)
	SWEndOfFile              StatusWord = 0x6282 // end of file reached before Ne bytes
	SWVerifyFailed           StatusWord = 0x6300 // verification failed, no counter given
	SWMemoryFailure          StatusWord = 0x6581
	SWWrongLength            StatusWord = 0x6700
	SWSMNotSupported         StatusWord = 0x6882
	SWCommandIncompatible    StatusWord = 0x6981 // e.g. READ RECORD on a binary file
	SWSecurityStatus         StatusWord = 0x6982
	SWAuthMethodBlocked      StatusWord = 0x6983 // PIN or key blocked
	SWReferenceDataInvalid   StatusWord = 0x6984
	SWConditionsNotSatisfied StatusWord = 0x6985
	SWCommandNotAllowed      StatusWord = 0x6986 // no current EF
	SWSMDataMissing          StatusWord = 0x6987
	SWSMDataIncorrect        StatusWord = 0x6988 // wrong MAC
	SWIncorrectData          StatusWord = 0x6A80
	SWFunctionNotSupported   StatusWord = 0x6A81 // also "card or application blocked" on PBOC SELECT
	SWFileNotFound           StatusWord = 0x6A82
	SWRecordNotFound         StatusWord = 0x6A83
	SWNotEnoughMemory        StatusWord = 0x6A84
	SWIncorrectP1P2          StatusWord = 0x6A86
	SWReferenceNotFound      StatusWord = 0x6A88 // referenced data/key not found
	SWWrongP1P2              StatusWord = 0x6B00
	SWINSNotSupported        StatusWord = 0x6D00
	SWCLANotSupported        StatusWord = 0x6E00
	SWNoPreciseDiagnosis     StatusWord = 0x6F00
)

// SW1 and SW2 return the two bytes.
func (sw StatusWord) SW1() byte { return byte(sw >> 8) }

// SW2 returns the second byte.
func (sw StatusWord) SW2() byte { return byte(sw) }

// OK reports 9000.
func (sw StatusWord) OK() bool { return sw == SWOK }

// String is the hex form, e.g. "6A82".
func (sw StatusWord) String() string { return fmt.Sprintf("%04X", uint16(sw)) }

// Meaning is a short English description of the status word.
func (sw StatusWord) Meaning() string {
	if m, ok := swMeanings[sw]; ok {
		return m
	}
	switch sw.SW1() {
	case 0x61:
		return fmt.Sprintf("%d response bytes still available", sw.SW2())
	case 0x6C:
		return fmt.Sprintf("wrong Le: %d bytes available", sw.SW2())
	case 0x63:
		if sw.SW2()&0xF0 == 0xC0 {
			return fmt.Sprintf("verification failed, %d tries left", sw.SW2()&0x0F)
		}
		return "warning: non-volatile memory changed"
	case 0x62:
		return "warning: non-volatile memory unchanged"
	case 0x64:
		return "execution error: non-volatile memory unchanged"
	case 0x65:
		return "execution error: non-volatile memory changed"
	case 0x67:
		return "wrong length"
	case 0x68:
		return "functions in CLA not supported"
	case 0x69:
		return "command not allowed"
	case 0x6A:
		return "wrong parameters P1-P2"
	}
	return "unknown status"
}

var swMeanings = map[StatusWord]string{
	SWOK:                     "success",
	SWEndOfFile:              "end of file reached before reading Le bytes",
	SWFileInvalidated:        "selected file or application invalidated (blocked)",
	SWVerifyFailed:           "verification failed",
	SWMemoryFailure:          "memory failure",
	SWWrongLength:            "wrong length",
	SWSMNotSupported:         "secure messaging not supported",
	SWCommandIncompatible:    "command incompatible with file structure",
	SWSecurityStatus:         "security status not satisfied",
	SWAuthMethodBlocked:      "authentication method blocked",
	SWReferenceDataInvalid:   "reference data not usable",
	SWConditionsNotSatisfied: "conditions of use not satisfied",
	SWCommandNotAllowed:      "command not allowed (no current EF)",
	SWSMDataMissing:          "expected secure messaging data objects missing",
	SWSMDataIncorrect:        "incorrect secure messaging data objects (wrong MAC)",
	SWIncorrectData:          "incorrect parameters in the command data field",
	SWFunctionNotSupported:   "function not supported (or card blocked)",
	SWFileNotFound:           "file or application not found",
	SWRecordNotFound:         "record not found",
	SWNotEnoughMemory:        "not enough memory space in the file",
	SWIncorrectP1P2:          "incorrect parameters P1-P2",
	SWReferenceNotFound:      "referenced data or key not found",
	SWWrongP1P2:              "wrong parameters P1-P2",
	SWINSNotSupported:        "instruction code not supported",
	SWCLANotSupported:        "class not supported",
	SWNoPreciseDiagnosis:     "no precise diagnosis",
}

// Sentinel errors for classes of status words. A *StatusError or *AuthError
// matches them with errors.Is.
var (
	ErrNotFound               = errors.New("not found")                       // 6A82, 6A83, 6A88
	ErrSecurityStatus         = errors.New("security status not satisfied")   // 6982
	ErrBlocked                = errors.New("authentication method blocked")   // 6983 (PIN blocked)
	ErrWrongPIN               = errors.New("verification failed")             // 63Cx, 6300
	ErrWrongLength            = errors.New("wrong length")                    // 67xx, 6Cxx
	ErrConditionsNotSatisfied = errors.New("conditions of use not satisfied") // 6985
	ErrAppBlocked             = errors.New("application blocked")             // 6283
	ErrWrongParameters        = errors.New("wrong parameters")                // 6A86, 6B00, 6A80
	ErrNotSupported           = errors.New("not supported")                   // 6D00, 6E00, 6A81, 6882
	ErrSecureMessaging        = errors.New("secure messaging error")          // 6987, 6988
	ErrCommandNotAllowed      = errors.New("command not allowed")             // 6981, 6986, 6984
	ErrCardError              = errors.New("card execution error")            // 64xx, 65xx, 6F00, unknown
)

// StatusError is a non-success status word returned by a card.
type StatusError struct {
	SW StatusWord
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("card returned %s: %s", e.SW, e.SW.Meaning())
}

// Is matches the sentinel error of the status word's class.
func (e *StatusError) Is(target error) bool { return swClass(e.SW) == target }

// AuthError is a failed verification (63Cx): Retries is the number of tries
// left, or -1 when the card did not say (6300).
type AuthError struct {
	SW      StatusWord
	Retries int
}

func (e *AuthError) Error() string {
	if e.Retries < 0 {
		return fmt.Sprintf("card returned %s: verification failed", e.SW)
	}
	return fmt.Sprintf("card returned %s: verification failed, %d tries left", e.SW, e.Retries)
}

// Is matches ErrWrongPIN, and ErrBlocked when no tries are left.
func (e *AuthError) Is(target error) bool {
	return target == ErrWrongPIN || (target == ErrBlocked && e.Retries == 0)
}

func swClass(sw StatusWord) error {
	switch sw {
	case SWFileNotFound, SWRecordNotFound, SWReferenceNotFound:
		return ErrNotFound
	case SWSecurityStatus:
		return ErrSecurityStatus
	case SWAuthMethodBlocked:
		return ErrBlocked
	case SWConditionsNotSatisfied:
		return ErrConditionsNotSatisfied
	case SWFileInvalidated:
		return ErrAppBlocked
	case SWIncorrectP1P2, SWWrongP1P2, SWIncorrectData:
		return ErrWrongParameters
	case SWINSNotSupported, SWCLANotSupported, SWFunctionNotSupported, SWSMNotSupported:
		return ErrNotSupported
	case SWSMDataMissing, SWSMDataIncorrect:
		return ErrSecureMessaging
	case SWCommandIncompatible, SWCommandNotAllowed, SWReferenceDataInvalid:
		return ErrCommandNotAllowed
	case SWVerifyFailed:
		return ErrWrongPIN
	}
	switch sw.SW1() {
	case 0x67, 0x6C:
		return ErrWrongLength
	case 0x63:
		if sw.SW2()&0xF0 == 0xC0 {
			return ErrWrongPIN
		}
	}
	return ErrCardError
}

// Err returns nil for 9000 and a typed error otherwise: *AuthError for 63Cx and
// 6300, *StatusError for everything else. Warnings (62xx, other 63xx) are
// errors too: callers that accept a warning check the status word first.
func (sw StatusWord) Err() error {
	if sw == SWOK {
		return nil
	}
	if sw == SWVerifyFailed {
		return &AuthError{SW: sw, Retries: -1}
	}
	if sw.SW1() == 0x63 && sw.SW2()&0xF0 == 0xC0 {
		return &AuthError{SW: sw, Retries: int(sw.SW2() & 0x0F)}
	}
	return &StatusError{SW: sw}
}

// StatusOf extracts the status word from an error returned by this package,
// reporting false when err carries none.
func StatusOf(err error) (StatusWord, bool) {
	var se *StatusError
	if errors.As(err, &se) {
		return se.SW, true
	}
	var ae *AuthError
	if errors.As(err, &ae) {
		return ae.SW, true
	}
	return 0, false
}
