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
	"github.com/emmansun/gmsm/smx509"

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
	// ErrResume: the input does not fit the PKI personalisation being
	// resumed (PersonaliseInput.Resume); nothing was sent to the card
	// beyond reading the holder.
	ErrResume = errors.New("sscard: the input does not fit the PKI personalisation being resumed")
)

// PKI personalisation steps, as IssueError.Step and JournalEntry.Step name
// them.
const (
	StepPKICheck     = "pki.check"      // read the holder (with the HSM), refuse a card not issued
	StepPKIAdmin     = "pki.admin"      // verify the admin PIN
	StepPKIKeygen    = "pki.keygen"     // generate the signing key pair
	StepPKICert      = "pki.cert"       // have the CA issue the certificates (or check the delivery), write EF 0018
	StepPKIEncCert   = "pki.enc_cert"   // write the encryption certificate to EF 0019
	StepPKIEncKey    = "pki.enc_key"    // import the enveloped encryption key pair (EF 0014/0015)
	StepPKIVerify    = "pki.verify"     // verify both certificates on the card (keys, chains)
	StepPKIAdminPIN  = "pki.admin_pin"  // change the admin PIN
	StepPKIMasterKey = "pki.master_key" // change the master key of the PKI ADF
	// StepPKIMasterKeyDDF: change the master key of the PKI DDF, after the
	// ADF's (StepPKIMasterKey). Failing here leaves the ADF key the new
	// one and the DDF key the old one: see DDFMasterKeyError.
	StepPKIMasterKeyDDF = "pki.master_key_ddf"
	StepPKIDone         = "pki.done"
)

// DDFMasterKeyError is returned by ChangeMasterKey (and, wrapped in
// *IssueError at StepPKIMasterKeyDDF, by PersonalisePKI) when the master
// key of the PKI ADF was changed but the one of the PKI DDF was not: the
// ADF key is already the new one, the DDF key still the old one (unless
// the card failed after 84 D4 took effect). Recover with
// PKI.ChangeDDFMasterKey(old, new); do not run ChangeMasterKey(old, new)
// again, as the ADF no longer accepts the old key. Err is the DDF's
// failure (it may wrap *apdu.AuthError, *apdu.StatusError, …).
type DDFMasterKeyError struct {
	Err error
}

func (e *DDFMasterKeyError) Error() string {
	return "sscard: PKI master key changed at the ADF (the ADF key is already the new one) but not at the DDF " +
		"(recover with ChangeDDFMasterKey from the old key): " + e.Err.Error()
}

func (e *DDFMasterKeyError) Unwrap() error { return e.Err }

// MaxCertChunk is the largest data field of one UPDATE BINARY when a
// certificate is written (the contract: at most 240 bytes).
const MaxCertChunk = 240

// VerifyAdminPIN verifies the admin PIN (GLYPIN) of the PKI application:
// GET CHALLENGE (16 bytes), then VERIFY 00 20 01 00 10
// <SM4_ECB(SM3(pin)[0:16], challenge)>. The PKI ADF is selected afresh
// first; the admin state then lasts until the ADF is selected again or the
// card is reset. As every PIN, its try counter is read first:
// ErrPINLastTry with one try left unless opts.Force, ErrPINBlocked (the
// PIN not sent) when blocked. A wrong PIN returns an error wrapping
// *apdu.AuthError (with the tries left).
func (p *PKI) VerifyAdminPIN(ctx context.Context, pin [4]byte, opts PINOptions) error {
	return p.s.do(ctx, func() error {
		if err := p.s.selectPKI(ctx); err != nil {
			return err
		}
		key := sm.PKIPINKey(pin[:])
		return p.s.presentPIN(ctx, pinAttempt{ref: pinRefPKIAdmin, cmd: pinVerify, op: "PKI verify admin PIN", force: opts.Force, pkiKey: &key})
	})
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
	t := sm.NewSecureTransport(p.s.tx.Transport, sm.SecureConfig{
		MAC:       mac,
		Cipher:    sm.DataCipher{Block: b, Padding: sm.PadISO9797M2},
		Level:     func(apdu.Command) sm.SecureLevel { return sm.LevelEncMAC },
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

// ChangeMasterKey replaces the master key (ZKMY) oldKey with newKey at the
// PKI ADF, then at the PKI DDF (ssc-facts §3.5: "at ADF then DDF"), in one
// reader transaction. At each level (ADF selected afresh, then the DDF
// selected by name): GET CHALLENGE (16), EXTERNAL AUTHENTICATE
// 00 82 00 00 10 <SM4_ECB(oldKey, challenge)> (a wrong key gives an error
// wrapping *apdu.AuthError with the tries left), then 84 D4 01 00 24
// <SM4_ECB(oldKey, 13 00 00 00 || newKey || 80 00…)> <MAC4> with the MAC
// of oldKey over a fresh challenge. The next PKI call selects the ADF
// again.
//
// A failure at the ADF changes nothing. A failure at the DDF after the
// ADF's change returns *DDFMasterKeyError: the ADF key is then newKey, and
// ChangeDDFMasterKey(oldKey, newKey) completes the change.
func (p *PKI) ChangeMasterKey(ctx context.Context, oldKey, newKey []byte) error {
	if err := checkMasterKeys(oldKey, newKey); err != nil {
		return err
	}
	return p.s.do(ctx, func() error {
		if err := p.changeMasterKey(ctx, false, oldKey, newKey); err != nil {
			return err
		}
		if err := p.changeMasterKey(ctx, true, oldKey, newKey); err != nil {
			return &DDFMasterKeyError{Err: err}
		}
		return nil
	})
}

// ChangeADFMasterKey replaces the master key of the PKI ADF only (as
// ChangeMasterKey does first). With ChangeDDFMasterKey it recovers a card
// whose two levels have different keys.
func (p *PKI) ChangeADFMasterKey(ctx context.Context, oldKey, newKey []byte) error {
	return p.changeMasterKeyAt(ctx, false, oldKey, newKey)
}

// ChangeDDFMasterKey replaces the master key of the PKI DDF only (as
// ChangeMasterKey does second): the recovery after a *DDFMasterKeyError,
// with the DDF's old key. The next PKI call selects the ADF again.
func (p *PKI) ChangeDDFMasterKey(ctx context.Context, oldKey, newKey []byte) error {
	return p.changeMasterKeyAt(ctx, true, oldKey, newKey)
}

func checkMasterKeys(oldKey, newKey []byte) error {
	if len(oldKey) != 16 || len(newKey) != 16 {
		return fmt.Errorf("sscard: master keys are 16 bytes (got %d and %d)", len(oldKey), len(newKey))
	}
	return nil
}

func (p *PKI) changeMasterKeyAt(ctx context.Context, ddf bool, oldKey, newKey []byte) error {
	if err := checkMasterKeys(oldKey, newKey); err != nil {
		return err
	}
	return p.s.do(ctx, func() error { return p.changeMasterKey(ctx, ddf, oldKey, newKey) })
}

// pkiLevel names the PKI DDF or ADF in errors.
func pkiLevel(ddf bool) string {
	if ddf {
		return "DDF"
	}
	return "ADF"
}

// authMasterKey selects the PKI ADF afresh (ddf false) or the PKI DDF and
// authenticates there with the master key; the caller holds the
// transaction.
func (p *PKI) authMasterKey(ctx context.Context, ddf bool, key []byte) error {
	if ddf {
		if err := p.s.selectPKIDDF(ctx); err != nil {
			return err
		}
	} else if err := p.s.selectPKI(ctx); err != nil {
		return err
	}
	c, err := p.challengeResponse(ctx, key)
	if err != nil {
		return err
	}
	if _, err := p.s.tx.Do(ctx, apdu.Command{INS: 0x82, Data: c[:]}); err != nil {
		return fmt.Errorf("sscard: PKI authenticate with the master key at the %s: %w", pkiLevel(ddf), err)
	}
	return nil
}

// changeMasterKey changes the master key of one level; the caller holds
// the transaction.
func (p *PKI) changeMasterKey(ctx context.Context, ddf bool, oldKey, newKey []byte) error {
	tx, err := p.smTransmitter(oldKey)
	if err != nil {
		return err
	}
	if err := p.authMasterKey(ctx, ddf, oldKey); err != nil {
		return err
	}
	data := make([]byte, 3, 19)
	data = append(data, newKey...)
	defer clear(data)
	if _, err := tx.Do(ctx, apdu.Command{CLA: 0x84, INS: 0xD4, P1: 0x01, P2: 0x00, Data: data}); err != nil {
		return fmt.Errorf("sscard: PKI change master key at the %s: %w", pkiLevel(ddf), err)
	}
	return nil
}

// PersonaliseInput is what PersonalisePKI needs: the CA delivery form of
// the provincial platform (admin PIN, master key, optional new values) and
// the certificate issuer, or a delivery obtained out of band.
type PersonaliseInput struct {
	AdminPIN     [4]byte   // GLYPIN (8 hex digits in the delivery form)
	MasterKey    [16]byte  // ZKMY (32 hex digits)
	NewAdminPIN  *[4]byte  // when set, the admin PIN is changed (CTK = the ADF master key: MasterKey, NewMasterKey once changed)
	NewMasterKey *[16]byte // when set, the master key is changed, last (ADF then DDF)
	// ForceAdminPIN allows the last try of the admin PIN; without it a
	// card with one admin PIN try left is refused with ErrPINLastTry
	// before the PIN is sent.
	ForceAdminPIN bool
	// CA issues the certificates and the enveloped encryption pair for
	// the new signing key. keysystem.SIMCA{} for software cards;
	// keysystem.HTTPCA for a CA reached over HTTP. Not used when Delivery
	// is set.
	CA CertIssuer
	// Delivery, when set, is the CA's delivery obtained out of band: no
	// key is generated, EF 0012 must hold the key QMZS certifies
	// (ErrKeyMismatch otherwise).
	Delivery *CADelivery
	// Roots verifies the chains of the written certificates; nil means the
	// CA's own roots when it has them (CertRoots: keysystem.SIMCA, the SIM
	// root) and no Delivery is given, otherwise only
	// the certificates' keys are checked against EF 0012 and EF 0014.
	Roots *sm.CertPool
	// HSM reads the holder on a 3rd-gen card (kid 0A). keysystem.SIM{}
	// for software cards.
	HSM HSM
	// Journal, when set, records every step (never keys or PINs).
	Journal Journal
	// Resume, when set, are the entries of a journal (ReadJournal): the
	// last PKI personalisation of this card recorded there (PKIStatus) is
	// continued instead of started afresh. No run of this card in it
	// means a fresh run. See PersonalisePKI.
	Resume []JournalEntry
}

// PersonaliseReport is the outcome of a successful PKI personalisation.
type PersonaliseReport struct {
	CardID        string   `json:"card_id"`
	Steps         []string `json:"steps"`
	PublicKey     string   `json:"public_key"`               // signing key (EF 0012), X||Y in hex
	EncryptionKey string   `json:"encryption_key,omitempty"` // encryption key (EF 0014), X||Y in hex
	// SigningCertSerial and EncryptionCertSerial are the serial numbers
	// (hex) of the certificates written to EF 0018 and EF 0019.
	SigningCertSerial    string `json:"signing_cert_serial,omitempty"`
	EncryptionCertSerial string `json:"encryption_cert_serial,omitempty"`
	// Kept are the steps of a resumed run that were not run again (they
	// are in Steps too): the key and certificate steps whose result is on
	// the card and verifies, the admin PIN and master key changes the
	// previous run made.
	Kept []string `json:"kept,omitempty"`
}

// PersonalisePKI personalises the PKI application of an issued 3rd-gen
// card (docs/issuance.md, "Personalisation order"): it reads the holder
// with the HSM (a card without holder data gives ErrNotIssued: issue the
// SSSE data first), verifies the admin PIN, makes the card generate a new
// SM2 signing key pair (unless in.Delivery is given), has the CA certify it
// (QMZS, JMZS, JMMY: the keys must fit together, ErrKeyMismatch), writes
// the signing certificate to EF 0018 and the encryption certificate to EF
// 0019 (each read back and compared), imports the enveloped encryption
// key pair (ImportEncryptionKey), verifies both certificates on the card
// (chains to Roots or the CA's CertRoots, the SIM root for SIMCA; QMZS's key = EF 0012, JMZS's
// key = EF 0014), then optionally changes the admin PIN and, last, the
// master key: at the ADF (StepPKIMasterKey), then at the DDF
// (StepPKIMasterKeyDDF), as ChangeMasterKey does.
//
// A failure returns *IssueError with Step the failed step (StepPKI…) and
// Written the steps done before it. Running it again (with the current
// admin PIN and master key) personalises the card again, with a new key
// unless a delivery is given. A failure at StepPKIMasterKeyDDF (Written
// ends with StepPKIMasterKey, Err a *DDFMasterKeyError) leaves the ADF key
// the new one and the DDF key the old one: complete it with
// PKI.ChangeDDFMasterKey(old, new), or by resuming, not by running
// PersonalisePKI with the old key again; afterwards the new key is
// MasterKey for both levels.
//
// Resuming (in.Resume, the journal of the interrupted or failed run; the
// input otherwise as for that run: MasterKey the key before the change,
// NewAdminPIN and NewMasterKey the new values) continues the last run of
// the card the journal records (PKIStatus):
//   - if that run changed the admin PIN (pki.admin_pin done), AdminPIN must
//     be the current, new one and the change is not made again; NewAdminPIN
//     may be unset or the same value, another value is refused (ErrResume)
//     before any VERIFY, so no try is spent on a guess;
//   - if it imported the encryption key pair (pki.enc_key done) and the card
//     verifies (both certificates read back, keys = EF 0012 and EF 0014,
//     chains to Roots or the SIM root, a delivery's certificates the ones
//     on the card), the key and certificate steps are kept — journaled with
//     JournalNoteKept, listed in the report's Kept — and the CA is not
//     asked; otherwise they run again (a new key unless a delivery is given);
//   - if it changed the master key at both levels, nothing is changed; at
//     the ADF only, the DDF is changed alone (ChangeDDFMasterKey(MasterKey,
//     NewMasterKey)); the admin PIN change (CTK = the ADF's current master
//     key) then uses NewMasterKey. NewMasterKey is required (ErrResume) when
//     the ADF key was changed and the DDF or the admin PIN still needs it.
//
// The resumed run's pki.check entry (JournalNoteResume) lists the steps it
// takes over and the steps not run again are journaled with their note, so
// a resumed run interrupted in turn is resumed the same way.
func PersonalisePKI(ctx context.Context, s *Session, in PersonaliseInput) (*PersonaliseReport, error) {
	if in.CA == nil && in.Delivery == nil {
		return nil, errors.New("sscard: PKI personalisation needs a certificate issuer (CA) or a CA delivery")
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
	var kept []string
	keep := func(step, note string, e JournalEntry) {
		kept = append(kept, step)
		e.Note = note
		ok(step, e)
	}
	digest := func(b []byte) string {
		sum := sm3.Sum(b)
		return hex.EncodeToString(sum[:8])
	}

	holder, err := s.readHolder(ctx, in.HSM)
	if err != nil {
		return nil, &IssueError{Step: StepPKICheck, Err: err}
	}
	cardID := strings.ToUpper(hex.EncodeToString(holder.CardID))
	j = journal{j: in.Journal, cardID: cardID}
	var prev *PKIJournalStatus
	if in.Resume != nil {
		prev = PKIStatus(in.Resume, cardID)
	}
	check := JournalEntry{Step: StepPKICheck}
	if prev != nil {
		check.Note, check.Written = JournalNoteResume, prev.Steps
	}
	if err := j.add(check); err != nil {
		return nil, err
	}
	if holder.Name == "" || holder.CardNumber == "" || holder.SSN == "" {
		return nil, fail(StepPKICheck, ErrNotIssued)
	}
	if s.Generation() < 3 {
		return nil, fail(StepPKICheck, fmt.Errorf("sscard: a %d-generation card has no PKI application", s.Generation()))
	}
	if in.Delivery != nil {
		if err := in.Delivery.Check(); err != nil {
			return nil, fail(StepPKICheck, err)
		}
	}

	if prev != nil {
		if err := checkResume(prev, &in); err != nil {
			return nil, fail(StepPKICheck, err)
		}
	}

	p := s.PKI()
	roots := in.Roots
	if cr, ok := in.CA.(CertRoots); roots == nil && ok && in.Delivery == nil {
		if roots, err = cr.Roots(); err != nil {
			return nil, fail(StepPKIVerify, err)
		}
	}
	// A resumed run keeps the keys and certificates of the previous one
	// when they are all on the card and verify.
	var signCert, encCert *smx509.Certificate
	keepKeys := false
	if prev.Completed(StepPKIEncKey) {
		signCert, encCert, err = p.verifyWritten(ctx, roots)
		keepKeys = err == nil && (in.Delivery == nil ||
			bytes.Equal(signCert.Raw, in.Delivery.SigningCert) && bytes.Equal(encCert.Raw, in.Delivery.EncryptionCert))
	}

	if err := p.VerifyAdminPIN(ctx, in.AdminPIN, PINOptions{Force: in.ForceAdminPIN}); err != nil {
		return nil, fail(StepPKIAdmin, err)
	}
	ok(StepPKIAdmin, JournalEntry{})

	var xy, encXY []byte
	if keepKeys {
		if xy, encXY, err = certKeysXY(signCert, encCert); err != nil {
			return nil, fail(StepPKIVerify, err)
		}
		for _, k := range []struct {
			step, file string
			data       []byte
		}{
			{StepPKIKeygen, "EF0012", xy}, {StepPKICert, "EF0018", signCert.Raw},
			{StepPKIEncCert, "EF0019", encCert.Raw}, {StepPKIEncKey, "EF0014", encXY},
		} {
			if prev.Completed(k.step) {
				keep(k.step, JournalNoteKept, JournalEntry{File: k.file, Digest: digest(k.data)})
			}
		}
	} else {
		var step string
		if signCert, encCert, xy, encXY, step, err = personaliseKeys(ctx, p, in, holder, roots, ok, digest); err != nil {
			return nil, fail(step, err)
		}
	}
	ok(StepPKIVerify, JournalEntry{})

	// The master key of the ADF now: the CTK of the admin PIN change.
	adfKey := in.MasterKey[:]
	if prev.Completed(StepPKIMasterKey) && in.NewMasterKey != nil {
		adfKey = in.NewMasterKey[:]
	}
	switch {
	case prev.Completed(StepPKIAdminPIN):
		keep(StepPKIAdminPIN, JournalNoteDone, JournalEntry{})
	case in.NewAdminPIN != nil:
		// Select the ADF afresh and verify again, so the admin state holds
		// whatever the reads above did.
		err := p.VerifyAdminPIN(ctx, in.AdminPIN, PINOptions{Force: in.ForceAdminPIN})
		if err == nil {
			err = p.ChangeAdminPIN(ctx, adfKey, *in.NewAdminPIN)
		}
		if err != nil {
			return nil, fail(StepPKIAdminPIN, err)
		}
		// The card has the new PIN from here on: journal it at once.
		ok(StepPKIAdminPIN, JournalEntry{})
		// The new PIN must work before the master key is touched.
		if err := p.VerifyAdminPIN(ctx, *in.NewAdminPIN, PINOptions{Force: in.ForceAdminPIN}); err != nil {
			return nil, fail(StepPKIAdminPIN, fmt.Errorf("the admin PIN was changed, but the new one does not verify: %w", err))
		}
	}
	switch {
	case prev.Completed(StepPKIMasterKeyDDF):
		keep(StepPKIMasterKey, JournalNoteDone, JournalEntry{})
		keep(StepPKIMasterKeyDDF, JournalNoteDone, JournalEntry{})
	case prev.Completed(StepPKIMasterKey):
		// The ADF has the new key, the DDF (as far as the journal knows)
		// the old one.
		keep(StepPKIMasterKey, JournalNoteDone, JournalEntry{})
		if err := p.ChangeDDFMasterKey(ctx, in.MasterKey[:], in.NewMasterKey[:]); err != nil {
			return nil, fail(StepPKIMasterKeyDDF, &DDFMasterKeyError{Err: err})
		}
		ok(StepPKIMasterKeyDDF, JournalEntry{})
	case in.NewMasterKey != nil:
		if subtle.ConstantTimeCompare(in.NewMasterKey[:], in.MasterKey[:]) == 1 {
			return nil, fail(StepPKIMasterKey, errors.New("sscard: the new master key is the current one"))
		}
		err := p.ChangeMasterKey(ctx, in.MasterKey[:], in.NewMasterKey[:])
		var ddfErr *DDFMasterKeyError
		if errors.As(err, &ddfErr) {
			ok(StepPKIMasterKey, JournalEntry{}) // the ADF key is the new one
			return nil, fail(StepPKIMasterKeyDDF, err)
		}
		if err != nil {
			return nil, fail(StepPKIMasterKey, err)
		}
		ok(StepPKIMasterKey, JournalEntry{})
		ok(StepPKIMasterKeyDDF, JournalEntry{})
	}
	j.add(JournalEntry{Step: StepPKIDone, Written: done})
	return &PersonaliseReport{
		CardID: cardID, Steps: done, Kept: kept,
		PublicKey:            strings.ToUpper(hex.EncodeToString(xy)),
		EncryptionKey:        strings.ToUpper(hex.EncodeToString(encXY)),
		SigningCertSerial:    strings.ToUpper(signCert.SerialNumber.Text(16)),
		EncryptionCertSerial: strings.ToUpper(encCert.SerialNumber.Text(16)),
	}, nil
}

// checkResume checks the input of a resumed run against the run it
// continues, before anything is sent to the card.
func checkResume(prev *PKIJournalStatus, in *PersonaliseInput) error {
	if prev.Completed(StepPKIAdminPIN) && in.NewAdminPIN != nil &&
		subtle.ConstantTimeCompare(in.NewAdminPIN[:], in.AdminPIN[:]) != 1 {
		return fmt.Errorf("%w: the previous run changed the admin PIN: give the new one as the admin PIN "+
			"(and no other new admin PIN)", ErrResume)
	}
	if !prev.Completed(StepPKIMasterKey) {
		return nil
	}
	needKey := !prev.Completed(StepPKIMasterKeyDDF) || (in.NewAdminPIN != nil && !prev.Completed(StepPKIAdminPIN))
	if in.NewMasterKey == nil && needKey {
		return fmt.Errorf("%w: the previous run changed the master key at the PKI ADF: give the new master key "+
			"(and the key before the change as the master key)", ErrResume)
	}
	if in.NewMasterKey != nil && !prev.Completed(StepPKIMasterKeyDDF) &&
		subtle.ConstantTimeCompare(in.NewMasterKey[:], in.MasterKey[:]) == 1 {
		return fmt.Errorf("%w: the new master key is the same as the master key before the change", ErrResume)
	}
	return nil
}

// certKeysXY returns the keys the two certificates certify, X||Y.
func certKeysXY(sign, enc *smx509.Certificate) (xy, encXY []byte, err error) {
	for _, c := range []struct {
		cert *smx509.Certificate
		out  *[]byte
	}{{sign, &xy}, {enc, &encXY}} {
		pub, err := sm.CertificatePublicKey(c.cert)
		if err != nil {
			return nil, nil, err
		}
		if *c.out, err = sm.MarshalPublicKeyXY(pub); err != nil {
			return nil, nil, err
		}
	}
	return xy, encXY, nil
}

// personaliseKeys runs the key and certificate steps of PersonalisePKI,
// StepPKIKeygen to StepPKIVerify (the last journaled by the caller): the
// signing key generated (unless a delivery is given), the CA's delivery
// written and imported, both certificates verified. ok journals a step
// done; a failure returns its step.
func personaliseKeys(ctx context.Context, p *PKI, in PersonaliseInput, holder *BasicInfo, roots *sm.CertPool,
	ok func(string, JournalEntry), digest func([]byte) string,
) (signCert, encCert *smx509.Certificate, xy, encXY []byte, failed string, err error) {
	fail := func(step string, err error) (*smx509.Certificate, *smx509.Certificate, []byte, []byte, string, error) {
		return nil, nil, nil, nil, step, err
	}
	var pub *ecdsa.PublicKey
	if in.Delivery == nil {
		if pub, err = p.GenerateSigningKey(ctx); err != nil {
			return fail(StepPKIKeygen, err)
		}
	} else if pub, err = p.PublicKey(ctx); err != nil { // the key QMZS must certify
		return fail(StepPKICert, err)
	}
	if xy, err = sm.MarshalPublicKeyXY(pub); err != nil {
		return fail(StepPKIKeygen, err)
	}
	if in.Delivery == nil {
		ok(StepPKIKeygen, JournalEntry{File: "EF0012", Digest: digest(xy)})
	}

	d := in.Delivery
	if d == nil {
		d, err = in.CA.Issue(ctx, CertRequest{CardID: holder.CardID, SigningKey: pub, Holder: holder})
		if err == nil && d == nil {
			err = fmt.Errorf("%w: no delivery", ErrCA)
		}
		if err != nil {
			return fail(StepPKICert, err)
		}
	}
	signKey, encKey, env, err := d.keys()
	if err == nil && !signKey.Equal(pub) {
		err = &CADeliveryError{Field: "QMZS", Err: fmt.Errorf("%w: the signing certificate does not certify EF 0012", ErrKeyMismatch)}
	}
	if err == nil {
		err = p.WriteCertificate(ctx, FIDSignCert, d.SigningCert)
	}
	if err != nil {
		return fail(StepPKICert, err)
	}
	ok(StepPKICert, JournalEntry{File: "EF0018", Digest: digest(d.SigningCert)})

	if err := p.WriteCertificate(ctx, FIDEncryptionCert, d.EncryptionCert); err != nil {
		return fail(StepPKIEncCert, err)
	}
	ok(StepPKIEncCert, JournalEntry{File: "EF0019", Digest: digest(d.EncryptionCert)})

	encXY, _ = sm.MarshalPublicKeyXY(encKey)
	if err := p.ImportEncryptionKey(ctx, env); err != nil {
		return fail(StepPKIEncKey, err)
	}
	ok(StepPKIEncKey, JournalEntry{File: "EF0014", Digest: digest(encXY)})

	if signCert, encCert, err = p.verifyWritten(ctx, roots); err != nil {
		return fail(StepPKIVerify, err)
	}
	return signCert, encCert, xy, encXY, "", nil
}

// verifyWritten checks both certificates on the card: their keys against
// EF 0012 and EF 0014 and, with roots, their chains.
func (p *PKI) verifyWritten(ctx context.Context, roots *sm.CertPool) (sign, enc *smx509.Certificate, err error) {
	if sign, err = p.checkCertKey(ctx, FIDSignCert); err != nil {
		return nil, nil, err
	}
	if enc, err = p.checkCertKey(ctx, FIDEncryptionCert); err != nil {
		return nil, nil, err
	}
	if roots != nil {
		now := time.Now()
		if _, err := roots.VerifySigning(sign, now); err != nil {
			return nil, nil, fmt.Errorf("signing certificate (EF 0018): %w", err)
		}
		if _, err := roots.VerifyEncryption(enc, now); err != nil {
			return nil, nil, fmt.Errorf("encryption certificate (EF 0019): %w", err)
		}
	}
	return sign, enc, nil
}

// ImportEncryptionKey imports the enveloped encryption key pair env into
// the PKI application (the admin PIN must have been verified in this
// selection of the ADF, 6982 otherwise):
//
//	80 4E 00 01 78 C2 02 00 13 C1 82 00 70 <C1.x C1.y C3 C2>  → wrapped session key
//	80 4A 02 10 12 C1 10 <wrapped16>
//	80 C2 40 00 46 C0 02 00 14 CA 40 <X||Y>
//	80 C2 C0 01 26 C2 02 00 15 CB 20 <SM4_ECB(session key, d)>
//
// The card decrypts the session key with its signing key: a blob made for
// another key fails at the first command (6A80, apdu.ErrWrongData).
func (p *PKI) ImportEncryptionKey(ctx context.Context, env *sm.EnvelopedKey) error {
	if env == nil {
		return fmt.Errorf("%w: nil", sm.ErrEnvelopedKey)
	}
	xy, err := sm.MarshalPublicKeyXY(env.PublicKey)
	if err != nil {
		return err
	}
	return p.run(ctx, func() error {
		data := append([]byte{0xC2, 0x02, 0x00, 0x13, 0xC1, 0x82, 0x00, 0x70}, env.CipherBlock()...)
		wrapped, err := p.s.tx.Do(ctx, apdu.Command{CLA: 0x80, INS: 0x4E, P1: 0x00, P2: 0x01, Data: data})
		if err != nil {
			return fmt.Errorf("sscard: PKI import encryption key: decrypt the session key (80 4E): %w", err)
		}
		if len(wrapped) != sm.EnvelopedSessionKeySize {
			return fmt.Errorf("sscard: PKI import encryption key: 80 4E returned %d bytes, want %d", len(wrapped), sm.EnvelopedSessionKeySize)
		}
		steps := []struct {
			what string
			cmd  apdu.Command
		}{
			{"install the session key (80 4A)", apdu.Command{CLA: 0x80, INS: 0x4A, P1: 0x02, P2: 0x10, Data: append([]byte{0xC1, 0x10}, wrapped...)}},
			{"write the public key (80 C2 40 00)", apdu.Command{CLA: 0x80, INS: 0xC2, P1: 0x40, P2: 0x00, Data: append([]byte{0xC0, 0x02, 0x00, 0x14, 0xCA, 0x40}, xy...)}},
			{"write the private key (80 C2 C0 01)", apdu.Command{CLA: 0x80, INS: 0xC2, P1: 0xC0, P2: 0x01, Data: append([]byte{0xC2, 0x02, 0x00, 0x15, 0xCB, 0x20}, env.EncryptedPrivateKey[:]...)}},
		}
		for _, st := range steps {
			if _, err := p.s.tx.Do(ctx, st.cmd); err != nil {
				return fmt.Errorf("sscard: PKI import encryption key: %s: %w", st.what, err)
			}
		}
		return nil
	})
}

// readHolder reads every EF05/EF06 field, with the HSM on a 3rd-gen card:
// the holder PKI personalisation certifies.
func (s *Session) readHolder(ctx context.Context, hsm HSM) (*BasicInfo, error) {
	return ReadAuto(ctx, s, hsm, ReadOptions{Fields: FieldsAll})
}
