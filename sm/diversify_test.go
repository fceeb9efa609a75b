package sm

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestDiversifyIsOneSM4Level(t *testing.T) {
	f := unhex(t, "0114F199D286DF7E")
	a, err1 := Diversify(symKey16, f)
	b, err2 := DiversifySM4(symKey16, f)
	c, err3 := ProcessKeySM4(symKey16, f)
	if err1 != nil || err2 != nil || err3 != nil || a != b || a != c {
		t.Errorf("Diversify %X, DiversifySM4 %X, ProcessKeySM4 %X (%v %v %v)", a, b, c, err1, err2, err3)
	}
	d, err1 := DiversifyTDES(symKey16, f)
	e, err2 := ProcessKeyTDES(symKey16, f)
	if err1 != nil || err2 != nil || d != e {
		t.Errorf("DiversifyTDES %X, ProcessKeyTDES %X (%v %v)", d, e, err1, err2)
	}
}

// TestDiversifyChain: n levels at once equal n single levels.
func TestDiversifyChain(t *testing.T) {
	fs := [][]byte{unhex(t, "1122334455667788"), unhex(t, "0114F199D286DF7E"), unhex(t, "A1A2A3A4A5A6A7A8")}
	for name, div := range map[string]func([]byte, ...[]byte) ([16]byte, error){"SM4": DiversifySM4, "3DES": DiversifyTDES} {
		all, err := div(symKey16, fs...)
		if err != nil {
			t.Fatal(err)
		}
		k := symKey16
		for _, f := range fs {
			next, err := div(k, f)
			if err != nil {
				t.Fatal(err)
			}
			k = next[:]
		}
		if !bytes.Equal(all[:], k) {
			t.Errorf("%s: chained %X, step by step %X", name, all, k)
		}
		none, err := div(symKey16)
		if err != nil || !bytes.Equal(none[:], symKey16) {
			t.Errorf("%s: no factors = %X, %v; want the key", name, none, err)
		}
	}
}

// TestSessionKeyTDESNotDiversify: PBOC complements only the ATC.
func TestSessionKeyTDESNotDiversify(t *testing.T) {
	sk, err := SessionKeyTDES(symKey16, 0x0001)
	if err != nil {
		t.Fatal(err)
	}
	div, _ := DiversifyTDES(symKey16, unhex(t, "0000000000000001"))
	if !bytes.Equal(sk[:8], div[:8]) || bytes.Equal(sk[8:], div[8:]) {
		t.Errorf("session key %X vs diversified %X: left halves must match, right halves differ", sk, div)
	}
}

func TestDiversifyErrors(t *testing.T) {
	f8 := make([]byte, 8)
	tests := []struct {
		name string
		fn   func() error
	}{
		{"SM4 15-byte key", func() error { _, err := DiversifySM4(symKey16[:15], f8); return err }},
		{"SM4 24-byte key", func() error { _, err := DiversifySM4(make([]byte, 24), f8); return err }},
		{"SM4 7-byte factor", func() error { _, err := DiversifySM4(symKey16, f8, f8[:7]); return err }},
		{"SM4 no key no factors", func() error { _, err := DiversifySM4(nil); return err }},
		{"3DES 8-byte key", func() error { _, err := DiversifyTDES(f8, f8); return err }},
		{"3DES 24-byte key, no factors", func() error { _, err := DiversifyTDES(make([]byte, 24)); return err }},
		{"3DES nil factor", func() error { _, err := DiversifyTDES(symKey16, nil); return err }},
		{"3DES 9-byte second factor", func() error { _, err := DiversifyTDES(make([]byte, 24), f8, make([]byte, 9)); return err }},
		{"process SM4 16-byte factor", func() error { _, err := ProcessKeySM4(symKey16, symKey16); return err }},
		{"process 3DES short key", func() error { _, err := ProcessKeyTDES(f8, f8); return err }},
		{"session 3DES 24-byte key", func() error { _, err := SessionKeyTDES(make([]byte, 24), 1); return err }},
	}
	for _, tt := range tests {
		if err := tt.fn(); !errors.Is(err, ErrLength) {
			t.Errorf("%s: err = %v, want ErrLength", tt.name, err)
		}
	}
}

func ExampleDiversifySM4() {
	master := symKey16
	city := []byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}
	card := []byte{0x01, 0x14, 0xF1, 0x99, 0xD2, 0x86, 0xDF, 0x7E}
	k, err := DiversifySM4(master, city, card) // two levels: city, then card
	if err != nil {
		panic(err)
	}
	fmt.Printf("%X\n", k)
	// Output: 3C2E3E04D4AE8E75266A1786BF0B7309
}

func ExampleSessionKeyTDES() {
	sk, err := SessionKeyTDES(symKey16, 0x0001) // PBOC, ATC = 1
	if err != nil {
		panic(err)
	}
	fmt.Printf("%X\n", sk)
	// Output: 63FAF36D19571FCED0797890314F909E
}
