package simkeys

import (
	"bytes"
	"errors"
	"testing"

	"github.com/emmansun/gmsm/sm3"

	"github.com/sscard/ssc/sm"
)

// The software card's default PAN field and issuer id (docs/pboc.md).
const (
	testPBOCPANField = "6217991000001234561F"
	testPBOCIssuerID = "621799FF"
)

func TestPBOCKeys(t *testing.T) {
	issuer, err := PBOCIssuerKey(sm2Hex(t, testPBOCIssuerID))
	if err != nil {
		t.Fatal(err)
	}
	icc, err := PBOCICCKey(sm2Hex(t, testPBOCPANField))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		d    []byte
		seed []byte
	}{
		{"issuer", issuer.D.FillBytes(make([]byte, 32)), append([]byte("SSC-SIM-PBOC-ISSUER"), sm2Hex(t, testPBOCIssuerID)...)},
		{"icc", icc.D.FillBytes(make([]byte, 32)), append([]byte("SSC-SIM-PBOC-ICC"), sm2Hex(t, testPBOCPANField)...)},
	} {
		sum := sm3.Sum(tt.seed)
		want, err := sm.PrivateKeyFromScalar(sum[:])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(tt.d, want.D.FillBytes(make([]byte, 32))) {
			t.Errorf("%s: d = %X, want SM3(seed) reduced = %X", tt.name, tt.d, want.D)
		}
	}
	if _, err := PBOCIssuerKey(sm2Hex(t, "621799")); !errors.Is(err, sm.ErrLength) {
		t.Errorf("3-byte issuer id: %v", err)
	}
	if _, err := PBOCICCKey(sm2Hex(t, "6217991000001234561F00")); !errors.Is(err, sm.ErrLength) {
		t.Errorf("11-byte PAN field: %v", err)
	}

	// The keys fit the ODA chain of the SIM payment CA.
	var ic sm.IssuerCert
	copy(ic.IssuerID[:], sm2Hex(t, testPBOCIssuerID))
	ic.Expiry = [2]byte{0x12, 0x35}
	xy, _ := sm.MarshalPublicKeyXY(&issuer.PublicKey)
	copy(ic.PublicKey[:], xy)
	cert, err := sm.SignIssuerCert(PBOCCAKey(), ic, nil)
	if err != nil {
		t.Fatal(err)
	}
	v := &sm.ODAVerifier{CAKeys: CAKeyTable()}
	if _, err := v.VerifyIssuerCert(PBOCRID(), PBOCCAIndex, cert, sm2Hex(t, testPBOCPANField)); err != nil {
		t.Fatal(err)
	}
}

func TestPBOCDynamicNumberAndAC(t *testing.T) {
	un := sm2Hex(t, "11223344")
	sum := sm3.Sum(append([]byte("SSC-SIM-PBOC-DN\x00\x04"), un...))
	if dn := PBOCDynamicNumber(4, un); !bytes.Equal(dn[:], sum[:8]) {
		t.Errorf("dynamic number %X, want %X", dn, sum[:8])
	}
	pdol := bytes.Repeat([]byte{0x5A}, 34)
	msg := append(append([]byte("SSC-SIM-PBOC-AC"), sm2Hex(t, testPBOCPANField)...), 0x01, 0x02)
	sum = sm3.Sum(append(msg, pdol...))
	if ac := PBOCAC(sm2Hex(t, testPBOCPANField), 0x0102, pdol); !bytes.Equal(ac[:], sum[:8]) {
		t.Errorf("AC %X, want %X", ac, sum[:8])
	}
	if a, b := PBOCDynamicNumber(1, un), PBOCDynamicNumber(2, un); a == b {
		t.Error("dynamic number does not depend on the ATC")
	}
}
