package daemon

import (
	"context"
	"net/http"

	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
)

// PIN resets (iReloadPIN/iUnblockPIN through the daemon): the SSSE PIN set
// to a new value and its try counter reset after the key system's
// authentication — no PIN is presented, no try spent, so the PIN rate
// limit does not apply; the audit log records each. Socket only.

// pinResetRequest reads and checks a PIN reset body.
func pinResetRequest(w http.ResponseWriter, r *http.Request) (sscd.PINResetRequest, bool) {
	var req sscd.PINResetRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return req, false
	}
	if err := sscard.CheckPIN(req.NewPIN); err != nil {
		writeError(w, err)
		return req, false
	}
	return req, true
}

// handlePINReset resets the PIN in one call with the daemon's key system
// (read key, then update key).
func (d *Daemon) handlePINReset(w http.ResponseWriter, r *http.Request) {
	req, ok := pinResetRequest(w, r)
	if !ok {
		return
	}
	opts, _, err := d.conf().writeOptions("a PIN reset", false)
	if err != nil {
		writeError(w, err)
		return
	}
	err = d.withCard(r, func(ctx context.Context, op *cardOp) error {
		op.raised = true
		if err := sscard.ResetPINWith(ctx, op.sess, req.CardID, req.NewPIN, opts); err != nil {
			return err
		}
		d.pins.forget(pinKey{reader: op.reader.Name, insertion: op.reader.Insertion})
		return nil
	})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, sscd.PINResetResult{Reset: true})
}

// handlePINResetStep1 begins a PIN reset session: the Step-1 string for
// the read key; /v1/issue/{session}/step2 and /step3 continue it.
func (d *Daemon) handlePINResetStep1(w http.ResponseWriter, r *http.Request) {
	req, ok := pinResetRequest(w, r)
	if !ok {
		return
	}
	s := &issueSession{kind: kindPINReset}
	d.beginSession(w, r, s, false, func(ctx context.Context, sess *sscard.Session, opts sscard.WriteOptions) (*sscard.WriteSession, error) {
		return sess.BeginResetPIN(ctx, req.CardID, req.NewPIN, opts)
	})
}
