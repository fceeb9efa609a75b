package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"sync"
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
	op    *cardOp
	req   *sscard.HSMRequest
	timer *time.Timer
}

type hsmSessions struct {
	d  *Daemon
	mu sync.Mutex
	m  map[string]*hsmSession
}

func (h *hsmSessions) init(d *Daemon) { h.d, h.m = d, map[string]*hsmSession{} }

// take removes and returns a session, so that step 2, expiry and shutdown
// each finish a session at most once.
func (h *hsmSessions) take(id string) *hsmSession {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.m[id]
	delete(h.m, id)
	if s != nil {
		s.timer.Stop()
	}
	return s
}

func (h *hsmSessions) abortAll() {
	h.mu.Lock()
	ids := make([]string, 0, len(h.m))
	for id := range h.m {
		ids = append(ids, id)
	}
	h.mu.Unlock()
	for _, id := range ids {
		if s := h.take(id); s != nil {
			s.abort()
		}
	}
}

func (s *hsmSession) abort() {
	s.req.Abort()
	s.op.done()
}

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
	s := &hsmSession{op: op, req: req}
	d.hsmSess.mu.Lock()
	d.hsmSess.m[id] = s
	s.timer = time.AfterFunc(timeout, func() {
		if s := d.hsmSess.take(id); s != nil {
			d.logf("HSM session on %q expired", s.op.reader.Name)
			s.abort()
		}
	})
	d.hsmSess.mu.Unlock()
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
	s := d.hsmSess.take(r.PathValue("session"))
	if s == nil {
		writeError(w, sscd.Errorf(sscd.CodeSessionNotFound, "no HSM session %q (finished or expired)", r.PathValue("session")))
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
		if errors.Is(err, reader.ErrCardRemoved) || errors.Is(err, reader.ErrCardReset) || errors.Is(err, reader.ErrNoCard) {
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
	s := d.hsmSess.take(r.PathValue("session"))
	if s == nil {
		writeError(w, sscd.Errorf(sscd.CodeSessionNotFound, "no HSM session %q (finished or expired)", r.PathValue("session")))
		return
	}
	noteOf(r).set(s.op.reader, "")
	s.abort()
	writeJSON(w, struct{}{})
}

func newSessionID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
