package sim

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"sync"

	"github.com/emmansun/gmsm/sm2"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// The PBOC 3.0 (JR/T 0025) bank application, personalised exactly as
// docs/pboc.md says:
//
//	MF 3F00
//	├─ DDF 1PAY.SYS.DDF01 (PSE, optional): FCI 6F{84, A5{88 01, 5F2D}}
//	│   └─ EF SFI 1: directory record 70{61{4F, 50, 87}, 61{...}}
//	├─ DDF 2PAY.SYS.DDF01 (PPSE, optional): entries in the FCI's BF0C
//	├─ ADF A000000333010101 (debit)  ┐ the same EF nodes in both:
//	└─ ADF A000000333010106 (e-cash) ┘ one account, one set of counters
//	    ├─ EF SFI 1: records 1 (57, 5F20) and 2 (5A, dates, CDOLs, 9F63, ...)
//	    ├─ EF SFI 2: records 1 (8F, 90) and 2 (9F46, 9F49, 9F4A, 93)
//	    └─ EF SFI 11: transaction log, 10 records of 45 bytes, newest first
//
// The ADFs accept SELECT by a prefix of their AID (partial selection).
// Commands are in pboc_cmd.go.

var (
	pbocPSEName  = []byte("1PAY.SYS.DDF01")
	pbocPPSEName = []byte("2PAY.SYS.DDF01")
	pbocDebitAID = []byte{0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, 0x01}
	pbocECashAID = []byte{0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, 0x06}

	pbocAIP = []byte{0x7C, 0x00} // SDA, DDA, cardholder verification, terminal risk management, issuer authentication
	// pbocAFL: SFI 1 records 1-2 (both for ODA), SFI 2 records 1-2.
	pbocAFL = []byte{0x08, 0x01, 0x02, 0x02, 0x10, 0x01, 0x02, 0x00}
	// pbocPDOL: TTQ, amount, other amount, country, TVR, currency, date,
	// type, unpredictable number, SM support (34 bytes of data).
	pbocPDOL = mustHex("9F66049F02069F03069F1A0295055F2A029A039C019F3704DF6901")
	// pbocLogFormat is 9F4F: the DOL of a log record (45 bytes).
	pbocLogFormat = mustHex("9A039F21039F02069F03069F1A025F2A029F4E149C019F3602")

	pbocCountry         = []byte{0x01, 0x56} // 5F28, 9F42: China, CNY
	pbocLanguage        = []byte("zhen")
	pbocCVMList         = mustHex("000000000000000042031E031F00")
	pbocCDOL1           = mustHex("9F02069F03069F1A0295055F2A029A039C019F3704")
	pbocCDOL2           = mustHex("8A029F02069F03069F1A0295055F2A029A039C019F3704")
	pbocDDOL            = mustHex("9F3704")
	pbocProductID       = mustHex("00000000000000000800000000000000") // byte 9 b4: social security card
	pbocIAD             = mustHex("07010103A000000A01000000000000")
	pbocIssuerExpiry    = [2]byte{0x12, 0x35} // MMYY (SIM)
	pbocCertSerial      = [3]byte{0x00, 0x00, 0x01}
	pbocDAC             = [2]byte{0xDA, 0xC1}
	pbocServiceDiscData = "2201000000000000" // track 2 service code 220 + discretionary data (SIM)
)

const (
	pbocSFIRecords    = 1
	pbocSFICerts      = 2
	pbocSFILog        = 0x0B
	pbocLogRecords    = 10
	pbocLogRecordSize = 45
	pbocPDOLDataSize  = 34
	pbocInitialATC    = 0x0003 // the newest personalised log entry's ATC
	pbocPINTries      = 3      // 9F17 (the card has no offline PIN command)
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err) // package constants only
	}
	return b
}

// ber encodes one BER-TLV data object whose value is the concatenation of
// parts; tag is written as 1 byte or, above FF, 2 bytes.
func ber(tag uint16, parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n+5)
	if tag > 0xFF {
		out = append(out, byte(tag>>8))
	}
	out = append(out, byte(tag))
	switch {
	case n < 0x80:
		out = append(out, byte(n))
	case n <= 0xFF:
		out = append(out, 0x81, byte(n))
	default:
		out = append(out, 0x82, byte(n>>8), byte(n))
	}
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// isPBOCDFName reports whether name is one of the application's DF names.
func isPBOCDFName(name []byte) bool {
	for _, n := range [][]byte{pbocPSEName, pbocPPSEName, pbocDebitAID, pbocECashAID} {
		if bytes.Equal(n, name) {
			return true
		}
	}
	return false
}

// pbocADFSpec is what distinguishes the two ADFs.
type pbocADFSpec struct {
	aid      []byte
	label    string
	priority byte
	codeTab  byte   // 9F11; 0: absent
	prefName []byte // 9F12
	ecash    bool   // contact GPO answers format 2
}

func pbocADFSpecs() []pbocADFSpec {
	return []pbocADFSpec{
		{aid: pbocDebitAID, label: "PBOC DEBIT", priority: 0x01, codeTab: 0x01, prefName: []byte("UnionPay Debit")},
		{aid: pbocECashAID, label: "PBOC ECASH", priority: 0x02, prefName: gbk("电子现金"), ecash: true},
	}
}

// gbk encodes a constant in GBK.
func gbk(s string) []byte {
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil {
		panic(err) // package constants only
	}
	return b
}

// pbocData is the validated PBOC section in card encodings.
type pbocData struct {
	panDigits                   string
	psn                         byte
	expiry, effective           []byte // YYMMDD
	name                        []byte
	balance, balanceLimit       uint64 // fen
	singleLimit, resetThreshold uint64
	pse, ppse                   bool
	blocked                     [][]byte

	// Built by sign.
	pan, panField, track2 []byte
	records               [2][]byte // SFI 1
	certRecords           [2][]byte // SFI 2
	iccKey                *sm2.PrivateKey
}

// pbocSigned is what the SIM issuer signs for one card.
type pbocSigned struct {
	issuerCert, iccCert, ssad []byte
	iccKey                    *sm2.PrivateKey
}

// pbocSignCache keeps the keys and signed objects by static data (which
// holds every input): two key derivations and three signatures per card add
// up when tests and fuzzing make many cards from one profile.
var pbocSignCache sync.Map // string -> *pbocSigned

// sign builds the records and signs the certificates and SSAD.
func (d *pbocData) sign() error {
	d.pan = cn(d.panDigits, 0)
	d.panField = cn(d.panDigits, sm.PBOCPANFieldSize)
	// Track 2: PAN D YYMM service code + discretionary data, F-padded to a
	// whole byte when the digit count is odd.
	d.track2 = cnHex(d.panDigits + "D" + hex.EncodeToString(d.expiry[:2]) + pbocServiceDiscData)
	d.records[0] = ber(0x70, ber(0x57, d.track2), ber(0x5F20, d.name))
	d.records[1] = ber(0x70,
		ber(0x5A, d.pan), ber(0x5F24, d.expiry), ber(0x5F25, d.effective), ber(0x5F28, pbocCountry),
		ber(0x5F34, []byte{d.psn}), ber(0x9F07, []byte{0xFF, 0x00}), ber(0x8E, pbocCVMList),
		ber(0x8C, pbocCDOL1), ber(0x8D, pbocCDOL2), ber(0x9F08, []byte{0x00, 0x30}),
		ber(0x9F42, pbocCountry), ber(0x9F44, []byte{0x02}), ber(0x9F63, pbocProductID))
	static := d.staticData()
	s, err := pbocSign(d.panDigits, d.panField, d.expiry, static)
	if err != nil {
		return err
	}
	d.iccKey = s.iccKey
	d.certRecords[0] = ber(0x70, ber(0x8F, []byte{simkeys.PBOCCAIndex}), ber(0x90, s.issuerCert))
	d.certRecords[1] = ber(0x70, ber(0x9F46, s.iccCert), ber(0x9F49, pbocDDOL), ber(0x9F4A, []byte{0x82}), ber(0x93, s.ssad))
	return nil
}

// staticData is the static data to be authenticated: the values of the
// two ODA-flagged records of SFI 1, then the AIP (9F4A = 82).
func (d *pbocData) staticData() []byte {
	var out []byte
	for _, r := range d.records {
		out = append(out, tlvValue(r)...)
	}
	return append(out, pbocAIP...)
}

// tlvValue returns the value of a BER-TLV object made by ber.
func tlvValue(b []byte) []byte {
	i := 1
	if b[0]&0x1F == 0x1F {
		i = 2
	}
	switch b[i] {
	case 0x81:
		return b[i+2:]
	case 0x82:
		return b[i+3:]
	}
	return b[i+1:]
}

// cnHex packs a string of hex digits, F-padded to a whole byte.
func cnHex(s string) []byte {
	if len(s)%2 == 1 {
		s += "F"
	}
	return mustHex(s)
}

// pbocSign makes the SIM keys, the issuer and ICC certificates and the
// SSAD of a card (docs/pboc.md "SIM choices").
func pbocSign(panDigits string, panField, expiry, static []byte) (*pbocSigned, error) {
	key := string(static)
	if s, ok := pbocSignCache.Load(key); ok {
		return s.(*pbocSigned), nil
	}
	issuerID := cn(panDigits[:6], sm.PBOCIssuerIDSize)
	issuerKey, err := simkeys.PBOCIssuerKey(issuerID)
	if err != nil {
		return nil, err
	}
	iccKey, err := simkeys.PBOCICCKey(panField)
	if err != nil {
		return nil, err
	}
	ic := sm.IssuerCert{IssuerID: [4]byte(issuerID), Expiry: pbocIssuerExpiry, Serial: pbocCertSerial}
	cc := sm.ICCCert{PAN: [10]byte(panField), Expiry: [2]byte{expiry[1], expiry[0]}, Serial: pbocCertSerial}
	for _, k := range []struct {
		pub *sm2.PrivateKey
		dst *[64]byte
	}{{issuerKey, &ic.PublicKey}, {iccKey, &cc.PublicKey}} {
		xy, err := sm.MarshalPublicKeyXY(&k.pub.PublicKey)
		if err != nil {
			return nil, err
		}
		copy(k.dst[:], xy)
	}
	s := &pbocSigned{iccKey: iccKey}
	if s.issuerCert, err = sm.SignIssuerCert(simkeys.PBOCCAKey(), ic, nil); err != nil {
		return nil, fmt.Errorf("issuer certificate: %w", err)
	}
	if s.iccCert, err = sm.SignICCCert(issuerKey, cc, static, nil); err != nil {
		return nil, fmt.Errorf("ICC certificate: %w", err)
	}
	if s.ssad, err = sm.SignStaticData(issuerKey, pbocDAC, static, nil); err != nil {
		return nil, fmt.Errorf("signed static data: %w", err)
	}
	pbocSignCache.Store(key, s)
	return s, nil
}

// n12 encodes an amount in fen as 6 BCD bytes.
func n12(v uint64) []byte {
	return mustHex(fmt.Sprintf("%012d", v%1_000_000_000_000))
}

// pbocLogEntry is a personalised transaction log entry (docs/pboc.md).
type pbocLogEntry struct {
	date, time, amount, merchant string
	atc                          uint16
}

var pbocPersonalisedLog = []pbocLogEntry{
	{"261120", "093015", "000000001250", "社区卫生服务中心", 0x0003},
	{"261115", "181002", "000000003800", "人民医院药房", 0x0002},
	{"261101", "080000", "000000000600", "公交", 0x0001},
}

// pbocLogRecord encodes a log record in the 9F4F format: 9A 9F21 9F02 9F03
// 9F1A 5F2A 9F4E(20, 00-padded) 9C 9F36.
func pbocLogRecord(date, tm, amount, other, country, currency, merchant []byte, txType byte, atc uint16) []byte {
	r := make([]byte, 0, pbocLogRecordSize)
	r = append(r, date...)
	r = append(r, tm...)
	r = append(r, amount...)
	r = append(r, other...)
	r = append(r, country...)
	r = append(r, currency...)
	m := make([]byte, 20)
	copy(m, merchant)
	r = append(r, m...)
	return append(r, txType, byte(atc>>8), byte(atc))
}

// pbocAccount is the non-volatile state both ADFs share.
type pbocAccount struct {
	d       *pbocData
	atc     uint16
	balance uint64 // fen
	log     *file  // SFI 11
}

// pbocADF is one PBOC ADF: its personalisation and the shared account.
type pbocADF struct {
	spec pbocADFSpec
	acct *pbocAccount
}

// personalisePBOC builds the PBOC DFs, to be added to the MF in this order
// (the card order of partial selection).
func personalisePBOC(d *pbocData) []*file {
	never := access{never: true}
	blocked := func(name []byte) bool {
		for _, b := range d.blocked {
			if bytes.Equal(b, name) {
				return true
			}
		}
		return false
	}
	logEF := &file{typ: typeRecordEF, sfi: pbocSFILog, write: never}
	for _, e := range pbocPersonalisedLog {
		logEF.records = append(logEF.records, record{data: pbocLogRecord(
			mustHex(e.date), mustHex(e.time), mustHex(e.amount), make([]byte, 6),
			pbocCountry, pbocCountry, gbk(e.merchant), 0x00, e.atc)})
	}
	efs := []*file{
		{typ: typeRecordEF, sfi: pbocSFIRecords, write: never, records: []record{{data: d.records[0]}, {data: d.records[1]}}},
		{typ: typeRecordEF, sfi: pbocSFICerts, write: never, records: []record{{data: d.certRecords[0]}, {data: d.certRecords[1]}}},
		logEF,
	}
	acct := &pbocAccount{d: d, atc: pbocInitialATC, balance: d.balance, log: logEF}

	var out []*file
	var dirRecord, ppseEntries []byte
	var adfs []*file
	for _, s := range pbocADFSpecs() {
		entry := ber(0x61, ber(0x4F, s.aid), ber(0x50, []byte(s.label)), ber(0x87, []byte{s.priority}))
		dirRecord = append(dirRecord, entry...)
		ppseEntries = append(ppseEntries, entry...)
		prop := [][]byte{ber(0x50, []byte(s.label)), ber(0x87, []byte{s.priority}), ber(0x9F38, pbocPDOL), ber(0x5F2D, pbocLanguage)}
		if s.codeTab != 0 {
			prop = append(prop, ber(0x9F11, []byte{s.codeTab}))
		}
		prop = append(prop, ber(0x9F12, s.prefName), ber(0xBF0C, ber(0x9F4D, []byte{pbocSFILog, pbocLogRecords})))
		adf := &file{
			typ: typeDF, name: s.aid, app: true, partialName: true, invalidated: blocked(s.aid),
			fci:  ber(0x6F, ber(0x84, s.aid), ber(0xA5, prop...)),
			pboc: &pbocADF{spec: s, acct: acct},
		}
		adfs = append(adfs, adf)
	}
	if d.pse {
		pse := &file{
			typ: typeDF, name: pbocPSEName, invalidated: blocked(pbocPSEName),
			fci: ber(0x6F, ber(0x84, pbocPSEName), ber(0xA5, ber(0x88, []byte{pbocSFIRecords}), ber(0x5F2D, pbocLanguage))),
		}
		out = append(out, pse.add(&file{typ: typeRecordEF, sfi: pbocSFIRecords, write: never, records: []record{{data: ber(0x70, dirRecord)}}}))
	}
	if d.ppse {
		out = append(out, &file{
			typ: typeDF, name: pbocPPSEName, invalidated: blocked(pbocPPSEName),
			fci: ber(0x6F, ber(0x84, pbocPPSEName), ber(0xA5, ber(0xBF0C, ppseEntries))),
		})
	}
	// Both ADFs list the same EF nodes; their parent stays the debit ADF,
	// which only SELECT by FID would use (these EFs have no FID).
	adfs[0].add(efs...)
	adfs[1].children = append(adfs[1].children, efs...)
	return append(out, adfs...)
}
