package ministry

import (
	"context"
	"errors"
	"fmt"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
)

// Code is a libsscard return value: 0 on success, negative on failure.
// The values are part of the C contract (sscard.h, docs/c-api.md): never
// renumber one.
type Code int

// Return codes.
const (
	OK Code = 0

	// Arguments and configuration.
	ErrNullArg       Code = -1 // a pointer argument is NULL (nothing written)
	ErrIType         Code = -2 // iType is not 1..4
	ErrOutputTooLong Code = -3 // the answer would exceed the documented maximum of pOutInfo
	ErrConfig        Code = -4 // the configuration (environment or file) is invalid
	ErrArgFormat     Code = -5 // an input string is malformed or too long (pCardInfo, iAuthType, pInData...)
	ErrAddress       Code = -6 // pFileAddr does not follow the SIM address syntax
	ErrKeyFormat     Code = -7 // pKey (a key-system answer) is malformed or too long

	// Readers and cards.
	ErrNoReader          Code = -10 // no reader, or the configured reader does not exist
	ErrNoCard            Code = -11 // no card in the reader(s) of iType
	ErrReaderUnavailable Code = -12 // pcscd not running, reader unplugged, daemon down
	ErrCardRemoved       Code = -13 // the card was removed or reset during the call
	ErrBusy              Code = -14 // the reader stayed busy past the operation timeout, or an HSM step is pending
	ErrTimeout           Code = -15 // the card or reader did not answer in time
	ErrNotSSC            Code = -16 // not a social security card (no SSSE)
	ErrCardError         Code = -17 // the card refused a command (status word in the message)
	ErrWrongCard         Code = -18 // pCardInfo names another card than the one in the reader
	ErrCardBlocked       Code = -19 // the SSSE application is blocked

	// HSM (key system) flow.
	ErrNeedsHSM       Code = -20 // protected data of a 3rd-gen card requested without HSM authentication
	ErrNotGenuine     Code = -21 // the card failed internal authentication: not genuine; nothing read
	ErrHSMAnswer      Code = -22 // the key system's answer belongs to another request (or a wrong key)
	ErrNoStep1        Code = -23 // step 2/3 without a pending step 1, or the step timed out
	ErrHSM            Code = -24 // the configured key system failed, or none is configured
	ErrExternalAuth   Code = -25 // the card rejected the key system's cryptogram (external authentication)
	ErrStepOutOfOrder Code = -26 // a step of another flow is pending (e.g. iReadCard_HSM_Step2 after iReadCardBas_HSM_Step1)

	// PIN.
	ErrWrongPIN        Code = -30 // wrong PIN; tries left in the message
	ErrPINBlocked      Code = -31 // the PIN is blocked
	ErrPINLastTry      Code = -32 // one try left: refused so the PIN is not blocked by mistake
	ErrNoPINPad        Code = -33 // the reader has no keypad (the ministry PIN functions need one)
	ErrPINPadCancelled Code = -34 // PIN entry cancelled on the keypad
	ErrPINPadTimeout   Code = -35 // PIN entry timed out on the keypad
	ErrPINFormat       Code = -36 // a PIN argument is not 6 digits

	// PKI.
	ErrNoPKI            Code = -40 // the card has no usable PKI application (or key)
	ErrSignatureInvalid Code = -41 // the signature does not verify
	ErrCertificate      Code = -42 // pCert is not a base64 SM2 certificate

	// Policy.
	ErrWriteDisabled Code = -50 // writing is off in the configuration
	ErrNotSupported  Code = -51 // not supported (the old purse functions)
	ErrNotWritable   Code = -52 // pFileAddr names a data item that iWriteCard cannot write
	ErrWriteData     Code = -53 // pWriteData does not give one valid value per item (the field in the message)
	ErrWriteMismatch Code = -54 // a written item reads back different (the field in the message)

	ErrInternal Code = -99 // internal error (a panic was caught); the host process is unaffected
)

// messages are the fixed one-line messages of each code. They never carry
// card data, PINs or keys: a message names what failed, not values.
var messages = map[Code]string{
	OK:                   "OK",
	ErrNullArg:           "NULL pointer argument",
	ErrIType:             "iType must be 1 (contact), 2 (contactless), 3 or 4 (auto)",
	ErrOutputTooLong:     "answer longer than the output buffer maximum",
	ErrConfig:            "invalid libsscard configuration",
	ErrArgFormat:         "malformed or too long input argument",
	ErrAddress:           "malformed pFileAddr",
	ErrKeyFormat:         "malformed pKey",
	ErrNoReader:          "reader not found",
	ErrNoCard:            "no card in the reader",
	ErrReaderUnavailable: "reader service unavailable",
	ErrCardRemoved:       "card removed during the operation",
	ErrBusy:              "reader busy",
	ErrTimeout:           "operation timed out",
	ErrNotSSC:            "not a social security card",
	ErrCardError:         "card error",
	ErrWrongCard:         "the card is not the one pCardInfo names",
	ErrCardBlocked:       "SSSE application blocked",
	ErrNeedsHSM:          "protected data needs the HSM step",
	ErrNotGenuine:        "card failed internal authentication (not genuine)",
	ErrHSMAnswer:         "key-system answer does not match the request",
	ErrNoStep1:           "no pending step 1 (never called, finished or timed out)",
	ErrHSM:               "key system error",
	ErrExternalAuth:      "card rejected the key-system cryptogram",
	ErrStepOutOfOrder:    "another HSM flow is pending",
	ErrWrongPIN:          "wrong PIN",
	ErrPINBlocked:        "PIN blocked",
	ErrPINLastTry:        "one PIN try left; refused",
	ErrNoPINPad:          "the reader has no PIN pad",
	ErrPINPadCancelled:   "PIN entry cancelled",
	ErrPINPadTimeout:     "PIN entry timed out",
	ErrPINFormat:         "PIN must be 6 digits",
	ErrNoPKI:             "no PKI application or key on the card",
	ErrSignatureInvalid:  "signature does not verify",
	ErrCertificate:       "malformed certificate",
	ErrWriteDisabled:     "writing is disabled in the configuration",
	ErrNotSupported:      "not supported",
	ErrNotWritable:       "data item not writable",
	ErrWriteData:         "invalid pWriteData",
	ErrWriteMismatch:     "the card does not hold what was written",
	ErrInternal:          "internal error",
}

// Codes returns every code in ascending order of magnitude (for the docs
// and the header test).
func Codes() []Code {
	out := make([]Code, 0, len(messages))
	for c := OK; c >= ErrInternal; c-- {
		if _, ok := messages[c]; ok {
			out = append(out, c)
		}
	}
	return out
}

// Message is the fixed message of c.
func (c Code) Message() string {
	if m, ok := messages[c]; ok {
		return m
	}
	return fmt.Sprintf("error %d", int(c))
}

// Result is the outcome of one call: Code, and Out, the text for pOutInfo
// (the answer on success, a one-line message on failure).
type Result struct {
	Code Code
	Out  string
}

// fail is a Result of code with its message and an optional detail that
// is safe to show (a status word, tries left, a field name).
func fail(code Code, detail string) Result {
	m := code.Message()
	if detail != "" {
		m += ": " + detail
	}
	return Result{Code: code, Out: m}
}

// errorResult maps an error of the SDK, the reader layer or the sscd client
// (whose errors match the same sentinels) to its code. The detail shown is
// the status word or the tries left, never the error text (which may name
// data).
func errorResult(err error) Result {
	var ae *apdu.AuthError
	var se *apdu.StatusError
	detail := ""
	if errors.As(err, &ae) {
		detail = fmt.Sprintf("%d tries left", ae.Retries)
	} else if errors.As(err, &se) {
		detail = "SW " + se.SW.String()
	}
	return fail(codeOf(err), detail)
}

func codeOf(err error) Code {
	var ae *apdu.AuthError
	switch {
	case errors.Is(err, errArg):
		return ErrArgFormat
	case errors.Is(err, errWrongCard), errors.Is(err, sscard.ErrWrongCard):
		return ErrWrongCard
	case errors.Is(err, sscard.ErrNoPKI):
		return ErrNoPKI
	case errors.Is(err, ErrAddressSyntax):
		return ErrAddress
	case errors.Is(err, sscard.ErrPINLastTry):
		return ErrPINLastTry
	case errors.Is(err, sscard.ErrPINFormat):
		return ErrPINFormat
	case errors.Is(err, sscard.ErrPINBlocked):
		return ErrPINBlocked
	case errors.Is(err, reader.ErrNoPINPad), sscd.IsCode(err, sscd.CodePINPadUnsupported):
		return ErrNoPINPad
	case errors.Is(err, reader.ErrPINPadCancelled):
		return ErrPINPadCancelled
	case errors.Is(err, reader.ErrPINPadTimeout):
		return ErrPINPadTimeout
	case errors.Is(err, sscard.ErrCardNotGenuine):
		return ErrNotGenuine
	case errors.Is(err, sscard.ErrHSMAnswer):
		return ErrHSMAnswer
	case errors.Is(err, sscard.ErrHSM):
		return ErrHSM
	case errors.Is(err, sscard.ErrNeedsHSM):
		return ErrNeedsHSM
	case errors.Is(err, sscard.ErrNotSSC):
		return ErrNotSSC
	case errors.Is(err, sscard.ErrApplicationBlocked):
		return ErrCardBlocked
	case errors.Is(err, sscard.ErrMinistryFormat):
		return ErrKeyFormat
	case errors.Is(err, sscard.ErrSignatureInvalid):
		return ErrSignatureInvalid
	case errors.Is(err, sm.ErrSM2NoKey):
		return ErrNoPKI
	case errors.Is(err, sscard.ErrBusy):
		return ErrBusy
	case errors.As(err, &ae):
		return ErrWrongPIN
	case errors.Is(err, reader.ErrCardRemoved), errors.Is(err, reader.ErrCardReset),
		sscd.IsCode(err, sscd.CodeCardRemoved), sscd.IsCode(err, sscd.CodeCardChanged):
		return ErrCardRemoved
	case errors.Is(err, reader.ErrNoCard), sscd.IsCode(err, sscd.CodeNoCard):
		return ErrNoCard
	case errors.Is(err, reader.ErrReaderNotFound), errors.Is(err, reader.ErrNoReaders),
		errors.Is(err, reader.ErrAmbiguousReader), sscd.IsCode(err, sscd.CodeReaderNotFound):
		return ErrNoReader
	case errors.Is(err, reader.ErrTimeout), errors.Is(err, context.DeadlineExceeded),
		sscd.IsCode(err, sscd.CodeTimeout):
		return ErrTimeout
	case sscd.IsCode(err, sscd.CodeBusy), errors.Is(err, reader.ErrSharingViolation):
		return ErrBusy
	case sscd.IsCode(err, sscd.CodeSessionNotFound):
		return ErrNoStep1
	case sscd.IsCode(err, sscd.CodeNoPKI):
		return ErrNoPKI
	case sscd.IsCode(err, sscd.CodeHSMError):
		return ErrHSM
	case sscd.IsCode(err, sscd.CodeNotSupported), errors.Is(err, reader.ErrNotSupported):
		return ErrNotSupported
	case errors.Is(err, reader.ErrServiceUnavailable), errors.Is(err, reader.ErrReaderUnavailable),
		errors.Is(err, reader.ErrClosed), errors.Is(err, reader.ErrCardUnresponsive),
		sscd.IsCode(err, sscd.CodeReaderUnavailable):
		return ErrReaderUnavailable
	}
	if _, ok := apdu.StatusOf(err); ok {
		return ErrCardError
	}
	var de *sscd.Error
	if errors.As(err, &de) {
		return ErrCardError
	}
	return ErrReaderUnavailable
}
