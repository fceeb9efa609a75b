package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
)

// hsmSession is an HSM two-step read between its two API calls. It keeps the
// card operation (queue turn, exclusive connection and the transaction of
// sscard.HSMRequest) so nothing else reaches the card in between; the HSM is
// a machine, not a person, and the session expires after HSMSessionTimeout.
type hsmSession struct {
	op  *cardOp
	req *sscard.HSMRequest
}

func (s *hsmSession) abort() {
	s.req.Abort()
	s.op.done()
}

func (s *hsmSession) readerName() string { return s.op.reader.Name }

func (d *Daemon) handleStep1(w http.ResponseWriter, r *http.Request) {
	want, err := insertionParam(r)
	if err != nil {
		writeError(w, err)
		return
	}
	fields, err := fieldsParam(r)
	if err != nil {
		writeError(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), d.opTimeout())
	defer cancel()
	op, err := d.begin(ctx, r.PathValue("reader"), want)
	if err != nil {
		writeError(w, err)
		return
	}
	noteOf(r).set(op.reader, "")
	// GET CHALLENGE and the authentication that follows in step 2 change
	// the card's security state.
	op.raised = true
	req, err := op.sess.BeginHSM(ctx, sscard.ReadOptions{Fields: fields})
	if err != nil {
		op.done()
		writeError(w, err)
		return
	}
	id := newSessionID()
	timeout := time.Duration(d.conf().cfg.HSMSessionTimeout)
	d.hsmSess.put(id, &hsmSession{op: op, req: req}, timeout)
	writeJSON(w, sscd.HSMStep1{Session: id, Step1: req.Step1().String(), Insertion: op.reader.Insertion, Expires: time.Now().Add(timeout)})
}

func (d *Daemon) handleStep2(w http.ResponseWriter, r *http.Request) {
	var body sscd.HSMStep2Request
	if err := readJSON(w, r, &body); err != nil {
		writeError(w, err)
		return
	}
	ans, err := sscard.ParseStep2Input(body.Result)
	if err != nil {
		writeError(w, err)
		return
	}
	s, ok := d.hsmSess.take(r.PathValue("session"))
	if !ok {
		writeError(w, d.hsmMissing(r.PathValue("session")))
		return
	}
	defer s.op.done()
	noteOf(r).set(s.op.reader, "")
	now, ferr := d.state.find(s.op.reader.Name)
	if ferr != nil || now.Insertion != s.op.reader.Insertion {
		s.req.Abort()
		writeError(w, sscd.Errorf(sscd.CodeCardChanged, "the card in %q changed since step 1", s.op.reader.Name))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), d.opTimeout())
	defer cancel()
	info, err := s.req.Complete(ctx, ans)
	if err != nil {
		// A card pulled during step 2 fails with whatever the last
		// exchange gave (a garbled answer, an unresponsive card): explain
		// says card_removed once the watcher saw it go.
		err = s.op.explain(err)
		if sscd.IsCode(apiError(err), sscd.CodeCardRemoved) || errors.Is(err, reader.ErrCardRemoved) ||
			errors.Is(err, reader.ErrCardReset) || errors.Is(err, reader.ErrNoCard) {
			// The card of step 1 is gone: whatever is there now is not it.
			writeError(w, sscd.Errorf(sscd.CodeCardChanged, "the card in %q changed since step 1: %v", s.op.reader.Name, err))
			return
		}
		writeError(w, err)
		return
	}
	noteOf(r).set(s.op.reader, info.CardNumber)
	writeJSON(w, info)
}

// handleHSMAbort ends a session without step 2: the card is reset and the
// reader free for the next operation at once.
func (d *Daemon) handleHSMAbort(w http.ResponseWriter, r *http.Request) {
	s, ok := d.hsmSess.take(r.PathValue("session"))
	if !ok {
		writeError(w, d.hsmMissing(r.PathValue("session")))
		return
	}
	noteOf(r).set(s.op.reader, "")
	s.abort()
	writeJSON(w, struct{}{})
}

// hsmMissing is the error for a session id that is not open: card_changed
// for a session ended because its card left the reader, else
// session_not_found.
func (d *Daemon) hsmMissing(id string) error {
	if d.hsmSess.removedIf(id, func(*hsmSession) bool { return true }) {
		return sscd.Errorf(sscd.CodeCardChanged, "the card of HSM session %q left the reader", id)
	}
	return sscd.Errorf(sscd.CodeSessionNotFound, "no HSM session %q (finished or expired)", id)
}

func newSessionID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
