package sim

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"

	"github.com/emmansun/gmsm/sm2"
	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/sm"
)

// The personalisation commands of the PKI ADF, exactly as docs/issuance.md
// "PKI personalisation — the contract (SIM choices)" fixes them:
//
//	80 C4 01 03 06 C1 04 <pin4> 00       admin PIN hash SM3(pin4) (cmdPINHash)
//	00 20 01 00 10 <SM4_ECB(SM3(pin4)[0:16], challenge16)>   admin VERIFY
//	00 82 00 00 10 <SM4_ECB(ZKMY, challenge16)>              master key auth
//	80 40 00 00 08 C0 02 00 12 C2 02 00 13                   GENERATE KEY PAIR
//	00 D6 <off> Lc <data ≤ 240>                              UPDATE BINARY 0018/0019
//	84 5E 01 00 14 <SM4_ECB(ZKMY, 04||pin4||80 00…)> <MAC4>  CHANGE ADMIN PIN
//	84 D4 01 00 24 <SM4_ECB(ZKMY, 13 00 00 00||new16||80 00…)> <MAC4>  CHANGE MASTER KEY
//
// MAC4 is the PKI-COS MAC (sm.NewPKIMAC, ssc-facts §3.2) with the current
// master key over CLA INS P1 P2 Lc || enciphered data, IV = the card's
// last 16-byte challenge, which the command consumes. The admin and the
// master-key states are volatile: reset, power off and selecting the ADF
// again clear them.
//
// The PKI DDF has a master key of its own (ssc-facts §3.5: the master key
// is changed at the ADF, then at the DDF), at first the same SIM ZKMY, with
// its own try counter (5) and master-key state: GET CHALLENGE, 00 82 00 00
// 10 and 84 D4 01 00 24 work there exactly as in the ADF, with the DDF's
// key. Any selection (the DDF again included) clears the DDF state. The
// other personalisation commands are the ADF's only: at the DDF class 80
// and 84 5E answer 6D00, 00 D6 6D00, admin VERIFY 00 20 01 00 6A88.

const (
	insGenerateKeyPair = 0x40 // proprietary class 80 (PKI)
	insUpdateBinary    = 0xD6
	insChangeAdminPIN  = 0x5E // class 84 (PKI)
	insChangeMasterKey = 0xD4 // class 84 (PKI)
	maxUpdateBinary    = 240  // longest UPDATE BINARY data field (contract)
)

// generateKeyPairData is the only data field GENERATE KEY PAIR accepts:
// public-key file 0012, private-key file 0013.
var generateKeyPairData = []byte{0xC0, 0x02, 0x00, 0x12, 0xC2, 0x02, 0x00, 0x13}

// pkiApp returns the current application when it is the PKI ADF.
func (c *Card) pkiApp() *file {
	if app := c.curDF.application(); app != nil && app.pkiAdmin != nil {
		return app
	}
	return nil
}

// pkiMasterKey returns the master key of the current PKI level and its
// security state: the ADF's (an EF of the ADF may be current) or the
// DDF's; nil elsewhere.
func (c *Card) pkiMasterKey() (*pkiMasterKey, *bool) {
	if app := c.pkiApp(); app != nil {
		return &app.pkiAdmin.master, &c.sec.master
	}
	if m := c.curDF.pkiMaster; m != nil {
		return m, &c.sec.ddfMaster
	}
	return nil, nil
}

// takeChallenge16 returns the card's last challenge if it is 16 bytes long,
// and consumes it whatever its length.
func (c *Card) takeChallenge16() ([]byte, bool) {
	chal, n := c.challenge, c.chalLen
	c.clearChallenge()
	if n != sm.PKIChallengeSize {
		return nil, false
	}
	return chal[:], true
}

// cmdVerifyAdmin: VERIFY 00 20 01 00 of the admin PIN. With data (Lc 10):
// SM4_ECB(SM3(pin4)[0:16], challenge16) of the card's last 16-byte
// challenge, which every such VERIFY consumes (none or an 8-byte one:
// 6985). Right: the admin state, tries back to 5; wrong: a try used,
// 63Cx, state cleared (63C0 on the failure that blocks, 6983 after).
// Without data: 9000 if the admin state is set, 63Cx (tries left) or 6983.
func (c *Card) cmdVerifyAdmin(app *file, cmd apdu.Command) ([]byte, apdu.StatusWord) {
	a := app.pkiAdmin
	if len(cmd.Data) == 0 {
		if cmd.Ne != 0 && cmd.Ne != apdu.MaxShortNe {
			return nil, apdu.SWWrongLength
		}
		switch {
		case a.pinTries == 0:
			return nil, apdu.SWAuthMethodBlocked
		case c.sec.admin:
			return nil, apdu.SWOK
		}
		return nil, triesLeft(a.pinTries)
	}
	chal, ok := c.takeChallenge16()
	if len(cmd.Data) != sm.PKIChallengeSize || cmd.Ne != 0 {
		return nil, apdu.SWWrongLength
	}
	if a.pinTries == 0 {
		return nil, apdu.SWAuthMethodBlocked
	}
	if !ok {
		return nil, apdu.SWConditionsNotSatisfied
	}
	key := sm.PKIPINKey(a.pin[:])
	return nil, challengeResponse(key[:], chal, cmd.Data, &a.pinTries, a.pinMax, &c.sec.admin)
}

// cmdPKIExternalAuth: EXTERNAL AUTHENTICATE 00 82 00 00 10
// <SM4_ECB(ZKMY, challenge16)> with the master key m of the PKI ADF or
// DDF (state: its security state); consumes the challenge (none or an
// 8-byte one: 6985). Right: the master-key state, tries back to 5; wrong:
// 63Cx, state cleared (63C0 on the failure that blocks, 6983 after). P1P2
// other than 00 00: 6A86.
func (c *Card) cmdPKIExternalAuth(m *pkiMasterKey, state *bool, cmd apdu.Command) ([]byte, apdu.StatusWord) {
	chal, ok := c.takeChallenge16()
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return nil, apdu.SWIncorrectP1P2
	}
	if len(cmd.Data) != sm.PKIChallengeSize || cmd.Ne != 0 {
		return nil, apdu.SWWrongLength
	}
	if m.tries == 0 {
		return nil, apdu.SWAuthMethodBlocked
	}
	if !ok {
		return nil, apdu.SWConditionsNotSatisfied
	}
	return nil, challengeResponse(m.key[:], chal, cmd.Data, &m.tries, m.max, state)
}

// challengeResponse checks got = SM4_ECB(key, chal) with a try counter:
// right resets the tries and sets the security state, wrong counts down
// and clears it (63C0 on the last try, 6983 after).
func challengeResponse(key, chal, got []byte, tries *int, max int, state *bool) apdu.StatusWord {
	want, err := sm.PKIChallengeResponse(key, chal)
	if err != nil {
		return apdu.SWNoPreciseDiagnosis
	}
	if subtle.ConstantTimeCompare(want[:], got) == 1 {
		*tries, *state = max, true
		return apdu.SWOK
	}
	*tries--
	*state = false
	return triesLeft(*tries)
}

// cmdGenerateKeyPair: 80 40 00 00 08 C0 02 00 12 C2 02 00 13 makes a new
// SM2 key pair (crypto/rand): EF 0012 = 00 40 || X || Y, the private key
// is the one PSO COMPUTE DIGITAL SIGNATURE uses from then on (for the
// card's life). No response data. 6A86 P1P2 ≠ 00 00, 6700 Lc ≠ 8, 6A80
// other data, 6982 without the admin state.
func (c *Card) cmdGenerateKeyPair(cmd apdu.Command) ([]byte, apdu.StatusWord) {
	app := c.pkiApp()
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return nil, apdu.SWIncorrectP1P2
	}
	if len(cmd.Data) != len(generateKeyPairData) {
		return nil, apdu.SWWrongLength
	}
	if !bytes.Equal(cmd.Data, generateKeyPairData) {
		return nil, apdu.SWIncorrectData
	}
	if !c.sec.admin {
		return nil, apdu.SWSecurityStatus
	}
	pub := app.child(fidPKIPubKey)
	if pub == nil {
		return nil, apdu.SWFileNotFound
	}
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return nil, apdu.SWNoPreciseDiagnosis
	}
	pubFile, err := sm.MarshalCardPublicKey(&key.PublicKey)
	if err != nil {
		return nil, apdu.SWNoPreciseDiagnosis
	}
	pub.data = pubFile // a fresh slice: earlier responses may alias the old one
	app.signKey = key
	return nil, apdu.SWOK
}

// cmdUpdateBinary: UPDATE BINARY 00 D6 P1 P2 Lc <data> in the PKI ADF
// (elsewhere 6D00): offset P1P2 (15 bits; P1 b8 = 1: SFI, 6A86 as no PKI
// EF has one) in the current EF, selected by FID. Checks in order: 6700
// without data, with Le or more than 240 bytes; 6986 no current EF; 6981
// not a binary EF; 6982 unless the write condition holds (EF 0018/0019:
// the admin state; the others: never); 6B00 past the end (offset + Lc >
// the file's capacity, 2048 for the certificate files).
func (c *Card) cmdUpdateBinary(cmd apdu.Command) ([]byte, apdu.StatusWord) {
	if len(cmd.Data) == 0 || len(cmd.Data) > maxUpdateBinary || cmd.Ne != 0 {
		return nil, apdu.SWWrongLength
	}
	if cmd.P1&0x80 != 0 {
		return nil, apdu.SWIncorrectP1P2
	}
	off := int(cmd.P1)<<8 | int(cmd.P2)
	ef := c.curEF
	if ef == nil {
		return nil, apdu.SWCommandNotAllowed
	}
	if ef.typ != typeBinaryEF {
		return nil, apdu.SWCommandIncompatible
	}
	if !c.sec.allows(ef.write) {
		return nil, apdu.SWSecurityStatus
	}
	size := max(ef.capacity, len(ef.data))
	end := off + len(cmd.Data)
	if end > size {
		return nil, apdu.SWWrongP1P2
	}
	// A fresh slice: earlier responses may alias the old content.
	data := make([]byte, max(end, len(ef.data)))
	copy(data, ef.data)
	copy(data[off:], cmd.Data)
	ef.data = data
	return nil, apdu.SWOK
}

// cmdSecureMessaging: the class 84 commands of the PKI ADF, CHANGE ADMIN
// PIN 84 5E 01 00 14 and CHANGE MASTER KEY 84 D4 01 00 24, and CHANGE
// MASTER KEY of the PKI DDF (its own key and state). Checks in
// order (the challenge is consumed first, whatever the outcome): 6A86
// P1P2 ≠ 01 00; 6700 Lc ≠ 14 / 24 or Le present; 6982 without the admin
// state (5E) or the master-key state (D4); 6985 no 16-byte challenge;
// 6988 wrong MAC; 6A80 a plaintext that is not 04 || pin4 || 80 00… (5E)
// or 13 00 00 00 || key16 || 80 00… (D4). Success sets the new admin PIN
// (tries back to 5) or master key (tries back to 5); the security states
// stay as they are.
func (c *Card) cmdSecureMessaging(cmd apdu.Command) ([]byte, apdu.StatusWord) {
	chal, ok := c.takeChallenge16()
	m, master := c.pkiMasterKey() // the ADF's, or the DDF's (84 D4 only)
	if cmd.P1 != 0x01 || cmd.P2 != 0x00 {
		return nil, apdu.SWIncorrectP1P2
	}
	var lc int
	var allowed bool
	switch cmd.INS {
	case insChangeAdminPIN:
		lc, allowed = 16+sm.MACSize, c.sec.admin
	default:
		lc, allowed = 32+sm.MACSize, *master
	}
	if len(cmd.Data) != lc || cmd.Ne != 0 || cmd.Extended {
		return nil, apdu.SWWrongLength
	}
	if !allowed {
		return nil, apdu.SWSecurityStatus
	}
	if !ok {
		return nil, apdu.SWConditionsNotSatisfied
	}
	mac, err := sm.NewPKIMAC(m.key[:])
	if err != nil {
		return nil, apdu.SWNoPreciseDiagnosis
	}
	enc := cmd.Data[:lc-sm.MACSize]
	input := append([]byte{cmd.CLA, cmd.INS, cmd.P1, cmd.P2, byte(lc)}, enc...)
	want, err := mac.MAC(chal, input)
	if err != nil {
		return nil, apdu.SWNoPreciseDiagnosis
	}
	if subtle.ConstantTimeCompare(want[:], cmd.Data[lc-sm.MACSize:]) != 1 {
		return nil, apdu.SWSMDataIncorrect
	}
	b, err := sm.NewSM4(m.key[:])
	if err != nil {
		return nil, apdu.SWNoPreciseDiagnosis
	}
	plain, err := sm.DecryptECB(b, enc)
	if err != nil {
		return nil, apdu.SWNoPreciseDiagnosis
	}
	defer clear(plain)
	switch cmd.INS {
	case insChangeAdminPIN:
		if plain[0] != 0x04 || !isPadding(plain[5:]) {
			return nil, apdu.SWIncorrectData
		}
		a := c.pkiApp().pkiAdmin
		copy(a.pin[:], plain[1:5])
		a.pinTries = a.pinMax
	default:
		if !bytes.Equal(plain[:4], []byte{0x13, 0, 0, 0}) || !isPadding(plain[20:]) {
			return nil, apdu.SWIncorrectData
		}
		copy(m.key[:], plain[4:20])
		m.tries = m.max
	}
	return nil, apdu.SWOK
}

// isPadding reports whether b is 80 00 … (ISO/IEC 9797-1 method 2).
func isPadding(b []byte) bool {
	if len(b) == 0 || b[0] != 0x80 {
		return false
	}
	for _, x := range b[1:] {
		if x != 0 {
			return false
		}
	}
	return true
}
