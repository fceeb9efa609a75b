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
	auth, ok := set.hsm.(sscard.Authorizer)
	if !ok {
		writeError(w, sscd.Errorf(sscd.CodeNeedsHSM, "issuance needs a key system that authorizes writes (hsm: sim for software cards)"))
		return
	}
	opts := sscard.IssueOptions{Auth: auth, HSM: set.hsm, Force: req.Force}
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

// handlePKIPersonalise personalises the PKI application (docs/issuance.md):
// admin PIN, signing key pair generated on the card, signing certificate
// from the configured CA, optional admin PIN and master key changes.
func (d *Daemon) handlePKIPersonalise(w http.ResponseWriter, r *http.Request) {
	var req sscd.PKIPersonaliseRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	set := d.conf()
	if set.cfg.PKICA == "" {
		writeError(w, sscd.Errorf(sscd.CodeDisabled, "no certificate authority configured (pki_ca)"))
		return
	}
	in := sscard.PersonaliseInput{CA: sscard.SIMCA{}, HSM: set.hsm}
	if len(req.AdminPIN) != 4 || len(req.MasterKey) != 16 ||
		(req.NewAdminPIN != nil && len(req.NewAdminPIN) != 4) || (req.NewMasterKey != nil && len(req.NewMasterKey) != 16) {
		writeError(w, sscd.Errorf(sscd.CodeBadRequest, "admin_pin and new_admin_pin are 4 bytes, master_key and new_master_key 16 (hex)"))
		return
	}
	copy(in.AdminPIN[:], req.AdminPIN)
	copy(in.MasterKey[:], req.MasterKey)
	if req.NewAdminPIN != nil {
		var p [4]byte
		copy(p[:], req.NewAdminPIN)
		in.NewAdminPIN = &p
	}
	if req.NewMasterKey != nil {
		var k [16]byte
		copy(k[:], req.NewMasterKey)
		in.NewMasterKey = &k
	}
	if path := set.cfg.IssueJournal; path != "" {
		j, err := sscard.OpenJournal(path)
		if err != nil {
			writeError(w, sscd.Errorf(sscd.CodeInternal, "issuance journal: %v", err))
			return
		}
		defer j.Close()
		in.Journal = j
	}
	var rep *sscard.PersonaliseReport
	err := d.withCard(r, func(ctx context.Context, op *cardOp) error {
		op.raised = true // admin PIN, master key
		var err error
		rep, err = sscard.PersonalisePKI(ctx, op.sess, in)
		return err
	})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, rep)
}
