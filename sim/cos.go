package sim

import (
	"crypto/rand"
	"crypto/subtle"

	"github.com/sscard/ssc/apdu"
)

// The card operating system: interindustry commands of ISO 7816-4 as the
// SSC uses them (ssc-facts §9.3), on the file tree of fs.go.

const (
	insVerify       = 0x20
	insExternalAuth = 0x82
	insGetChallenge = 0x84
	insInternalAuth = 0x88
	insSelect       = 0xA4
	insReadBinary   = 0xB0
	insReadRecord   = 0xB2
)

// execute runs one command (GET RESPONSE is the link's) and returns the
// response data (which may alias card memory) and the status word.
func (c *Card) execute(cmd apdu.Command) ([]byte, apdu.StatusWord) {
	switch cmd.CLA {
	case 0x00:
	case 0x04, 0x08, 0x0C: // interindustry class with secure messaging
		return nil, apdu.SWSMNotSupported
	default:
		return nil, apdu.SWCLANotSupported
	}
	var run func(apdu.Command) ([]byte, apdu.StatusWord)
	switch cmd.INS {
	case insSelect:
		run = c.cmdSelect
	case insReadRecord:
		run = c.cmdReadRecord
	case insReadBinary:
		run = c.cmdReadBinary
	case insGetChallenge:
		run = c.cmdGetChallenge
	case insExternalAuth:
		run = c.cmdExternalAuth
	case insInternalAuth:
		run = c.cmdInternalAuth
	case insVerify:
		run = c.cmdVerify
	default:
		return nil, apdu.SWINSNotSupported
	}
	if cmd.Extended { // no extended-length support
		return nil, apdu.SWWrongLength
	}
	return run(cmd)
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
	}
	c.curDF = df
	app := df.application()
	if (f.typ == typeDF && f.app) || app != c.sec.app {
		c.sec = securityState{app: app}
	}
}

// cmdSelect: SELECT 00 A4 P1 P2 [Lc data] [Le].
// P1 00 FID (3F00 or empty = MF; then the current DF, its children, its
// parent and the parent's children), 01 child DF, 02 child of the current
// DF by FID (lenient: EFs and DFs, as COSes in the field accept), 03 parent
// DF, 04 DF name (full name only). P2 00 returns the FCI of a DF (EFs have
// none), 0C returns nothing; P2 02 ("next occurrence") finds nothing, as DF
// names are unique.
func (c *Card) cmdSelect(cmd apdu.Command) ([]byte, apdu.StatusWord) {
	var wantFCI bool
	switch cmd.P2 {
	case 0x00:
		wantFCI = true
	case 0x0C:
	case 0x02, 0x0E:
		if cmd.P1 != 0x04 {
			return nil, apdu.SWIncorrectP1P2
		}
		if len(cmd.Data) == 0 || len(cmd.Data) > 16 {
			return nil, apdu.SWWrongLength
		}
		return nil, apdu.SWFileNotFound
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
		target = c.mf.findName(cmd.Data)
	default:
		return nil, apdu.SWIncorrectP1P2
	}
	if target == nil {
		return nil, apdu.SWFileNotFound
	}
	c.selectFile(target)
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
func (c *Card) cmdReadRecord(cmd apdu.Command) ([]byte, apdu.StatusWord) {
	if len(cmd.Data) != 0 {
		return nil, apdu.SWWrongLength
	}
	sfi, mode := cmd.P2>>3, cmd.P2&0x07
	if sfi == 0x1F { // RFU
		return nil, apdu.SWWrongP1P2
	}
	if (mode != 0x04 && mode != 0x00) || cmd.P1 == 0x00 {
		return nil, apdu.SWIncorrectP1P2
	}
	ef, status := c.efBySFI(sfi)
	if ef == nil {
		return nil, status
	}
	if ef.typ != typeRecordEF {
		return nil, apdu.SWCommandIncompatible
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

// cmdVerify: VERIFY 00 20 00 00 03 <PIN BCD> (sim-profile §4). Without data
// it reports the state without using a try: 9000 if already verified, 63Cx
// otherwise, 6983 when blocked.
func (c *Card) cmdVerify(cmd apdu.Command) ([]byte, apdu.StatusWord) {
	if cmd.P1 != 0 {
		return nil, apdu.SWIncorrectP1P2
	}
	app := c.curDF.application()
	if app == nil || app.pin == nil || app.pin.ref != cmd.P2 {
		return nil, apdu.SWReferenceNotFound
	}
	p := app.pin
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
	if len(cmd.Data) != len(p.value) || cmd.Ne != 0 {
		return nil, apdu.SWWrongLength
	}
	if p.tries == 0 {
		return nil, apdu.SWAuthMethodBlocked
	}
	if subtle.ConstantTimeCompare(cmd.Data, p.value) == 1 {
		p.tries = p.maxTries
		c.sec.pin = true
		return nil, apdu.SWOK
	}
	p.tries--
	c.sec.pin = false
	return nil, triesLeft(p.tries)
}
