package sscd

import (
	"slices"
	"strconv"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/link"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sscard"
)

// sdkErrors maps a code to the sentinels of the SDK that the daemon sends it
// for (internal/daemon/errors.go), so that a client error matches them with
// errors.Is as the library's own error does: a client switches on the
// sentinels it knows from direct use, never on the message.
//
// A code absent here has no SDK sentinel: it is a failure only the daemon
// has, a generic code several causes share, or one whose sentinel lives in
// link/cardlink, which sscd does not import to stay free of the card stack
// (sdkerrors_test.go lists them).
var sdkErrors = map[Code][]error{
	CodeReaderNotFound: {reader.ErrReaderNotFound},
	CodeNoCard:         {reader.ErrNoCard},
	CodeCardRemoved:    {reader.ErrCardRemoved},
	// The card of the insertion the caller meant is gone (swapped, or
	// removed during a session): for the caller, a removed card.
	CodeCardChanged: {reader.ErrCardRemoved},
	// Several causes on the daemon's side; all mean "the reader cannot be
	// used now", and a deadline is a timeout whoever set it.
	CodeReaderUnavailable: {reader.ErrReaderUnavailable},
	CodeTimeout:           {reader.ErrTimeout},
	CodeNeedsHSM:          {sscard.ErrNeedsHSM},
	CodeNotSSC:            {sscard.ErrNotSSC},
	CodeWrongPIN:          {apdu.ErrWrongPIN},
	CodePINBlocked:        {sscard.ErrPINBlocked}, // wraps apdu.ErrBlocked
	CodePINLastTry:        {sscard.ErrPINLastTry},
	CodeHSMError:          {sscard.ErrHSM},
	CodeBankAppBlocked:    {link.ErrBankBlocked},
	CodeNoPKI:             {sscard.ErrNoPKI}, // cardlink.ErrNoPKI comes with it
	CodeNotGenuine:        {sscard.ErrCardNotGenuine},
	CodePINPadUnsupported: {reader.ErrNoPINPad},
	CodeWrongCard:         {sscard.ErrWrongCard},
	CodeAlreadyIssued:     {sscard.ErrAlreadyIssued},
	CodeNotIssued:         {sscard.ErrNotIssued},
	CodePINFormat:         {sscard.ErrPINFormat},
	CodeMinistryFormat:    {sscard.ErrMinistryFormat},
	CodeHSMAnswer:         {sscard.ErrHSMAnswer},
	CodeNotSupported:      {reader.ErrNotSupported},
	CodePINPadCancelled:   {reader.ErrPINPadCancelled},
	CodePINPadTimeout:     {reader.ErrPINPadTimeout},
}

// Unwrap gives the SDK sentinels of e's code and, when the card's status
// word is known, the apdu error of that word (*apdu.AuthError with the tries
// left for 63Cx, *apdu.StatusError otherwise, as apdu.StatusWord.Err), so
// errors.Is and errors.As see the error the daemon had: errors.Is(err,
// sscard.ErrPINLastTry), errors.Is(err, apdu.ErrBlocked), errors.As(err,
// new(*apdu.AuthError)).
func (e *Error) Unwrap() []error {
	errs := slices.Clip(sdkErrors[e.Code]) // append must not write into the table
	// The field of invalid write data and of a read-back mismatch, as the
	// SDK's own typed errors (errors.As), without the values.
	switch {
	case e.Field != "" && e.Code == CodeBadRequest:
		errs = append(errs, &sscard.WriteInfoError{Field: e.Field, Reason: "invalid"})
	case e.Field != "" && e.Code == CodeIssueFailed && e.Step == sscard.StepVerify:
		errs = append(errs, &sscard.WriteMismatchError{Field: e.Field})
	}
	if len(e.SW) == 4 {
		if sw, err := strconv.ParseUint(e.SW, 16, 16); err == nil {
			if serr := apdu.StatusWord(sw).Err(); serr != nil {
				errs = append(errs, serr)
			}
		}
	}
	return errs
}
