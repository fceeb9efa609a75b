package batch

import (
	"context"
	"fmt"

	"github.com/sscard/ssc/sscard"
)

// Card is the card in one reader as a batch issues it. A Card is used by one
// worker at a time.
type Card interface {
	// Reader is the reader's name (for reports).
	Reader() string
	// CardID reads the card identification code (a free field).
	CardID(ctx context.Context) ([]byte, error)
	// Prepare runs a write session of w up to the write: steps 1 and 2
	// (the card must be w's and blank or this holder's: sscard.ErrWrongCard,
	// sscard.ErrAlreadyIssued) and the write-key answer. Nothing is written.
	Prepare(ctx context.Context, w *sscard.WriteInfo) (Prepared, error)
}

// Prepared is a write session ready to write: the card is held (one
// transaction, no reset) until Write or Abort.
type Prepared interface {
	// Write is step 3: EXTERNAL AUTHENTICATE with the write key, UPDATE
	// RECORD, read back and compare. Failures are *sscard.IssueError.
	Write(ctx context.Context) (*sscard.IssueReport, error)
	// Abort ends the session without writing.
	Abort()
}

// SessionCard is a Card on an open sscard.Session (a reader of this
// process), issued with the key systems of IssueOptions. Journal, when
// set, receives the steps of every write session (sscard's entries).
type SessionCard struct {
	Name     string
	Session  *sscard.Session
	HSM      sscard.HSM
	WriteKey sscard.WriteKeyHSM
	Journal  sscard.Journal
}

// Reader implements Card.
func (c *SessionCard) Reader() string { return c.Name }

// CardID implements Card.
func (c *SessionCard) CardID(ctx context.Context) ([]byte, error) {
	info, err := c.Session.Read(ctx, sscard.ReadOptions{Fields: sscard.FieldCardID})
	if err != nil {
		return nil, err
	}
	return info.CardID, nil
}

// Prepare implements Card.
func (c *SessionCard) Prepare(ctx context.Context, w *sscard.WriteInfo) (Prepared, error) {
	if c.HSM == nil || c.WriteKey == nil {
		return nil, fmt.Errorf("%w: issuance needs the read-key HSM and the write-key system", sscard.ErrHSM)
	}
	ws, err := c.Session.BeginWrite(ctx, w, sscard.WriteOptions{Journal: c.Journal})
	if err != nil {
		return nil, err
	}
	ans, err := c.HSM.Authenticate(ctx, ws.Step1())
	if err != nil {
		ws.Abort()
		return nil, fmt.Errorf("%w: %w", sscard.ErrHSM, err)
	}
	req, err := ws.Authorize(ctx, ans)
	if err != nil {
		return nil, err
	}
	wans, err := c.WriteKey.AuthorizeWrite(ctx, *req)
	if err != nil {
		ws.Abort()
		return nil, fmt.Errorf("%w: %w", sscard.ErrHSM, err)
	}
	return &sessionPrepared{ws: ws, ans: wans}, nil
}

type sessionPrepared struct {
	ws  *sscard.WriteSession
	ans sscard.WriteKeyAnswer
}

func (p *sessionPrepared) Write(ctx context.Context) (*sscard.IssueReport, error) {
	return p.ws.Write(ctx, p.ans)
}

func (p *sessionPrepared) Abort() { p.ws.Abort() }
