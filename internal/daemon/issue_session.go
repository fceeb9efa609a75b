package daemon

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
)

// issueSession is a write session (docs/issuance.md) between its API calls.
// Like an HSM session it keeps the card operation — queue turn, exclusive
// connection and the transaction of sscard.WriteSession — so nothing else
// reaches the card from step 1 to step 3; it expires after
// HSMSessionTimeout without the next step.
type issueSession struct {
	op           *cardOp
	ws           *sscard.WriteSession
	closeJournal func()
	cardNo       string
	// origin is the caller that began the session: the verified Origin of
	// a browser-bridge request, "" for the socket. Only the same caller
	// continues or aborts it (takeIssue, handleIssueAbort).
	origin string
	// kind is what step 3 does: an issuance, a partial write (the values
	// come with step 2, for the fields of step 1) or a PIN reset.
	kind   sessionKind
	fields sscard.FieldSet
	values map[string]string
}

// sessionKind is the kind of a write session.
type sessionKind int

const (
	kindIssue sessionKind = iota
	kindUpdate
	kindPINReset
)

// abort ends the write session (journaled as aborted) and the operation:
// the card is reset and the reader handed on.
func (s *issueSession) abort() {
	s.ws.Abort()
	s.finish()
}

// finish ends the operation (reset, disconnect, next in the queue) and
// closes the journal.
func (s *issueSession) readerName() string { return s.op.reader.Name }

func (s *issueSession) finish() {
	s.op.done()
	s.closeJournal()
}

func sessionUnknown(id string) error {
	return sscd.Errorf(sscd.CodeSessionNotFound, "no issue session %q (finished or expired)", id)
}

// handleIssueStep1 begins a write session: the data is validated before
// the card is touched, then the card checked (its id) and the Step-1 string
// for the read-key system returned.
func (d *Daemon) handleIssueStep1(w http.ResponseWriter, r *http.Request) {
	var req sscd.IssueRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	wi, err := issueWriteInfo(req)
	if err != nil {
		writeError(w, err)
		return
	}
	s := &issueSession{kind: kindIssue, cardNo: wi.CardNumber}
	d.beginSession(w, r, s, true, func(ctx context.Context, sess *sscard.Session, opts sscard.WriteOptions) (*sscard.WriteSession, error) {
		opts.Force = req.Force
		return sess.BeginWrite(ctx, wi, opts)
	})
}

// beginSession is step 1 of every write session (issuance, update, PIN
// reset): the card is taken for the session (queue turn, exclusive
// connection, transaction), begin starts the write session on it, and
// the Step-1 string is answered. journal says whether the issuance
// journal records it.
func (d *Daemon) beginSession(w http.ResponseWriter, r *http.Request, s *issueSession, journal bool,
	begin func(ctx context.Context, sess *sscard.Session, opts sscard.WriteOptions) (*sscard.WriteSession, error)) {
	want, err := insertionParam(r)
	if err != nil {
		writeError(w, err)
		return
	}
	set := d.conf()
	s.origin = bridgeOrigin(r)
	s.closeJournal = func() {}
	var opts sscard.WriteOptions
	if journal {
		if opts.Journal, s.closeJournal, err = set.issueJournal(); err != nil {
			writeError(w, err)
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), d.opTimeout())
	defer cancel()
	op, err := d.begin(ctx, r.PathValue("reader"), want)
	if err != nil {
		s.closeJournal()
		writeError(w, err)
		return
	}
	s.op = op
	noteOf(r).set(op.reader, s.cardNo)
	op.raised = true // the authentications of steps 2 and 3
	s.ws, err = begin(ctx, op.sess, opts)
	if err != nil {
		err = op.explain(err)
		s.finish()
		writeError(w, err)
		return
	}
	id := newSessionID()
	timeout := time.Duration(set.cfg.HSMSessionTimeout)
	d.issueSess.put(id, s, timeout)
	st := s.ws.Step1()
	writeJSON(w, sscd.IssueStep1{Session: id, Step1: st.String(), CardID: st.CardID.String(), Expires: time.Now().Add(timeout)})
}

// issueWriteInfo takes the write info of a request: exactly one of the
// ministry string and the JSON data, validated.
func issueWriteInfo(req sscd.IssueRequest) (*sscard.WriteInfo, error) {
	switch {
	case (req.WriteInfo == "") == (req.Data == nil):
		return nil, sscd.Errorf(sscd.CodeBadRequest, "give write_info or data")
	case req.WriteInfo != "":
		return sscard.ParseWriteInfo(req.WriteInfo)
	}
	return req.Data, req.Data.Validate()
}

// ownIssue takes the session id if the caller of r began it: a session of
// another bridge origin, or of the socket for a bridge request and the
// other way round, is answered like an unknown one and left untouched.
func (d *Daemon) ownIssue(r *http.Request, id string) (*issueSession, bool) {
	origin := bridgeOrigin(r)
	return d.issueSess.takeIf(id, func(s *issueSession) bool { return s.origin == origin })
}

// issueMissing is the error for a session id the caller cannot take:
// card_changed for its own session ended because the card left the
// reader, else session_not_found.
func (d *Daemon) issueMissing(r *http.Request, id string) error {
	origin := bridgeOrigin(r)
	if d.issueSess.removedIf(id, func(s *issueSession) bool { return s.origin == origin }) {
		return sscd.Errorf(sscd.CodeCardChanged, "the card of write session %q left the reader", id)
	}
	return sessionUnknown(id)
}

// takeIssue takes the session of the request and checks that its card is
// still in the reader; on failure the error is written and nil returned.
func (d *Daemon) takeIssue(w http.ResponseWriter, r *http.Request) *issueSession {
	id := r.PathValue("session")
	s, ok := d.ownIssue(r, id)
	if !ok {
		writeError(w, d.issueMissing(r, id))
		return nil
	}
	noteOf(r).set(s.op.reader, s.cardNo)
	now, ferr := d.state.find(s.op.reader.Name)
	if ferr != nil || now.Insertion != s.op.reader.Insertion {
		s.abort()
		writeError(w, sscd.Errorf(sscd.CodeCardChanged, "the card in %q changed since step 1", s.op.reader.Name))
		return nil
	}
	return s
}

// readKey parses the key of a step body; a malformed body or key leaves
// the session as it was.
func readKey[T any](w http.ResponseWriter, r *http.Request, parse func(string) (T, error)) (T, bool) {
	var body sscd.IssueKeyRequest
	k, ok := readKeyBody(w, r, &body, parse)
	if ok && body.Values != nil {
		writeError(w, sscd.Errorf(sscd.CodeBadRequest, "values belong to step 2 of an update session"))
		return k, false
	}
	return k, ok
}

// readKeyBody is readKey keeping the body.
func readKeyBody[T any](w http.ResponseWriter, r *http.Request, body *sscd.IssueKeyRequest, parse func(string) (T, error)) (T, bool) {
	var zero T
	if err := readJSON(w, r, body); err != nil {
		writeError(w, err)
		return zero, false
	}
	k, err := parse(body.Key)
	if err != nil {
		writeError(w, err)
		return zero, false
	}
	return k, true
}

// handleIssueStep2 continues with the read-key answer: the card is
// authenticated and read, checked blank or this holder's, and the
// write-key request returned. The session then waits for step 3 (a new
// expiry period).
func (d *Daemon) handleIssueStep2(w http.ResponseWriter, r *http.Request) {
	var body sscd.IssueKeyRequest
	ans, ok := readKeyBody(w, r, &body, sscard.ParseStep2Input)
	if !ok {
		return
	}
	s := d.takeIssue(w, r)
	if s == nil {
		return
	}
	// The values belong to update sessions, and name exactly the fields of
	// step 1; a mismatch leaves the session as it was (the caller may
	// correct it).
	if err := s.checkValues(body.Values); err != nil {
		d.issueSess.put(r.PathValue("session"), s, time.Duration(d.conf().cfg.HSMSessionTimeout))
		writeError(w, err)
		return
	}
	s.values = body.Values
	ctx, cancel := context.WithTimeout(r.Context(), d.opTimeout())
	defer cancel()
	req, err := s.ws.Authorize(ctx, ans)
	if err != nil {
		err = s.op.explain(err)
		s.finish()
		writeError(w, err)
		return
	}
	set := d.conf()
	id := r.PathValue("session")
	d.issueSess.put(id, s, time.Duration(set.cfg.HSMSessionTimeout))
	st := sscd.IssueStep2{Session: id, Request: req.String()}
	if before := s.ws.Before(); before != nil { // a PIN reset reads nothing
		st.Card = sscard.FormatReadCardBas(before, set.term)
		st.IssuedBefore = before.SSN != "" || before.CardNumber != ""
	}
	writeJSON(w, st)
}

// checkValues checks the values of a step 2 against the session.
func (s *issueSession) checkValues(values map[string]string) error {
	if s.kind != kindUpdate {
		if values != nil {
			return sscd.Errorf(sscd.CodeBadRequest, "values belong to step 2 of an update session")
		}
		return nil
	}
	fs, err := valuesFields(values)
	if err != nil {
		return err
	}
	if fs != s.fields {
		return sscd.Errorf(sscd.CodeBadRequest, "values: give exactly the fields of step 1")
	}
	return nil
}

// handleIssueStep3 finishes with the write-key answer: the card is
// written, read back and compared, then reset.
func (d *Daemon) handleIssueStep3(w http.ResponseWriter, r *http.Request) {
	ans, ok := readKey(w, r, sscard.ParseWriteKeyAnswer)
	if !ok {
		return
	}
	s := d.takeIssue(w, r)
	if s == nil {
		return
	}
	defer s.finish()
	ctx, cancel := context.WithTimeout(r.Context(), d.opTimeout())
	defer cancel()
	rep, err := s.ws.Write(ctx, ans)
	if err == nil && s.kind == kindPINReset {
		d.pins.forget(pinKey{reader: s.op.reader.Name, insertion: s.op.reader.Insertion})
	}
	if err != nil {
		if errors.Is(err, sscard.ErrHSMAnswer) && !errors.Is(err, reader.ErrCardRemoved) {
			// The caller's key belongs to another request: nothing was sent.
			writeError(w, sscd.Errorf(sscd.CodeHSMAnswer, "%v", err))
			return
		}
		writeError(w, s.op.explain(err))
		return
	}
	writeJSON(w, rep)
}

// handleIssueAbort ends a write session before step 3: the card is reset
// and the reader free for the next operation at once.
func (d *Daemon) handleIssueAbort(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("session")
	s, ok := d.ownIssue(r, id)
	if !ok {
		writeError(w, d.issueMissing(r, id))
		return
	}
	noteOf(r).set(s.op.reader, s.cardNo)
	s.abort()
	writeJSON(w, struct{}{})
}
