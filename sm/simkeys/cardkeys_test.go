package simkeys

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"

	"github.com/sscard/ssc/sm"
)

// The fixed vectors below were computed with this package and recomputed
// independently with Python's cryptography (OpenSSL SM3/SM4); each test also
// recomputes them here straight through gmsm.

// gen2CardID is the card identification code of the real 2nd-gen card in
// ssc-facts §1.2 (the simulator's built-in "gen2" card).
const gen2CardID = "330100D1560000050114F199D286DF7E"

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func sm4Block(t testing.TB, key, in []byte) []byte {
	t.Helper()
	c, err := sm4.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 16)
	c.Encrypt(out, in)
	return out
}

func withComplement(f []byte) []byte {
	out := append([]byte(nil), f...)
	for _, b := range f {
		out = append(out, ^b)
	}
	return out
}

func TestMasterKey(t *testing.T) {
	tests := []struct {
		kid  byte
		want string
	}{
		{0x04, "639517CD2FF22752E746368E6EABEAA6"},
		{0x09, "6B98A7F3BF462F7AC5FC506E2A58F58B"},
		{0x0A, "DFF4019CF21B9072F0C27DEAB57094AC"},
		{0x00, "00B9476705F022446AA7E2CE594598EF"},
		{0xFF, "400DCA87F5E4B602891CCC3F9BACD17B"},
	}
	for _, tt := range tests {
		got := MasterKey(tt.kid)
		if want := unhex(t, tt.want); !bytes.Equal(got[:], want) {
			t.Errorf("MasterKey(%02X) = %X, want %s", tt.kid, got, tt.want)
		}
		sum := sm3.Sum(append([]byte("SSC-SIM-MK"), tt.kid))
		if !bytes.Equal(got[:], sum[:16]) {
			t.Errorf("MasterKey(%02X) = %X, gmsm sm3 gives %X", tt.kid, got, sum[:16])
		}
	}
}

func TestCardKey(t *testing.T) {
	id := unhex(t, gen2CardID)
	tests := []struct {
		kid  byte
		want string
	}{
		{0x04, "77BF79CC33C317FF1CAC64927AF760BD"},
		{0x09, "8D684C51D2D9309CE8E3894EB7FE0F4C"},
		{0x0A, "03482D37C3E0105033DD8E96C469856D"},
	}
	for _, tt := range tests {
		got, err := CardKey(tt.kid, id)
		if err != nil {
			t.Fatal(err)
		}
		if want := unhex(t, tt.want); !bytes.Equal(got[:], want) {
			t.Errorf("CardKey(%02X) = %X, want %s", tt.kid, got, tt.want)
		}
		mk := MasterKey(tt.kid)
		if direct := sm4Block(t, mk[:], withComplement(id[8:])); !bytes.Equal(got[:], direct) {
			t.Errorf("CardKey(%02X) = %X, gmsm sm4 gives %X", tt.kid, got, direct)
		}
	}
}

func TestKeys(t *testing.T) {
	var keys sm.CardKeys = CardKeys{CardID: unhex(t, gen2CardID)}
	f, o := unhex(t, "1122334455667788"), unhex(t, "A1A2A3A4A5A6A7A8")
	tests := []struct {
		kid  byte
		want string
	}{
		{sm.SIMKidInternalAuth, "FB4431BF12201D90"},
		{sm.KidExternalRead, "95748D9B5B4EED38"},
	}
	for _, tt := range tests {
		got, err := keys.Cryptogram(tt.kid, f, o)
		if err != nil {
			t.Fatal(err)
		}
		if want := unhex(t, tt.want); !bytes.Equal(got[:], want) {
			t.Errorf("Cryptogram(%02X) = %X, want %s", tt.kid, got, tt.want)
		}
	}
}

func TestLengthErrors(t *testing.T) {
	b8 := make([]byte, 8)
	if _, err := CardKey(0x0A, b8); !errors.Is(err, sm.ErrLength) {
		t.Errorf("CardKey short id: err = %v, want ErrLength", err)
	}
	if _, err := (CardKeys{}).Cryptogram(0x0A, b8, b8); !errors.Is(err, sm.ErrLength) {
		t.Errorf("CardKeys no card id: err = %v, want ErrLength", err)
	}
}

// TestKeysUnchanged pins that the SIM key scheme, now built on
// sm.DiversifySM4, still gives the values other packages and the simulator
// depend on (cardkeys_test.go has the full set).
func TestKeysUnchanged(t *testing.T) {
	ck, err := CardKey(sm.KidExternalRead, unhex(t, gen2CardID))
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, "03482D37C3E0105033DD8E96C469856D"); !bytes.Equal(ck[:], want) {
		t.Errorf("CardKey = %X, want %X", ck, want)
	}
	mk := MasterKey(sm.KidExternalRead)
	viaGeneral, _ := sm.DiversifySM4(mk[:], unhex(t, gen2CardID)[8:])
	if viaGeneral != ck {
		t.Errorf("sm.DiversifySM4 gives %X, CardKey %X", viaGeneral, ck)
	}
}

func BenchmarkKeysCryptogram(b *testing.B) {
	keys := CardKeys{CardID: unhex(b, gen2CardID)}
	f, o := unhex(b, "1122334455667788"), unhex(b, "A1A2A3A4A5A6A7A8")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := keys.Cryptogram(sm.KidExternalRead, f, o); err != nil {
			b.Fatal(err)
		}
	}
}
