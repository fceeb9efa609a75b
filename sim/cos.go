package sim

import (
	"crypto/rand"
	"crypto/subtle"

	"github.com/emmansun/gmsm/sm3"
	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/sm"
)

// The card operating system: interindustry commands of ISO 7816-4 as the
// SSC uses them (ssc-facts §9.3), on the file tree of fs.go.

const (
	insVerify       = 0x20
	insChangeRef    = 0x24
	insResetRetry   = 0x2C
	insPSO          = 0x2A
	insPINHash      = 0xC4 // proprietary class 80 (PKI, ssc-facts §3.5)
	insGPO          = 0xA8 // proprietary class 80 (PBOC)
	insGetData      = 0xCA // proprietary class 80 (PBOC)
	insExternalAuth = 0x82
	insGetChallenge = 0x84
	insInternalAuth = 0x88
	insSelect       = 0xA4
	insReadBinary   = 0xB0
	insReadRecord   = 0xB2
	insUpdateRecord = 0xDC
)

// execute runs one command (GET RESPONSE is the link's) and returns the
// response data (which may alias card memory) and the status word.
func (c *Card) execute(cmd apdu.Command) ([]byte, apdu.StatusWord) {
	var run func(apdu.Command) ([]byte, apdu.StatusWord)
	switch cmd.CLA {
	case 0x00:
		run = c.interindustry(cmd.INS)
	case 0x80: // proprietary class: only inside applications that define commands in it
		app := c.curDF.application()
		if app == nil && c.curDF.pkiMaster != nil {
			return nil, apdu.SWINSNotSupported // the PKI DDF: of its own class, 84 D4 only
		}
		if app == nil || (!app.pinHash && app.pboc == nil) {
			return nil, apdu.SWCLANotSupported
		}
		run = c.proprietary(app, cmd.INS)
	case 0x04, 0x08, 0x0C: // interindustry class with secure messaging
		return nil, apdu.SWSMNotSupported
	case 0x84: // proprietary class with secure messaging: the PKI ADF and DDF only (pki_cmd.go)
		switch {
		case c.pkiApp() != nil:
			if cmd.INS == insChangeAdminPIN || cmd.INS == insChangeMasterKey {
				run = c.cmdSecureMessaging
			}
		case c.curDF.pkiMaster != nil: // the PKI DDF: CHANGE MASTER KEY only
			if cmd.INS == insChangeMasterKey {
				run = c.cmdSecureMessaging
			}
		default:
			return nil, apdu.SWCLANotSupported
		}
	default:
		return nil, apdu.SWCLANotSupported
	}
	if run == nil {
		return nil, apdu.SWINSNotSupported
	}
	if cmd.Extended && !c.extended { // extended length switched off (profile)
		return nil, apdu.SWWrongLength
	}
	if c.blocked() && !(cmd.CLA == 0x00 && cmd.INS == insSelect) {
		return nil, apdu.SWConditionsNotSatisfied
	}
	return run(cmd)
}

// proprietary returns the class 80 command INS of an application, or nil.
func (c *Card) proprietary(app *file, ins byte) func(apdu.Command) ([]byte, apdu.StatusWord) {
	switch {
	case app.pinHash && ins == insPINHash:
		return c.cmdPINHash
	case app.pboc != nil && ins == insGPO:
		return c.cmdGPO
	case app.pboc != nil && ins == insGetData:
		return c.cmdGetData
	case app.pkiAdmin != nil && ins == insGenerateKeyPair:
		return c.cmdGenerateKeyPair
	case app.pkiAdmin != nil && ins == insDecryptSessionKey:
		return c.cmdDecryptSessionKey
	case app.pkiAdmin != nil && ins == insInstallSessionKey:
		return c.cmdInstallSessionKey
	case app.pkiAdmin != nil && ins == insImportEncKey:
		return c.cmdImportEncKey
	}
	return nil
}

// interindustry returns the class 00 command INS, or nil.
func (c *Card) interindustry(ins byte) func(apdu.Command) ([]byte, apdu.StatusWord) {
	switch ins {
	case insChangeRef:
		return c.cmdChangeReference
	case insResetRetry:
		return c.cmdResetRetryCounter
	case insPSO:
		return c.cmdPSO
	case insSelect:
		return c.cmdSelect
	case insReadRecord:
		return c.cmdReadRecord
	case insUpdateRecord:
		return c.cmdUpdateRecord
	case insReadBinary:
		return c.cmdReadBinary
	case insGetChallenge:
		return c.cmdGetChallenge
	case insExternalAuth:
		if m, state := c.pkiMasterKey(); m != nil {
			return func(cmd apdu.Command) ([]byte, apdu.StatusWord) { return c.cmdPKIExternalAuth(m, state, cmd) }
		}
		return c.cmdExternalAuth
	case insUpdateBinary:
		if c.pkiApp() != nil { // the certificates of the PKI ADF only
			return c.cmdUpdateBinary
		}
	case insInternalAuth:
		// The application decides what INTERNAL AUTHENTICATE means: DDA in
		// a PBOC ADF, the SIM cryptogram elsewhere.
		if app := c.curDF.application(); app != nil && app.pboc != nil {
			return c.cmdDDA
		}
		return c.cmdInternalAuth
	case insVerify:
		return c.cmdVerify
	}
	return nil
}

// blocked reports whether the current DF or a DF above it is invalidated:
// every command but SELECT answers 6985 there.
func (c *Card) blocked() bool {
	for f := c.curDF; f != nil; f = f.parent {
		if f.invalidated {
			return true
		}
	}
	return false
}

// selectFile makes f current, keeping or clearing the security state:
// selecting an application DF (again) or moving to another application
// clears it; moving inside the current application keeps it.
func (c *Card) selectFile(f *file) {
	df := f
	if f.typ != typeDF {
		df = f.parent
		c.curEF = f
	} else {
		c.curEF = nil
		c.pbocSel = pbocSelection{} // a new selection: GPO allowed again
	}
	c.curDF = df
	c.sec.ddfMaster = false // the PKI DDF's state lasts until any selection
	app := df.application()
	if (f.typ == typeDF && f.app) || app != c.sec.app {
		c.sec = securityState{app: app}
	}
}

// cmdSelect: SELECT 00 A4 P1 P2 [Lc data] [Le].
// P1 00 FID (3F00 or empty = MF; then the current DF, its children, its
// parent and the parent's children), 01 child DF, 02 child of the current
// DF by FID (lenient: EFs and DFs, as COSes in the field accept), 03 parent
// DF, 04 DF name: the full name, or a prefix of the name of a DF that
// accepts partial selection (the PBOC ADFs; the first in card order). P2
// 00 returns the FCI of a DF (EFs have none), 0C returns nothing; P2 02 /
// 0E ("next occurrence", with / without FCI) select the next DF in card
// order after the current DF that accepts partial selection and whose name
// starts with the data; other DF names are unique, so it finds nothing for
// them.
func (c *Card) cmdSelect(cmd apdu.Command) ([]byte, apdu.StatusWord) {
	var wantFCI, next bool
	switch cmd.P2 {
	case 0x00:
		wantFCI = true
	case 0x0C:
	case 0x02, 0x0E:
		if cmd.P1 != 0x04 {
			return nil, apdu.SWIncorrectP1P2
		}
		wantFCI, next = cmd.P2 == 0x02, true
	default:
		return nil, apdu.SWIncorrectP1P2
	}
	var target *file
	fid := func() (uint16, bool) {
		if len(cmd.Data) != 2 {
			return 0, false
		}
		return uint16(cmd.Data[0])<<8 | uint16(cmd.Data[1]), true
	}
	switch cmd.P1 {
	case 0x00:
		if len(cmd.Data) == 0 {
			target = c.mf
			break
		}
		id, ok := fid()
		if !ok {
			return nil, apdu.SWWrongLength
		}
		target = c.findFID(id)
	case 0x01, 0x02:
		id, ok := fid()
		if !ok {
			return nil, apdu.SWWrongLength
		}
		target = c.curDF.child(id)
		if target != nil && cmd.P1 == 0x01 && target.typ != typeDF {
			target = nil
		}
	case 0x03:
		if len(cmd.Data) != 0 {
			return nil, apdu.SWWrongLength
		}
		target = c.curDF.parent
	case 0x04:
		if len(cmd.Data) == 0 || len(cmd.Data) > 16 {
			return nil, apdu.SWWrongLength
		}
		switch {
		case next:
			target = c.mf.findPartial(cmd.Data, c.curDF)
		default:
			if target = c.mf.findName(cmd.Data); target == nil {
				target = c.mf.findPartial(cmd.Data, nil)
			}
		}
	default:
		return nil, apdu.SWIncorrectP1P2
	}
	if target == nil {
		return nil, apdu.SWFileNotFound
	}
	c.selectFile(target)
	if target.typ == typeDF && target.invalidated {
		// Selected, but blocked: no FCI, the warning is the answer.
		return nil, apdu.SWFileInvalidated
	}
	if wantFCI && target.typ == typeDF {
		return target.fci, apdu.SWOK
	}
	return nil, apdu.SWOK
}

// findFID resolves a file identifier for SELECT P1 = 00.
func (c *Card) findFID(id uint16) *file {
	if id == fidMF {
		return c.mf
	}
	df := c.curDF
	if df.fid == id {
		return df
	}
	if f := df.child(id); f != nil {
		return f
	}
	if p := df.parent; p != nil {
		if p.fid == id {
			return p
		}
		return p.child(id)
	}
	return nil
}

// efBySFI returns the EF a READ command addresses: SFI 0 = the current EF,
// else the EF with that SFI in the current DF, which becomes current.
func (c *Card) efBySFI(sfi byte) (*file, apdu.StatusWord) {
	if sfi == 0 {
		if c.curEF == nil {
			return nil, apdu.SWCommandNotAllowed
		}
		return c.curEF, apdu.SWOK
	}
	ef := c.curDF.childSFI(sfi)
	if ef == nil {
		return nil, apdu.SWFileNotFound
	}
	c.curEF = ef
	return ef, apdu.SWOK
}

// cmdReadRecord: READ RECORD 00 B2 P1 P2 Le. P2 = SFI<<3 | mode; mode 100:
// P1 is a record number, 000: P1 is a record identifier (the tag; first
// occurrence). Returns the whole SIMPLE-TLV record.
// recordEF resolves the record EF of READ/UPDATE RECORD from P2 (SFI, or
// 0 for the current EF) and checks P1 and the mode: record number (04), or
// for reads also by tag (00) when byTag is allowed.
func (c *Card) recordEF(cmd apdu.Command, byTag bool) (*file, byte, apdu.StatusWord) {
	sfi, mode := cmd.P2>>3, cmd.P2&0x07
	if sfi == 0x1F { // RFU
		return nil, 0, apdu.SWWrongP1P2
	}
	if (mode != 0x04 && !(byTag && mode == 0x00)) || cmd.P1 == 0x00 {
		return nil, 0, apdu.SWIncorrectP1P2
	}
	ef, status := c.efBySFI(sfi)
	if ef == nil {
		return nil, 0, status
	}
	if ef.typ != typeRecordEF {
		return nil, 0, apdu.SWCommandIncompatible
	}
	return ef, mode, apdu.SWOK
}

func (c *Card) cmdReadRecord(cmd apdu.Command) ([]byte, apdu.StatusWord) {
	if len(cmd.Data) != 0 {
		return nil, apdu.SWWrongLength
	}
	ef, mode, status := c.recordEF(cmd, true)
	if ef == nil {
		return nil, status
	}
	if !c.sec.allows(ef.read) {
		return nil, apdu.SWSecurityStatus
	}
	var rec *record
	if mode == 0x04 {
		rec = ef.recordByNumber(cmd.P1)
	} else {
		rec = ef.recordByID(cmd.P1)
	}
	if rec == nil {
		return nil, apdu.SWRecordNotFound
	}
	if !c.sec.allows(rec.read) {
		return nil, apdu.SWSecurityStatus
	}
	return rec.data, apdu.SWOK
}

// cmdUpdateRecord: UPDATE RECORD 00 DC P1 P2 Lc <tag len value>
// (ssc-facts §1.3; sim-profile §2: writes need kid 04). P2 = SFI<<3 | 100:
// P1 is a record number (SFI 0: the current EF; otherwise the EF with that
// SFI in the current DF, which becomes current), as READ RECORD addresses
// them. The data is the whole SIMPLE-TLV record as READ RECORD returns it;
// records have fixed sizes, so it must keep the record's tag and length.
// Checks in order: 6700 without data or with Le; 6A86 for P1 00 or a mode
// other than 100 (SFI 1F: 6B00); 6A82 no EF with the SFI, 6986 no current
// EF; 6981 not a record EF; 6982 unless the file's write condition holds
// (SSSE EF05/EF06 and the DF01 record EFs: EXTERNAL AUTHENTICATE with kid
// 04 in this selection of SSSE, on both generations; other files: never); 6A83 no such record; 6700
// Lc other than the record size; 6A80 another tag or length byte. The new
// record stays in card memory for the card's life (reset and power off keep
// it; Profile still returns the personalisation).
func (c *Card) cmdUpdateRecord(cmd apdu.Command) ([]byte, apdu.StatusWord) {
	if len(cmd.Data) == 0 || cmd.Ne != 0 {
		return nil, apdu.SWWrongLength
	}
	ef, _, status := c.recordEF(cmd, false)
	if ef == nil {
		return nil, status
	}
	if !c.sec.allows(ef.write) {
		return nil, apdu.SWSecurityStatus
	}
	rec := ef.recordByNumber(cmd.P1)
	if rec == nil {
		return nil, apdu.SWRecordNotFound
	}
	if len(cmd.Data) != len(rec.data) {
		return nil, apdu.SWWrongLength
	}
	if cmd.Data[0] != rec.data[0] || cmd.Data[1] != rec.data[1] {
		return nil, apdu.SWIncorrectData
	}
	// A fresh slice: earlier responses may alias the old record.
	rec.data = append([]byte(nil), cmd.Data...)
	return nil, apdu.SWOK
}

// cmdReadBinary: READ BINARY 00 B0 P1 P2 Le; P1 b8 = 1: SFI in P1 b5-b1 and
// offset P2, else offset P1P2 (15 bits) in the current EF. Returns up to Le
// bytes (Le 00: 256).
func (c *Card) cmdReadBinary(cmd apdu.Command) ([]byte, apdu.StatusWord) {
	if len(cmd.Data) != 0 {
		return nil, apdu.SWWrongLength
	}
	var sfi byte
	off := int(cmd.P1)<<8 | int(cmd.P2)
	if cmd.P1&0x80 != 0 {
		if cmd.P1&0x60 != 0 {
			return nil, apdu.SWIncorrectP1P2
		}
		sfi, off = cmd.P1&0x1F, int(cmd.P2)
		if sfi == 0 {
			return nil, apdu.SWIncorrectP1P2
		}
	}
	ef, status := c.efBySFI(sfi)
	if ef == nil {
		return nil, status
	}
	if ef.typ != typeBinaryEF {
		return nil, apdu.SWCommandIncompatible
	}
	if !c.sec.allows(ef.read) {
		return nil, apdu.SWSecurityStatus
	}
	if off >= len(ef.data) {
		return nil, apdu.SWWrongP1P2
	}
	n := cmd.Ne
	if n == 0 {
		n = apdu.MaxShortNe
	}
	return ef.data[off:min(off+n, len(ef.data))], apdu.SWOK
}

// cmdGetChallenge: GET CHALLENGE 00 84 00 00 Le, Le 08 or 10. The card
// remembers only the most recent challenge.
func (c *Card) cmdGetChallenge(cmd apdu.Command) ([]byte, apdu.StatusWord) {
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return nil, apdu.SWIncorrectP1P2
	}
	if len(cmd.Data) != 0 || (cmd.Ne != 8 && cmd.Ne != 16) {
		return nil, apdu.SWWrongLength
	}
	c.clearChallenge()
	if _, err := rand.Read(c.challenge[:cmd.Ne]); err != nil {
		return nil, apdu.SWNoPreciseDiagnosis
	}
	c.chalLen = cmd.Ne
	return c.challenge[:cmd.Ne], apdu.SWOK
}

// appKey returns the key kid for a use in the current application.
func (c *Card) appKey(kid byte, use keyUse) *key {
	app := c.curDF.application()
	if app == nil {
		return nil
	}
	for _, k := range app.keys {
		if k.kid == kid && k.use == use {
			return k
		}
	}
	return nil
}

// triesLeft encodes 63Cx.
func triesLeft(n int) apdu.StatusWord { return apdu.StatusWord(0x63C0) | apdu.StatusWord(n&0x0F) }

// cmdExternalAuth: EXTERNAL AUTHENTICATE 00 82 00 kid 10 C||O (SIM,
// sim-profile §2). The factor F is the first 8 bytes of the most recent
// challenge; every EXTERNAL AUTHENTICATE consumes the challenge, whatever
// its outcome. Success sets the security state for kid and resets the try
// counter; failure clears that state and answers 63Cx (6983 once blocked).
func (c *Card) cmdExternalAuth(cmd apdu.Command) ([]byte, apdu.StatusWord) {
	chal, chalLen := c.challenge, c.chalLen
	c.clearChallenge()
	if cmd.P1 != 0 {
		return nil, apdu.SWIncorrectP1P2
	}
	if len(cmd.Data) != 16 || cmd.Ne != 0 {
		return nil, apdu.SWWrongLength
	}
	k := c.appKey(cmd.P2, useExternalAuth)
	switch {
	case k == nil:
		return nil, apdu.SWReferenceNotFound
	case k.tries == 0:
		return nil, apdu.SWAuthMethodBlocked
	case chalLen == 0:
		return nil, apdu.SWConditionsNotSatisfied
	}
	want, err := c.keys.Cryptogram(k.kid, chal[:8], cmd.Data[8:16])
	if err != nil {
		return nil, apdu.SWNoPreciseDiagnosis
	}
	if subtle.ConstantTimeCompare(want[:], cmd.Data[:8]) == 1 {
		k.tries = k.maxTries
		c.sec.setKey(k.kid)
		return nil, apdu.SWOK
	}
	k.tries--
	c.sec.clearKey(k.kid)
	return nil, triesLeft(k.tries)
}

// cmdInternalAuth: INTERNAL AUTHENTICATE 00 88 00 kid 10 F||O 00 (SIM,
// sim-profile §2): returns the 8-byte cryptogram computed with kid 09. The
// card's challenge is neither used nor consumed.
func (c *Card) cmdInternalAuth(cmd apdu.Command) ([]byte, apdu.StatusWord) {
	if cmd.P1 != 0 {
		return nil, apdu.SWIncorrectP1P2
	}
	if len(cmd.Data) != 16 {
		return nil, apdu.SWWrongLength
	}
	k := c.appKey(cmd.P2, useInternalAuth)
	if k == nil {
		return nil, apdu.SWReferenceNotFound
	}
	out, err := c.keys.Cryptogram(k.kid, cmd.Data[:8], cmd.Data[8:16])
	if err != nil {
		return nil, apdu.SWNoPreciseDiagnosis
	}
	return out[:], apdu.SWOK
}

// appPIN returns the PIN of the current application that VERIFY P1 P2
// addresses: 6A86 for a P1 the PIN does not use, 6A88 for no such PIN.
func (c *Card) appPIN(p1, p2 byte) (*pin, apdu.StatusWord) {
	if p1 != 0x00 && p1 != 0x01 {
		return nil, apdu.SWIncorrectP1P2
	}
	app := c.curDF.application()
	switch {
	case app != nil && app.pin != nil && app.pin.p1 != p1:
		return nil, apdu.SWIncorrectP1P2
	case app == nil || app.pin == nil || app.pin.ref != p2:
		return nil, apdu.SWReferenceNotFound
	}
	return app.pin, apdu.SWOK
}

// cmdVerify: VERIFY 00 20 P1 P2 [Lc data] of the current application's PIN.
// SSSE (sim-profile §4): 00 20 00 00 03 <PIN BCD>. PKI (ssc-facts §3.5):
// 00 20 01 81 10 <SM4_ECB(SM3(PIN BCD)[0:16], challenge)>, where challenge
// is the card's most recent one: 16 bytes, or 8 bytes padded with 8×00 (SIM:
// no challenge answers 6985; the challenge is consumed by every PKI VERIFY
// with data). Without data VERIFY reports the state without using a try
// (ISO 7816-4): 9000 if already verified in this session, 63Cx otherwise,
// 6983 when blocked. A wrong PIN uses a try and answers 63Cx (6983 once
// blocked) and clears the verified state.
func (c *Card) cmdVerify(cmd apdu.Command) ([]byte, apdu.StatusWord) {
	if app := c.pkiApp(); app != nil && cmd.P1 == pinPKIP1 && cmd.P2 == pinPKIAdmin {
		return c.cmdVerifyAdmin(app, cmd) // the admin PIN (pki_cmd.go)
	}
	p, status := c.appPIN(cmd.P1, cmd.P2)
	if p == nil {
		return nil, status
	}
	if len(cmd.Data) == 0 {
		// Case 1; on T=0 that is P3 = 00, which parses as Le = 00.
		if cmd.Ne != 0 && cmd.Ne != apdu.MaxShortNe {
			return nil, apdu.SWWrongLength
		}
		switch {
		case p.tries == 0:
			return nil, apdu.SWAuthMethodBlocked
		case c.sec.pin:
			return nil, apdu.SWOK
		}
		return nil, triesLeft(p.tries)
	}
	var want []byte
	switch p.kind {
	case pinPKI:
		chal, chalLen := c.challenge, c.chalLen
		c.clearChallenge()
		if len(cmd.Data) != sm.PKIChallengeSize || cmd.Ne != 0 {
			return nil, apdu.SWWrongLength
		}
		if p.tries == 0 {
			return nil, apdu.SWAuthMethodBlocked
		}
		if chalLen == 0 {
			return nil, apdu.SWConditionsNotSatisfied
		}
		crypt, err := sm.PKIPINCryptogram(p.digits, chal[:chalLen])
		if err != nil {
			return nil, apdu.SWNoPreciseDiagnosis
		}
		want = crypt[:]
	default:
		if len(cmd.Data) != len(p.value) || cmd.Ne != 0 {
			return nil, apdu.SWWrongLength
		}
		if p.tries == 0 {
			return nil, apdu.SWAuthMethodBlocked
		}
		want = p.value
	}
	return nil, c.checkPIN(p, cmd.Data, want)
}

// checkPIN compares a presented PIN and updates the counter and state.
func (c *Card) checkPIN(p *pin, got, want []byte) apdu.StatusWord {
	if subtle.ConstantTimeCompare(got, want) == 1 {
		p.tries = p.maxTries
		c.sec.pin = true
		return apdu.SWOK
	}
	p.tries--
	c.sec.pin = false
	return triesLeft(p.tries)
}

// validBCD reports whether b is packed BCD digits only.
func validBCD(b []byte) bool {
	for _, x := range b {
		if x>>4 > 9 || x&0x0F > 9 {
			return false
		}
	}
	return true
}

// cmdChangeReference: CHANGE REFERENCE DATA 00 24 00 P2 <old || new>, both
// packed BCD of the PIN's length (sim-profile §4: 00 24 00 00 06). A wrong
// old PIN uses a try (63Cx, 6983 once blocked); success sets the new PIN,
// resets the counter and leaves the PIN verified (SIM). A new PIN that is
// not BCD digits answers 6A80 without using a try. Only plain (SSSE) PINs.
func (c *Card) cmdChangeReference(cmd apdu.Command) ([]byte, apdu.StatusWord) {
	if cmd.P1 != 0 {
		return nil, apdu.SWIncorrectP1P2
	}
	p, status := c.appPIN(cmd.P1, cmd.P2)
	if p == nil {
		return nil, status
	}
	if p.kind != pinPlain {
		return nil, apdu.SWReferenceNotFound
	}
	n := len(p.value)
	if len(cmd.Data) != 2*n || cmd.Ne != 0 {
		return nil, apdu.SWWrongLength
	}
	if !c.sec.allows(p.change) {
		return nil, apdu.SWSecurityStatus
	}
	if p.tries == 0 {
		return nil, apdu.SWAuthMethodBlocked
	}
	if !validBCD(cmd.Data[n:]) {
		return nil, apdu.SWIncorrectData
	}
	if status := c.checkPIN(p, cmd.Data[:n], p.value); status != apdu.SWOK {
		return nil, status
	}
	p.value = append([]byte(nil), cmd.Data[n:]...)
	return nil, apdu.SWOK
}

// cmdResetRetryCounter: RESET RETRY COUNTER 00 2C 00 P2 <new PIN BCD>
// (sim-profile §4: 00 2C 00 00 03), allowed when the PIN's unblock
// condition holds (SSSE: EXTERNAL AUTHENTICATE with kid 04; 6982
// otherwise). It sets the new PIN and the full try counter; the PIN is not
// verified by it (SIM).
func (c *Card) cmdResetRetryCounter(cmd apdu.Command) ([]byte, apdu.StatusWord) {
	if cmd.P1 != 0 {
		return nil, apdu.SWIncorrectP1P2
	}
	p, status := c.appPIN(cmd.P1, cmd.P2)
	if p == nil {
		return nil, status
	}
	if p.kind != pinPlain {
		return nil, apdu.SWReferenceNotFound
	}
	if len(cmd.Data) != len(p.value) || cmd.Ne != 0 {
		return nil, apdu.SWWrongLength
	}
	if !c.sec.allows(p.unblock) {
		return nil, apdu.SWSecurityStatus
	}
	if !validBCD(cmd.Data) {
		return nil, apdu.SWIncorrectData
	}
	p.value = append([]byte(nil), cmd.Data...)
	p.tries = p.maxTries
	c.sec.pin = false
	return nil, apdu.SWOK
}

// cmdPINHash: the PKI PIN hash 80 C4 01 03 Lc C1 <len> <PIN BCD> [00]
// (ssc-facts §3.5) returns SM3 of the BCD PIN (32 bytes). Only in an
// application that has it (class 80 answers 6E00 elsewhere); P1P2 other than 01 03 give
// 6A86; a data field that is not one C1 TLV gives 6A80.
func (c *Card) cmdPINHash(cmd apdu.Command) ([]byte, apdu.StatusWord) {
	if cmd.P1 != 0x01 || cmd.P2 != 0x03 {
		return nil, apdu.SWIncorrectP1P2
	}
	d := cmd.Data
	if len(d) < 2 {
		return nil, apdu.SWWrongLength
	}
	if d[0] != 0xC1 || int(d[1]) != len(d)-2 || len(d) == 2 {
		return nil, apdu.SWIncorrectData
	}
	sum := sm3.Sum(d[2:])
	return sum[:], apdu.SWOK
}

// cmdPSO: PSO COMPUTE DIGITAL SIGNATURE 00 2A 9E 9A 20 <e> [00]
// (sim-profile §5): r || s of the 32-byte digest e with the application's
// SM2 key. 6A86 for other P1P2, 6700 unless Lc = 32, 6A88 in an application
// without a signing key, 6982 unless the application's condition (the user
// PIN) holds.
func (c *Card) cmdPSO(cmd apdu.Command) ([]byte, apdu.StatusWord) {
	if cmd.P1 != 0x9E || cmd.P2 != 0x9A {
		return nil, apdu.SWIncorrectP1P2
	}
	if len(cmd.Data) != sm.SM2DigestSize {
		return nil, apdu.SWWrongLength
	}
	app := c.curDF.application()
	if app == nil || app.signKey == nil {
		return nil, apdu.SWReferenceNotFound
	}
	if !c.sec.allows(app.sign) {
		return nil, apdu.SWSecurityStatus
	}
	sig, err := sm.SignDigest(app.signKey, cmd.Data)
	if err != nil {
		return nil, apdu.SWNoPreciseDiagnosis
	}
	return sig, apdu.SWOK
}
