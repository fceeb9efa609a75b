package sm

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
)

// odaFixture is a complete SM2 ODA personalisation signed with the SIM
// payment-system CA: issuer and ICC key pairs (test keys), certificates,
// SSAD and DDA/fDDA signatures.
type odaFixture struct {
	issuerKey, iccKey                *sm2.PrivateKey
	pan, static, ddol, fddaTerm      []byte
	issuerCert, iccCert, ssad        []byte
	dda, fdda                        []byte
	issuerTmpl                       IssuerCert
	iccTmpl                          ICCCert
	dynData                          []byte
	verifier                         ODAVerifier
	issuerCertAlice, iccCertExpired  []byte
	issuerCertExpired, iccCertBadPAN []byte
}

var odaNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// The SIM payment-system CA (sim-profile §6), recomputed here because
// sm/simkeys, which has it, imports this package; simkeys' tests check the
// same values.
const odaCAIndex byte = 0x80

func odaRID() []byte { return []byte{0xA0, 0x00, 0x00, 0x03, 0x33} }

func odaCAKey() *sm2.PrivateKey { return seedKey([]byte("SSC-SIM-PBOC-CA")) }

func odaCAKeyTable() *CAKeyTable {
	t := NewCAKeyTable()
	if err := t.Add(odaRID(), odaCAIndex, odaMust(MarshalPublicKeyXY(&odaCAKey().PublicKey))); err != nil {
		panic(err)
	}
	return t
}

// odaMust returns b or panics (failing the test) on an error.
func odaMust(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func newODAFixture(t testing.TB) *odaFixture {
	t.Helper()
	f := &odaFixture{
		issuerKey: seedKey([]byte("test ODA issuer")),
		iccKey:    seedKey([]byte("test ODA ICC")),
		// PAN 6228230029000005274 (ssc-facts §4.2), cn, F-padded.
		pan: sm2Hex(t, "6228230029000005274F"),
		// static data to be authenticated: some AFL record content || AIP.
		static:   sm2Hex(t, "5A0A6228230029000005274F5F24033012315F25032501015F280201569F0702FF00"+"7C00"),
		ddol:     sm2Hex(t, "11223344"),                                              // 9F37 unpredictable number
		fddaTerm: sm2Hex(t, "11223344"+"000000001000"+"0156"+"0102030405060708090A"), // 9F37 9F02 5F2A 9F69
		dynData:  sm2Hex(t, "08"+"0102030405060708"+"0001"),                          // dynamic number 8 bytes || ATC
		verifier: ODAVerifier{CAKeys: odaCAKeyTable(), Time: odaNow},
	}
	issuerXY, _ := MarshalPublicKeyXY(&f.issuerKey.PublicKey)
	iccXY, _ := MarshalPublicKeyXY(&f.iccKey.PublicKey)
	f.issuerTmpl = IssuerCert{
		IssuerID: [4]byte{0x62, 0x28, 0x23, 0xFF},
		Expiry:   [2]byte{0x12, 0x30},
		Serial:   [3]byte{0x00, 0x00, 0x01},
		PKParams: ODAParamsSIMSM2,
	}
	copy(f.issuerTmpl.PublicKey[:], issuerXY)
	f.iccTmpl = ICCCert{Expiry: [2]byte{0x12, 0x28}, Serial: [3]byte{0x00, 0x00, 0x42}}
	copy(f.iccTmpl.PAN[:], f.pan)
	copy(f.iccTmpl.PublicKey[:], iccXY)

	ca := odaCAKey()
	f.issuerCert = odaMust(SignIssuerCert(ca, f.issuerTmpl, nil))
	f.iccCert = odaMust(SignICCCert(f.issuerKey, f.iccTmpl, f.static, nil))
	f.ssad = odaMust(SignStaticData(f.issuerKey, [2]byte{0xDA, 0xC1}, f.static, nil))
	f.dda = odaMust(SignDynamicData(f.iccKey, ODAFormatDDA, f.dynData, f.ddol, nil))
	f.fdda = odaMust(SignDynamicData(f.iccKey, ODAFormatFDDA, f.dynData, f.fddaTerm, nil))

	f.issuerCertAlice = odaMust(SignIssuerCert(ca, f.issuerTmpl, []byte("ALICE123@YAHOO.COM")))
	exp := f.issuerTmpl
	exp.Expiry = [2]byte{0x05, 0x26} // May 2026: expired on 2026-06-01
	f.issuerCertExpired = odaMust(SignIssuerCert(ca, exp, nil))
	iexp := f.iccTmpl
	iexp.Expiry = [2]byte{0x01, 0x26}
	f.iccCertExpired = odaMust(SignICCCert(f.issuerKey, iexp, f.static, nil))
	ipan := f.iccTmpl
	copy(ipan.PAN[:], sm2Hex(t, "6228230029000005275F"))
	f.iccCertBadPAN = odaMust(SignICCCert(f.issuerKey, ipan, f.static, nil))
	return f
}

func TestODAHappyPath(t *testing.T) {
	f := newODAFixture(t)
	v := f.verifier
	ic, err := v.VerifyIssuerCert(odaRID(), odaCAIndex, f.issuerCert, f.pan)
	if err != nil {
		t.Fatal(err)
	}
	if ic.IssuerID != f.issuerTmpl.IssuerID || ic.HashAlg != ODAHashSM3 || ic.PKAlg != ODAAlgSM2 {
		t.Errorf("issuer cert %+v", ic)
	}
	cc, err := v.VerifyICCCert(ic, f.iccCert, f.static, f.pan)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := cc.Key()
	if !k.Equal(&f.iccKey.PublicKey) {
		t.Error("ICC key differs")
	}
	if _, err := v.VerifySignedStaticData(ic, f.ssad, f.static); err != nil {
		t.Error(err)
	}
	ds, err := v.VerifyDynamicSignature(cc, f.dda, f.ddol)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := ds.ICCDynamicNumber(); err != nil || !bytes.Equal(n, f.dynData[1:9]) {
		t.Errorf("ICC dynamic number %X, %v", n, err)
	}
	if ds, err := v.VerifyDynamicSignature(cc, f.fdda, f.fddaTerm); err != nil || ds.Format != ODAFormatFDDA {
		t.Errorf("fDDA: %v", err)
	}
	ic2, cc2, err := v.VerifyCertificates(odaRID(), odaCAIndex, f.issuerCert, f.iccCert, f.static, f.pan)
	if err != nil || ic2 == nil || cc2 == nil {
		t.Fatalf("VerifyCertificates: %v", err)
	}
	// The default signer id is used unless configured.
	alice := v
	alice.SignerID = []byte("ALICE123@YAHOO.COM")
	if _, err := alice.VerifyIssuerCert(odaRID(), odaCAIndex, f.issuerCertAlice, f.pan); err != nil {
		t.Errorf("ALICE id: %v", err)
	}
	if _, err := v.VerifyIssuerCert(odaRID(), odaCAIndex, f.issuerCertAlice, f.pan); !errors.Is(err, ErrSM2Verify) {
		t.Errorf("ALICE cert, default id: %v", err)
	}
	explicit := v
	explicit.SignerID = []byte(DefaultSignerID)
	if _, err := explicit.VerifyIssuerCert(odaRID(), odaCAIndex, f.issuerCert, f.pan); err != nil {
		t.Errorf("explicit default id: %v", err)
	}
}

// TestODADeterministic pins the SIM personalisation bytes: the software
// card and every test must produce exactly these.
func TestODADeterministic(t *testing.T) {
	a, b := newODAFixture(t), newODAFixture(t)
	for _, tt := range []struct {
		name    string
		x, y    []byte
		wantSM3 string
	}{
		{"issuer cert", a.issuerCert, b.issuerCert, "CB1140C45DDE2D54B424B7C975E16EEC08429EFFB581C970BB3DBEB2910ACC18"},
		{"ICC cert", a.iccCert, b.iccCert, "7273FFECB68CCC8DC4D2D3D1B64C953D377B70A1A65DABC45D3FF98DE2FD981F"},
		{"SSAD", a.ssad, b.ssad, "2CF5B0B3D4A3743FDF4CDC929DA913F5486B4A70FE731CD829783419AB561E85"},
		{"DDA", a.dda, b.dda, "DD307DA4AB27FC4940B04440BD4FDAAD28527B98CF136FE099282EEA05296428"},
		{"fDDA", a.fdda, b.fdda, "65355A27111073552280C76FF479787E9BBA2B90B1ED5E7DD526180B868EB953"},
	} {
		if !bytes.Equal(tt.x, tt.y) {
			t.Errorf("%s differs between two builds", tt.name)
		}
		if sum := sm3.Sum(tt.x); !bytes.Equal(sum[:], sm2Hex(t, tt.wantSM3)) {
			t.Errorf("%s (%d bytes) SM3 %X, pinned %s", tt.name, len(tt.x), sum, tt.wantSM3)
		}
	}
	// Layout spot checks.
	c := a.issuerCert
	if len(c) != 142 || c[0] != 0x12 || c[10] != 0x07 || c[11] != 0x04 || c[12] != 0x00 || c[13] != 0x40 {
		t.Errorf("issuer cert layout %X", c[:14])
	}
	c = a.iccCert
	if len(c) != 148 || c[0] != 0x14 || c[16] != 0x07 || c[17] != 0x04 || c[19] != 0x40 || !bytes.Equal(c[1:11], a.pan) {
		t.Errorf("ICC cert layout %X", c[:20])
	}
	if len(a.ssad) != 67 || !bytes.Equal(a.ssad[:3], []byte{0x13, 0xDA, 0xC1}) {
		t.Errorf("SSAD layout %X", a.ssad[:3])
	}
	if len(a.dda) != 2+len(a.dynData)+64 || a.dda[0] != 0x15 || int(a.dda[1]) != len(a.dynData) {
		t.Errorf("DDA layout %X", a.dda[:2])
	}
	// Signatures are over the documented bytes.
	ca := odaCAKey()
	if err := Verify(&ca.PublicKey, nil, a.issuerCert[:78], a.issuerCert[78:]); err != nil {
		t.Errorf("issuer cert signature: %v", err)
	}
	if err := Verify(&a.issuerKey.PublicKey, nil, append(append([]byte(nil), a.iccCert[:84]...), a.static...), a.iccCert[84:]); err != nil {
		t.Errorf("ICC cert signature: %v", err)
	}
	if err := Verify(&a.issuerKey.PublicKey, nil, append(append([]byte(nil), a.ssad[:3]...), a.static...), a.ssad[3:]); err != nil {
		t.Errorf("SSAD signature: %v", err)
	}
	n := len(a.dda) - 64
	if err := Verify(&a.iccKey.PublicKey, nil, append(append([]byte(nil), a.dda[:n]...), a.ddol...), a.dda[n:]); err != nil {
		t.Errorf("DDA signature: %v", err)
	}
}

func TestODAParse(t *testing.T) {
	f := newODAFixture(t)
	type parser func([]byte) ([]byte, error)
	pIssuer := func(b []byte) ([]byte, error) {
		c, err := ParseIssuerCert(b)
		if err != nil {
			return nil, err
		}
		return c.Bytes(), nil
	}
	pICC := func(b []byte) ([]byte, error) {
		c, err := ParseICCCert(b)
		if err != nil {
			return nil, err
		}
		return c.Bytes(), nil
	}
	pSSAD := func(b []byte) ([]byte, error) {
		c, err := ParseSignedStaticData(b)
		if err != nil {
			return nil, err
		}
		return c.Bytes(), nil
	}
	pDyn := func(b []byte) ([]byte, error) {
		c, err := ParseDynamicSignature(b)
		if err != nil {
			return nil, err
		}
		return c.Bytes(), nil
	}
	emptyDyn := odaMust(SignDynamicData(f.iccKey, ODAFormatDDA, nil, nil, nil))
	maxDyn := odaMust(SignDynamicData(f.iccKey, ODAFormatFDDA, bytes.Repeat([]byte{0xAB}, 255), nil, nil))
	valid := []struct {
		name  string
		parse parser
		in    []byte
	}{
		{"issuer", pIssuer, f.issuerCert},
		{"ICC", pICC, f.iccCert},
		{"SSAD", pSSAD, f.ssad},
		{"DDA", pDyn, f.dda},
		{"fDDA", pDyn, f.fdda},
		{"DDA empty data", pDyn, emptyDyn},
		{"fDDA 255 bytes", pDyn, maxDyn},
	}
	for _, tt := range valid {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tt.parse(tt.in)
			if err != nil || !bytes.Equal(out, tt.in) {
				t.Fatalf("round trip: %v", err)
			}
			// Every strict prefix, and one byte more, is rejected.
			for i := 0; i < len(tt.in); i++ {
				if out, err := tt.parse(tt.in[:i]); !errors.Is(err, ErrODAFormat) || out != nil {
					t.Fatalf("prefix of %d bytes: %v", i, err)
				}
			}
			longer := append(append([]byte(nil), tt.in...), 0)
			if _, err := tt.parse(longer); !errors.Is(err, ErrODAFormat) || !errors.Is(err, ErrLength) {
				t.Fatalf("one byte more: %v", err)
			}
		})
	}

	set := func(b []byte, i int, v byte) []byte { c := append([]byte(nil), b...); c[i] = v; return c }
	bad := []struct {
		name  string
		parse parser
		in    []byte
	}{
		{"issuer format 14", pIssuer, set(f.issuerCert, 0, 0x14)},
		{"issuer RSA format 02", pIssuer, set(f.issuerCert, 0, 0x02)},
		{"issuer PK length 3F", pIssuer, set(f.issuerCert, 13, 0x3F)},
		{"issuer PK length 41", pIssuer, set(f.issuerCert, 13, 0x41)},
		{"issuer month 13", pIssuer, set(f.issuerCert, 5, 0x13)},
		{"issuer month 00", pIssuer, set(f.issuerCert, 5, 0x00)},
		{"issuer year not BCD", pIssuer, set(f.issuerCert, 6, 0x3A)},
		{"issuer month not BCD", pIssuer, set(f.issuerCert, 5, 0x0F)},
		{"ICC format 12", pICC, set(f.iccCert, 0, 0x12)},
		{"ICC PK length 00", pICC, set(f.iccCert, 19, 0x00)},
		{"ICC month 13", pICC, set(f.iccCert, 11, 0x13)},
		{"SSAD format 03", pSSAD, set(f.ssad, 0, 0x03)},
		{"dynamic format 05", pDyn, set(f.dda, 0, 0x05)},
		{"dynamic format 17", pDyn, set(f.dda, 0, 0x17)},
		{"dynamic format A5 (CDA)", pDyn, set(f.dda, 0, 0xA5)},
		{"dynamic length +1", pDyn, set(f.dda, 1, f.dda[1]+1)},
		{"dynamic length -1", pDyn, set(f.dda, 1, f.dda[1]-1)},
		{"dynamic length FF", pDyn, set(f.dda, 1, 0xFF)},
		{"empty", pDyn, nil},
	}
	for _, tt := range bad {
		if out, err := tt.parse(tt.in); !errors.Is(err, ErrODAFormat) || out != nil {
			t.Errorf("%s: err = %v", tt.name, err)
		}
	}

	// ICC dynamic number.
	for _, tt := range []struct {
		data string
		want string // "" = error
	}{
		{"020102", "0102"},
		{"080102030405060708", "0102030405060708"},
		{"0801020304050607080000", "0102030405060708"},
		{"", ""},
		{"01AA", ""},
		{"09010203040506070809", ""},
		{"0401020304"[:8], ""},
	} {
		ds := &DynamicSignature{Format: ODAFormatDDA, DynamicData: sm2Hex(t, tt.data)}
		n, err := ds.ICCDynamicNumber()
		if tt.want == "" {
			if !errors.Is(err, ErrODAFormat) {
				t.Errorf("ICCDynamicNumber(%s) = %X, %v", tt.data, n, err)
			}
		} else if err != nil || !bytes.Equal(n, sm2Hex(t, tt.want)) {
			t.Errorf("ICCDynamicNumber(%s) = %X, %v", tt.data, n, err)
		}
	}
}

// odaSignRaw signs body with key and appends the signature: for objects
// the builders refuse to make.
func odaSignRaw(t testing.TB, key *sm2.PrivateKey, body, extra []byte) []byte {
	t.Helper()
	sig, err := Sign(key, nil, append(append([]byte(nil), body...), extra...))
	if err != nil {
		t.Fatal(err)
	}
	return append(append([]byte(nil), body...), sig...)
}

func TestODAVerifyErrors(t *testing.T) {
	f := newODAFixture(t)
	v := f.verifier
	ca := odaCAKey()
	rid := odaRID()
	ic, err := v.VerifyIssuerCert(rid, odaCAIndex, f.issuerCert, f.pan)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := v.VerifyICCCert(ic, f.iccCert, f.static, f.pan)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(b []byte, i int) []byte { c := append([]byte(nil), b...); c[i] ^= 0x01; return c }
	withBody := func(cert []byte, i int, v byte) []byte { // change a signed byte and re-sign with the CA
		body := append([]byte(nil), cert[:78]...)
		body[i] = v
		return odaSignRaw(t, ca, body, nil)
	}
	issuerWithID := func(id [4]byte) []byte {
		c := f.issuerTmpl
		c.IssuerID = id
		return odaMust(SignIssuerCert(ca, c, nil))
	}
	offCurve := withBody(f.issuerCert, 77, f.issuerCert[77]^1)
	sha1Cert := withBody(f.issuerCert, 10, 0x01)
	rsaAlg := withBody(f.issuerCert, 11, 0x01)
	lax := v
	lax.AnyIndicators = true
	noCA := ODAVerifier{Time: odaNow}
	emptyTable := ODAVerifier{CAKeys: NewCAKeyTable(), Time: odaNow}
	atEndOfMonth := v
	atEndOfMonth.Time = time.Date(2026, 5, 31, 23, 59, 59, 0, time.UTC)

	issuerTests := []struct {
		name  string
		v     ODAVerifier
		rid   []byte
		index byte
		cert  []byte
		pan   []byte
		want  []error // nil = success
	}{
		{"ok", v, rid, odaCAIndex, f.issuerCert, f.pan, nil},
		{"PAN without F pad", v, rid, odaCAIndex, f.issuerCert, sm2Hex(t, "6228230029000005"), nil},
		{"unknown index", v, rid, 0x81, f.issuerCert, f.pan, []error{ErrCAKeyNotFound}},
		{"unknown RID", v, sm2Hex(t, "A000000003"), odaCAIndex, f.issuerCert, f.pan, []error{ErrCAKeyNotFound}},
		{"RID 4 bytes", v, rid[:4], odaCAIndex, f.issuerCert, f.pan, []error{ErrLength}},
		{"nil table", noCA, rid, odaCAIndex, f.issuerCert, f.pan, []error{ErrCAKeyNotFound}},
		{"empty table", emptyTable, rid, odaCAIndex, f.issuerCert, f.pan, []error{ErrCAKeyNotFound}},
		{"tampered serial", v, rid, odaCAIndex, flip(f.issuerCert, 9), f.pan, []error{ErrSM2Verify}},
		{"tampered key", v, rid, odaCAIndex, flip(f.issuerCert, 20), f.pan, []error{ErrSM2Verify}},
		{"tampered signature", v, rid, odaCAIndex, flip(f.issuerCert, 100), f.pan, []error{ErrSM2Verify}},
		{"signature r = 0", v, rid, odaCAIndex, append(append([]byte(nil), f.issuerCert[:78]...), make([]byte, 64)...), f.pan, []error{ErrSM2Signature}},
		{"signed with ALICE id", v, rid, odaCAIndex, f.issuerCertAlice, f.pan, []error{ErrSM2Verify}},
		{"malformed", v, rid, odaCAIndex, f.issuerCert[:141], f.pan, []error{ErrODAFormat, ErrLength}},
		{"ICC cert given", v, rid, odaCAIndex, f.iccCert, f.pan, []error{ErrODAFormat}},
		{"other PAN", v, rid, odaCAIndex, f.issuerCert, sm2Hex(t, "6228240029000005274F"), []error{ErrPANMismatch}},
		{"PAN shorter than issuer id", v, rid, odaCAIndex, f.issuerCert, sm2Hex(t, "622FFF"), []error{ErrPANMismatch}},
		{"PAN not cn", v, rid, odaCAIndex, f.issuerCert, sm2Hex(t, "62282A"), []error{ErrPANMismatch, ErrODAFormat}},
		{"PAN empty", v, rid, odaCAIndex, f.issuerCert, nil, []error{ErrPANMismatch}},
		{"issuer id 8 digits ok", v, rid, odaCAIndex, issuerWithID([4]byte{0x62, 0x28, 0x23, 0x00}), f.pan, nil},
		{"issuer id 3 digits ok", v, rid, odaCAIndex, issuerWithID([4]byte{0x62, 0x2F, 0xFF, 0xFF}), f.pan, nil},
		{"issuer id 2 digits", v, rid, odaCAIndex, issuerWithID([4]byte{0x62, 0xFF, 0xFF, 0xFF}), f.pan, []error{ErrPANMismatch}},
		{"issuer id not cn", v, rid, odaCAIndex, issuerWithID([4]byte{0x62, 0x28, 0xA3, 0xFF}), f.pan, []error{ErrODAFormat}},
		{"issuer id digit after pad", v, rid, odaCAIndex, issuerWithID([4]byte{0x62, 0x28, 0xF3, 0xFF}), f.pan, []error{ErrODAFormat}},
		{"issuer id all F", v, rid, odaCAIndex, issuerWithID([4]byte{0xFF, 0xFF, 0xFF, 0xFF}), f.pan, []error{ErrODAFormat}},
		{"expired", v, rid, odaCAIndex, f.issuerCertExpired, f.pan, []error{ErrCertExpiredODA}},
		{"last second of expiry month", atEndOfMonth, rid, odaCAIndex, f.issuerCertExpired, f.pan, nil},
		{"hash indicator SHA-1", v, rid, odaCAIndex, sha1Cert, f.pan, []error{ErrODAAlgorithm}},
		{"algorithm indicator RSA", v, rid, odaCAIndex, rsaAlg, f.pan, []error{ErrODAAlgorithm}},
		{"SHA-1 indicator, any accepted", lax, rid, odaCAIndex, sha1Cert, f.pan, nil},
		{"issuer key off curve", v, rid, odaCAIndex, offCurve, f.pan, []error{ErrSM2PublicKey, ErrSM2NotOnCurve}},
	}
	for _, tt := range issuerTests {
		t.Run("issuer/"+tt.name, func(t *testing.T) {
			c, err := tt.v.VerifyIssuerCert(tt.rid, tt.index, tt.cert, tt.pan)
			odaCheckErr(t, err, c != nil, ErrIssuerCert, tt.want)
		})
	}

	iccWith := func(mod func(*ICCCert)) []byte {
		c := f.iccTmpl
		mod(&c)
		return odaMust(SignICCCert(f.issuerKey, c, f.static, nil))
	}
	iccOffCurve := func() []byte {
		body := append([]byte(nil), f.iccCert[:84]...)
		body[83] ^= 1
		return odaSignRaw(t, f.issuerKey, body, f.static)
	}()
	iccTests := []struct {
		name   string
		v      ODAVerifier
		issuer *IssuerCert
		cert   []byte
		static []byte
		pan    []byte
		want   []error
	}{
		{"ok", v, ic, f.iccCert, f.static, f.pan, nil},
		{"other static data", v, ic, f.iccCert, append(append([]byte(nil), f.static...), 0), f.pan, []error{ErrSM2Verify}},
		{"no static data", v, ic, f.iccCert, nil, f.pan, []error{ErrSM2Verify}},
		{"tampered PAN", v, ic, flip(f.iccCert, 5), f.static, f.pan, []error{ErrSM2Verify}},
		{"tampered signature", v, ic, flip(f.iccCert, 147), f.static, f.pan, []error{ErrSM2Verify}},
		{"PAN mismatch", v, ic, f.iccCertBadPAN, f.static, f.pan, []error{ErrPANMismatch}},
		{"application PAN not cn", v, ic, f.iccCert, f.static, sm2Hex(t, "62B8"), []error{ErrPANMismatch, ErrODAFormat}},
		{"certificate PAN not cn", v, ic, iccWith(func(c *ICCCert) { c.PAN[0] = 0xC2 }), f.static, f.pan, []error{ErrODAFormat}},
		{"PAN prefix only", v, ic, f.iccCert, f.static, sm2Hex(t, "622823002900000527FF"), []error{ErrPANMismatch}},
		{"expired", v, ic, f.iccCertExpired, f.static, f.pan, []error{ErrCertExpiredODA}},
		{"indicators", v, ic, iccWith(func(c *ICCCert) { c.HashAlg = 0x01; c.PKAlg = 0x04 }), f.static, f.pan, []error{ErrODAAlgorithm}},
		{"ICC key off curve", v, ic, iccOffCurve, f.static, f.pan, []error{ErrSM2NotOnCurve}},
		{"nil issuer", v, nil, f.iccCert, f.static, f.pan, []error{}},
		{"issuer with bad key", v, &IssuerCert{}, f.iccCert, f.static, f.pan, []error{ErrSM2PublicKey}},
		{"malformed", v, ic, f.iccCert[:147], f.static, f.pan, []error{ErrODAFormat}},
		{"issuer cert given", v, ic, f.issuerCert, f.static, f.pan, []error{ErrODAFormat}},
		{"signed by the CA, not the issuer", v, ic, odaMust(SignICCCert(ca, f.iccTmpl, f.static, nil)), f.static, f.pan, []error{ErrSM2Verify}},
	}
	for _, tt := range iccTests {
		t.Run("icc/"+tt.name, func(t *testing.T) {
			c, err := tt.v.VerifyICCCert(tt.issuer, tt.cert, tt.static, tt.pan)
			odaCheckErr(t, err, c != nil, ErrICCCert, tt.want)
		})
	}
	if ic2, cc2, err := v.VerifyCertificates(rid, odaCAIndex, f.issuerCert, f.iccCertBadPAN, f.static, f.pan); !errors.Is(err, ErrICCCert) || ic2 == nil || cc2 != nil {
		t.Errorf("VerifyCertificates(bad ICC) = %v", err)
	}
	if _, _, err := v.VerifyCertificates(rid, 0x99, f.issuerCert, f.iccCert, f.static, f.pan); !errors.Is(err, ErrIssuerCert) || !errors.Is(err, ErrCAKeyNotFound) {
		t.Errorf("VerifyCertificates(no CA key) = %v", err)
	}

	sdaTests := []struct {
		name   string
		issuer *IssuerCert
		ssad   []byte
		static []byte
		want   []error
	}{
		{"ok", ic, f.ssad, f.static, nil},
		{"other static data", ic, f.ssad, f.static[:len(f.static)-2], []error{ErrSM2Verify}},
		{"tampered DAC", ic, flip(f.ssad, 1), f.static, []error{ErrSM2Verify}},
		{"tampered signature", ic, flip(f.ssad, 66), f.static, []error{ErrSM2Verify}},
		{"malformed", ic, f.ssad[:66], f.static, []error{ErrODAFormat}},
		{"nil issuer", nil, f.ssad, f.static, []error{}},
		{"issuer with bad key", &IssuerCert{}, f.ssad, f.static, []error{ErrSM2PublicKey}},
		{"signed by ICC key", ic, odaMust(SignStaticData(f.iccKey, [2]byte{0xDA, 0xC1}, f.static, nil)), f.static, []error{ErrSM2Verify}},
	}
	for _, tt := range sdaTests {
		t.Run("sda/"+tt.name, func(t *testing.T) {
			s, err := v.VerifySignedStaticData(tt.issuer, tt.ssad, tt.static)
			odaCheckErr(t, err, s != nil, ErrSDA, tt.want)
		})
	}

	ddaTests := []struct {
		name string
		icc  *ICCCert
		sdad []byte
		term []byte
		want []error
	}{
		{"ok", cc, f.dda, f.ddol, nil},
		{"fDDA ok", cc, f.fdda, f.fddaTerm, nil},
		{"other unpredictable number", cc, f.dda, sm2Hex(t, "11223345"), []error{ErrSM2Verify}},
		{"no terminal data", cc, f.dda, nil, []error{ErrSM2Verify}},
		{"tampered dynamic data", cc, flip(f.dda, 4), f.ddol, []error{ErrSM2Verify}},
		{"DDA relabelled fDDA", cc, func() []byte { b := append([]byte(nil), f.dda...); b[0] = ODAFormatFDDA; return b }(), f.ddol, []error{ErrSM2Verify}},
		{"malformed", cc, f.dda[:len(f.dda)-1], f.ddol, []error{ErrODAFormat}},
		{"nil ICC", nil, f.dda, f.ddol, []error{}},
		{"ICC with bad key", &ICCCert{}, f.dda, f.ddol, []error{ErrSM2PublicKey}},
		{"signed by issuer key", cc, odaMust(SignDynamicData(f.issuerKey, ODAFormatDDA, f.dynData, f.ddol, nil)), f.ddol, []error{ErrSM2Verify}},
	}
	for _, tt := range ddaTests {
		t.Run("dda/"+tt.name, func(t *testing.T) {
			s, err := v.VerifyDynamicSignature(tt.icc, tt.sdad, tt.term)
			odaCheckErr(t, err, s != nil, ErrDDA, tt.want)
		})
	}

	// Signer id errors surface too.
	longID := v
	longID.SignerID = make([]byte, 0x2000)
	if _, err := longID.VerifyIssuerCert(rid, odaCAIndex, f.issuerCert, f.pan); !errors.Is(err, ErrSM2SignerID) || !errors.Is(err, ErrIssuerCert) {
		t.Errorf("long signer id: %v", err)
	}
}

var odaSteps = []error{ErrIssuerCert, ErrICCCert, ErrSDA, ErrDDA}

// odaCheckErr checks that err is nil when want is nil, else that it wraps
// the step and every cause in want, and no other step.
func odaCheckErr(t *testing.T, err error, gotValue bool, step error, want []error) {
	t.Helper()
	if want == nil {
		if err != nil || !gotValue {
			t.Fatalf("err = %v", err)
		}
		return
	}
	if err == nil || gotValue {
		t.Fatalf("err = %v, value %v; want an error", err, gotValue)
	}
	if !errors.Is(err, step) {
		t.Errorf("err = %v does not wrap %v", err, step)
	}
	for _, s := range odaSteps {
		if s != step && errors.Is(err, s) {
			t.Errorf("err = %v also wraps %v", err, s)
		}
	}
	for _, w := range want {
		if !errors.Is(err, w) {
			t.Errorf("err = %v does not wrap %v", err, w)
		}
	}
}

func TestODABuilderErrors(t *testing.T) {
	f := newODAFixture(t)
	ca := odaCAKey()
	badExp := f.issuerTmpl
	badExp.Expiry = [2]byte{0x00, 0x30}
	badKey := f.issuerTmpl
	badKey.PublicKey[63] ^= 1
	iccBadExp := f.iccTmpl
	iccBadExp.Expiry = [2]byte{0x1A, 0x30}
	iccBadKey := f.iccTmpl
	iccBadKey.PublicKey = [64]byte{}
	errs := []struct {
		name string
		err  error
		want error
	}{
		{"issuer bad expiry", func() error { _, err := SignIssuerCert(ca, badExp, nil); return err }(), ErrODAFormat},
		{"issuer key off curve", func() error { _, err := SignIssuerCert(ca, badKey, nil); return err }(), ErrSM2NotOnCurve},
		{"issuer nil CA key", func() error { _, err := SignIssuerCert(nil, f.issuerTmpl, nil); return err }(), ErrSM2PrivateKey},
		{"ICC bad expiry", func() error { _, err := SignICCCert(f.issuerKey, iccBadExp, nil, nil); return err }(), ErrODAFormat},
		{"ICC zero key", func() error { _, err := SignICCCert(f.issuerKey, iccBadKey, nil, nil); return err }(), ErrSM2NotOnCurve},
		{"ICC nil key", func() error { _, err := SignICCCert(nil, f.iccTmpl, nil, nil); return err }(), ErrSM2PrivateKey},
		{"SSAD nil key", func() error { _, err := SignStaticData(nil, [2]byte{}, nil, nil); return err }(), ErrSM2PrivateKey},
		{"dynamic format 13", func() error { _, err := SignDynamicData(f.iccKey, 0x13, nil, nil, nil); return err }(), ErrODAFormat},
		{"dynamic 256 bytes", func() error {
			_, err := SignDynamicData(f.iccKey, ODAFormatDDA, make([]byte, 256), nil, nil)
			return err
		}(), ErrLength},
		{"dynamic nil key", func() error { _, err := SignDynamicData(nil, ODAFormatDDA, nil, nil, nil); return err }(), ErrSM2PrivateKey},
		{"long signer id", func() error { _, err := SignStaticData(f.issuerKey, [2]byte{}, nil, make([]byte, 9000)); return err }(), ErrSM2SignerID},
	}
	for _, tt := range errs {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, tt.err, tt.want)
		}
	}
	// Explicit indicators are written as given; zero ones default to SM3/SM2.
	custom := f.issuerTmpl
	custom.HashAlg, custom.PKAlg, custom.PKParams = 0x07, 0x04, 0x01
	b := odaMust(SignIssuerCert(ca, custom, nil))
	if b[10] != 0x07 || b[11] != 0x04 || b[12] != 0x01 {
		t.Errorf("indicators %X", b[10:13])
	}
	// The template's own signature field is ignored.
	withSig := f.issuerTmpl
	withSig.Signature[0] = 0xEE
	if got := odaMust(SignIssuerCert(ca, withSig, nil)); !bytes.Equal(got, f.issuerCert) {
		t.Error("Signature field of the template changes the result")
	}
}

func TestCAKeyTable(t *testing.T) {
	tab := odaCAKeyTable()
	if tab.Len() != 1 {
		t.Fatalf("SIM table has %d keys", tab.Len())
	}
	pub, err := tab.Lookup(sm2Hex(t, "A000000333"), 0x80)
	if err != nil || !pub.Equal(&odaCAKey().PublicKey) {
		t.Fatalf("Lookup = %v", err)
	}
	other, _ := PrivateKeyFromScalar(bytes.Repeat([]byte{0x31}, 32))
	xy, _ := MarshalPublicKeyXY(&other.PublicKey)
	if err := tab.Add(sm2Hex(t, "A000000333"), 0x81, xy); err != nil {
		t.Fatal(err)
	}
	if tab.Len() != 2 {
		t.Error("Add did not add")
	}
	bad := append([]byte(nil), xy...)
	bad[0] ^= 1
	for _, tt := range []struct {
		name string
		err  error
		want error
	}{
		{"add short RID", tab.Add([]byte{0xA0}, 1, xy), ErrLength},
		{"add off curve", tab.Add(sm2Hex(t, "A000000333"), 0x82, bad), ErrSM2NotOnCurve},
		{"add 65-byte key", tab.Add(sm2Hex(t, "A000000333"), 0x82, append([]byte{4}, xy...)), ErrLength},
		{"lookup missing", func() error { _, err := tab.Lookup(sm2Hex(t, "A000000333"), 0x82); return err }(), ErrCAKeyNotFound},
		{"lookup 6-byte RID", func() error { _, err := tab.Lookup(sm2Hex(t, "A00000033300"), 0x80); return err }(), ErrLength},
	} {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, tt.err, tt.want)
		}
	}
	var zero CAKeyTable
	if err := zero.Add(sm2Hex(t, "A000000333"), 1, xy); err != nil || zero.Len() != 1 {
		t.Errorf("zero table Add: %v", err)
	}
	var nilTab *CAKeyTable
	if nilTab.Len() != 0 {
		t.Error("nil table Len")
	}
	// Concurrent use (run with -race).
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				if i%2 == 0 {
					_ = tab.Add(sm2Hex(t, "A000000333"), byte(j), xy)
				} else if _, err := tab.Lookup(odaRID(), odaCAIndex); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

func odaFuzzVerifier() ODAVerifier {
	return ODAVerifier{CAKeys: odaCAKeyTable(), Time: odaNow, AnyIndicators: true}
}

func FuzzParseIssuerCert(f *testing.F) {
	v := odaFuzzVerifier()
	pan := []byte{0x62, 0x28, 0x23, 0x00, 0x29, 0x00, 0x00, 0x05, 0x27, 0x4F}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseIssuerCert(b)
		if err != nil {
			if !errors.Is(err, ErrODAFormat) || c != nil {
				t.Fatalf("error %v does not wrap ErrODAFormat", err)
			}
			return
		}
		if !bytes.Equal(c.Bytes(), b) {
			t.Fatalf("%X re-encodes as %X", b, c.Bytes())
		}
		_, _ = c.Key()
		if _, err := v.VerifyIssuerCert(odaRID(), odaCAIndex, b, pan); err != nil && !errors.Is(err, ErrIssuerCert) {
			t.Fatalf("verify error %v does not wrap ErrIssuerCert", err)
		}
	})
}

func FuzzParseICCCert(f *testing.F) {
	v := odaFuzzVerifier()
	issuer := &IssuerCert{}
	copy(issuer.PublicKey[:], odaMust(MarshalPublicKeyXY(&seedKey([]byte("test ODA issuer")).PublicKey)))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseICCCert(b)
		if err != nil {
			if !errors.Is(err, ErrODAFormat) || c != nil {
				t.Fatalf("error %v does not wrap ErrODAFormat", err)
			}
			return
		}
		if !bytes.Equal(c.Bytes(), b) {
			t.Fatalf("%X re-encodes as %X", b, c.Bytes())
		}
		if _, err := v.VerifyICCCert(issuer, b, nil, c.PAN[:]); err != nil && !errors.Is(err, ErrICCCert) {
			t.Fatalf("verify error %v does not wrap ErrICCCert", err)
		}
	})
}

func FuzzParseSignedStaticData(f *testing.F) {
	v := odaFuzzVerifier()
	issuer := &IssuerCert{}
	copy(issuer.PublicKey[:], odaMust(MarshalPublicKeyXY(&seedKey([]byte("test ODA issuer")).PublicKey)))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSignedStaticData(b)
		if err != nil {
			if !errors.Is(err, ErrODAFormat) || s != nil {
				t.Fatalf("error %v does not wrap ErrODAFormat", err)
			}
			return
		}
		if !bytes.Equal(s.Bytes(), b) {
			t.Fatalf("%X re-encodes as %X", b, s.Bytes())
		}
		if _, err := v.VerifySignedStaticData(issuer, b, nil); err != nil && !errors.Is(err, ErrSDA) {
			t.Fatalf("verify error %v does not wrap ErrSDA", err)
		}
	})
}

func FuzzParseDynamicSignature(f *testing.F) {
	v := odaFuzzVerifier()
	icc := &ICCCert{}
	copy(icc.PublicKey[:], odaMust(MarshalPublicKeyXY(&seedKey([]byte("test ODA ICC")).PublicKey)))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseDynamicSignature(b)
		if err != nil {
			if !errors.Is(err, ErrODAFormat) || s != nil {
				t.Fatalf("error %v does not wrap ErrODAFormat", err)
			}
			return
		}
		if !bytes.Equal(s.Bytes(), b) {
			t.Fatalf("%X re-encodes as %X", b, s.Bytes())
		}
		_, _ = s.ICCDynamicNumber()
		if _, err := v.VerifyDynamicSignature(icc, b, []byte{1, 2, 3, 4}); err != nil && !errors.Is(err, ErrDDA) {
			t.Fatalf("verify error %v does not wrap ErrDDA", err)
		}
	})
}

func BenchmarkODAVerifyCertificates(b *testing.B) {
	f := newODAFixture(b)
	v := f.verifier
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := v.VerifyCertificates(odaRID(), odaCAIndex, f.issuerCert, f.iccCert, f.static, f.pan); err != nil {
			b.Fatal(err)
		}
	}
}
