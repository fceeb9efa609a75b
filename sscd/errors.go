package sscd

import (
	"errors"
	"fmt"
)

// Code is a stable machine-readable error code of the API.
type Code string

// Error codes. They are part of the API: new ones may be added, existing ones
// keep their meaning.
const (
	CodeBadRequest        Code = "bad_request"        // malformed path, query or body (HTTP 400)
	CodeForbidden         Code = "forbidden"          // peer uid/gid not allowed (403)
	CodeNotFound          Code = "not_found"          // no such endpoint (404)
	CodeMethodNotAllowed  Code = "method_not_allowed" // wrong HTTP method (405)
	CodeReaderNotFound    Code = "reader_not_found"   // 404
	CodeNoCard            Code = "no_card"            // 409
	CodeCardChanged       Code = "card_changed"       // not the expected insertion (409)
	CodeCardRemoved       Code = "card_removed"       // removed during the operation (409)
	CodeBusy              Code = "busy"               // reader busy past the operation timeout (503)
	CodeTimeout           Code = "timeout"            // card operation timed out (504)
	CodeNeedsHSM          Code = "needs_hsm"          // protected data without an HSM (409)
	CodeNotSSC            Code = "not_ssc"            // not a social security card (422)
	CodeReaderUnavailable Code = "reader_unavailable" // reader unplugged, pcscd gone (503)
	CodeCardError         Code = "card_error"         // the card refused (sw set) (422)
	CodeWrongPIN          Code = "wrong_pin"          // sw 63Cx: tries left in SW2 (422)
	CodePINBlocked        Code = "pin_blocked"        // 422
	CodePINLastTry        Code = "pin_last_try"       // one try left and force not set (409)
	CodeHSMError          Code = "hsm_error"          // the configured HSM failed (502)
	CodeSessionNotFound   Code = "session_not_found"  // unknown, finished or expired HSM session (404)
	CodeBankAppMissing    Code = "bank_app_missing"   // level 2 on a card without the bank application (422)
	CodeBankAppBlocked    Code = "bank_app_blocked"   // level 2 with the bank application blocked (422)
	CodeNoPKI             Code = "no_pki"             // the card has no PKI application to sign with (422)
	CodePINPadUnsupported Code = "pinpad_unsupported" // the operation cannot use the reader's keypad (409)
	CodeDisabled          Code = "disabled"           // the endpoint is off in the configuration (403)
	CodeOriginNotAllowed  Code = "origin_not_allowed" // browser bridge: no, null or another Origin (403)
	CodeBadHost           Code = "bad_host"           // browser bridge: Host is not the loopback listener (403)
	CodeWrongCard         Code = "wrong_card"         // issuance: the card is not the one the data is for (409)
	CodeAlreadyIssued     Code = "already_issued"     // issuance: the card holds another holder's data (409)
	CodeIssueFailed       Code = "issue_failed"       // issuance failed after writing started; see the message (502)
	CodeNotIssued         Code = "not_issued"         // PKI personalisation of a card without holder data (409)
	CodePINFormat         Code = "pin_format"         // a PIN is not 6 digits (400)
	CodeMinistryFormat    Code = "ministry_format"    // a key system's answer does not parse (400)
	CodeHSMAnswer         Code = "hsm_answer"         // a key system's answer belongs to another request (400)
	CodeNotSupported      Code = "not_supported"      // the reader cannot do what was asked (400)
	CodePINPadCancelled   Code = "pinpad_cancelled"   // PIN entry cancelled on the reader's keypad (422)
	CodePINPadTimeout     Code = "pinpad_timeout"     // PIN entry timed out on the reader's keypad (422)
	CodePINRateLimited    Code = "pin_rate_limited"   // too many wrong PIN attempts on this card insertion; retry_after (429)
	CodeNotGenuine        Code = "not_genuine"        // the card failed the key system's internal authentication (422)
	CodeInternal          Code = "internal"           // 500
)

// CodeBankAppUnsupported: level 2 on a card whose payment directory lists
// only applications outside the daemon's terminal AID list (the aids
// setting); the message names them (HTTP 422). It refines
// bank_app_missing: the Go client's error matches ErrBankAppMissing too.
const CodeBankAppUnsupported Code = "bank_app_unsupported"

// CodeTooMany: a connection cap of the daemon (per listener, per peer uid,
// event streams) was reached (HTTP 429); try again later.
const CodeTooMany Code = "too_many_connections"

// Sentinels, one per code; *Error matches the one of its code with errors.Is.
var (
	ErrBadRequest        = errors.New("sscd: bad request")
	ErrForbidden         = errors.New("sscd: forbidden")
	ErrNotFound          = errors.New("sscd: no such endpoint")
	ErrMethodNotAllowed  = errors.New("sscd: method not allowed")
	ErrReaderNotFound    = errors.New("sscd: reader not found")
	ErrNoCard            = errors.New("sscd: no card in the reader")
	ErrCardChanged       = errors.New("sscd: the card is not the expected one")
	ErrCardRemoved       = errors.New("sscd: card removed")
	ErrBusy              = errors.New("sscd: reader busy")
	ErrTimeout           = errors.New("sscd: operation timed out")
	ErrNeedsHSM          = errors.New("sscd: protected data needs HSM authentication")
	ErrNotSSC            = errors.New("sscd: not a social security card")
	ErrReaderUnavailable = errors.New("sscd: reader unavailable")
	ErrCardError         = errors.New("sscd: card error")
	ErrWrongPIN          = errors.New("sscd: wrong PIN")
	ErrPINBlocked        = errors.New("sscd: PIN blocked")
	ErrPINLastTry        = errors.New("sscd: only one PIN try left")
	ErrHSM               = errors.New("sscd: HSM error")
	ErrSessionNotFound   = errors.New("sscd: HSM session not found")
	ErrBankAppMissing    = errors.New("sscd: no bank application on the card")
	ErrBankAppBlocked    = errors.New("sscd: bank application blocked")
	ErrNoPKI             = errors.New("sscd: no PKI application on the card")
	ErrPINPadUnsupported = errors.New("sscd: the reader's keypad cannot be used for this")
	ErrDisabled          = errors.New("sscd: endpoint disabled")
	ErrOriginNotAllowed  = errors.New("sscd: origin not allowed")
	ErrBadHost           = errors.New("sscd: bad Host header")
	ErrWrongCard         = errors.New("sscd: not the card the data is for")
	ErrAlreadyIssued     = errors.New("sscd: card already issued to another holder")
	ErrIssueFailed       = errors.New("sscd: issuance failed")
	ErrNotIssued         = errors.New("sscd: card not issued yet")
	ErrPINFormat         = errors.New("sscd: PIN must be 6 digits")
	ErrMinistryFormat    = errors.New("sscd: malformed key system answer")
	ErrHSMAnswer         = errors.New("sscd: key system answer of another request")
	ErrNotSupported      = errors.New("sscd: not supported by the reader")
	ErrPINPadCancelled   = errors.New("sscd: PIN entry cancelled on the keypad")
	ErrPINPadTimeout     = errors.New("sscd: PIN entry timed out on the keypad")
	ErrPINRateLimited    = errors.New("sscd: too many wrong PIN attempts on this card")
	ErrNotGenuine        = errors.New("sscd: the card failed internal authentication")
	ErrInternal          = errors.New("sscd: internal error")
	ErrTooMany           = errors.New("sscd: too many connections")
)

// ErrBankAppUnsupported: the card's payment applications are all outside
// the terminal's AID list.
var ErrBankAppUnsupported = errors.New("sscd: no bank application the terminal's AID list accepts")

var sentinels = map[Code]error{
	CodeBadRequest:        ErrBadRequest,
	CodeForbidden:         ErrForbidden,
	CodeNotFound:          ErrNotFound,
	CodeMethodNotAllowed:  ErrMethodNotAllowed,
	CodeReaderNotFound:    ErrReaderNotFound,
	CodeNoCard:            ErrNoCard,
	CodeCardChanged:       ErrCardChanged,
	CodeCardRemoved:       ErrCardRemoved,
	CodeBusy:              ErrBusy,
	CodeTimeout:           ErrTimeout,
	CodeNeedsHSM:          ErrNeedsHSM,
	CodeNotSSC:            ErrNotSSC,
	CodeReaderUnavailable: ErrReaderUnavailable,
	CodeCardError:         ErrCardError,
	CodeWrongPIN:          ErrWrongPIN,
	CodePINBlocked:        ErrPINBlocked,
	CodePINLastTry:        ErrPINLastTry,
	CodeHSMError:          ErrHSM,
	CodeSessionNotFound:   ErrSessionNotFound,
	CodeBankAppMissing:    ErrBankAppMissing,
	CodeBankAppBlocked:    ErrBankAppBlocked,
	CodeNoPKI:             ErrNoPKI,
	CodePINPadUnsupported: ErrPINPadUnsupported,
	CodeDisabled:          ErrDisabled,
	CodeOriginNotAllowed:  ErrOriginNotAllowed,
	CodeBadHost:           ErrBadHost,
	CodeWrongCard:         ErrWrongCard,
	CodeAlreadyIssued:     ErrAlreadyIssued,
	CodeIssueFailed:       ErrIssueFailed,
	CodeNotIssued:         ErrNotIssued,
	CodePINFormat:         ErrPINFormat,
	CodeMinistryFormat:    ErrMinistryFormat,
	CodeHSMAnswer:         ErrHSMAnswer,
	CodeNotSupported:      ErrNotSupported,
	CodePINPadCancelled:   ErrPINPadCancelled,
	CodePINPadTimeout:     ErrPINPadTimeout,
	CodePINRateLimited:    ErrPINRateLimited,
	CodeNotGenuine:        ErrNotGenuine,
	CodeInternal:          ErrInternal,
	CodeTooMany:           ErrTooMany,

	CodeBankAppUnsupported: ErrBankAppUnsupported,
}

var statuses = map[Code]int{
	CodeBadRequest:        400,
	CodeForbidden:         403,
	CodeNotFound:          404,
	CodeMethodNotAllowed:  405,
	CodeReaderNotFound:    404,
	CodeNoCard:            409,
	CodeCardChanged:       409,
	CodeCardRemoved:       409,
	CodeBusy:              503,
	CodeTimeout:           504,
	CodeNeedsHSM:          409,
	CodeNotSSC:            422,
	CodeReaderUnavailable: 503,
	CodeCardError:         422,
	CodeWrongPIN:          422,
	CodePINBlocked:        422,
	CodePINLastTry:        409,
	CodeHSMError:          502,
	CodeSessionNotFound:   404,
	CodeBankAppMissing:    422,
	CodeBankAppBlocked:    422,
	CodeNoPKI:             422,
	CodePINPadUnsupported: 409,
	CodeDisabled:          403,
	CodeOriginNotAllowed:  403,
	CodeBadHost:           403,
	CodeWrongCard:         409,
	CodeAlreadyIssued:     409,
	CodeIssueFailed:       502,
	CodeNotIssued:         409,
	CodePINFormat:         400,
	CodeMinistryFormat:    400,
	CodeHSMAnswer:         400,
	CodeNotSupported:      400,
	CodePINPadCancelled:   422,
	CodePINPadTimeout:     422,
	CodePINRateLimited:    429,
	CodeNotGenuine:        422,
	CodeInternal:          500,
	CodeTooMany:           429,

	CodeBankAppUnsupported: 422,
}

// HTTPStatus is the HTTP status the daemon answers with for code (500 for an
// unknown one).
func (c Code) HTTPStatus() int {
	if s, ok := statuses[c]; ok {
		return s
	}
	return 500
}

// Error is an API error: the "error" object of the envelope.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	// SW is the card's status word (4 hex digits) when the card caused it.
	SW string `json:"sw,omitempty"`
	// RetryAfter, with pin_rate_limited, is how many seconds to wait
	// before a PIN may be presented to the card again (also the
	// Retry-After header).
	RetryAfter int `json:"retry_after,omitempty"`
	// Field names the write-info field (sscard's JSON name) that invalid
	// write data or a read-back mismatch is about — never its value.
	Field string `json:"field,omitempty"`
	// Step is the step of a write session or issuance that failed
	// (sscard.StepCheck, StepAuth, StepWrite, StepVerify, pki.*).
	Step string `json:"step,omitempty"`
	// Status is the HTTP status it came with (client side only).
	Status int `json:"-"`
}

// Envelope is the JSON body of every failed request.
type Envelope struct {
	Error *Error `json:"error"`
}

func (e *Error) Error() string {
	s := fmt.Sprintf("sscd: %s: %s", e.Code, e.Message)
	if e.SW != "" {
		s += " (SW " + e.SW + ")"
	}
	return s
}

// refines maps a code to the older, broader code it refines: its error
// matches that code's sentinel too, so a client written before the finer
// code keeps working.
var refines = map[Code]Code{
	CodeBankAppUnsupported: CodeBankAppMissing,
}

// Is matches the sentinel of e's code (ErrInternal for an unknown code) and
// of the code it refines; the SDK's sentinels are matched through Unwrap
// (sdkerrors.go).
func (e *Error) Is(target error) bool {
	s, ok := sentinels[e.Code]
	if !ok {
		s = ErrInternal
	}
	if broad, ok := refines[e.Code]; ok && target == sentinels[broad] {
		return true
	}
	return target == s
}

// Errorf builds an *Error.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}
