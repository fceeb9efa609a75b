package sscard

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/sm"
)

// PKI application names (ssc-facts §3.5, sim-profile §5).
const (
	// PKIDDFName is "PKI." + GBK 社会保障.
	PKIDDFName = "PKI.\xC9\xE7\xBB\xE1\xB1\xA3\xD5\xCF"
	// PKIADFName is "SS.CERT.ADF1".
	PKIADFName = "SS.CERT.ADF1"
)

// PKI file identifiers.
const (
	FIDPKIADF         uint16 = 0xDF01
	FIDSignPublicKey  uint16 = 0x0012
	FIDEncPublicKey   uint16 = 0x0014 // encryption public key 00 40 || X || Y
	FIDSignCert       uint16 = 0x0018
	FIDEncryptionCert uint16 = 0x0019
)

// ErrSignatureInvalid: the card's signature does not verify with its own
// public key (EF 0012).
var ErrSignatureInvalid = errors.New("sscard: card signature does not verify")

// ErrKeyMismatch: a certificate's key differs from the card's public key
// (the signing certificate and EF 0012, the encryption certificate and EF
// 0014).
var ErrKeyMismatch = errors.New("sscard: certificate key differs from the card's public key")

// PKI is the SM2 PKI application of a 3rd-gen card, used through a Session.
// Using it deselects SSSE (the session re-selects SSSE when needed).
type PKI struct {
	s   *Session
	pub *ecdsa.PublicKey
}

// PKI returns a handle on the PKI application of the session's card; the
// application is selected lazily by each call.
func (s *Session) PKI() *PKI { return &PKI{s: s} }

func (s *Session) selectPKI(ctx context.Context) error {
	if err := s.selectPKIDDF(ctx); err != nil {
		return err
	}
	err := s.doSelect(ctx, apdu.Command{INS: 0xA4, P1: 0x04, P2: 0x0C, Data: []byte(PKIADFName)})
	if errors.Is(err, apdu.ErrNotFound) {
		err = s.doSelect(ctx, apdu.Command{INS: 0xA4, P1: 0x00, P2: 0x0C, Data: fid(FIDPKIADF)})
	}
	if errors.Is(err, apdu.ErrNotFound) {
		return fmt.Errorf("sscard: select PKI ADF: %w: %w", ErrNoPKI, err)
	}
	if err != nil {
		return fmt.Errorf("sscard: select PKI ADF: %w", err)
	}
	s.pkiSelected = true
	return nil
}

// selectPKIDDF selects the PKI DDF by name (for its master key): the ADF
// is no longer selected.
func (s *Session) selectPKIDDF(ctx context.Context) error {
	s.selected, s.pkiSelected = false, false
	err := s.doSelect(ctx, apdu.Command{INS: 0xA4, P1: 0x04, P2: 0x0C, Data: []byte(PKIDDFName)})
	if errors.Is(err, apdu.ErrNotFound) {
		return fmt.Errorf("sscard: select PKI DDF: %w: %w", ErrNoPKI, err)
	}
	if err != nil {
		return fmt.Errorf("sscard: select PKI DDF: %w", err)
	}
	return nil
}

func fid(f uint16) []byte { return []byte{byte(f >> 8), byte(f)} }

// run runs f in a transaction with the PKI ADF selected.
func (p *PKI) run(ctx context.Context, f func() error) error {
	s := p.s
	return s.do(ctx, func() error {
		if !s.pkiSelected {
			if err := s.selectPKI(ctx); err != nil {
				return err
			}
		}
		return f()
	})
}

// PINStatus reads the try counter of the PKI user PIN with VERIFY
// without data (no try is used): the tries left, or -1 when the PIN is
// already verified in this card session. A blocked PIN gives
// ErrPINBlocked.
func (p *PKI) PINStatus(ctx context.Context) (int, error) {
	var tries int
	err := p.run(ctx, func() error {
		var err error
		tries, err = p.s.pinTries(ctx, pinRefPKIUser)
		return err
	})
	return tries, err
}

// VerifyPIN verifies the PKI user PIN: GET CHALLENGE (16 bytes), then
// VERIFY 00 20 01 81 10 <SM4_ECB(SM3(PIN BCD)[0:16], challenge)>. As the
// SSSE VerifyPIN, it reads the try counter first: ErrPINLastTry with one
// try left unless opts.Force, ErrPINBlocked (the PIN not sent) when
// blocked. A wrong PIN returns an error wrapping *apdu.AuthError.
func (p *PKI) VerifyPIN(ctx context.Context, pin string, opts PINOptions) error {
	bcd, err := encodePIN(pin)
	if err != nil {
		return err
	}
	key := sm.PKIPINKey(bcd[:])
	clear(bcd[:])
	defer clear(key[:])
	return p.run(ctx, func() error {
		return p.s.presentPIN(ctx, pinAttempt{ref: pinRefPKIUser, cmd: pinVerify, op: "PKI verify PIN", force: opts.Force, pkiKey: &key})
	})
}

// readEF selects an EF of the PKI ADF by FID and reads it: n bytes, or
// (n < 0) a DER object whose length comes from its header.
func (p *PKI) readEF(ctx context.Context, f uint16, n int) ([]byte, error) {
	s := p.s
	if err := s.doSelect(ctx, apdu.Command{INS: 0xA4, P1: 0x02, P2: 0x0C, Data: fid(f)}); err != nil {
		return nil, fmt.Errorf("sscard: select EF %04X: %w", f, err)
	}
	chunk := apdu.MaxShortNe
	if s.tx.Extended {
		chunk = apdu.MaxExtendedNe
	}
	var out []byte
	total := n
	for total < 0 || len(out) < total {
		want := chunk
		if total >= 0 {
			want = min(chunk, total-len(out))
		}
		off := len(out)
		if off > 0x7FFF {
			return nil, ErrFileTooLarge
		}
		data, err := s.tx.Do(ctx, apdu.Command{INS: 0xB0, P1: byte(off >> 8), P2: byte(off), Ne: want, Extended: want > apdu.MaxShortNe})
		if err != nil {
			return nil, fmt.Errorf("sscard: read EF %04X at %d: %w", f, off, err)
		}
		if len(data) == 0 {
			return nil, fmt.Errorf("sscard: EF %04X: empty read at %d", f, off)
		}
		out = append(out, data...)
		if total < 0 {
			l, err := derLen(out)
			if err != nil {
				return nil, fmt.Errorf("sscard: EF %04X: %w", f, err)
			}
			if l > DefaultMaxBinary {
				return nil, ErrFileTooLarge
			}
			total = l
		}
	}
	return out[:total], nil
}

// derLen returns the total length of the DER SEQUENCE at the start of b.
func derLen(b []byte) (int, error) {
	if len(b) < 2 || b[0] != 0x30 {
		return 0, errors.New("not a DER SEQUENCE")
	}
	l := int(b[1])
	if l < 0x80 {
		return 2 + l, nil
	}
	n := l & 0x7F
	if n == 0 || n > 3 || len(b) < 2+n {
		return 0, errors.New("bad DER length")
	}
	l = 0
	for _, x := range b[2 : 2+n] {
		l = l<<8 | int(x)
	}
	return 2 + n + l, nil
}

// PublicKey reads the signing public key from EF 0012 (00 40 || X || Y).
func (p *PKI) PublicKey(ctx context.Context) (*ecdsa.PublicKey, error) {
	var pub *ecdsa.PublicKey
	err := p.run(ctx, func() error {
		var err error
		pub, err = p.publicKey(ctx)
		return err
	})
	return pub, err
}

func (p *PKI) publicKey(ctx context.Context) (*ecdsa.PublicKey, error) {
	if p.pub != nil {
		return p.pub, nil
	}
	b, err := p.readEF(ctx, FIDSignPublicKey, 66)
	if err != nil {
		return nil, err
	}
	pub, err := sm.ParseCardPublicKey(b)
	if err != nil {
		return nil, err
	}
	p.pub = pub
	return pub, nil
}

// Certificate reads and decodes a certificate EF (FIDSignCert or
// FIDEncryptionCert).
func (p *PKI) Certificate(ctx context.Context, f uint16) (*smx509.Certificate, error) {
	var c *smx509.Certificate
	err := p.run(ctx, func() error {
		der, err := p.readEF(ctx, f, -1)
		if err != nil {
			return err
		}
		c, err = sm.DecodeCertificate(der)
		return err
	})
	return c, err
}

// Sign signs msg with the card's SM2 key: e = SM3(Z || msg) with the default
// signer id and the EF 0012 key, PSO: COMPUTE DIGITAL SIGNATURE
// 00 2A 9E 9A 20 <e> 00. The user PIN must have been verified (6982
// otherwise). The signature r||s (64 bytes) is verified with the card's
// public key before it is returned.
func (p *PKI) Sign(ctx context.Context, msg []byte) ([]byte, error) {
	var sig []byte
	err := p.run(ctx, func() error {
		pub, err := p.publicKey(ctx)
		if err != nil {
			return err
		}
		e, err := sm.SM2Digest(pub, nil, msg)
		if err != nil {
			return err
		}
		sig, err = p.s.tx.Do(ctx, apdu.Command{INS: 0x2A, P1: 0x9E, P2: 0x9A, Data: e[:], Ne: 256})
		if err != nil {
			return fmt.Errorf("sscard: PKI sign: %w", err)
		}
		if err := sm.VerifyDigest(pub, e[:], sig); err != nil {
			return fmt.Errorf("%w: %w", ErrSignatureInvalid, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sig, nil
}

// VerifyChain reads the signing certificate (EF 0018), checks that its key
// is the card's EF 0012 key and verifies it against roots at time at.
func (p *PKI) VerifyChain(ctx context.Context, roots *sm.CertPool, at time.Time) ([]*smx509.Certificate, error) {
	cert, err := p.Certificate(ctx, FIDSignCert)
	if err != nil {
		return nil, err
	}
	pub, err := p.PublicKey(ctx)
	if err != nil {
		return nil, err
	}
	cpub, err := sm.CertificatePublicKey(cert)
	if err != nil {
		return nil, err
	}
	if !cpub.Equal(pub) {
		return nil, ErrKeyMismatch
	}
	return roots.VerifySigning(cert, at)
}

// EncryptionPublicKey reads the encryption public key from EF 0014
// (00 40 || X || Y); an all-zero file (no encryption pair yet) gives an
// error wrapping sm.ErrSM2NoKey.
func (p *PKI) EncryptionPublicKey(ctx context.Context) (*ecdsa.PublicKey, error) {
	var pub *ecdsa.PublicKey
	err := p.run(ctx, func() error {
		b, err := p.readEF(ctx, FIDEncPublicKey, 66)
		if err != nil {
			return err
		}
		pub, err = sm.ParseCardPublicKey(b)
		return err
	})
	return pub, err
}

// VerifyEncryptionChain reads the encryption certificate (EF 0019), checks
// that its key is the card's EF 0014 key and verifies it against roots at
// time at (keyEncipherment).
func (p *PKI) VerifyEncryptionChain(ctx context.Context, roots *sm.CertPool, at time.Time) ([]*smx509.Certificate, error) {
	cert, err := p.checkCertKey(ctx, FIDEncryptionCert)
	if err != nil {
		return nil, err
	}
	return roots.VerifyEncryption(cert, at)
}

// checkCertKey reads a certificate EF (0018 or 0019) and checks that its
// key is the matching public-key EF's (0012 or 0014): ErrKeyMismatch.
func (p *PKI) checkCertKey(ctx context.Context, f uint16) (*smx509.Certificate, error) {
	cert, err := p.Certificate(ctx, f)
	if err != nil {
		return nil, err
	}
	var pub *ecdsa.PublicKey
	if f == FIDEncryptionCert {
		pub, err = p.EncryptionPublicKey(ctx)
	} else {
		pub, err = p.PublicKey(ctx)
	}
	if err != nil {
		return nil, err
	}
	cpub, err := sm.CertificatePublicKey(cert)
	if err != nil {
		return nil, err
	}
	if !cpub.Equal(pub) {
		return nil, fmt.Errorf("%w (EF %04X)", ErrKeyMismatch, f)
	}
	return cert, nil
}
