package cardlink

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/link"
	"github.com/sscard/ssc/pboc"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sscard"
)

// Options are what Create needs besides the card.
type Options struct {
	// HSM authenticates the terminal for the protected fields of a 3rd-gen
	// card; nil fails such cards with sscard.ErrNeedsHSM.
	HSM sscard.HSM
	// PBOC are the options of the bank application reading (level 2).
	PBOC pboc.Options
	// ODA authenticates the bank application (SM2 offline data
	// authentication with PBOC.CAKeys) before its account is linked; a
	// failure fails the link.
	ODA bool
}

// Create builds the link bundle of the card: it reads the identity from
// SSSE (with the HSM on a 3rd-gen card), for level 2 the bank account from
// the PBOC application (refusing a missing or blocked one), then verifies
// the PKI PIN (its try counter is read first, before anything else: see
// sscard's PIN guard), reads the signing certificate and has the card sign
// link.SignedMessage. sess is the card's SSSE session on card.
//
// The card's security state is raised (HSM authentication, PKI PIN): the
// caller must reset the card afterwards before anyone else uses it.
func Create(ctx context.Context, card reader.Card, sess *sscard.Session, req Request, opts Options) (*link.Bundle, error) {
	if err := req.Check(); err != nil {
		return nil, err
	}
	pki := sess.PKI()
	// The PKI PIN's try counter before the HSM and bank reads: a blocked
	// PIN, or its last try without Force, is refused at once (VerifyPIN
	// checks again before the PIN is sent).
	if err := checkPKIPIN(ctx, pki, req.Force); err != nil {
		return nil, err
	}
	info, err := sscard.ReadAuto(ctx, sess, opts.HSM, sscard.ReadOptions{})
	if err != nil {
		return nil, fmt.Errorf("cardlink: read the card: %w", err)
	}
	b := &link.Bundle{
		Version: link.BundleVersion,
		Level:   req.Level,
		Origin:  req.Origin,
		Nonce:   apdu.HexBytes(req.Nonce),
		Card: link.Card{
			CardID:      strings.ToUpper(hex.EncodeToString(info.CardID)),
			CardNumber:  info.CardNumber,
			SSN:         info.SSN,
			Name:        info.Name,
			Region:      info.Region,
			SpecVersion: info.Version,
			IssueDate:   info.IssueDate,
			ExpiryDate:  info.ExpiryDate,
		},
	}
	if req.Level == link.Level2 {
		if b.Bank, err = bankAccount(ctx, card, opts.PBOC, opts.ODA); err != nil {
			return nil, err
		}
	}
	msg, err := link.SignedMessage(b)
	if err != nil {
		return nil, err
	}
	if err := pki.VerifyPIN(ctx, req.PIN, sscard.PINOptions{Force: req.Force}); err != nil {
		if errors.Is(err, apdu.ErrNotFound) {
			return nil, fmt.Errorf("%w: %w", ErrNoPKI, err)
		}
		return nil, fmt.Errorf("cardlink: PKI PIN: %w", err)
	}
	cert, err := pki.Certificate(ctx, sscard.FIDSignCert)
	if err != nil {
		return nil, fmt.Errorf("cardlink: signing certificate: %w", err)
	}
	sig, err := pki.Sign(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("cardlink: sign: %w", err)
	}
	b.Proof = link.Proof{Alg: link.AlgSM2SM3, Signature: sig, Certificates: [][]byte{cert.Raw}}
	return b, nil
}

// checkPKIPIN reads the PKI PIN's try counter (no try spent): a card
// without PKI gives ErrNoPKI, a blocked PIN sscard.ErrPINBlocked, one try
// left without force sscard.ErrPINLastTry.
func checkPKIPIN(ctx context.Context, pki *sscard.PKI, force bool) error {
	tries, err := pki.PINStatus(ctx)
	switch {
	case errors.Is(err, apdu.ErrNotFound):
		return fmt.Errorf("%w: %w", ErrNoPKI, err)
	case err != nil:
		return fmt.Errorf("cardlink: PKI PIN: %w", err)
	case tries == 1 && !force:
		return fmt.Errorf("cardlink: PKI PIN: %w", sscard.ErrPINLastTry)
	}
	return nil
}
