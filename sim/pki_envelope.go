package sim

import (
	"bytes"
	"crypto/subtle"
	"time"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
)

// The import of the enveloped encryption key pair into the PKI ADF, as
// docs/issuance.md "The encryption key pair and certificate — the
// contract" fixes it (admin state required, 6982 otherwise):
//
//	80 4E 00 01 78 C2 02 00 13 C1 82 00 70 <C1.x C1.y C3 C2>
//	    decrypt the session key with the signing key (EF 0013) → SIM:
//	    SM4_ECB(ZKMY, session key), 16 bytes
//	80 4A 02 10 12 C1 10 <wrapped16>     install the session key
//	80 C2 40 00 46 C0 02 00 14 CA 40 <X||Y>           EF 0014 = 00 40 || X || Y
//	80 C2 C0 01 26 C2 02 00 15 CB 20 <SM4_ECB(session key, d)>   EF 0015 = d
//
// The session key lives in the volatile security state: reset, power off
// and selecting the ADF again forget it, and so does a successful private
// key import.

const (
	insDecryptSessionKey = 0x4E // class 80 (PKI)
	insInstallSessionKey = 0x4A // class 80 (PKI)
	insImportEncKey      = 0xC2 // class 80 (PKI)
)

// The fixed headers of the data fields.
var (
	envDecryptHeader = []byte{0xC2, 0x02, 0x00, 0x13, 0xC1, 0x82, 0x00, 0x70}
	envInstallHeader = []byte{0xC1, 0x10}
	envPubHeader     = []byte{0xC0, 0x02, 0x00, 0x14, 0xCA, 0x40}
	envPrivHeader    = []byte{0xC2, 0x02, 0x00, 0x15, 0xCB, 0x20}
)

// pkiEnvState is the session key of an import: decrypted by 80 4E
// (pending), installed by 80 4A.
type pkiEnvState struct {
	pending, installed [sm.EnvelopedSessionKeySize]byte
	hasPending         bool
	hasInstalled       bool
}

func (e *pkiEnvState) forget() { *e = pkiEnvState{} }

// cmdDecryptSessionKey: 80 4E 00 01 78 C2 02 00 13 C1 82 00 70 <112>.
// Checks in order: 6A86 P1P2 ≠ 00 01; 6700 Lc ≠ 78; 6A80 another header;
// 6982 without the admin state; 6985 no signing key; 6A80 the SM2
// decryption fails. Success: the session key becomes the pending one (an
// installed one is forgotten) and the card returns SM4_ECB(ZKMY, key).
func (c *Card) cmdDecryptSessionKey(cmd apdu.Command) ([]byte, apdu.StatusWord) {
	app := c.pkiApp()
	if cmd.P1 != 0x00 || cmd.P2 != 0x01 {
		return nil, apdu.SWIncorrectP1P2
	}
	if len(cmd.Data) != len(envDecryptHeader)+sm.EnvelopedCipherBlockSize || cmd.Extended {
		return nil, apdu.SWWrongLength
	}
	if !bytes.Equal(cmd.Data[:len(envDecryptHeader)], envDecryptHeader) {
		return nil, apdu.SWIncorrectData
	}
	if !c.sec.admin {
		return nil, apdu.SWSecurityStatus
	}
	if app.signKey == nil {
		return nil, apdu.SWConditionsNotSatisfied
	}
	c.sec.env.forget()
	session, err := sm.DecryptCipherBlock(app.signKey, cmd.Data[len(envDecryptHeader):])
	if err != nil {
		return nil, apdu.SWIncorrectData
	}
	defer clear(session)
	wrapped, sw := pkiWrap(app.pkiAdmin.master.key[:], session, true)
	if sw != apdu.SWOK {
		return nil, sw
	}
	copy(c.sec.env.pending[:], session)
	c.sec.env.hasPending = true
	return wrapped, apdu.SWOK
}

// pkiWrap enciphers (or deciphers) one block with SM4-ECB under key.
func pkiWrap(key, block []byte, encrypt bool) ([]byte, apdu.StatusWord) {
	b, err := sm.NewSM4(key)
	if err != nil {
		return nil, apdu.SWNoPreciseDiagnosis
	}
	var out []byte
	if encrypt {
		out, err = sm.EncryptECB(b, block)
	} else {
		out, err = sm.DecryptECB(b, block)
	}
	if err != nil {
		return nil, apdu.SWNoPreciseDiagnosis
	}
	return out, apdu.SWOK
}

// cmdInstallSessionKey: 80 4A 02 10 12 C1 10 <SM4_ECB(ZKMY, key)>. Checks
// in order: 6A86 P1P2 ≠ 02 10; 6700 Lc ≠ 12 or Le present; 6A80 another
// header; 6982 without the admin state; 6985 no 80 4E before; 6A80 not the
// key of the last 80 4E. Success installs it.
func (c *Card) cmdInstallSessionKey(cmd apdu.Command) ([]byte, apdu.StatusWord) {
	app := c.pkiApp()
	if cmd.P1 != 0x02 || cmd.P2 != 0x10 {
		return nil, apdu.SWIncorrectP1P2
	}
	if len(cmd.Data) != len(envInstallHeader)+sm.EnvelopedSessionKeySize || cmd.Ne != 0 || cmd.Extended {
		return nil, apdu.SWWrongLength
	}
	if !bytes.Equal(cmd.Data[:2], envInstallHeader) {
		return nil, apdu.SWIncorrectData
	}
	if !c.sec.admin {
		return nil, apdu.SWSecurityStatus
	}
	if !c.sec.env.hasPending {
		return nil, apdu.SWConditionsNotSatisfied
	}
	session, sw := pkiWrap(app.pkiAdmin.master.key[:], cmd.Data[2:], false)
	if sw != apdu.SWOK {
		return nil, sw
	}
	defer clear(session)
	if subtle.ConstantTimeCompare(session, c.sec.env.pending[:]) != 1 {
		return nil, apdu.SWIncorrectData
	}
	c.sec.env.installed, c.sec.env.hasInstalled = c.sec.env.pending, true
	return nil, apdu.SWOK
}

// cmdImportEncKey: 80 C2 40 00 46 C0 02 00 14 CA 40 <X||Y> (the public
// key) and 80 C2 C0 01 26 C2 02 00 15 CB 20 <SM4_ECB(session key, d)>
// (the private key). Checks in order: 6A86 other P1P2; 6700 Lc ≠ 46 / 26
// or Le present; 6A80 another header; 6982 without the admin state; then
// for the public key 6A80 not on the curve (EF 0014 = 00 40 || X || Y);
// for the private key 6985 no installed session key, 6A80 d out of range
// or d·G ≠ EF 0014 (EF 0015 = d, the session key forgotten).
func (c *Card) cmdImportEncKey(cmd apdu.Command) ([]byte, apdu.StatusWord) {
	app := c.pkiApp()
	var header []byte
	var n int
	switch {
	case cmd.P1 == 0x40 && cmd.P2 == 0x00:
		header, n = envPubHeader, sm.SM2PublicKeyXYSize
	case cmd.P1 == 0xC0 && cmd.P2 == 0x01:
		header, n = envPrivHeader, sm.SM2ScalarSize
	default:
		return nil, apdu.SWIncorrectP1P2
	}
	if len(cmd.Data) != len(header)+n || cmd.Ne != 0 || cmd.Extended {
		return nil, apdu.SWWrongLength
	}
	if !bytes.Equal(cmd.Data[:len(header)], header) {
		return nil, apdu.SWIncorrectData
	}
	if !c.sec.admin {
		return nil, apdu.SWSecurityStatus
	}
	value := cmd.Data[len(header):]
	pubEF := app.child(fidPKIEncPub)
	if pubEF == nil {
		return nil, apdu.SWFileNotFound
	}
	if cmd.P1 == 0x40 {
		pub, err := sm.ParsePublicKeyXY(value)
		if err != nil {
			return nil, apdu.SWIncorrectData
		}
		f, err := sm.MarshalCardPublicKey(pub)
		if err != nil {
			return nil, apdu.SWIncorrectData
		}
		pubEF.data = f // a fresh slice: earlier responses may alias the old one
		return nil, apdu.SWOK
	}
	if !c.sec.env.hasInstalled {
		return nil, apdu.SWConditionsNotSatisfied
	}
	pub, err := sm.ParseCardPublicKey(pubEF.data)
	if err != nil {
		return nil, apdu.SWIncorrectData
	}
	priv, err := sm.OpenPrivateKey(c.sec.env.installed[:], value, pub)
	if err != nil {
		return nil, apdu.SWIncorrectData
	}
	app.pkiAdmin.encKey = priv
	c.sec.env.forget()
	return nil, apdu.SWOK
}

// simEncryptionPair gives a personalised PKI application the SIM
// encryption pair of the card (simkeys.EncryptionKey) and its SIM
// certificate (simkeys.HolderEncryptionCertificate), as SIMCA issues them.
func simEncryptionPair(d *pkiData, cardID []byte, cn, cardNumber string, issued, expires time.Time) error {
	key, err := simkeys.EncryptionKey(cardID)
	if err != nil {
		return err
	}
	if d.encPubFile, err = sm.MarshalCardPublicKey(&key.PublicKey); err != nil {
		return err
	}
	if d.encCert, err = simCachedCert("enc", simkeys.HolderEncryptionCertificate, cardID, key, cn, cardNumber, issued, expires); err != nil {
		return err
	}
	d.encKey = key
	return nil
}
