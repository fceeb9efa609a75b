package sim

import (
	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
)

// Commands of the PBOC ADFs (docs/pboc.md): GET PROCESSING OPTIONS, GET
// DATA and INTERNAL AUTHENTICATE (DDA). READ RECORD and SELECT are the
// interindustry ones of cos.go.

// pbocSelection is the volatile state of one selection of a PBOC ADF; any
// SELECT of a DF, reset and power off clear it.
type pbocSelection struct {
	gpo bool // GET PROCESSING OPTIONS done: a second one answers 6985
}

// Offsets in the PDOL data (docs/pboc.md PDOL).
const (
	pdolTTQ      = 0  // 9F66 (4)
	pdolAmount   = 4  // 9F02 (6)
	pdolOther    = 10 // 9F03 (6)
	pdolCountry  = 16 // 9F1A (2)
	pdolCurrency = 23 // 5F2A (2), after TVR 95 (5)
	pdolDate     = 25 // 9A (3)
	pdolType     = 28 // 9C (1)
	pdolUN       = 29 // 9F37 (4)
)

const (
	ttqQPBOC   = 0x20 // TTQ byte 1 b6: qPBOC supported
	cidOffline = 0x40 // TC: approved offline
	cidOnline  = 0x80 // ARQC: go online
)

// curPBOC returns the current PBOC ADF (execute dispatches here only inside
// one).
func (c *Card) curPBOC() *pbocADF { return c.curDF.application().pboc }

// cmdGPO: GET PROCESSING OPTIONS 80 A8 00 00 Lc 83 L <PDOL data> 00. The
// PDOL data must be 34 bytes (6700 otherwise); once per selection (6985).
// Every GPO increments the ATC. Contact (and contactless without the qPBOC
// bit in the TTQ): format 1 80{AIP AFL} for debit, format 2 77{82 94 9F36}
// for e-cash. Contactless with the qPBOC bit: the qPBOC answer, see qPBOC.
func (c *Card) cmdGPO(cmd apdu.Command) ([]byte, apdu.StatusWord) {
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return nil, apdu.SWIncorrectP1P2
	}
	d := cmd.Data
	switch {
	case len(d) < 2:
		return nil, apdu.SWWrongLength
	case d[0] != 0x83:
		return nil, apdu.SWIncorrectData
	case int(d[1]) != len(d)-2 || len(d)-2 != pbocPDOLDataSize:
		return nil, apdu.SWWrongLength
	}
	adf := c.curPBOC()
	acct := adf.acct
	if c.pbocSel.gpo || acct.atc == 0xFFFF { // ATC exhausted: the application stops
		return nil, apdu.SWConditionsNotSatisfied
	}
	c.pbocSel.gpo = true
	acct.atc++
	pdol := d[2:]
	if c.mode == Contactless && pdol[pdolTTQ]&ttqQPBOC != 0 {
		return c.qPBOC(acct, pdol)
	}
	if !adf.spec.ecash {
		return ber(0x80, pbocAIP, pbocAFL), apdu.SWOK
	}
	return ber(0x77, ber(0x82, pbocAIP), ber(0x94, pbocAFL), ber(0x9F36, atcBytes(acct.atc))), apdu.SWOK
}

func atcBytes(atc uint16) []byte { return []byte{byte(atc >> 8), byte(atc)} }

// bcdAmount decodes an n12 amount; ok is false for non-BCD digits.
func bcdAmount(b []byte) (v uint64, ok bool) {
	for _, x := range b {
		if x>>4 > 9 || x&0x0F > 9 {
			return 0, false
		}
		v = v*100 + uint64(x>>4)*10 + uint64(x&0x0F)
	}
	return v, true
}

// qPBOC answers a contactless GPO with the qPBOC bit: format 2 77{82, 94,
// 9F36, 9F26, 9F27, 9F10, 57, 5F34, 9F6C, 9F5D, 9F4B}. An amount with 0 <
// amount <= balance and amount <= the single transaction limit is approved
// offline (CID 40): the balance goes down and a log record is written.
// Otherwise CID 80 (online). 9F4B is the fDDA signature over 16 || L ||
// ICC dynamic data || 9F37 || 9F02 || 5F2A.
func (c *Card) qPBOC(acct *pbocAccount, pdol []byte) ([]byte, apdu.StatusWord) {
	d := acct.d
	amount, ok := bcdAmount(pdol[pdolAmount : pdolAmount+6])
	cid := byte(cidOnline)
	if ok && amount > 0 && amount <= acct.balance && amount <= d.singleLimit {
		cid = cidOffline
		acct.balance -= amount
		acct.writeLog(pdol)
	}
	terminal := make([]byte, 0, 12)
	terminal = append(terminal, pdol[pdolUN:pdolUN+4]...)
	terminal = append(terminal, pdol[pdolAmount:pdolAmount+6]...)
	terminal = append(terminal, pdol[pdolCurrency:pdolCurrency+2]...)
	sdad, err := acct.signDynamic(sm.ODAFormatFDDA, terminal)
	if err != nil {
		return nil, apdu.SWNoPreciseDiagnosis
	}
	ac := simkeys.PBOCAC(d.panField, acct.atc, pdol)
	return ber(0x77,
		ber(0x82, pbocAIP), ber(0x94, pbocAFL), ber(0x9F36, atcBytes(acct.atc)),
		ber(0x9F26, ac[:]), ber(0x9F27, []byte{cid}), ber(0x9F10, pbocIAD),
		ber(0x57, d.track2), ber(0x5F34, []byte{d.psn}), ber(0x9F6C, []byte{0x00, 0x00}),
		ber(0x9F5D, n12(acct.balance)), ber(0x9F4B, sdad),
	), apdu.SWOK
}

// writeLog records an offline purchase as log record 1 (the newest),
// keeping at most pbocLogRecords. Merchant name blank and time 000000: the
// PDOL carries neither (SIM).
func (a *pbocAccount) writeLog(pdol []byte) {
	rec := pbocLogRecord(pdol[pdolDate:pdolDate+3], make([]byte, 3), pdol[pdolAmount:pdolAmount+6],
		pdol[pdolOther:pdolOther+6], pdol[pdolCountry:pdolCountry+2], pdol[pdolCurrency:pdolCurrency+2],
		nil, pdol[pdolType], a.atc)
	recs := append([]record{{data: rec}}, a.log.records...)
	a.log.records = recs[:min(len(recs), pbocLogRecords)]
}

// signDynamic signs ICC dynamic data 08 || SIM dynamic number for the
// terminal data (DDA: the DDOL data; fDDA: 9F37 || 9F02 || 5F2A).
func (a *pbocAccount) signDynamic(format byte, terminal []byte) ([]byte, error) {
	dn := simkeys.PBOCDynamicNumber(a.atc, terminal)
	return sm.SignDynamicData(a.d.iccKey, format, append([]byte{byte(len(dn))}, dn[:]...), terminal, nil)
}

// cmdDDA: INTERNAL AUTHENTICATE 00 88 00 00 04 <9F37> 00 in a PBOC ADF
// (DDOL 9F3704) answers format 1: 80 L <signed dynamic data, format 15>.
func (c *Card) cmdDDA(cmd apdu.Command) ([]byte, apdu.StatusWord) {
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return nil, apdu.SWIncorrectP1P2
	}
	if len(cmd.Data) != 4 { // DDOL 9F37 04
		return nil, apdu.SWWrongLength
	}
	sdad, err := c.curPBOC().acct.signDynamic(sm.ODAFormatDDA, cmd.Data)
	if err != nil {
		return nil, apdu.SWNoPreciseDiagnosis
	}
	return ber(0x80, sdad), apdu.SWOK
}

// cmdGetData: GET DATA 80 CA P1 P2 00 with P1 P2 the tag: ATC 9F36, last
// online ATC 9F13, PIN try counter 9F17, e-cash balance 9F79, balance limit
// 9F77, single transaction limit 9F78, reset threshold 9F6D, log format
// 9F4F; 6A88 for any other tag. The answer is the data object tag L value.
func (c *Card) cmdGetData(cmd apdu.Command) ([]byte, apdu.StatusWord) {
	if len(cmd.Data) != 0 {
		return nil, apdu.SWWrongLength
	}
	acct := c.curPBOC().acct
	tag := uint16(cmd.P1)<<8 | uint16(cmd.P2)
	var v []byte
	switch tag {
	case 0x9F36:
		v = atcBytes(acct.atc)
	case 0x9F13:
		v = []byte{0x00, 0x00} // the card never completes an online transaction
	case 0x9F17:
		v = []byte{pbocPINTries}
	case 0x9F79:
		v = n12(acct.balance)
	case 0x9F77:
		v = n12(acct.d.balanceLimit)
	case 0x9F78:
		v = n12(acct.d.singleLimit)
	case 0x9F6D:
		v = n12(acct.d.resetThreshold)
	case 0x9F4F:
		v = pbocLogFormat
	default:
		return nil, apdu.SWReferenceNotFound
	}
	return ber(tag, v), apdu.SWOK
}
