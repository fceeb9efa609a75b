package sscard

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	"github.com/emmansun/gmsm/sm3"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/reader"
)

// ErrWriteSessionAborted is the error journaled for a write session ended by
// Abort.
var ErrWriteSessionAborted = errors.New("sscard: write session aborted")

// WriteOptions tune a write session.
type WriteOptions struct {
	// Force writes over a card that holds another holder's data.
	Force bool
	// Journal, when set, records every step (no secrets, no personal data:
	// record digests only), so an interrupted issuance can be reported.
	Journal Journal
}

// Write session states.
const (
	wsBegun      = iota + 1 // step 1 done: waiting for the read-key answer
	wsAuthorized            // step 2 done: waiting for the write-key answer
	wsDone                  // written, failed or aborted
)

// WriteSession is a counter issuance in the ministry's multi-step form
// (docs/issuance.md, the write session; ssc-facts §2.4 WriteCard:1..5),
// with two key-system round trips between its steps. It holds one reader
// transaction from BeginWrite until Write, a failure or Abort: the card is
// never reset and receives nothing else in between (other operations on
// the Session get ErrBusy). After the end every method gives
// ErrRequestDone.
type WriteSession struct {
	s       *Session
	w       *WriteInfo
	recs    []WriteRecord
	opts    WriteOptions
	j       journal
	cardID  string // uppercase hex
	state   int
	step1   Step1
	req     WriteKeyRequest
	before  *BasicInfo
	read    bool // before holds every field (step 2 read them)
	rewrite bool
	// A partial write (BeginUpdate): update gives the data in step 2;
	// only the records of only are written and compared.
	update func(*WriteInfo) (*WriteInfo, error)
	only   FieldSet
	// A PIN reset (BeginResetPIN): the new PIN in BCD, sent in step 3
	// instead of records; cleared once sent or at the end.
	newPIN []byte
}

// BeginWrite is step 1 of a write session. It validates w (nothing is sent
// to the card when it is invalid; the error wraps ErrWriteInfo), begins a
// reader transaction and keeps it, selects SSSE, reads the free fields —
// the card identification code must be w's (ErrWrongCard) —, issues GET
// CHALLENGE four times (O1, F1, O2, F2) and builds the Step-1 string for
// the read key (Step1). A failure on the card ends the transaction and
// returns *IssueError (step "check").
func (s *Session) BeginWrite(ctx context.Context, w *WriteInfo, opts WriteOptions) (*WriteSession, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	recs, err := w.Records()
	if err != nil {
		return nil, err
	}
	wc := *w // the caller may reuse w meanwhile
	wc.CardID, wc.Institution = slices.Clone(w.CardID), slices.Clone(w.Institution)
	return s.beginWrite(ctx, &WriteSession{w: &wc, recs: recs, opts: opts, cardID: upperHex(w.CardID)})
}

// BeginUpdate is step 1 of a write session that changes some fields of an
// issued card (a partial write, libsscard's iWriteCard): like BeginWrite,
// but the card identification code is checked only when cardID is not
// nil, and the data are known in step 2: Authorize reads every field,
// passes them to update as a WriteInfo, validates what update returns as a
// whole (ErrWriteInfo naming the field: the card's other fields must be
// valid too) and writes only the records of fields, which Write reads back
// and compares. fields must be write-info fields (FieldsWritable).
// ErrAlreadyIssued does not apply.
func (s *Session) BeginUpdate(ctx context.Context, cardID HexBytes, fields FieldSet, update func(card *WriteInfo) (*WriteInfo, error), opts WriteOptions) (*WriteSession, error) {
	if fields == 0 || fields&^FieldsWritable != 0 {
		return nil, wiErr("", "fields to update must be write-info fields")
	}
	if update == nil {
		return nil, wiErr("", "no update")
	}
	return s.beginWrite(ctx, &WriteSession{w: &WriteInfo{CardID: slices.Clone(cardID)}, opts: opts,
		cardID: upperHex(cardID), update: update, only: fields})
}

func (s *Session) beginWrite(ctx context.Context, ws *WriteSession) (*WriteSession, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending != nil {
		return nil, ErrBusy
	}
	ws.s = s
	ws.j = journal{j: ws.opts.Journal, cardID: ws.cardID}
	if err := ws.j.add(JournalEntry{Step: StepCheck}); err != nil {
		return nil, err
	}
	if err := s.card.BeginTransaction(ctx); err != nil {
		s.selected = false
		ws.state = wsDone
		return nil, ws.record(StepCheck, nil, fmt.Errorf("sscard: begin transaction: %w", err))
	}
	if err := ws.begin(ctx); err != nil {
		return nil, ws.end(StepCheck, nil, err)
	}
	ws.state = wsBegun
	s.pending = ws
	return ws, nil
}

func (ws *WriteSession) begin(ctx context.Context) error {
	s := ws.s
	// A fresh SELECT: no security state of an earlier operation survives
	// into the session.
	if err := s.selectSSSE(ctx); err != nil {
		return err
	}
	info := &BasicInfo{ATRHistorical: slices.Clone(s.atrHist)}
	if err := s.readFields(ctx, info, FieldsFree, false, false); err != nil {
		return err
	}
	if ws.w.CardID != nil && !bytes.Equal(info.CardID, ws.w.CardID) {
		return fmt.Errorf("%w: the card identification code differs from card_id", ErrWrongCard)
	}
	if ws.cardID == "" {
		ws.cardID = upperHex(info.CardID)
		ws.j.cardID = ws.cardID
	}
	ch, err := s.challenges(ctx, 4) // O1, F1, O2, F2
	if err != nil {
		return err
	}
	ws.before = info
	ws.step1 = Step1{Region: info.Region, ATRHistorical: slices.Clone(s.atrHist), Algorithm: AlgSM4,
		CardID: slices.Clone(info.CardID), O1: ch[0], F1: ch[1], O2: ch[2], F2: ch[3]}
	return nil
}

// challenges issues GET CHALLENGE n times; the caller holds the transaction.
func (s *Session) challenges(ctx context.Context, n int) ([]HexBytes, error) {
	out := make([]HexBytes, n)
	for i := range out {
		c, err := s.tx.Do(ctx, apdu.Command{CLA: 0x00, INS: 0x84, Ne: 8})
		if err == nil && len(c) != 8 {
			err = fmt.Errorf("sscard: GET CHALLENGE returned %d bytes", len(c))
		}
		if err != nil {
			return nil, fmt.Errorf("sscard: get challenge: %w", err)
		}
		out[i] = slices.Clone(c)
	}
	return out, nil
}

// Step1 returns the Step-1 string for the read key (the output of the
// ministry's iWriteCardBas_HSM_Step1): region|ATRhist|03|cardID|F1|O1|F2|O2|.
func (ws *WriteSession) Step1() Step1 { return ws.step1 }

// Authorize is step 2, with the key system's answer to Step1
// (RESULT1|RESULT2|): INTERNAL AUTHENTICATE (kid 09) compared with C1 — a
// mismatch is ErrCardNotGenuine —, EXTERNAL AUTHENTICATE with kid 0A, then
// every field is read: the card must be blank or hold this holder's data
// (ErrAlreadyIssued; WriteOptions.Force overwrites). It then issues GET
// CHALLENGE twice, ODATA then KEYFAC, and returns the request for the
// write key. An answer whose original data are not the Step-1 challenges
// gives ErrHSMAnswer before anything is sent. A failure ends the session
// (*IssueError, step "check").
func (ws *WriteSession) Authorize(ctx context.Context, ans Step2Input) (*WriteKeyRequest, error) {
	s := ws.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if ws.state != wsBegun {
		return nil, ws.outOfOrder("Authorize")
	}
	if err := ws.authorize(ctx, ans); err != nil {
		return nil, ws.end(StepCheck, nil, err)
	}
	ws.state = wsAuthorized
	req := ws.req
	return &req, nil
}

func (ws *WriteSession) authorize(ctx context.Context, ans Step2Input) error {
	s, st := ws.s, ws.step1
	if !bytes.Equal(ans.Result1[8:], st.O1) || !bytes.Equal(ans.Result2[8:], st.O2) {
		return ErrHSMAnswer
	}
	c, err := s.tx.Do(ctx, apdu.Command{CLA: 0x00, INS: 0x88, P2: KidInternal, Data: append(slices.Clone(st.F1), st.O1...), Ne: 256})
	if err != nil {
		return fmt.Errorf("sscard: internal authenticate: %w", err)
	}
	if len(c) != 8 || subtle.ConstantTimeCompare(c, ans.Result1[:8]) != 1 {
		return ErrCardNotGenuine
	}
	if _, err := s.tx.Do(ctx, apdu.Command{CLA: 0x00, INS: 0x82, P2: KidRead, Data: ans.Result2[:]}); err != nil {
		return fmt.Errorf("sscard: external authenticate: %w", err)
	}
	if ws.newPIN == nil {
		before := *ws.before
		if err := s.readFields(ctx, &before, FieldsAll, false, true); err != nil {
			return err
		}
		ws.before, ws.read = &before, true
	}
	switch {
	case ws.newPIN != nil: // a PIN reset reads and checks nothing more
	case ws.update != nil:
		if err := ws.prepareUpdate(); err != nil {
			return err
		}
	default:
		w, before := ws.w, ws.before
		ws.rewrite = before.SSN == w.SSN && before.CardNumber == w.CardNumber
		if !ws.opts.Force && !ws.rewrite && (before.SSN != "" && before.SSN != w.SSN || before.CardNumber != "" && before.CardNumber != w.CardNumber) {
			return ErrAlreadyIssued
		}
	}
	ch, err := s.challenges(ctx, 2) // ODATA, then KEYFAC (the card's last)
	if err != nil {
		return err
	}
	ws.req = WriteKeyRequest{Region: st.Region, ATRHistorical: slices.Clone(st.ATRHistorical), Algorithm: st.Algorithm,
		CardID: slices.Clone(st.CardID), Factor: ch[1], Orig: ch[0]}
	return nil
}

// prepareUpdate builds the data of a partial write from the card's fields
// read in step 2: nothing is sent to the card when they are invalid.
func (ws *WriteSession) prepareUpdate() error {
	w, err := ws.update(writeInfoOf(ws.before))
	if err != nil {
		return err
	}
	recs, err := w.Records() // validates w as a whole
	if err != nil {
		return err
	}
	ws.recs = ws.recs[:0]
	for _, r := range recs {
		if ws.only&fieldByName(r.Field) != 0 {
			ws.recs = append(ws.recs, r)
		}
	}
	ws.w, ws.rewrite = w, true
	return nil
}

// Before returns the card as it was before the write (every EF05/EF06
// field, as iReadCardBas reads them), read in step 2; nil until step 2 has
// read them (it is also set when step 2 then refused the card with
// ErrAlreadyIssued).
func (ws *WriteSession) Before() *BasicInfo {
	s := ws.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if !ws.read {
		return nil
	}
	b := *ws.before
	return &b
}

// Write is step 3, with the key system's answer to the WriteKeyRequest
// (RESULT| = C||ODATA): RESULT's ODATA must be the request's
// (ErrHSMAnswer, nothing sent), EXTERNAL AUTHENTICATE 00 82 00 04 10
// RESULT, UPDATE RECORD of EF06 then EF05, then every field is read back
// and compared (ErrWriteMismatch names the first field that differs). The
// transaction ends in every case. A failure returns *IssueError with the
// step ("auth", "write" or "verify") and exactly the fields written.
func (ws *WriteSession) Write(ctx context.Context, ans WriteKeyAnswer) (*IssueReport, error) {
	s := ws.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if ws.state != wsAuthorized {
		return nil, ws.outOfOrder("Write")
	}
	step, written, err := ws.write(ctx, ans)
	if err != nil {
		return nil, ws.end(step, written, err)
	}
	ws.state, s.pending = wsDone, nil
	if eerr := s.card.EndTransaction(reader.LeaveCard); eerr != nil {
		// Everything was written and read back: the issuance is complete.
		s.selected = false
	}
	ws.j.add(JournalEntry{Step: StepDone, Written: written})
	return &IssueReport{CardID: ws.cardID, Written: written, Rewritten: ws.rewrite && ws.before.SSN != ""}, nil
}

func (ws *WriteSession) write(ctx context.Context, ans WriteKeyAnswer) (string, []string, error) {
	s := ws.s
	if !bytes.Equal(ans.Result[8:], ws.req.Orig) {
		return StepAuth, nil, ErrHSMAnswer
	}
	if _, err := s.tx.Do(ctx, apdu.Command{CLA: 0x00, INS: 0x82, P2: KidUpdate, Data: ans.Result[:]}); err != nil {
		return StepAuth, nil, fmt.Errorf("sscard: external authenticate (kid 04): %w", err)
	}
	ws.j.add(JournalEntry{Step: StepAuth})
	if ws.newPIN != nil {
		if err := ws.resetPIN(ctx); err != nil {
			return StepWrite, nil, err
		}
		return "", nil, nil
	}
	var written []string
	for _, r := range ws.recs {
		cmd := apdu.Command{CLA: 0x00, INS: 0xDC, P1: r.Number, P2: r.SFI<<3 | 0x04, Data: r.Data}
		if _, err := s.tx.Do(ctx, cmd); err != nil {
			return StepWrite, written, fmt.Errorf("sscard: update record %d of SFI %d (%s): %w", r.Number, r.SFI, r.Field, err)
		}
		written = append(written, r.Field)
		sum := sm3.Sum(r.Data)
		ws.j.add(JournalEntry{Step: StepWrite, Field: r.Field, File: fmt.Sprintf("EF%02X", r.SFI), Record: int(r.Number),
			Digest: hex.EncodeToString(sum[:8])})
	}
	// Read every record back (the version too, not the cached one): the
	// kid-0A right of step 2 still holds.
	after := &BasicInfo{ATRHistorical: slices.Clone(s.atrHist)}
	for i := range records {
		if err := s.readRecord(ctx, after, &records[i]); err != nil {
			return StepVerify, written, err
		}
	}
	only := FieldsAll
	if ws.update != nil {
		only = ws.only
	}
	if err := ws.w.matches(after, only); err != nil {
		return StepVerify, written, err
	}
	return "", written, nil
}

// Abort ends the session and its transaction (the card is not reset). It
// is safe to call more than once and after the session ended.
func (ws *WriteSession) Abort() {
	s := ws.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if ws.state == wsDone {
		return
	}
	ws.end(ws.stepNow(), nil, ErrWriteSessionAborted)
}

// stepNow is the step a failure outside the card belongs to: "check"
// before Authorize, "auth" after.
func (ws *WriteSession) stepNow() string {
	if ws.state == wsAuthorized {
		return StepAuth
	}
	return StepCheck
}

// fail ends the session like Abort, for a failure outside the card (the key
// system between the steps), and returns it as the *IssueError of the step
// the session is at. A session already ended gives ErrRequestDone.
func (ws *WriteSession) fail(err error) error {
	s := ws.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if ws.state == wsDone {
		return ErrRequestDone
	}
	return ws.end(ws.stepNow(), nil, err)
}

// outOfOrder ends the session for a step called out of order; after the
// end it is ErrRequestDone.
func (ws *WriteSession) outOfOrder(method string) error {
	if ws.state == wsDone {
		return ErrRequestDone
	}
	return ws.end(ws.stepNow(), nil, fmt.Errorf("sscard: write session: %s called out of order", method))
}

// end finishes the session with err (under s.mu): the transaction ends
// (the card is left as it is), the journal records the failure, and the
// *IssueError is returned.
func (ws *WriteSession) end(step string, written []string, err error) error {
	s := ws.s
	if !isStatus(err) {
		s.selected = false // possibly a transport failure: state unknown
	}
	if eerr := s.card.EndTransaction(reader.LeaveCard); eerr != nil {
		s.selected = false
	}
	ws.state = wsDone
	clear(ws.newPIN)
	ws.newPIN = nil
	if s.pending == ws {
		s.pending = nil
	}
	return ws.record(step, written, err)
}

// record journals a failure and returns it as *IssueError.
func (ws *WriteSession) record(step string, written []string, err error) error {
	ws.j.add(JournalEntry{Step: step, Error: err.Error(), Written: slices.Clone(written)})
	return &IssueError{Step: step, Written: written, Err: err}
}
