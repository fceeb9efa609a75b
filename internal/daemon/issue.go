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
	wi, err := issueWriteInfo(req)
	if err != nil {
		writeError(w, err)
		return
	}
	opts, closeJournal, err := d.conf().writeOptions("issuance", true)
	if err != nil {
		writeError(w, err)
		return
	}
	defer closeJournal()
	opts.Force = req.Force
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
