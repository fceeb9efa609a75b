package sscard

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors of Issue.
var (
	// ErrWrongCard: the card's identification code is not the one of the
	// write info; nothing was written.
	ErrWrongCard = errors.New("sscard: the card is not the one the write info is for")
	// ErrAlreadyIssued: the card holds another holder's data; nothing was
	// written (IssueOptions.Force overwrites).
	ErrAlreadyIssued = errors.New("sscard: the card is already issued to another holder")
)

// Issuance steps, as IssueError.Step and JournalEntry.Step name them.
const (
	StepCheck  = "check"  // read the card, compare with the write info
	StepAuth   = "auth"   // EXTERNAL AUTHENTICATE with the write key (kid 04)
	StepWrite  = "write"  // UPDATE RECORD of EF06, then EF05
	StepVerify = "verify" // read everything back (with the HSM) and compare
	StepDone   = "done"
)

// Steps of a batch issuance (package sscard/batch) in the same journal as
// the write sessions of its cards: a line is bound to a card
// (StepBatchAssign, before the first UPDATE RECORD), then issued or failed
// on it. Status ignores them.
const (
	StepBatchAssign = "batch.assign"
	StepBatchIssued = "batch.issued"
	StepBatchFailed = "batch.failed"
)

// IssueOptions are what Issue needs besides the card and the data: the
// two key systems of the write session.
type IssueOptions struct {
	// HSM answers the read-key Step-1 (kid 09 internal, kid 0A external
	// authentication) of the write session's step 1. keysystem.SIM{}
	// for software cards.
	HSM HSM
	// WriteKey answers the write-key request of step 2 (kid 04): the
	// provincial key system. keysystem.SIM{} for software cards;
	// keysystem.HTTP implements both.
	WriteKey WriteKeyHSM
	// Journal, when set, records every step (no secrets, no personal data:
	// record digests only), so an interrupted issuance can be reported.
	Journal Journal
	// Force writes over a card that holds another holder's data.
	Force bool
}

// IssueReport is the outcome of a successful issuance.
type IssueReport struct {
	CardID  string   `json:"card_id"`
	Written []string `json:"written"` // fields, in write order
	// Rewritten says the card already held this holder's data (an issuance
	// run again, e.g. after an interruption); the writes were repeated.
	Rewritten bool `json:"rewritten,omitempty"`
}

// IssueError is a failed issuance: the step, and exactly which fields were
// written before it failed (none for the check and auth steps).
type IssueError struct {
	Step    string
	Written []string
	Err     error
}

func (e *IssueError) Error() string {
	w := "nothing written"
	if len(e.Written) > 0 {
		w = "written: " + strings.Join(e.Written, ", ")
	}
	return fmt.Sprintf("sscard: issuance failed at %s (%s): %v", e.Step, w, e.Err)
}

func (e *IssueError) Unwrap() error { return e.Err }

// Issue writes the holder and card data of w to the card of s (counter
// issuance, ssc-facts §2.4) as one call: the write session (BeginWrite)
// step 1, opts.HSM.Authenticate, step 2 (Authorize: the card must be the
// one w is for and blank or this holder's), opts.WriteKey.AuthorizeWrite,
// step 3 (Write: EF06 then EF05, read back and compared field by field;
// ErrWriteMismatch names the field). Everything runs in one reader
// transaction and the card is never reset inside; a failure returns
// *IssueError with exactly what was written (a key-system failure wraps
// ErrHSM). Writing the same data again is harmless, so an interrupted
// issuance is completed by running it again.
func Issue(ctx context.Context, s *Session, w *WriteInfo, opts IssueOptions) (*IssueReport, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	if opts.HSM == nil || opts.WriteKey == nil {
		return nil, fmt.Errorf("%w: issuance needs the read-key HSM and the write-key system", ErrHSM)
	}
	ws, err := s.BeginWrite(ctx, w, WriteOptions{Force: opts.Force, Journal: opts.Journal})
	if err != nil {
		return nil, err
	}
	return ws.run(ctx, opts)
}

// Update changes some fields of an issued card in one call, like Issue:
// the write session of BeginUpdate (cardID may be nil; update gets the
// card's fields and returns them changed), with both key-system round
// trips of opts. Only the records of fields are written, then read back
// and compared.
func Update(ctx context.Context, s *Session, cardID HexBytes, fields FieldSet, update func(card *WriteInfo) (*WriteInfo, error), opts IssueOptions) (*IssueReport, error) {
	if opts.HSM == nil || opts.WriteKey == nil {
		return nil, fmt.Errorf("%w: writing needs the read-key HSM and the write-key system", ErrHSM)
	}
	ws, err := s.BeginUpdate(ctx, cardID, fields, update, WriteOptions{Journal: opts.Journal})
	if err != nil {
		return nil, err
	}
	return ws.run(ctx, opts)
}

// run completes a session begun in this process with the key systems of
// opts: steps 2 and 3 of Issue.
func (ws *WriteSession) run(ctx context.Context, opts IssueOptions) (*IssueReport, error) {
	ans, err := opts.HSM.Authenticate(ctx, ws.Step1())
	if err != nil {
		return nil, ws.fail(fmt.Errorf("%w: %w", ErrHSM, err))
	}
	req, err := ws.Authorize(ctx, ans)
	if err != nil {
		return nil, err
	}
	wans, err := opts.WriteKey.AuthorizeWrite(ctx, *req)
	if err != nil {
		return nil, ws.fail(fmt.Errorf("%w: %w", ErrHSM, err))
	}
	return ws.Write(ctx, wans)
}

// JournalEntry is one line of an issuance journal. It never holds keys,
// PINs or the written values: a record is identified by its field and the
// first 8 bytes of the SM3 digest of what was written.
type JournalEntry struct {
	Time    time.Time `json:"time"`
	CardID  string    `json:"card_id"`
	Step    string    `json:"step"`
	Field   string    `json:"field,omitempty"`
	File    string    `json:"file,omitempty"`
	Record  int       `json:"record,omitempty"`
	Digest  string    `json:"digest,omitempty"`
	Written []string  `json:"written,omitempty"`
	Error   string    `json:"error,omitempty"`
	// Note qualifies a step (JournalNoteResume, JournalNoteKept,
	// JournalNoteDone); never a secret.
	Note string `json:"note,omitempty"`
	// Line and Reader: the batch steps (StepBatchAssign...) name the
	// input line by a digest of its content (never the content) and the
	// reader that held the card.
	Line   string `json:"line,omitempty"`
	Reader string `json:"reader,omitempty"`
}

// Journal receives the steps of an issuance as they happen.
type Journal interface {
	Record(e JournalEntry) error
}

// journal stamps and forwards entries; the first failure to record is
// returned by add (later ones are dropped with the journal).
type journal struct {
	j      Journal
	cardID string
}

func (j journal) add(e JournalEntry) error {
	if j.j == nil {
		return nil
	}
	e.Time, e.CardID = time.Now().UTC(), j.cardID
	if err := j.j.Record(e); err != nil {
		return fmt.Errorf("sscard: issuance journal: %w", err)
	}
	return nil
}
