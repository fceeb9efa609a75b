package apdu

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// sscRecord is record 1 of the social security card's EF05: tag 01, 16 bytes
// of card identification data.
const sscRecord = "0110330100D1560000050114F199D286DF7E"

func TestParseSimple(t *testing.T) {
	long := strings.Repeat("AB", 300)
	tests := []struct {
		name, in string
		want     []SimpleTLV
	}{
		{"SSC record", sscRecord, []SimpleTLV{{0x01, h("330100D1560000050114F199D286DF7E")}}},
		{"two records", "0203414243 0300", []SimpleTLV{{0x02, h("414243")}, {0x03, nil}}},
		{"three-byte length", "05FF012C" + long, []SimpleTLV{{0x05, h(long)}}},
		{"non-minimal length", "05FF0002 0102", []SimpleTLV{{0x05, h("0102")}}},
		{"tag FE", "FE0100", []SimpleTLV{{0xFE, h("00")}}},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		got, err := ParseSimple(h(tt.in))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s: %d objects, want %d", tt.name, len(got), len(tt.want))
			continue
		}
		var enc []byte
		for i := range got {
			if got[i].Tag != tt.want[i].Tag || !bytes.Equal(got[i].Value, tt.want[i].Value) {
				t.Errorf("%s: object %d = %02X %X", tt.name, i, got[i].Tag, got[i].Value)
			}
			if enc, err = AppendSimple(enc, got[i].Tag, got[i].Value); err != nil {
				t.Fatal(err)
			}
		}
		if back, _ := ParseSimple(enc); len(back) != len(got) {
			t.Errorf("%s: re-encoding %X does not parse back", tt.name, enc)
		}
	}
}

func TestParseSimpleErrors(t *testing.T) {
	for _, s := range []string{
		"00 01 AA",      // tag 00
		"FF 01 AA",      // tag FF
		"01",            // no length
		"01 03 AABB",    // short value
		"01 FF 01",      // truncated 3-byte length
		"01 FF 0003 AA", // short value, 3-byte length
		"0101AA 02",     // second object truncated
	} {
		if got, err := ParseSimple(h(s)); !errors.Is(err, ErrMalformedTLV) {
			t.Errorf("ParseSimple(%s) = %v, %v", s, got, err)
		}
	}
}

func TestParseSimpleOne(t *testing.T) {
	tlv, rest, err := ParseSimpleOne(h("0102AABB 0300"))
	if err != nil || tlv.Tag != 1 || hexOf(tlv.Value) != "AABB" || hexOf(rest) != "0300" {
		t.Fatalf("ParseSimpleOne = %v %X, %v", tlv, rest, err)
	}
	if _, _, err := ParseSimpleOne(nil); !errors.Is(err, ErrMalformedTLV) {
		t.Fatalf("empty input: %v", err)
	}
}

func TestSimplePrefixes(t *testing.T) {
	for _, s := range []string{sscRecord, "05FF012C" + strings.Repeat("AB", 300), "0300"} {
		enc := h(s)
		for n := 1; n < len(enc); n++ {
			if _, err := ParseSimple(enc[:n]); !errors.Is(err, ErrMalformedTLV) {
				t.Errorf("prefix %X accepted", enc[:n])
			}
		}
	}
}

func TestAppendSimple(t *testing.T) {
	tests := []struct {
		tag  byte
		n    int
		head string
		err  bool
	}{
		{0x01, 0, "0100", false},
		{0x01, 254, "01FE", false},
		{0x01, 255, "01FF00FF", false},
		{0x01, 65535, "01FFFFFF", false},
		{0x01, 65536, "", true},
		{0x00, 1, "", true},
		{0xFF, 1, "", true},
	}
	for _, tt := range tests {
		got, err := AppendSimple([]byte{0xEE}, tt.tag, make([]byte, tt.n))
		if tt.err {
			if !errors.Is(err, ErrMalformedTLV) || hexOf(got) != "EE" {
				t.Errorf("AppendSimple(%02X, %d) = %X, %v; want error", tt.tag, tt.n, got, err)
			}
			continue
		}
		if err != nil || !strings.HasPrefix(hexOf(got), "EE"+tt.head) || len(got) != 1+len(tt.head)/2+tt.n {
			t.Errorf("AppendSimple(%02X, %d) = %.12X..., %v", tt.tag, tt.n, got, err)
		}
	}
}

func FuzzParseSimple(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		list, err := ParseSimple(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedTLV) {
				t.Fatalf("error %v does not wrap ErrMalformedTLV", err)
			}
			return
		}
		var enc []byte
		for _, o := range list {
			if enc, err = AppendSimple(enc, o.Tag, o.Value); err != nil {
				t.Fatalf("AppendSimple(%v): %v", o, err)
			}
		}
		if len(enc) > len(b) {
			t.Fatalf("re-encoding %X longer than input %X", enc, b)
		}
		again, err := ParseSimple(enc)
		if err != nil || len(again) != len(list) {
			t.Fatalf("re-encoding %X: %v", enc, err)
		}
		for i := range list {
			if again[i].Tag != list[i].Tag || !bytes.Equal(again[i].Value, list[i].Value) {
				t.Fatalf("object %d changed", i)
			}
		}
	})
}
