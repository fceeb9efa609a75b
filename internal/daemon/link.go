package daemon

import (
	"context"
	"net/http"

	"github.com/sscard/ssc/link"
	"github.com/sscard/ssc/link/cardlink"
	"github.com/sscard/ssc/sscd"
)

// handleLink builds the link bundle for the e-card platform: one operation
// on the card (identity, bank account for level 2, PKI PIN and signature),
// after which the card is reset.
func (d *Daemon) handleLink(w http.ResponseWriter, r *http.Request) {
	var req sscd.LinkRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	d.link(w, r, cardlink.Request{Level: req.Level, Origin: req.Origin, Nonce: req.Nonce, PIN: req.PIN, Force: req.Force})
}

// link runs a link request whose origin the caller has established (the
// socket client names it; the browser bridge takes the verified Origin).
func (d *Daemon) link(w http.ResponseWriter, r *http.Request, req cardlink.Request) {
	noteOf(r).update(func(n *opNote) { n.Level = req.Level })
	if err := req.Check(); err != nil {
		writeError(w, err)
		return
	}
	set := d.conf()
	opts := cardlink.Options{HSM: set.hsm, PBOC: set.pbocOptions(), ODA: set.caKeys != nil}
	var b *link.Bundle
	err := d.withCard(r, func(ctx context.Context, op *cardOp) error {
		op.raised = true // HSM authentication, PKI PIN
		var err error
		err = d.presentPIN(op, func() error {
			b, err = cardlink.Create(ctx, op.card, op.sess, req, opts)
			return err
		})
		if err == nil {
			op.note.set(op.reader, b.Card.CardNumber)
			if b.Bank != nil {
				op.note.update(func(n *opNote) { n.PAN = b.Bank.PAN })
			}
		}
		return err
	})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, b)
}
