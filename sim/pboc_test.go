package sim

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
)

// Expected bytes below are written from docs/pboc.md by hand, not from the
// card's constants, so that they pin the documented personalisation.
const (
	selPSE   = "00A404000E315041592E5359532E444446303100"
	selPPSE  = "00A404000E325041592E5359532E444446303100"
	selDebit = "00A4040008A00000033301010100"
	selECash = "00A4040008A00000033301010600"
	selPart  = "00A4040007A000000333010100" // partial AID A0000003330101, first
	nextPart = "00A4040207A000000333010100" // next occurrence

	pseFCI     = "6F1C 840E315041592E5359532E4444463031 A50A 880101 5F2D047A68656E"
	dirEntries = "61194F08A000000333010101500A50424F43204445424954870101" +
		"61194F08A000000333010106500A50424F43204543415348870102"
	pseRecord = "7036" + dirEntries
	ppseFCI   = "6F4B 840E325041592E5359532E4444463031 A539 BF0C36" + dirEntries
	pdolHex   = "9F381B9F66049F02069F03069F1A0295055F2A029A039C019F3704DF6901"
	debitFCI  = "6F5D 8408A000000333010101 A551 500A50424F43204445424954 870101" + pdolHex +
		"5F2D047A68656E 9F110101 9F120E556E696F6E506179204465626974 BF0C059F4D020B0A"
	ecashFCI = "6F53 8408A000000333010106 A547 500A50424F43204543415348 870102" + pdolHex +
		"5F2D047A68656E 9F1208B5E7D7D3CFD6BDF0 BF0C059F4D020B0A" // 电子现金 in GBK

	// Records of SFI 1.
	rec11 = "7022 5714 6217991000001234561D31122201000000000000 5F2009 5A48414E472F53414E"
	rec12 = "708187 5A0A6217991000001234561F 5F2403311231 5F2503211201 5F28020156 5F340101 9F0702FF00" +
		"8E0E000000000000000042031E031F00 8C159F02069F03069F1A0295055F2A029A039C019F3704" +
		"8D178A029F02069F03069F1A0295055F2A029A039C019F3704 9F08020030 9F42020156 9F440102" +
		"9F631000000000000000000800000000000000"

	// Personalised log records 1..3 (newest first).
	log1 = "261120 093015 000000001250 000000000000 0156 0156 C9E7C7F8CEC0C9FAB7FECEF1D6D0D0C400000000 00 0003"
	log2 = "261115 181002 000000003800 000000000000 0156 0156 C8CBC3F1D2BDD4BAD2A9B7BF0000000000000000 00 0002"
	log3 = "261101 080000 000000000600 000000000000 0156 0156 B9ABBDBB00000000000000000000000000000000 00 0001"
)

// pdolData builds the 34 bytes of PDOL data: TTQ, amount (n12), currency
// 0156, date 261201, unpredictable number 11223344.
func pdolData(ttq, amount string) string {
	return ttq + amount + "000000000000" + "0156" + "0000000000" + "0156" + "261201" + "00" + "11223344" + "01"
}

func gpo(pdol string) string {
	return fmt.Sprintf("80A80000%02X83%02X%s00", len(pdol)/2+2, len(pdol)/2, pdol)
}

// xchg sends a command, fetching 61xx data with GET RESPONSE (contact), and
// returns the data and the status word in hex.
func xchg(t *testing.T, c *Card, cmd string) ([]byte, string) {
	t.Helper()
	resp := c.Transmit(h(cmd))
	if len(resp) == 2 && resp[0] == 0x61 {
		resp = c.Transmit([]byte{0x00, 0xC0, 0x00, 0x00, resp[1]})
	}
	if len(resp) < 2 {
		t.Fatalf("%s: response %X", cmd, resp)
	}
	return resp[:len(resp)-2], hx(resp[len(resp)-2:])
}

// script runs steps through xchg: want is data||SW hex, "*SW" checks the
// status only, "" nothing.
func script(t *testing.T, c *Card, steps ...step) {
	t.Helper()
	for i, s := range steps {
		data, status := xchg(t, c, s.cmd)
		switch {
		case s.want == "":
		case strings.HasPrefix(s.want, "*"):
			if status != norm(s.want[1:]) {
				t.Errorf("step %d %s: SW %s, want %s (data %X)", i, norm(s.cmd), status, norm(s.want[1:]), data)
			}
		default:
			if got := hx(data) + status; got != norm(s.want) {
				t.Errorf("step %d %s:\n got %s\nwant %s", i, norm(s.cmd), got, norm(s.want))
			}
		}
	}
}

func newPBOCCard(t *testing.T, mode Mode, edit func(*PBOCProfile)) *Card {
	t.Helper()
	p, err := Builtin("gen3")
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(p.PBOC)
	}
	c, err := New(p, Options{Mode: mode})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPBOCSelectAndRecords(t *testing.T) {
	for _, mode := range []Mode{Contact, Contactless} {
		t.Run(mode.String(), func(t *testing.T) {
			c := newPBOCCard(t, mode, nil)
			script(t, c,
				step{selPSE, pseFCI + "9000"},
				step{"00B2010C00", pseRecord + "9000"},
				step{"00B2020C00", "6A83"},
				step{selPPSE, ppseFCI + "9000"},
				step{selDebit, debitFCI + "9000"},
				step{"00B2010C00", rec11 + "9000"},
				step{"00B2020C00", rec12 + "9000"},
				step{"00B2030C00", "6A83"},
				step{"00B2011400", "*9000"},
				step{"00B2021400", "*9000"},
				step{"00B2031400", "6A83"},
				step{"00B2015C00", log1 + "9000"},
				step{"00B2025C00", log2 + "9000"},
				step{"00B2035C00", log3 + "9000"},
				step{"00B2045C00", "6A83"},
				step{"00B2016400", "6A82"}, // no SFI 12
				step{selECash, ecashFCI + "9000"},
				step{"00B2010C00", rec11 + "9000"}, // shared records
				step{"00B2015C00", log1 + "9000"},
				step{"00A4040C08A000000333010101", "9000"},
				step{"00A404000D315041592E5359532E4444463000", "6A82"}, // PSE: full name only
			)
		})
	}
}

func TestPBOCPartialSelection(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*PBOCProfile)
		steps []step
	}{
		{"next occurrence", nil, []step{
			{selPart, debitFCI + "9000"},
			{nextPart, ecashFCI + "9000"},
			{nextPart, "6A82"},
			{nextPart, "6A82"},
			{"00A4040009A0000003330101010100", "6A82"}, // longer than any AID
			{"00A4040005A00000033300", debitFCI + "9000"},
			{"00A4040E07A0000003330101", "9000"}, // next, no FCI
			{gpo(pdolData("00000000", "000000000100")), "7713 82027C00 94080801020210010200 9F36020004 9000"}, // e-cash
			{"00A4040207A000000333010200", "6A82"},
			{"00A404020F7378312E73682EC9E7BBE1B1A3D5CF", "6A82"}, // SSSE: unique name
			{"00A40400067378312E736800", "6A82"},                 // no partial SSSE
			{"00A40202027378", "6A86"},
		}},
		{"from the MF", nil, []step{{nextPart, debitFCI + "9000"}}},
		{"blocked e-cash", func(p *PBOCProfile) { p.BlockedAIDs = []string{"A000000333010106"} }, []step{
			{selPSE, pseFCI + "9000"},
			{"00B2010C00", pseRecord + "9000"}, // still listed
			{selPart, debitFCI + "9000"},
			{nextPart, "6283"},
			{gpo(pdolData("00000000", "000000000100")), "6985"},
			{"80CA9F3600", "6985"},
			{"00B2010C00", "6985"},
			{"0088000004AABBCCDD00", "6985"},
			{nextPart, "6A82"},
			{selECash, "6283"},
			{selDebit, debitFCI + "9000"},
			{"80CA9F3600", "9F36020003 9000"},
		}},
		{"blocked PSE", func(p *PBOCProfile) { p.BlockedAIDs = []string{"315041592E5359532E4444463031"} }, []step{
			{selPSE, "6283"},
			{"00B2010C00", "6985"},
			{selPPSE, ppseFCI + "9000"},
		}},
		{"no directories", func(p *PBOCProfile) { f := false; p.PSE, p.PPSE = &f, &f }, []step{
			{selPSE, "6A82"},
			{selPPSE, "6A82"},
			{selPart, debitFCI + "9000"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			script(t, newPBOCCard(t, Contactless, tt.edit), tt.steps...)
		})
	}
	t.Run("gen2 has none", func(t *testing.T) {
		script(t, newCard(t, "gen2", Contact), step{selPSE, "6A82"}, step{selPart, "6A82"}, step{nextPart, "6A82"})
	})
}

func TestPBOCGPO(t *testing.T) {
	contact := pdolData("00000000", "000000000100")
	tests := []struct {
		name  string
		mode  Mode
		steps []step
	}{
		{"debit format 1", Contact, []step{
			{selDebit, ""},
			{gpo(contact), "800A 7C00 0801020210010200 9000"},
			{gpo(contact), "6985"},
			{"80CA9F3600", "9F36020004 9000"},
			{selDebit, ""},
			{gpo(contact), "800A 7C00 0801020210010200 9000"},
			{"80CA9F3600", "9F36020005 9000"},
		}},
		{"e-cash format 2", Contact, []step{
			{selECash, ""},
			{gpo(contact), "7713 82027C00 94080801020210010200 9F36020004 9000"},
		}},
		{"contactless without qPBOC", Contactless, []step{
			{selDebit, ""},
			{gpo(contact), "800A 7C00 0801020210010200 9000"},
		}},
		{"contact ignores TTQ", Contact, []step{
			{selDebit, ""},
			{gpo(pdolData("20000000", "000000000100")), "800A 7C00 0801020210010200 9000"},
		}},
		{"errors", Contact, []step{
			{selDebit, ""},
			{gpo(contact[:66]), "6700"},                 // 33 bytes
			{gpo(contact + "00"), "6700"},               // 35 bytes
			{"80A8000000", "6700"},                      // no data
			{"80A80000248422" + contact + "00", "6A80"}, // not 83
			{"80A80000248321" + contact + "00", "6700"}, // 83 length differs from Lc
			{"80A80100248322" + contact + "00", "6A86"},
			{"80CA9F3600", "9F36020003 9000"}, // failures do not count
			{"80AE800000", "6D00"},            // no GENERATE AC
			{"84A8000000", "6E00"},
			{selSSSE, "*9000"},
			{gpo(contact), "6E00"}, // class 80 of another application
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			script(t, newPBOCCard(t, tt.mode, nil), tt.steps...)
		})
	}
	t.Run("reset", func(t *testing.T) {
		c := newPBOCCard(t, Contact, nil)
		script(t, c, step{selDebit, ""}, step{gpo(contact), "*9000"})
		c.Reset()
		script(t, c, step{gpo(contact), "6E00"}, step{selDebit, ""}, step{gpo(contact), "*9000"},
			step{"80CA9F3600", "9F36020005 9000"})
	})
}

func TestPBOCGetData(t *testing.T) {
	c := newPBOCCard(t, Contact, nil)
	script(t, c, step{selECash, ""})
	for _, tt := range []struct{ cmd, want string }{
		{"80CA9F3600", "9F36020003"},
		{"80CA9F1300", "9F13020000"},
		{"80CA9F1700", "9F170103"},
		{"80CA9F7900", "9F7906000000050000"},
		{"80CA9F7700", "9F7706000000100000"},
		{"80CA9F7800", "9F7806000000020000"},
		{"80CA9F6D00", "9F6D06000000010000"},
		{"80CA9F4F00", "9F4F19 9A03 9F2103 9F0206 9F0306 9F1A02 5F2A02 9F4E14 9C01 9F3602"},
		{"80CA9F3800", "6A88"},
		{"80CA005A00", "6A88"},
		{"80CA9F360100", "6700"},
	} {
		want := norm(tt.want)
		if len(want) > 4 {
			want += "9000"
		}
		script(t, c, step{tt.cmd, want})
	}
}

// tlvFind returns the value of the first data object with tag in a BER-TLV
// tree (constructed objects are searched), or nil.
func tlvFind(b []byte, tag uint16) []byte {
	for len(b) >= 2 {
		t := uint16(b[0])
		n := 1
		if b[0]&0x1F == 0x1F {
			t, n = t<<8|uint16(b[1]), 2
		}
		if len(b) < n+1 {
			return nil
		}
		l, ln := int(b[n]), 1
		switch b[n] {
		case 0x81:
			l, ln = int(b[n+1]), 2
		case 0x82:
			l, ln = int(b[n+1])<<8|int(b[n+2]), 3
		}
		start := n + ln
		if start+l > len(b) {
			return nil
		}
		v := b[start : start+l]
		if t == tag {
			return v
		}
		if b[0]&0x20 != 0 {
			if found := tlvFind(v, tag); found != nil {
				return found
			}
		}
		b = b[start+l:]
	}
	return nil
}

// odaSetup reads the records of the selected ADF and verifies both
// certificates and the SSAD the way docs/pboc.md says a terminal does.
func odaSetup(t *testing.T, c *Card, aip []byte) (*sm.ICCCert, *sm.ODAVerifier, []byte) {
	t.Helper()
	var static, pan, issuerCert, iccCert, ssad []byte
	var caIndex byte
	for _, rec := range []string{"00B2010C00", "00B2020C00", "00B2011400", "00B2021400"} {
		data, status := xchg(t, c, rec)
		if status != "9000" || len(data) < 3 || data[0] != 0x70 {
			t.Fatalf("%s: %X %s", rec, data, status)
		}
		if rec[6:8] == "0C" { // SFI 1: ODA-flagged, the 70 template's value
			static = append(static, tlvFind(data, 0x70)...)
		}
		if v := tlvFind(data, 0x5A); v != nil {
			pan = v
		}
		if v := tlvFind(data, 0x8F); v != nil {
			caIndex = v[0]
		}
		if v := tlvFind(data, 0x90); v != nil {
			issuerCert = v
		}
		if v := tlvFind(data, 0x9F46); v != nil {
			iccCert = v
		}
		if v := tlvFind(data, 0x93); v != nil {
			ssad = v
		}
		if v := tlvFind(data, 0x9F4A); v != nil && !bytes.Equal(v, []byte{0x82}) {
			t.Fatalf("9F4A = %X", v)
		}
	}
	static = append(static, aip...) // 9F4A = 82
	if want := append(tlvValue(h(rec11)), append(tlvValue(h(rec12)), 0x7C, 0x00)...); !bytes.Equal(static, want) {
		t.Fatalf("static data %X, want %X", static, want)
	}
	v := &sm.ODAVerifier{CAKeys: simkeys.CAKeyTable(), Time: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	issuer, icc, err := v.VerifyCertificates(h("A000000333"), caIndex, issuerCert, iccCert, static, pan)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifySignedStaticData(issuer, ssad, static); err != nil {
		t.Fatal(err)
	}
	if hx(issuer.IssuerID[:]) != "621799FF" || hx(issuer.Expiry[:]) != "1235" || hx(issuer.Serial[:]) != "000001" ||
		hx(icc.PAN[:]) != "6217991000001234561F" || hx(icc.Expiry[:]) != "1231" || hx(ssad[1:3]) != "DAC1" {
		t.Errorf("issuer cert %+v, ICC cert %+v, SSAD %X", issuer, icc, ssad[:3])
	}
	// The keys are the SIM ones of package sm.
	ik, _ := simkeys.PBOCIssuerKey(h("621799FF"))
	ck, _ := simkeys.PBOCICCKey(icc.PAN[:])
	ixy, _ := sm.MarshalPublicKeyXY(&ik.PublicKey)
	cxy, _ := sm.MarshalPublicKeyXY(&ck.PublicKey)
	if !bytes.Equal(ixy, issuer.PublicKey[:]) || !bytes.Equal(cxy, icc.PublicKey[:]) {
		t.Error("certificate keys are not simkeys.PBOCIssuerKey / simkeys.PBOCICCKey")
	}
	// An altered static data byte breaks the ICC certificate.
	bad := append([]byte(nil), static...)
	bad[len(bad)-1] ^= 1
	if _, _, err := v.VerifyCertificates(h("A000000333"), caIndex, issuerCert, iccCert, bad, pan); err == nil {
		t.Error("ICC certificate verifies over altered static data")
	}
	return icc, v, pan
}

func TestPBOCDDA(t *testing.T) {
	for _, mode := range []Mode{Contact, Contactless} {
		t.Run(mode.String(), func(t *testing.T) {
			c := newPBOCCard(t, mode, nil)
			script(t, c, step{selDebit, ""}, step{gpo(pdolData("00000000", "000000000100")), "*9000"})
			icc, v, _ := odaSetup(t, c, h("7C00"))
			un := h("A1B2C3D4")
			data, status := xchg(t, c, "0088000004A1B2C3D400")
			if status != "9000" || len(data) < 2 || data[0] != 0x80 || int(data[1]) != len(data)-2 {
				t.Fatalf("INTERNAL AUTHENTICATE: %X %s", data, status)
			}
			sdad := data[2:]
			sig, err := v.VerifyDynamicSignature(icc, sdad, un)
			if err != nil {
				t.Fatal(err)
			}
			dn := simkeys.PBOCDynamicNumber(0x0004, un)
			if sig.Format != sm.ODAFormatDDA || !bytes.Equal(sig.DynamicData, append([]byte{8}, dn[:]...)) {
				t.Errorf("signed dynamic data %02X %X, want 15 08%X", sig.Format, sig.DynamicData, dn)
			}
			if _, err := v.VerifyDynamicSignature(icc, sdad, h("A1B2C3D5")); err == nil {
				t.Error("DDA verifies with another unpredictable number")
			}
			script(t, c,
				step{"0088000104A1B2C3D400", "6A86"},
				step{"0088000003A1B2C300", "6700"},
				step{selSSSE, "*9000"},
				step{"0088000004A1B2C3D400", "6700"}, // SSSE's own INTERNAL AUTHENTICATE
			)
		})
	}
}

func TestPBOCQPBOCPurchase(t *testing.T) {
	c := newPBOCCard(t, Contactless, nil)
	pdol := pdolData("20000000", "000000001234") // 12.34
	script(t, c, step{selECash, ""})
	data, status := xchg(t, c, gpo(pdol))
	if status != "9000" || data[0] != 0x77 {
		t.Fatalf("GPO: %X %s", data, status)
	}
	want := map[uint16]string{
		0x82: "7C00", 0x94: "0801020210010200", 0x9F36: "0004", 0x9F27: "40",
		0x9F10: "07010103A000000A01000000000000", 0x57: "6217991000001234561D31122201000000000000",
		0x5F34: "01", 0x9F6C: "0000", 0x9F5D: "000000048766",
	}
	for tag, w := range want {
		if got := hx(tlvFind(data, tag)); got != w {
			t.Errorf("tag %X = %s, want %s", tag, got, w)
		}
	}
	panField := h("6217991000001234561F")
	if ac := simkeys.PBOCAC(panField, 4, h(pdol)); hx(tlvFind(data, 0x9F26)) != hx(ac[:]) {
		t.Errorf("9F26 = %X, want %X", tlvFind(data, 0x9F26), ac)
	}
	// Tag order of docs/pboc.md.
	var order []string
	for b := data[3:]; len(b) > 0; {
		n := 1
		if b[0]&0x1F == 0x1F {
			n = 2
		}
		order = append(order, hx(b[:n]))
		b = b[n+1+int(b[n]):]
	}
	if got := strings.Join(order, " "); got != "82 94 9F36 9F26 9F27 9F10 57 5F34 9F6C 9F5D 9F4B" {
		t.Errorf("tags %s", got)
	}

	// fDDA over 16 || L || ICC dynamic data || 9F37 || 9F02 || 5F2A.
	icc, v, _ := odaSetup(t, c, tlvFind(data, 0x82))
	terminal := h("11223344" + "000000001234" + "0156")
	sig, err := v.VerifyDynamicSignature(icc, tlvFind(data, 0x9F4B), terminal)
	if err != nil {
		t.Fatal(err)
	}
	dn := simkeys.PBOCDynamicNumber(4, terminal)
	if sig.Format != sm.ODAFormatFDDA || !bytes.Equal(sig.DynamicData, append([]byte{8}, dn[:]...)) {
		t.Errorf("fDDA %02X %X", sig.Format, sig.DynamicData)
	}

	// The purchase is in the log and the balance, in both ADFs.
	newLog := "261201 000000 000000001234 000000000000 0156 0156" + strings.Repeat("00", 20) + "00 0004"
	script(t, c,
		step{"00B2015C00", newLog + "9000"},
		step{"00B2025C00", log1 + "9000"},
		step{"00B2045C00", log3 + "9000"},
		step{"00B2055C00", "6A83"},
		step{"80CA9F7900", "9F7906000000048766 9000"},
		step{selDebit, ""},
		step{"80CA9F7900", "9F7906000000048766 9000"},
		step{"00B2015C00", newLog + "9000"},
	)

	// Declined offline (CID 80): no log, no balance change.
	for _, amount := range []string{"000000000000", "000000020001", "0000000A0000"} {
		script(t, c, step{selDebit, ""})
		data, _ := xchg(t, c, gpo(pdolData("20000000", amount)))
		if cid := hx(tlvFind(data, 0x9F27)); cid != "80" || hx(tlvFind(data, 0x9F5D)) != "000000048766" || tlvFind(data, 0x9F4B) == nil {
			t.Errorf("amount %s: CID %s, 9F5D %X", amount, cid, tlvFind(data, 0x9F5D))
		}
	}
	script(t, c, step{"00B2015C00", newLog + "9000"}, step{"80CA9F3600", "9F36020007 9000"})

	// Non-volatile across reset; the log keeps the 10 newest.
	c.Reset()
	for range 8 {
		script(t, c, step{selECash, ""}, step{gpo(pdolData("20000000", "000000000100")), "*9000"})
	}
	script(t, c,
		step{"80CA9F7900", fmt.Sprintf("9F7906%012d 9000", 48766-800)},
		step{"00B20A5C00", log1 + "9000"}, // 8 new + the first purchase + log1
		step{"00B20B5C00", "6A83"},
	)
	// Balance exhausted: only online.
	p, _ := Builtin("gen3")
	p.PBOC.Balance = "0.50"
	c2, err := New(p, Options{Mode: Contactless})
	if err != nil {
		t.Fatal(err)
	}
	script(t, c2, step{selECash, ""})
	data, _ = xchg(t, c2, gpo(pdolData("20000000", "000000000051")))
	if hx(tlvFind(data, 0x9F27)) != "80" {
		t.Errorf("amount above balance: CID %X", tlvFind(data, 0x9F27))
	}
}

func TestPBOCProfile(t *testing.T) {
	// pboc: {enabled: true} is the docs/pboc.md card, i.e. gen3's section.
	gen3, _ := Builtin("gen3")
	y := string(mustReadBuiltin(t, "profiles/gen3.yaml"))
	y = y[:strings.Index(y, "\npboc:")] + "\npboc: {enabled: true}\n"
	p, err := ParseProfile([]byte(y), "yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.PBOC, gen3.PBOC) {
		t.Errorf("defaults %+v, gen3 %+v", p.PBOC, gen3.PBOC)
	}
	c, err := New(p, Options{Mode: Contactless})
	if err != nil {
		t.Fatal(err)
	}
	script(t, c, step{selDebit, debitFCI + "9000"}, step{"00B2020C00", rec12 + "9000"})

	// Another PAN: a 16-digit one gets an F-padded track 2.
	p, _ = Builtin("gen3")
	p.PBOC.PAN, p.PBOC.ExpiryDate = "6217990000000008", "20300630"
	c, err = New(p, Options{Mode: Contact})
	if err != nil {
		t.Fatal(err)
	}
	script(t, c, step{selDebit, ""}, step{"00B2010C00", "7021 5713 6217990000000008D30062201000000000000F 5F2009 5A48414E472F53414E 9000"})
	if icc := odaVerifyAny(t, c); hx(icc.PAN[:]) != "6217990000000008FFFF" || hx(icc.Expiry[:]) != "0630" {
		t.Errorf("ICC certificate %+v", icc)
	}
}

// odaVerifyAny verifies the certificates of a card personalised with other
// values than docs/pboc.md's.
func odaVerifyAny(t *testing.T, c *Card) *sm.ICCCert {
	t.Helper()
	var static, pan, issuerCert, iccCert []byte
	for _, rec := range []string{"00B2010C00", "00B2020C00", "00B2011400", "00B2021400"} {
		data, _ := xchg(t, c, rec)
		if rec[6:8] == "0C" {
			static = append(static, tlvFind(data, 0x70)...)
		}
		if v := tlvFind(data, 0x5A); v != nil {
			pan = v
		}
		if v := tlvFind(data, 0x90); v != nil {
			issuerCert = v
		}
		if v := tlvFind(data, 0x9F46); v != nil {
			iccCert = v
		}
	}
	v := &sm.ODAVerifier{CAKeys: simkeys.CAKeyTable(), Time: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	_, icc, err := v.VerifyCertificates(h("A000000333"), 0x80, issuerCert, iccCert, append(static, 0x7C, 0x00), pan)
	if err != nil {
		t.Fatal(err)
	}
	return icc
}

func mustReadBuiltin(t *testing.T, name string) []byte {
	t.Helper()
	b, err := builtinFS.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
