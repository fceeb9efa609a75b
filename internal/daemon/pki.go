package daemon

import (
	"context"
	"fmt"
	"net/http"

	"github.com/sscard/ssc/internal/stack"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
)

// checkPKICA validates pki_ca: empty, "sim" or an http(s) URL.
func (c Config) checkPKICA() error {
	if _, err := stack.ParseCA(c.PKICA); err != nil {
		return fmt.Errorf("pki_ca %w", err)
	}
	return nil
}

// handlePKIPersonalise personalises the PKI application
// (docs/issuance.md): admin PIN, signing key pair generated on the card
// (unless the request carries a delivery), certificates and enveloped
// encryption key pair from the configured CA (pki_ca: sim or an http(s)
// URL) or from the request's delivery, optional admin PIN and master key
// changes; with resume, the last run of the card in the issuance journal
// is continued.
func (d *Daemon) handlePKIPersonalise(w http.ResponseWriter, r *http.Request) {
	var req sscd.PKIPersonaliseRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	set := d.conf()
	in := sscard.PersonaliseInput{CA: set.ca, Delivery: req.Delivery, HSM: set.hsm, ForceAdminPIN: req.Force}
	if in.CA == nil && in.Delivery == nil {
		writeError(w, sscd.Errorf(sscd.CodeDisabled, "no certificate authority configured (pki_ca) and no delivery in the request"))
		return
	}
	if in.Delivery != nil {
		if err := in.Delivery.Check(); err != nil {
			writeError(w, sscd.Errorf(sscd.CodeBadRequest, "delivery: %v", err))
			return
		}
	}
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
	if req.Resume {
		if set.cfg.IssueJournal == "" {
			writeError(w, sscd.Errorf(sscd.CodeBadRequest, "resume needs the issuance journal (issue_journal)"))
			return
		}
		var err error
		if in.Resume, err = stack.ReadResume(set.cfg.IssueJournal); err != nil {
			writeError(w, sscd.Errorf(sscd.CodeInternal, "%v", err))
			return
		}
	}
	j, closeJournal, err := set.issueJournal()
	if err != nil {
		writeError(w, err)
		return
	}
	defer closeJournal()
	in.Journal = j
	var rep *sscard.PersonaliseReport
	err = d.withCard(r, func(ctx context.Context, op *cardOp) error {
		op.raised = true // admin PIN, master key
		var err error
		// Under the PIN rate limit: a wrong admin PIN (or master key)
		// counts like any wrong PIN attempt on this card.
		return d.presentPIN(op, func() error {
			rep, err = sscard.PersonalisePKI(ctx, op.sess, in)
			return err
		})
	})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, rep)
}
