package apdu

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseResponse(t *testing.T) {
	tests := []struct {
		in   string
		data string
		sw   StatusWord
	}{
		{"9000", "", SWOK},
		{"6A82", "", SWFileNotFound},
		{"6F16840F 9000", "6F16840F", SWOK},
		{"01 6110", "01", 0x6110},
	}
	for _, tt := range tests {
		r, err := ParseResponse(h(tt.in))
		if err != nil || hexOf(r.Data) != tt.data || r.SW != tt.sw {
			t.Errorf("ParseResponse(%s) = %X %s, %v; want %s %s", tt.in, r.Data, r.SW, err, tt.data, tt.sw)
		}
		if !bytes.Equal(r.Bytes(), h(tt.in)) {
			t.Errorf("Bytes = %X", r.Bytes())
		}
		if r.String() != hexOf(h(tt.in)) {
			t.Errorf("String = %s", r)
		}
	}
	for _, in := range [][]byte{nil, {0x90}} {
		if _, err := ParseResponse(in); !errors.Is(err, ErrMalformedResponse) {
			t.Errorf("ParseResponse(%X) error = %v", in, err)
		}
	}
}

// The data must not be appendable into the status word bytes.
func TestParseResponseDataCapacity(t *testing.T) {
	b := h("0102 9000")
	r, _ := ParseResponse(b)
	_ = append(r.Data, 0xEE)
	if b[2] != 0x90 {
		t.Fatal("append to Data overwrote SW1")
	}
}

func FuzzParseResponse(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseResponse(b)
		if (err == nil) != (len(b) >= 2) {
			t.Fatalf("ParseResponse(%X) error = %v", b, err)
		}
		if err == nil && !bytes.Equal(r.Bytes(), b) {
			t.Fatalf("round trip %X -> %X", b, r.Bytes())
		}
	})
}
