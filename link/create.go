package link

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/pboc"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sscard"
)

// Errors of Create (besides those of sscard and pboc, which it wraps).
var (
	// ErrRequest: the request is invalid (level, origin, nonce size); the
	// card was not touched.
	ErrRequest = errors.New("link: invalid request")
	// ErrNoBankApp: level 2 was asked of a card without a bank (PBOC)
	// application. Wraps pboc.ErrNoApplication.
	ErrNoBankApp = errors.New("link: the card has no bank application")
	// ErrNoPKI: the card has no PKI application to sign the proof with (a
	// 2nd-generation card).
	ErrNoPKI = errors.New("link: the card has no PKI application")
)

// Request is what the platform asks for.
type Request struct {
	Level  int
	Origin string
	Nonce  []byte
	// PIN is the user PIN of the card's PKI application.
	PIN string
}

// Check validates the request before any card access.
func (r Request) Check() error {
	if r.Level != Level1 && r.Level != Level2 {
		return fmt.Errorf("%w: level %d: want 1 or 2", ErrRequest, r.Level)
	}
	if err := CheckOrigin(r.Origin); err != nil {
		return fmt.Errorf("%w: %w", ErrRequest, err)
	}
	if n := len(r.Nonce); n < MinNonceSize || n > MaxNonceSize {
		return fmt.Errorf("%w: nonce is %d bytes, want %d to %d", ErrRequest, n, MinNonceSize, MaxNonceSize)
	}
	if r.PIN == "" {
		return fmt.Errorf("%w: the PKI PIN is required to sign the proof", ErrRequest)
	}
	return nil
}

// CreateOptions are what Create needs besides the card.
type CreateOptions struct {
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
// the PKI PIN, reads the signing certificate and has the card sign
// SignedMessage. sess is the card's SSSE session on card.
//
// The card's security state is raised (HSM authentication, PKI PIN): the
// caller must reset the card afterwards before anyone else uses it.
func Create(ctx context.Context, card reader.Card, sess *sscard.Session, req Request, opts CreateOptions) (*Bundle, error) {
	if err := req.Check(); err != nil {
		return nil, err
	}
	var info *sscard.BasicInfo
	var err error
	if opts.HSM != nil && sess.Generation() >= 3 {
		info, err = sscard.ReadWithHSM(ctx, sess, opts.HSM, sscard.ReadOptions{})
	} else {
		info, err = sess.Read(ctx, sscard.ReadOptions{})
	}
	if err != nil {
		return nil, fmt.Errorf("link: read the card: %w", err)
	}
	b := &Bundle{
		Version: BundleVersion,
		Level:   req.Level,
		Origin:  req.Origin,
		Nonce:   apdu.HexBytes(req.Nonce),
		Card: Card{
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
	if req.Level == Level2 {
		if b.Bank, err = bankAccount(ctx, card, opts.PBOC, opts.ODA); err != nil {
			return nil, err
		}
	}
	msg, err := SignedMessage(b)
	if err != nil {
		return nil, err
	}
	pki := sess.PKI()
	if err := pki.VerifyPIN(ctx, req.PIN); err != nil {
		if errors.Is(err, apdu.ErrNotFound) {
			return nil, fmt.Errorf("%w: %w", ErrNoPKI, err)
		}
		return nil, fmt.Errorf("link: PKI PIN: %w", err)
	}
	cert, err := pki.Certificate(ctx, sscard.FIDSignCert)
	if err != nil {
		return nil, fmt.Errorf("link: signing certificate: %w", err)
	}
	sig, err := pki.Sign(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("link: sign: %w", err)
	}
	b.Proof = Proof{Alg: AlgSM2SM3, Signature: sig, Certificates: [][]byte{cert.Raw}}
	return b, nil
}

// bankAccount reads the account of the card's bank application.
func bankAccount(ctx context.Context, card reader.Card, opts pboc.Options, oda bool) (*Bank, error) {
	r, err := pboc.NewSession(card, opts).Read(ctx, pboc.ReadOptions{ODA: oda})
	switch {
	case errors.Is(err, pboc.ErrApplicationBlocked):
		return nil, fmt.Errorf("%w: %w", ErrBankBlocked, err)
	case errors.Is(err, pboc.ErrNoApplication):
		return nil, fmt.Errorf("%w: %w", ErrNoBankApp, err)
	case err != nil && r != nil && r.ODA != nil && !r.ODA.OK:
		return nil, fmt.Errorf("link: the bank application failed authentication (%s): %w", r.ODA.Method, err)
	case err != nil:
		return nil, fmt.Errorf("link: read the bank application: %w", err)
	case r.Account == nil || r.Account.PAN == "":
		return nil, fmt.Errorf("%w: the application gave no account number", ErrNoBankApp)
	}
	return &Bank{
		AID:     strings.ToUpper(hex.EncodeToString(r.Application.AID)),
		PAN:     r.Account.PAN,
		Expiry:  yymmdd(r.Account.Expiry),
		Blocked: r.Application.Blocked,
	}, nil
}

// yymmdd turns pboc's "YYYY-MM-DD" back into the card's YYMMDD.
func yymmdd(d string) string {
	if len(d) == 10 && d[4] == '-' && d[7] == '-' {
		return d[2:4] + d[5:7] + d[8:10]
	}
	return d
}
