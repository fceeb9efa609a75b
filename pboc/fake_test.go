package pboc_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/pboc"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
)

// A scripted PBOC card for unit tests: a small model of the application
// (PSE/PPSE, partial selection, GPO, records, GET DATA, INTERNAL
// AUTHENTICATE, log) personalised like docs/pboc.md, signed with the SIM
// keys of package sm, with hooks to break it. It answers like a T=0 card
// (61xx + GET RESPONSE) in contact mode so the Transmitter path is used.

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func tlv(tag apdu.Tag, parts ...[]byte) []byte {
	return apdu.AppendBER(nil, tag, bytes.Join(parts, nil))
}

type fakeApp struct {
	aid     []byte
	fci     []byte
	blocked bool
	// gpo answers GPO given the PDOL data (without 83 L).
	gpo      func(pdolData []byte) []byte
	records  map[[2]byte][]byte       // {SFI, record} -> record
	getData  map[apdu.Tag][]byte      // tag -> whole answer (tag||len||value)
	intAuth  func(data []byte) []byte // INTERNAL AUTHENTICATE answer
	gpoCount int
}

type fakeICC struct {
	pseFCI     []byte // nil: 6A82
	pseSW      apdu.StatusWord
	pseRecords map[int][]byte // directory records (SFI from the FCI)
	ppseFCI    []byte
	apps       []*fakeApp
	t0         bool
	// hook sees every command first; ok=true answers with rsp.
	hook func(cmd []byte) (rsp []byte, ok bool)

	cur     int // index in apps, -1 none, -2 PSE/PPSE
	pending []byte
	atc     uint16
}

func sw(s apdu.StatusWord) []byte { return []byte{s.SW1(), s.SW2()} }

func (f *fakeICC) answer(data []byte) []byte {
	if f.t0 && len(data) > 0 {
		f.pending = data
		return []byte{0x61, byte(len(data))}
	}
	return append(slices.Clone(data), 0x90, 0x00)
}

func (f *fakeICC) transmit(cmd []byte) []byte {
	if f.hook != nil {
		if rsp, ok := f.hook(cmd); ok {
			return rsp
		}
	}
	if len(cmd) < 4 {
		return sw(apdu.SWWrongLength)
	}
	var data []byte
	if len(cmd) > 5 {
		data = cmd[5 : 5+int(cmd[4])]
	}
	ins, p1, p2 := cmd[1], cmd[2], cmd[3]
	switch {
	case ins == 0xC0:
		d := f.pending
		f.pending = nil
		if d == nil {
			return sw(apdu.SWConditionsNotSatisfied)
		}
		return append(d, 0x90, 0x00)
	case ins == 0xA4 && p1 == 0x04:
		return f.selectName(data, p2)
	case ins == 0xB2:
		sfi := p2 >> 3
		if f.cur == -2 {
			if r, ok := f.pseRecords[int(p1)]; ok {
				return f.answer(r)
			}
			return sw(apdu.SWRecordNotFound)
		}
		if f.cur < 0 {
			return sw(apdu.SWCommandNotAllowed)
		}
		if r, ok := f.apps[f.cur].records[[2]byte{sfi, p1}]; ok {
			return f.answer(r)
		}
		return sw(apdu.SWRecordNotFound)
	case f.cur < 0:
		return sw(apdu.SWConditionsNotSatisfied)
	case ins == 0xA8:
		a := f.apps[f.cur]
		if a.gpoCount > 0 {
			return sw(apdu.SWConditionsNotSatisfied)
		}
		a.gpoCount++
		f.atc++
		if len(data) < 2 || data[0] != 0x83 {
			return sw(apdu.SWIncorrectData)
		}
		return f.answer(a.gpo(data[2:]))
	case ins == 0xCA && p1 == 0x9F && p2 == 0x36:
		return f.answer(tlv(0x9F36, []byte{byte(f.atc >> 8), byte(f.atc)}))
	case ins == 0xCA:
		if v, ok := f.apps[f.cur].getData[apdu.Tag(p1)<<8|apdu.Tag(p2)]; ok {
			return f.answer(v)
		}
		return sw(apdu.SWReferenceNotFound)
	case ins == 0x88:
		if f.apps[f.cur].intAuth == nil {
			return sw(apdu.SWINSNotSupported)
		}
		return f.answer(f.apps[f.cur].intAuth(data))
	}
	return sw(apdu.SWINSNotSupported)
}

func (f *fakeICC) selectName(name []byte, p2 byte) []byte {
	if bytes.Equal(name, pboc.PSEName()) || bytes.Equal(name, pboc.PPSEName()) {
		f.cur = -1
		fci := f.pseFCI
		if bytes.Equal(name, pboc.PPSEName()) {
			fci = f.ppseFCI
		}
		if f.pseSW != 0 {
			return sw(f.pseSW)
		}
		if fci == nil {
			return sw(apdu.SWFileNotFound)
		}
		f.cur = -2
		return f.answer(fci)
	}
	start := 0
	if p2 == 0x02 {
		if f.cur < 0 {
			return sw(apdu.SWFileNotFound)
		}
		start = f.cur + 1
	}
	for i := start; i < len(f.apps); i++ {
		a := f.apps[i]
		if !bytes.HasPrefix(a.aid, name) {
			continue
		}
		f.cur = i
		a.gpoCount = 0
		if a.blocked {
			return append(slices.Clone(a.fci), 0x62, 0x83) // the FCI comes with the warning
		}
		return f.answer(a.fci)
	}
	if p2 != 0x02 {
		f.cur = -1
	}
	return sw(apdu.SWFileNotFound)
}

// fakeCard is a reader.Card around a fakeICC, recording the commands and
// checking that transactions are balanced.
type fakeCard struct {
	mu    sync.Mutex
	icc   *fakeICC
	atr   []byte
	cmds  [][]byte
	inTx  bool
	txErr string
}

func (c *fakeCard) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.inTx && c.txErr == "" {
		c.txErr = "command outside a transaction"
	}
	c.cmds = append(c.cmds, slices.Clone(cmd))
	return c.icc.transmit(cmd), nil
}
func (c *fakeCard) Reader() string            { return "fake" }
func (c *fakeCard) ATR() []byte               { return c.atr }
func (c *fakeCard) Protocol() reader.Protocol { return reader.T0 }
func (c *fakeCard) BeginTransaction(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inTx {
		c.txErr = "nested transaction"
	}
	c.inTx = true
	return nil
}
func (c *fakeCard) EndTransaction(reader.Disposition) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.inTx {
		c.txErr = "EndTransaction without BeginTransaction"
	}
	c.inTx = false
	return nil
}
func (c *fakeCard) Reset(context.Context, bool) error { return nil }
func (c *fakeCard) Close() error                      { return nil }

// sent returns the commands sent so far as hex strings.
func (c *fakeCard) sent() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.cmds))
	for i, cmd := range c.cmds {
		out[i] = strings.ToUpper(hex.EncodeToString(cmd))
	}
	return out
}

// countPrefix counts the commands starting with prefix (hex).
func (c *fakeCard) countPrefix(prefix string) int {
	n := 0
	for _, s := range c.sent() {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

func (c *fakeCard) check(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.txErr != "" || c.inTx {
		t.Errorf("transactions: %q (open at end: %v)", c.txErr, c.inTx)
	}
}

var (
	contactATR     = h("3B6D0000008C544CB386844116005A3C9E")
	contactlessATR = h("3B888001000000000081810069")
)

// Personalisation of the fake, as docs/pboc.md.
var (
	panField  = h("6217991000001234561F")
	issuerID  = h("621799FF")
	fakePDOL  = h("9F66049F02069F03069F1A0295055F2A029A039C019F3704DF6901")
	fakeAFL   = h("08010202 10010200")
	fakeAIP   = h("7C00")
	odaTime   = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	logFormat = h("9A039F21039F02069F03069F1A025F2A029F4E149C019F3602")
)

// PDOL data offsets of the fDDA terminal data (9F37, 9F02, 5F2A).
func fddaTerminalData(pdolData []byte) []byte {
	return slices.Concat(pdolData[29:33], pdolData[4:10], pdolData[23:25])
}

type keys struct {
	issuer, icc *sm2.PrivateKey
}

func fakeKeys(t testing.TB) keys {
	ik, err := simkeys.PBOCIssuerKey(issuerID)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := simkeys.PBOCICCKey(panField)
	if err != nil {
		t.Fatal(err)
	}
	return keys{ik, ck}
}

type fakeOpts struct {
	aip         []byte // default 7C00
	noPSE       bool
	contactless bool
	// corrupt edits the records after signing: {SFI, record} -> record.
	corrupt func(recs map[[2]byte][]byte)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// newFakeICC builds the two-application card of docs/pboc.md.
func newFakeICC(t testing.TB, o fakeOpts) *fakeICC {
	t.Helper()
	k := fakeKeys(t)
	aip := fakeAIP
	if o.aip != nil {
		aip = o.aip
	}
	track2 := h("6217991000001234561D31122201000000000F") // 19 bytes, the most 57 holds
	rec11 := tlv(0x70, tlv(0x57, track2), tlv(0x5F20, []byte("ZHANG/SAN")))
	rec12 := tlv(0x70, tlv(0x5A, panField), tlv(0x5F24, h("311231")), tlv(0x5F25, h("211201")),
		tlv(0x5F28, h("0156")), tlv(0x5F34, h("01")), tlv(0x9F07, h("FF00")),
		tlv(0x8E, h("000000000000000042031E031F00")), tlv(0x9F08, h("0030")), tlv(0x9F42, h("0156")),
		tlv(0x9F44, h("02")), tlv(0x9F63, h("00000000000000000800000000000000")))
	static := slices.Concat(rec11[2:], rec12[2:], aip) // 9F4A = 82: the AIP too
	ixy := must(sm.MarshalPublicKeyXY(&k.issuer.PublicKey))
	cxy := must(sm.MarshalPublicKeyXY(&k.icc.PublicKey))
	ic := sm.IssuerCert{IssuerID: [4]byte(issuerID), Expiry: [2]byte{0x12, 0x35}, Serial: [3]byte{0, 0, 1}}
	copy(ic.PublicKey[:], ixy)
	cert90 := must(sm.SignIssuerCert(simkeys.PBOCCAKey(), ic, nil))
	cc := sm.ICCCert{PAN: [10]byte(panField), Expiry: [2]byte{0x12, 0x31}, Serial: [3]byte{0, 0, 1}}
	copy(cc.PublicKey[:], cxy)
	cert9F46 := must(sm.SignICCCert(k.issuer, cc, static, nil))
	ssad := must(sm.SignStaticData(k.issuer, [2]byte{0xDA, 0xC1}, static, nil))
	rec21 := tlv(0x70, tlv(0x8F, h("80")), tlv(0x90, cert90))
	rec22 := tlv(0x70, tlv(0x9F46, cert9F46), tlv(0x9F49, h("9F3704")), tlv(0x9F4A, h("82")), tlv(0x93, ssad))
	f := &fakeICC{t0: !o.contactless, cur: -1}
	dyn := func(data []byte) []byte {
		d := simkeys.PBOCDynamicNumber(f.atc, data)
		return append([]byte{8}, d[:]...)
	}
	newApp := func(aid []byte, label string, prio byte, format2 bool) *fakeApp {
		fci := tlv(0x6F, tlv(0x84, aid), tlv(0xA5, tlv(0x50, []byte(label)), tlv(0x87, []byte{prio}),
			tlv(0x9F38, fakePDOL), tlv(0x5F2D, []byte("zhen")), tlv(0xBF0C, tlv(0x9F4D, h("0B0A")))))
		a := &fakeApp{aid: aid, fci: fci, records: map[[2]byte][]byte{
			{1, 1}: rec11, {1, 2}: rec12, {2, 1}: rec21, {2, 2}: rec22,
		}}
		a.gpo = func(pdolData []byte) []byte {
			atc := []byte{byte(f.atc >> 8), byte(f.atc)}
			if o.contactless && len(pdolData) == 34 && pdolData[0]&0x20 != 0 {
				td := fddaTerminalData(pdolData)
				sdad := must(sm.SignDynamicData(k.icc, sm.ODAFormatFDDA, dyn(td), td, nil))
				return tlv(0x77, tlv(0x82, aip), tlv(0x94, fakeAFL), tlv(0x9F36, atc),
					tlv(0x9F26, h("0102030405060708")), tlv(0x9F27, h("80")), tlv(0x9F4B, sdad))
			}
			if format2 {
				return tlv(0x77, tlv(0x82, aip), tlv(0x94, fakeAFL), tlv(0x9F36, atc))
			}
			return tlv(0x80, aip, fakeAFL)
		}
		a.intAuth = func(data []byte) []byte {
			return tlv(0x80, must(sm.SignDynamicData(k.icc, sm.ODAFormatDDA, dyn(data), data, nil)))
		}
		a.getData = map[apdu.Tag][]byte{
			0x9F79: tlv(0x9F79, h("000000050000")),
			0x9F77: tlv(0x9F77, h("000000100000")),
			0x9F78: tlv(0x9F78, h("000000020000")),
			0x9F6D: tlv(0x9F6D, h("000000010000")),
			0x9F13: tlv(0x9F13, h("0000")),
			0x9F17: tlv(0x9F17, h("03")),
			0x9F4F: tlv(0x9F4F, logFormat),
		}
		logRec := func(date, tm, amt, merchant, atc string) []byte {
			m := make([]byte, 20)
			copy(m, merchant)
			return slices.Concat(h(date), h(tm), h(amt), h("000000000000"), h("0156"), h("0156"), m, h("00"), h(atc))
		}
		a.records[[2]byte{11, 1}] = logRec("261120", "093015", "000000001250", "SHEQU", "0003")
		a.records[[2]byte{11, 2}] = logRec("261115", "181002", "000000003800", "YIYUAN", "0002")
		a.records[[2]byte{11, 3}] = logRec("261101", "080000", "000000000600", "GONGJIAO", "0001")
		return a
	}
	f.apps = []*fakeApp{
		newApp(pboc.AIDDebit(), "PBOC DEBIT", 0x01, false),
		newApp(pboc.AIDECash(), "PBOC ECASH", 0x02, true),
	}
	if o.corrupt != nil {
		for _, a := range f.apps {
			o.corrupt(a.records)
		}
	}
	entry := func(aid []byte, label string, prio byte) []byte {
		return tlv(0x61, tlv(0x4F, aid), tlv(0x50, []byte(label)), tlv(0x87, []byte{prio}))
	}
	entries := slices.Concat(entry(pboc.AIDDebit(), "PBOC DEBIT", 1), entry(pboc.AIDECash(), "PBOC ECASH", 2))
	if !o.noPSE {
		f.pseFCI = tlv(0x6F, tlv(0x84, pboc.PSEName()), tlv(0xA5, tlv(0x88, h("01")), tlv(0x5F2D, []byte("zhen"))))
		f.pseRecords = map[int][]byte{1: tlv(0x70, entries)}
		f.ppseFCI = tlv(0x6F, tlv(0x84, pboc.PPSEName()), tlv(0xA5, tlv(0xBF0C, entries)))
	}
	return f
}

// newFake returns a session on a fake card built with o, and the card.
func newFake(t *testing.T, o fakeOpts, edit func(*fakeICC), opts pboc.Options) (*pboc.Session, *fakeCard) {
	t.Helper()
	icc := newFakeICC(t, o)
	if edit != nil {
		edit(icc)
	}
	atr := contactATR
	if o.contactless {
		atr = contactlessATR
	}
	card := &fakeCard{icc: icc, atr: atr}
	t.Cleanup(func() { card.check(t) })
	if opts.CAKeys == nil {
		opts.CAKeys = simkeys.CAKeyTable()
	}
	if opts.ODATime.IsZero() {
		opts.ODATime = odaTime
	}
	return pboc.NewSession(card, opts), card
}
