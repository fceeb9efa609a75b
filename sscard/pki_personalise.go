package sscard

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/sm"
)

// PKI personalisation (docs/issuance.md, "PKI personalisation — the
// contract"): admin PIN (GLYPIN), signing key generation, certificate
// writing, admin PIN and master key (ZKMY) changes.

// Errors of the PKI personalisation.
var (
	// ErrNotIssued: the card holds no holder data (SSSE); issue it first
	// (Issue), the signing certificate names the holder.
	ErrNotIssued = errors.New("sscard: the card is not issued (no holder data): issue the SSSE data first")
	// ErrCertReadBack: a certificate written to the card does not read back
	// as written.
	ErrCertReadBack = errors.New("sscard: the certificate read back differs from the one written")
)

// PKI personalisation steps, as IssueError.Step and JournalEntry.Step name
// them.
const (
	StepPKICheck     = "pki.check"      // read the holder (with the HSM), refuse a card not issued
	StepPKIAdmin     = "pki.admin"      // verify the admin PIN
	StepPKIKeygen    = "pki.keygen"     // generate the signing key pair
	StepPKICert      = "pki.cert"       // have the CA issue the signing certificate, write EF 0018
	StepPKIVerify    = "pki.verify"     // verify the chain of the written certificate
	StepPKIAdminPIN  = "pki.admin_pin"  // change the admin PIN
	StepPKIMasterKey = "pki.master_key" // change the master key
	StepPKIDone      = "pki.done"
)

// MaxCertChunk is the largest data field of one UPDATE BINARY when a
// certificate is written (the contract: at most 240 bytes).
const MaxCertChunk = 240

// VerifyAdminPIN verifies the admin PIN (GLYPIN) of the PKI application:
// GET CHALLENGE (16 bytes), then VERIFY 00 20 01 00 10
// <SM4_ECB(SM3(pin)[0:16], challenge)>. The PKI ADF is selected afresh
// first; the admin state then lasts until the ADF is selected again or the
// card is reset. A wrong PIN returns an error wrapping *apdu.AuthError (with
// the tries left); 6983 gives ErrPINBlocked.
func (p *PKI) VerifyAdminPIN(ctx context.Context, pin [4]byte) error {
	return p.s.do(ctx, func() error {
		if err := p.s.selectPKI(ctx); err != nil {
			return err
		}
		return p.verifyAdminPIN(ctx, pin)
	})
}

func (p *PKI) verifyAdminPIN(ctx context.Context, pin [4]byte) error {
	key := sm.PKIPINKey(pin[:])
	defer clear(key[:])
	c, err := p.challengeResponse(ctx, key[:])
	if err != nil {
		return err
	}
	if _, err := p.s.tx.Do(ctx, apdu.Command{INS: 0x20, P1: 0x01, P2: 0x00, Data: c[:]}); err != nil {
		return pinError("PKI verify admin PIN", err)
	}
	return nil
}

// challengeResponse asks the card for a 16-byte challenge and answers it
// under key (sm.PKIChallengeResponse); the caller holds the transaction.
func (p *PKI) challengeResponse(ctx context.Context, key []byte) ([16]byte, error) {
	chal, err := p.s.tx.Do(ctx, apdu.Command{INS: 0x84, Ne: sm.PKIChallengeSize})
	if err != nil {
		return [16]byte{}, fmt.Errorf("sscard: PKI get challenge: %w", err)
	}
	if len(chal) != sm.PKIChallengeSize {
		return [16]byte{}, fmt.Errorf("sscard: PKI get challenge: %d bytes, want %d", len(chal), sm.PKIChallengeSize)
	}
	return sm.PKIChallengeResponse(key, chal)
}

// GenerateSigningKey makes the card generate a new SM2 signing key pair
// (80 40 00 00 08 C0 02 00 12 C2 02 00 13; the admin PIN must have been
// verified, 6982 otherwise) and returns the new public key, read back from
// EF 0012.
func (p *PKI) GenerateSigningKey(ctx context.Context) (*ecdsa.PublicKey, error) {
	var pub *ecdsa.PublicKey
	err := p.run(ctx, func() error {
		p.pub = nil
		cmd := apdu.Command{CLA: 0x80, INS: 0x40, Data: []byte{0xC0, 0x02, 0x00, 0x12, 0xC2, 0x02, 0x00, 0x13}}
		if _, err := p.s.tx.Do(ctx, cmd); err != nil {
			return fmt.Errorf("sscard: PKI generate key pair: %w", err)
		}
		var err error
		pub, err = p.publicKey(ctx)
		return err
	})
	return pub, err
}

// WriteCertificate writes the DER certificate der to a certificate EF
// (FIDSignCert or FIDEncryptionCert): it selects the EF by FID, writes it
// with UPDATE BINARY 00 D6 in chunks of at most MaxCertChunk bytes (admin
// PIN needed, 6982 otherwise), then reads it back and compares
// (ErrCertReadBack).
func (p *PKI) WriteCertificate(ctx context.Context, f uint16, der []byte) error {
	if _, err := sm.DecodeCertificate(der); err != nil {
		return fmt.Errorf("sscard: certificate to write: %w", err)
	}
	return p.run(ctx, func() error {
		if err := p.s.doSelect(ctx, apdu.Command{INS: 0xA4, P1: 0x02, P2: 0x0C, Data: fid(f)}); err != nil {
			return fmt.Errorf("sscard: select EF %04X: %w", f, err)
		}
		for off := 0; off < len(der); off += MaxCertChunk {
			if off > 0x7FFF {
				return ErrFileTooLarge
			}
			chunk := der[off:min(off+MaxCertChunk, len(der))]
			if _, err := p.s.tx.Do(ctx, apdu.Command{INS: 0xD6, P1: byte(off >> 8), P2: byte(off), Data: chunk}); err != nil {
				return fmt.Errorf("sscard: update EF %04X at %d: %w", f, off, err)
			}
		}
		back, err := p.readEF(ctx, f, len(der))
		if err != nil {
			return err
		}
		if !bytes.Equal(back, der) {
			return fmt.Errorf("%w (EF %04X)", ErrCertReadBack, f)
		}
		return nil
	})
}

// smTransmitter returns a transmitter that sends its commands enciphered
// and MACed with key, as the PKI COS wants for 84 5E and 84 D4: data
// SM4-ECB(key, Ld || data || 80 00…), MAC of ssc-facts §3.2 (NewPKIMAC)
// over a fresh 16-byte card challenge.
func (p *PKI) smTransmitter(key []byte) (*apdu.Transmitter, error) {
	b, err := sm.NewSM4(key)
	if err != nil {
		return nil, err
	}
	mac, err := sm.NewPKIMAC(key)
	if err != nil {
		return nil, err
	}
	t := sm.NewSMTransport(p.s.tx.Transport, sm.SMConfig{
		MAC:       mac,
		Cipher:    sm.DataCipher{Block: b, Padding: sm.PadISO9797M2},
		Level:     func(apdu.Command) sm.SMLevel { return sm.SMEncMAC },
		Challenge: sm.CardChallenge(sm.PKIChallengeSize),
	})
	return &apdu.Transmitter{Transport: t, Trace: p.s.tx.Trace}, nil
}

// ChangeAdminPIN sets a new admin PIN: 84 5E 01 00 14
// <SM4_ECB(ctk, 04 || newPIN || 80 00…)> <MAC4>, the MAC over a fresh card
// challenge with ctk (on the SIM the current master key). The admin PIN
// must have been verified in this selection of the ADF (6982 otherwise); a
// wrong ctk gives 6988.
func (p *PKI) ChangeAdminPIN(ctx context.Context, ctk []byte, newPIN [4]byte) error {
	tx, err := p.smTransmitter(ctk)
	if err != nil {
		return err
	}
	return p.run(ctx, func() error {
		if _, err := tx.Do(ctx, apdu.Command{CLA: 0x84, INS: 0x5E, P1: 0x01, P2: 0x00, Data: newPIN[:]}); err != nil {
			return fmt.Errorf("sscard: PKI change admin PIN: %w", err)
		}
		return nil
	})
}

// ChangeMasterKey replaces the master key (ZKMY) oldKey with newKey, at the
// PKI ADF (selected afresh): GET CHALLENGE (16), EXTERNAL AUTHENTICATE
// 00 82 00 00 10 <SM4_ECB(oldKey, challenge)> (a wrong key gives an error
// wrapping *apdu.AuthError with the tries left), then 84 D4 01 00 24
// <SM4_ECB(oldKey, 13 00 00 00 || newKey || 80 00…)> <MAC4> with the MAC
// of oldKey over a fresh challenge.
func (p *PKI) ChangeMasterKey(ctx context.Context, oldKey, newKey []byte) error {
	if len(oldKey) != 16 || len(newKey) != 16 {
		return fmt.Errorf("sscard: master keys are 16 bytes (got %d and %d)", len(oldKey), len(newKey))
	}
	tx, err := p.smTransmitter(oldKey)
	if err != nil {
		return err
	}
	return p.s.do(ctx, func() error {
		if err := p.s.selectPKI(ctx); err != nil {
			return err
		}
		c, err := p.challengeResponse(ctx, oldKey)
		if err != nil {
			return err
		}
		if _, err := p.s.tx.Do(ctx, apdu.Command{INS: 0x82, Data: c[:]}); err != nil {
			return fmt.Errorf("sscard: PKI authenticate with the master key: %w", err)
		}
		data := make([]byte, 3, 19)
		data = append(data, newKey...)
		defer clear(data)
		if _, err := tx.Do(ctx, apdu.Command{CLA: 0x84, INS: 0xD4, P1: 0x01, P2: 0x00, Data: data}); err != nil {
			return fmt.Errorf("sscard: PKI change master key: %w", err)
		}
		return nil
	})
}

// CertIssuer issues the signing certificate of a card's new public key: the
// certification authority of the provincial platform. SIMCA is the SIM
// one.
type CertIssuer interface {
	IssueSigningCertificate(ctx context.Context, cardID []byte, pub *ecdsa.PublicKey, holder *BasicInfo) (der []byte, err error)
}

// SIMCA issues signing certificates with the SIM test root, exactly as the
// personalised software cards have them: sm.SIMIssueCardCertificate with
// subject C=CN, CN=holder name, SERIALNUMBER=card number, valid from the
// issue date (00:00 UTC) to the end of the expiry date (+1 day − 1 s).
type SIMCA struct{}

// IssueSigningCertificate implements CertIssuer.
func (SIMCA) IssueSigningCertificate(_ context.Context, cardID []byte, pub *ecdsa.PublicKey, holder *BasicInfo) ([]byte, error) {
	if holder == nil || holder.Name == "" || holder.CardNumber == "" {
		return nil, ErrNotIssued
	}
	issued, err := time.Parse("20060102", holder.IssueDate)
	if err != nil {
		return nil, fmt.Errorf("sscard: issue date %q: %w", holder.IssueDate, err)
	}
	expires, err := time.Parse("20060102", holder.ExpiryDate)
	if err != nil {
		return nil, fmt.Errorf("sscard: expiry date %q: %w", holder.ExpiryDate, err)
	}
	return sm.SIMHolderCertificate(cardID, pub, holder.Name, holder.CardNumber, issued, expires)
}

// PersonaliseInput is what PersonalisePKI needs: the CA delivery form of
// the provincial platform (admin PIN, master key, optional new values) and
// the certificate issuer.
type PersonaliseInput struct {
	AdminPIN     [4]byte   // GLYPIN (8 hex digits in the delivery form)
	MasterKey    [16]byte  // ZKMY (32 hex digits)
	NewAdminPIN  *[4]byte  // when set, the admin PIN is changed (CTK = MasterKey)
	NewMasterKey *[16]byte // when set, the master key is changed, last
	// CA issues the signing certificate. SIMCA{} for software cards.
	CA CertIssuer
	// Roots verifies the written certificate's chain; nil means the SIM
	// root when CA is SIMCA, otherwise only the certificate's key is
	// checked against EF 0012.
	Roots *sm.CertPool
	// HSM reads the holder on a 3rd-gen card (kid 0A). SIMHSM{} for
	// software cards.
	HSM HSM
	// Journal, when set, records every step (never keys or PINs).
	Journal Journal
}

// PersonaliseReport is the outcome of a successful PKI personalisation.
type PersonaliseReport struct {
	CardID    string   `json:"card_id"`
	Steps     []string `json:"steps"`
	PublicKey string   `json:"public_key"` // new signing key, X||Y in hex
}

// PersonalisePKI personalises the PKI application of an issued 3rd-gen
// card with its signing pair: it reads the holder with the HSM (a card
// without holder data gives ErrNotIssued: issue the SSSE data first),
// verifies the admin PIN, makes the card generate a new SM2 signing key
// pair, has the CA issue the signing certificate for it and writes it to EF
// 0018 (read back and compared), verifies the chain (Roots, or the SIM root
// for SIMCA), then optionally changes the admin PIN and, last, the master
// key.
//
// The encryption certificate (EF 0019) and the enveloped encryption key
// pair are not part of this: the card keeps the signing pair only.
//
// A failure returns *IssueError with Step the failed step (StepPKI…) and
// Written the steps done before it. Running it again (with the current
// admin PIN and master key) personalises the card again with a new key.
func PersonalisePKI(ctx context.Context, s *Session, in PersonaliseInput) (*PersonaliseReport, error) {
	if in.CA == nil {
		return nil, errors.New("sscard: PKI personalisation needs a certificate issuer (CA)")
	}
	var done []string
	var j journal
	fail := func(step string, err error) error {
		j.add(JournalEntry{Step: step, Error: err.Error(), Written: done})
		return &IssueError{Step: step, Written: done, Err: err}
	}
	ok := func(step string, e JournalEntry) {
		done = append(done, step)
		e.Step = step
		j.add(e)
	}

	holder, err := s.readForIssue(ctx, in.HSM)
	if err != nil {
		return nil, &IssueError{Step: StepPKICheck, Err: err}
	}
	cardID := strings.ToUpper(hex.EncodeToString(holder.CardID))
	j = journal{j: in.Journal, cardID: cardID}
	if err := j.add(JournalEntry{Step: StepPKICheck}); err != nil {
		return nil, err
	}
	if holder.Name == "" || holder.CardNumber == "" || holder.SSN == "" {
		return nil, fail(StepPKICheck, ErrNotIssued)
	}
	if s.Generation() < 3 {
		return nil, fail(StepPKICheck, fmt.Errorf("sscard: a %d-generation card has no PKI application", s.Generation()))
	}

	p := s.PKI()
	if err := p.VerifyAdminPIN(ctx, in.AdminPIN); err != nil {
		return nil, fail(StepPKIAdmin, err)
	}
	ok(StepPKIAdmin, JournalEntry{})

	pub, err := p.GenerateSigningKey(ctx)
	if err != nil {
		return nil, fail(StepPKIKeygen, err)
	}
	xy, err := sm.MarshalPublicKeyXY(pub)
	if err != nil {
		return nil, fail(StepPKIKeygen, err)
	}
	sum := sm3.Sum(xy)
	ok(StepPKIKeygen, JournalEntry{File: "EF0012", Digest: hex.EncodeToString(sum[:8])})

	der, err := in.CA.IssueSigningCertificate(ctx, holder.CardID, pub, holder)
	if err == nil {
		err = p.WriteCertificate(ctx, FIDSignCert, der)
	}
	if err != nil {
		return nil, fail(StepPKICert, err)
	}
	sum = sm3.Sum(der)
	ok(StepPKICert, JournalEntry{File: "EF0018", Digest: hex.EncodeToString(sum[:8])})

	roots := in.Roots
	if _, isSIM := in.CA.(SIMCA); roots == nil && isSIM {
		if roots, err = sm.SIMRootPool(); err != nil {
			return nil, fail(StepPKIVerify, err)
		}
	}
	if err := p.verifyWritten(ctx, roots); err != nil {
		return nil, fail(StepPKIVerify, err)
	}
	ok(StepPKIVerify, JournalEntry{})

	if in.NewAdminPIN != nil {
		// Select the ADF afresh and verify again, so the admin state holds
		// whatever the reads above did.
		err := p.VerifyAdminPIN(ctx, in.AdminPIN)
		if err == nil {
			err = p.ChangeAdminPIN(ctx, in.MasterKey[:], *in.NewAdminPIN)
		}
		if err == nil {
			// The new PIN must work before the master key is touched.
			err = p.VerifyAdminPIN(ctx, *in.NewAdminPIN)
		}
		if err != nil {
			return nil, fail(StepPKIAdminPIN, err)
		}
		ok(StepPKIAdminPIN, JournalEntry{})
	}
	if in.NewMasterKey != nil {
		if subtle.ConstantTimeCompare(in.NewMasterKey[:], in.MasterKey[:]) == 1 {
			return nil, fail(StepPKIMasterKey, errors.New("sscard: the new master key is the current one"))
		}
		if err := p.ChangeMasterKey(ctx, in.MasterKey[:], in.NewMasterKey[:]); err != nil {
			return nil, fail(StepPKIMasterKey, err)
		}
		ok(StepPKIMasterKey, JournalEntry{})
	}
	j.add(JournalEntry{Step: StepPKIDone, Written: done})
	return &PersonaliseReport{CardID: cardID, Steps: done, PublicKey: strings.ToUpper(hex.EncodeToString(xy))}, nil
}

// verifyWritten checks the signing certificate on the card: its chain to
// roots (VerifyChain), or without roots only that its key is EF 0012's.
func (p *PKI) verifyWritten(ctx context.Context, roots *sm.CertPool) error {
	if roots != nil {
		_, err := p.VerifyChain(ctx, roots, time.Now())
		return err
	}
	cert, err := p.Certificate(ctx, FIDSignCert)
	if err != nil {
		return err
	}
	pub, err := p.PublicKey(ctx)
	if err != nil {
		return err
	}
	cpub, err := sm.CertificatePublicKey(cert)
	if err != nil {
		return err
	}
	if !cpub.Equal(pub) {
		return ErrKeyMismatch
	}
	return nil
}
