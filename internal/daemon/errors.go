package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/link"
	"github.com/sscard/ssc/link/cardlink"
	"github.com/sscard/ssc/pboc"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
)

// apiError maps an error of the reader, apdu and sscard layers to the API
// error a client sees. The order matters: the most specific sentinels first
// (sscard.ErrNeedsHSM also matches apdu.ErrSecurityStatus). A sentinel a
// client must tell apart gets a code of its own, which the Go client maps
// back (sscd/sdkerrors.go): clients never match message text.
func apiError(err error) *sscd.Error {
	var e *sscd.Error
	if errors.As(err, &e) {
		return e
	}
	code := sscd.CodeInternal
	var ie *sscard.IssueError
	issueStep := ""
	if errors.As(err, &ie) {
		issueStep = ie.Step
	}
	switch {
	// The PIN guard's refusals first: they may come from an issuance step
	// (the PKI admin PIN) and must not read as issue_failed.
	case errors.Is(err, sscard.ErrPINLastTry):
		code = sscd.CodePINLastTry
	case errors.Is(err, sscard.ErrPINBlocked) && !errors.Is(err, reader.ErrCardRemoved):
		code = sscd.CodePINBlocked
	case errors.Is(err, sscard.ErrWriteInfo):
		code = sscd.CodeBadRequest
	case errors.Is(err, sscard.ErrWrongCard):
		code = sscd.CodeWrongCard
	case errors.Is(err, sscard.ErrAlreadyIssued):
		code = sscd.CodeAlreadyIssued
	case errors.Is(err, sscard.ErrNotIssued):
		code = sscd.CodeNotIssued
	case strings.HasPrefix(issueStep, "pki.") && errors.As(err, new(*apdu.AuthError)):
		code = sscd.CodeWrongPIN // the admin PIN or the master key: sw says the tries left
	case issueStep == sscard.StepAuth && !errors.Is(err, reader.ErrCardRemoved):
		// The card refused the key system's write cryptogram (63Cx here is
		// the key's try counter, not a PIN).
		code = sscd.CodeHSMError
	case (issueStep == sscard.StepWrite || issueStep == sscard.StepVerify || strings.HasPrefix(issueStep, "pki.")) && !errors.Is(err, reader.ErrCardRemoved):
		code = sscd.CodeIssueFailed
	case errors.Is(err, cardlink.ErrRequest):
		code = sscd.CodeBadRequest
	case errors.As(err, new(*pboc.UnsupportedError)):
		// Before ErrNoBankApp, which it also is: the card has payment
		// applications, none in the configured terminal AID list (aids).
		code = sscd.CodeBankAppUnsupported
	case errors.Is(err, cardlink.ErrNoBankApp):
		code = sscd.CodeBankAppMissing
	case errors.Is(err, link.ErrBankBlocked):
		code = sscd.CodeBankAppBlocked
	case errors.Is(err, cardlink.ErrNoPKI), errors.Is(err, sscard.ErrNoPKI):
		code = sscd.CodeNoPKI
	case errors.Is(err, reader.ErrCardRemoved), errors.Is(err, reader.ErrNoCard):
		code = sscd.CodeCardRemoved
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, reader.ErrTimeout):
		code = sscd.CodeTimeout
	case errors.Is(err, context.Canceled):
		code = sscd.CodeTimeout // the client went away or the daemon is stopping
	case errors.Is(err, reader.ErrReaderNotFound):
		code = sscd.CodeReaderNotFound
	case errors.Is(err, reader.ErrReaderUnavailable), errors.Is(err, reader.ErrServiceUnavailable),
		errors.Is(err, reader.ErrNoReaders), errors.Is(err, reader.ErrProtocol):
		code = sscd.CodeReaderUnavailable
	case errors.Is(err, reader.ErrSharingViolation), errors.Is(err, sscard.ErrBusy):
		code = sscd.CodeBusy
	case errors.Is(err, reader.ErrCardReset), errors.Is(err, reader.ErrCardUnresponsive):
		code = sscd.CodeCardError
	case errors.Is(err, reader.ErrNoPINPad):
		code = sscd.CodePINPadUnsupported
	case errors.Is(err, reader.ErrNotSupported):
		code = sscd.CodeNotSupported
	case errors.Is(err, sscard.ErrNeedsHSM):
		code = sscd.CodeNeedsHSM
	case errors.Is(err, sscard.ErrNotSSC):
		code = sscd.CodeNotSSC
	case errors.Is(err, sscard.ErrPINFormat):
		code = sscd.CodePINFormat
	case errors.Is(err, sscard.ErrMinistryFormat):
		code = sscd.CodeMinistryFormat
	case errors.Is(err, sscard.ErrHSMAnswer):
		code = sscd.CodeHSMAnswer
	case errors.Is(err, sscard.ErrPINLastTry):
		code = sscd.CodePINLastTry
	case errors.Is(err, sscard.ErrPINBlocked):
		code = sscd.CodePINBlocked
	case errors.Is(err, sscard.ErrHSM):
		code = sscd.CodeHSMError
	case errors.As(err, new(*apdu.AuthError)):
		code = sscd.CodeWrongPIN
	case errors.Is(err, reader.ErrPINPadCancelled):
		code = sscd.CodePINPadCancelled
	case errors.Is(err, reader.ErrPINPadTimeout):
		code = sscd.CodePINPadTimeout
	case errors.Is(err, sscard.ErrCardNotGenuine) && !errors.Is(err, reader.ErrCardRemoved):
		code = sscd.CodeNotGenuine
	case errors.Is(err, sscard.ErrApplicationBlocked),
		errors.Is(err, sscard.ErrMalformedRecord), errors.Is(err, apdu.ErrMalformedResponse),
		errors.Is(err, apdu.ErrMalformedTLV):
		code = sscd.CodeCardError
	case errors.As(err, new(*apdu.StatusError)):
		code = sscd.CodeCardError
	}
	out := &sscd.Error{Code: code, Message: err.Error(), Step: issueStep}
	var wie *sscard.WriteInfoError
	var wme *sscard.WriteMismatchError
	switch {
	case errors.As(err, &wie):
		out.Field = wie.Field
	case errors.As(err, &wme):
		out.Field = wme.Field
	}
	if sw, ok := apdu.StatusOf(err); ok {
		out.SW = fmt.Sprintf("%04X", uint16(sw))
	}
	return out
}
