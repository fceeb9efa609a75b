package batch

import (
	"context"
	"errors"

	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sscard"
)

// Reasons of failed and skipped events (Event.Reason): stable codes for
// scripts; Event.Error has the error text, which names fields, never values.
const (
	ReasonNotBlank      = "not_blank"         // the card holds another holder: never overwritten
	ReasonNoLine        = "no_line"           // no line of the input is for this card
	ReasonCardDone      = "card_done"         // the journal has this card issued with a line of this batch
	ReasonCardBound     = "card_bound"        // the journal binds the card to a line not in this input
	ReasonLineDone      = "line_done"         // the line is issued (journal)
	ReasonCardRemoved   = "card_removed"      // the card was pulled
	ReasonUnresponsive  = "card_unresponsive" // the card stopped answering (often: pulled mid-command)
	ReasonReader        = "reader"            // the reader or pcscd failed
	ReasonNotGenuine    = "not_genuine"       // internal authentication failed
	ReasonWrongCard     = "wrong_card"        // the card is not the line's
	ReasonHSM           = "hsm"               // a key system failed or answered badly
	ReasonWriteMismatch = "write_mismatch"    // read back differs (names the field)
	ReasonWriteInfo     = "write_info"        // the line was refused
	ReasonInterrupted   = "interrupted"       // the batch was interrupted before the card was written
	ReasonJournal       = "journal"           // the journal could not be written: the batch stops
	ReasonCard          = "card"              // any other card error (status word...)
	ReasonNotPresented  = "card_not_present"  // a line bound to a card that was not in a reader
)

// reasonOf classifies err.
func reasonOf(err error) string {
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return ReasonInterrupted
	case errors.Is(err, sscard.ErrAlreadyIssued):
		return ReasonNotBlank
	case errors.Is(err, reader.ErrCardRemoved) || errors.Is(err, reader.ErrNoCard) || errors.Is(err, reader.ErrCardReset):
		return ReasonCardRemoved
	case errors.Is(err, reader.ErrCardUnresponsive):
		return ReasonUnresponsive
	case errors.Is(err, reader.ErrServiceUnavailable) || errors.Is(err, reader.ErrReaderUnavailable) ||
		errors.Is(err, reader.ErrReaderNotFound) || errors.Is(err, reader.ErrClosed) ||
		errors.Is(err, reader.ErrTimeout) ||
		errors.Is(err, reader.ErrSharingViolation) || errors.Is(err, reader.ErrProtocol):
		return ReasonReader
	case errors.Is(err, sscard.ErrCardNotGenuine):
		return ReasonNotGenuine
	case errors.Is(err, sscard.ErrWrongCard):
		return ReasonWrongCard
	case errors.Is(err, sscard.ErrHSM) || errors.Is(err, sscard.ErrHSMAnswer):
		return ReasonHSM
	case errors.Is(err, sscard.ErrWriteMismatch):
		return ReasonWriteMismatch
	case errors.Is(err, sscard.ErrWriteInfo):
		return ReasonWriteInfo
	}
	return ReasonCard
}
