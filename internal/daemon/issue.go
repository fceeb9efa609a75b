package daemon

import (
	"context"
	"net/http"

	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
)

// handleIssue is counter issuance (docs/issuance.md): the data is
// validated before the card is touched; the daemon's key system provides
// the write-key cryptogram and the read-back authentication; the card is
// reset afterwards.
func (d *Daemon) handleIssue(w http.ResponseWriter, r *http.Request) {
	var req sscd.IssueRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	var wi *sscard.WriteInfo
	var err error
	switch {
	case (req.WriteInfo == "") == (req.Data == nil):
		writeError(w, sscd.Errorf(sscd.CodeBadRequest, "give write_info or data"))
		return
	case req.WriteInfo != "":
		wi, err = sscard.ParseWriteInfo(req.WriteInfo)
	default:
		wi, err = req.Data, req.Data.Validate()
	}
	if err != nil {
		writeError(w, err)
		return
	}
	set := d.conf()
	wk, ok := set.hsm.(sscard.WriteKeyHSM)
	if !ok {
		writeError(w, sscd.Errorf(sscd.CodeNeedsHSM, "issuance needs a key system that authorizes writes (hsm: sim for software cards)"))
		return
	}
	opts := sscard.IssueOptions{HSM: set.hsm, WriteKey: wk, Force: req.Force}
	if path := set.cfg.IssueJournal; path != "" {
		j, err := sscard.OpenJournal(path)
		if err != nil {
			writeError(w, sscd.Errorf(sscd.CodeInternal, "issuance journal: %v", err))
			return
		}
		defer j.Close()
		opts.Journal = j
	}
	var rep *sscard.IssueReport
	err = d.withCard(r, func(ctx context.Context, op *cardOp) error {
		op.raised = true // write and read authentications
		op.note.set(op.reader, wi.CardNumber)
		var err error
		rep, err = sscard.Issue(ctx, op.sess, wi, opts)
		return err
	})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, rep)
}
