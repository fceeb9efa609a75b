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

// handlePKISign has the card's PKI application sign the request's data
// (libsscard's PKI_SignData through the daemon): the PKI PIN under the
// guard (never the last try without force) and the rate limit, then the
// signature and the signing certificate. Socket only: the bridge offers
// no signing of arbitrary data.
func (d *Daemon) handlePKISign(w http.ResponseWriter, r *http.Request) {
	var req sscd.PKISignRequest
	// The data in base64, a third more than MaxSignData, and the rest.
	if err := readJSONLimit(w, r, &req, sscd.MaxSignData*4/3+1<<10); err != nil {
		writeError(w, err)
		return
	}
	if err := sscard.CheckPIN(req.PIN); err != nil {
		writeError(w, err)
		return
	}
	if len(req.Data) > sscd.MaxSignData {
		writeError(w, sscd.Errorf(sscd.CodeBadRequest, "data: at most %d bytes", sscd.MaxSignData))
		return
	}
	var res sscd.PKISignature
	err := d.withCard(r, func(ctx context.Context, op *cardOp) error {
		op.raised = true // a verified PKI PIN must not outlive the request
		p := op.sess.PKI()
		if err := d.presentPIN(op, func() error {
			return p.VerifyPIN(ctx, req.PIN, sscard.PINOptions{Force: req.Force})
		}); err != nil {
			return err
		}
		sig, err := p.Sign(ctx, req.Data)
		if err != nil {
			return err
		}
		crt, err := p.Certificate(ctx, sscard.FIDSignCert)
		if err != nil {
			return err
		}
		res = sscd.PKISignature{Signature: sig, Certificate: crt.Raw}
		return nil
	})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, res)
}

// handlePKICertificate reads a certificate of the card's PKI application
// (?which=sign or encrypt); no PIN.
func (d *Daemon) handlePKICertificate(w http.ResponseWriter, r *http.Request) {
	which := r.URL.Query().Get("which")
	var fid uint16
	switch which {
	case "sign":
		fid = sscard.FIDSignCert
	case "encrypt":
		fid = sscard.FIDEncryptionCert
	default:
		writeError(w, sscd.Errorf(sscd.CodeBadRequest, "which: sign or encrypt"))
		return
	}
	var der []byte
	err := d.withCard(r, func(ctx context.Context, op *cardOp) error {
		crt, err := op.sess.PKI().Certificate(ctx, fid)
		if err != nil {
			return err
		}
		der = crt.Raw
		return nil
	})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, sscd.PKICertificate{Which: which, Certificate: der})
}
