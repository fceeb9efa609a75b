package daemon

import (
	"context"
	"net/http"

	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
)

// Partial writes (docs/api.md, "Updates and PIN resets"): some fields of an
// issued card, the others as the card holds them — libsscard's iWriteCard
// through the daemon. Socket only: the bridge offers none of this.

// updateFields takes the fields of an update request: Values for the call
// in one piece, Fields for step 1.
func updateFields(req sscd.UpdateRequest, step1 bool) (sscard.FieldSet, error) {
	switch {
	case !step1 && req.Fields != nil:
		return 0, sscd.Errorf(sscd.CodeBadRequest, "fields belong to update/step1; give values")
	case !step1:
		return valuesFields(req.Values)
	case req.Values != nil:
		return 0, sscd.Errorf(sscd.CodeBadRequest, "values come with step 2")
	case len(req.Fields) > sscd.MaxUpdateFields:
		return 0, sscd.Errorf(sscd.CodeBadRequest, "at most %d fields", sscd.MaxUpdateFields)
	}
	return sscard.WriteFields(req.Fields)
}

// valuesFields is the set of the fields values names.
func valuesFields(values map[string]string) (sscard.FieldSet, error) {
	if len(values) > sscd.MaxUpdateFields {
		return 0, sscd.Errorf(sscd.CodeBadRequest, "at most %d fields", sscd.MaxUpdateFields)
	}
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	return sscard.WriteFields(names)
}

// handleUpdate is a partial write in one call with the daemon's key system
// (read key and write key), journaled in the issuance journal.
func (d *Daemon) handleUpdate(w http.ResponseWriter, r *http.Request) {
	var req sscd.UpdateRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	fields, err := updateFields(req, false)
	if err != nil {
		writeError(w, err)
		return
	}
	opts, closeJournal, err := d.conf().writeOptions("writing", true)
	if err != nil {
		writeError(w, err)
		return
	}
	defer closeJournal()
	var rep *sscard.IssueReport
	err = d.withCard(r, func(ctx context.Context, op *cardOp) error {
		op.raised = true
		var err error
		rep, err = sscard.Update(ctx, op.sess, req.CardID, fields, func(card *sscard.WriteInfo) (*sscard.WriteInfo, error) {
			return card.With(req.Values)
		}, opts)
		return err
	})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, rep)
}

// handleUpdateStep1 begins a partial write session: the fields are named
// now, their values come with step 2 (/v1/issue/{session}/step2), as the
// ministry's iWriteCard_HSM_Step2 carries them.
func (d *Daemon) handleUpdateStep1(w http.ResponseWriter, r *http.Request) {
	var req sscd.UpdateRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	fields, err := updateFields(req, true)
	if err != nil {
		writeError(w, err)
		return
	}
	s := &issueSession{kind: kindUpdate, fields: fields}
	d.beginSession(w, r, s, true, func(ctx context.Context, sess *sscard.Session, opts sscard.WriteOptions) (*sscard.WriteSession, error) {
		return sess.BeginUpdate(ctx, req.CardID, fields, func(card *sscard.WriteInfo) (*sscard.WriteInfo, error) {
			return card.With(s.values)
		}, opts)
	})
}
