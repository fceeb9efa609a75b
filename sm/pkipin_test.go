package sm

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestEncodePIN(t *testing.T) {
	tests := []struct {
		pin  string
		want string
		err  error
	}{
		{"123456", "123456", nil},
		{"0000", "0000", nil},
		{"12345", "12345F", nil},
		{"987654321012", "987654321012", nil},
		{"123", "", ErrLength},
		{"", "", ErrLength},
		{"1234567890123", "", ErrLength},
		{"12a456", "", ErrPINFormat},
		{"12 456", "", ErrPINFormat},
		{"１２３４", "", ErrPINFormat}, // full-width digits: 12 bytes of UTF-8, not ASCII digits
		{"12/456", "", ErrPINFormat},
	}
	for _, tt := range tests {
		got, err := EncodePIN(tt.pin)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("EncodePIN(%q): err = %v, want %v", tt.pin, err, tt.err)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, unhex(t, tt.want)) {
			t.Errorf("EncodePIN(%q) = %X, %v; want %s", tt.pin, got, err, tt.want)
		}
	}
}

func TestPKIPINKey(t *testing.T) {
	k := PKIPINKey([]byte{0x12, 0x34, 0x56})
	if want := unhex(t, "3DE741F445DD357BEA4E6C3FE6437036"); !bytes.Equal(k[:], want) {
		t.Errorf("PKIPINKey(123456) = %X, want %X", k, want)
	}
}

func TestPKIPINCryptogramErrors(t *testing.T) {
	for _, n := range []int{0, 4, 15, 17, 32} {
		if _, err := PKIPINCryptogram("123456", make([]byte, n)); !errors.Is(err, ErrLength) {
			t.Errorf("challenge of %d bytes: err = %v", n, err)
		}
	}
	if _, err := PKIPINCryptogram("12x456", make([]byte, 16)); !errors.Is(err, ErrPINFormat) {
		t.Errorf("bad PIN: err = %v", err)
	}
}

func FuzzEncodePIN(f *testing.F) {
	for _, s := range []string{"123456", "12345", "", "abcd", "0000000000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pin string) {
		bcd, err := EncodePIN(pin)
		if err != nil {
			if !errors.Is(err, ErrLength) && !errors.Is(err, ErrPINFormat) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		// Decoding the nibbles gives the PIN back, F-padded when odd.
		back := strings.TrimSuffix(strings.ToUpper(fmt.Sprintf("%X", bcd)), "F")
		if back != pin {
			t.Fatalf("EncodePIN(%q) = %X", pin, bcd)
		}
	})
}

func ExamplePKIPINCryptogram() {
	// VERIFY 00 20 01 81 10 || SM4_ECB(SM3(12 34 56)[0:16], challenge):
	// the card's 16-byte challenge from GET CHALLENGE 00 84 00 00 10.
	challenge := []byte{0x17, 0x8C, 0xED, 0xCF, 0x32, 0xC5, 0xD7, 0x99, 0x02, 0x16, 0x63, 0x21, 0x70, 0xC7, 0xCD, 0x37}
	c, err := PKIPINCryptogram("123456", challenge)
	if err != nil {
		panic(err)
	}
	fmt.Printf("00 20 01 81 10 %X\n", c)
	// Output: 00 20 01 81 10 358B51056B9B9EB2C96B20E7DB7A6B8F
}
