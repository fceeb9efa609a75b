package link

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sscard/ssc/sm"
)

// Options are the platform's expectations for Verify.
type Options struct {
	// Roots are the trusted roots of the card signing certificates
	// (required). For the software card: simkeys.RootPool.
	Roots *sm.CertPool
	// Origin is the platform's own origin, matched exactly (required).
	Origin string
	// Nonce is the nonce the platform issued for this link, or
	Nonce []byte
	// Nonces is the store the bundle's nonce is consumed in (single use,
	// for Origin and the bundle's level), after every other check passed:
	// a *NonceBook in one process, a redisnonce.Store across instances.
	// Exactly one of Nonce and Nonces.
	Nonces NonceStore
	// MinLevel is the lowest acceptable level (0 = any).
	MinLevel int
	// Time is the time the certificates must be valid at; zero = now.
	Time time.Time
	// Binding ties the certificate to the card; nil = SIMBinding().
	Binding Binding
}

// Binding ties the signing certificate to the card identity in the bundle.
// Without it, any genuine card could sign someone else's data: the chain
// proves that some card signed, the binding that it is this card.
type Binding interface {
	// Check returns nil when cert is the certificate of card c.
	Check(cert *smx509.Certificate, c *Card) error
}

// BindingFunc is a function used as a Binding.
type BindingFunc func(cert *smx509.Certificate, c *Card) error

// Check calls f(cert, c).
func (f BindingFunc) Check(cert *smx509.Certificate, c *Card) error { return f(cert, c) }

// SIMBinding is the binding of the SIM certificate profile: the
// certificate's subject serialNumber (2.5.4.5) equals Card.CardNumber.
//
// SIM: the certificate profile of real cards is an open point of
// ssc-facts; a platform that knows it supplies its own Binding. A
// function, not a variable, so no caller can swap the default binding.
func SIMBinding() Binding { return BindingFunc(simBinding) }

func simBinding(cert *smx509.Certificate, c *Card) error {
	if cert == nil || c == nil {
		return errors.New("no certificate or card")
	}
	if cert.Subject.SerialNumber == "" {
		return fmt.Errorf("certificate %q has no subject serialNumber", cert.Subject.CommonName)
	}
	if cert.Subject.SerialNumber != c.CardNumber {
		return fmt.Errorf("certificate subject serialNumber %q is not the card number %q", cert.Subject.SerialNumber, c.CardNumber)
	}
	return nil
}

// Verified is a bundle that passed Verify.
type Verified struct {
	// Bundle is the verified bundle (the one passed to Verify).
	Bundle *Bundle
	// Chain is the certificate chain, from the card's certificate to the
	// trusted root.
	Chain []*smx509.Certificate
	// Certificate is the card's signing certificate (Chain[0]).
	Certificate *smx509.Certificate
}

// Verify checks a link bundle for the platform, in this order, and stops
// at the first failure:
//
//  1. the structure (Bundle.Check): ErrMalformed;
//  2. the origin equals opts.Origin: ErrOrigin;
//  3. with opts.Nonce, the nonce equals it: ErrNonce;
//  4. the certificates parse: ErrMalformed;
//  5. the card's certificate chains to opts.Roots at opts.Time and allows
//     digital signatures: ErrUntrusted (wrapping sm.ErrCertUntrusted,
//     sm.ErrCertExpired, ...);
//  6. opts.Binding ties the certificate to the card: ErrCardMismatch;
//  7. the SM2 signature over SignedMessage(b) verifies with the
//     certificate's key: ErrSignature;
//  8. the level is at least opts.MinLevel: ErrLevel; a level 2 bank
//     application is not blocked: ErrBankBlocked;
//  9. with opts.Nonces, the nonce is consumed: ErrNonce, ErrNonceExpired,
//     ErrNonceReplayed, ErrLevel (below the level the nonce was issued
//     for), ErrNonceStore (the store did not answer: refused, fail closed).
//
// The nonce is consumed last, so a bundle that fails any other check does
// not use up a legitimate nonce. Unusable options give ErrOptions.
// Verify is VerifyContext with context.Background().
func Verify(b *Bundle, opts Options) (*Verified, error) {
	return VerifyContext(context.Background(), b, opts)
}

// VerifyContext is Verify with a context for the nonce store: when ctx ends
// before the store answers, the bundle is refused with ErrNonceStore.
func VerifyContext(ctx context.Context, b *Bundle, opts Options) (*Verified, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	if err := b.Check(); err != nil {
		return nil, err
	}
	if b.Origin != opts.Origin {
		return nil, fmt.Errorf("%w: origin %q is not the expected %q", ErrOrigin, b.Origin, opts.Origin)
	}
	if opts.Nonce != nil && (len(b.Nonce) != len(opts.Nonce) || subtle.ConstantTimeCompare(b.Nonce, opts.Nonce) != 1) {
		return nil, fmt.Errorf("%w: nonce %s is not the issued %s", ErrNonce, nonceLabel(b.Nonce), nonceLabel(opts.Nonce))
	}

	certs := make([]*smx509.Certificate, len(b.Proof.Certificates))
	for i, der := range b.Proof.Certificates {
		c, err := sm.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("%w: proof.certificates[%d]: %w", ErrMalformed, i, err)
		}
		certs[i] = c
	}
	leaf := certs[0]
	chain, err := opts.Roots.VerifySigning(leaf, opts.Time, certs[1:]...)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate chain of %q: %w", ErrUntrusted, leaf.Subject.CommonName, err)
	}

	binding := opts.Binding
	if binding == nil {
		binding = SIMBinding()
	}
	if err := binding.Check(leaf, &b.Card); err != nil {
		return nil, fmt.Errorf("%w: binding of card %s: %w", ErrCardMismatch, b.Card.CardID, err)
	}

	pub, err := sm.CertificatePublicKey(leaf)
	if err != nil { // unreachable: VerifySigning checked the key
		return nil, fmt.Errorf("%w: %w", ErrUntrusted, err)
	}
	msg, err := SignedMessage(b)
	if err != nil { // unreachable after Check
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if err := sm.Verify(pub, nil, msg, b.Proof.Signature); err != nil {
		return nil, fmt.Errorf("%w: signature over origin, nonce and card data does not verify with the key of %q: %w", ErrSignature, leaf.Subject.CommonName, err)
	}

	if b.Level < opts.MinLevel {
		return nil, fmt.Errorf("%w: level %d, at least %d required", ErrLevel, b.Level, opts.MinLevel)
	}
	if b.Level == Level2 && b.Bank.Blocked {
		return nil, fmt.Errorf("%w: level 2 bundle with bank application %s marked blocked", ErrBankBlocked, b.Bank.AID)
	}

	if opts.Nonces != nil {
		if err := opts.Nonces.ConsumeNonce(ctx, opts.Origin, b.Nonce, b.Level); err != nil {
			return nil, err
		}
	}
	return &Verified{Bundle: b, Chain: chain, Certificate: leaf}, nil
}

func (o *Options) check() error {
	switch {
	case o.Roots == nil:
		return fmt.Errorf("%w: Roots is nil", ErrOptions)
	case o.Origin == "":
		return fmt.Errorf("%w: Origin is empty", ErrOptions)
	case o.Nonce == nil && o.Nonces == nil:
		return fmt.Errorf("%w: neither Nonce nor Nonces is set", ErrOptions)
	case o.Nonce != nil && o.Nonces != nil:
		return fmt.Errorf("%w: both Nonce and Nonces are set", ErrOptions)
	case o.MinLevel < 0 || o.MinLevel > Level2:
		return fmt.Errorf("%w: MinLevel %d, want 0 to %d", ErrOptions, o.MinLevel, Level2)
	}
	return nil
}
