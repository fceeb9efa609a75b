package apdu

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseCompact(t *testing.T) {
	tests := []struct {
		in   string
		want []CompactTLV
	}{
		{"", nil},
		{"31 C0", []CompactTLV{{3, h("C0")}}},
		{"73 C00140 80", []CompactTLV{{7, h("C00140")}, {8, nil}}},
		{"4F" + hexOf(seq(15)), []CompactTLV{{4, seq(15)}}},
		{"62 0001 00", []CompactTLV{{6, h("0001")}, {0, nil}}},
	}
	for _, tt := range tests {
		got, err := ParseCompact(h(tt.in))
		if err != nil || len(got) != len(tt.want) {
			t.Errorf("ParseCompact(%s) = %v, %v", tt.in, got, err)
			continue
		}
		var enc []byte
		for i := range got {
			if got[i].Tag != tt.want[i].Tag || !bytes.Equal(got[i].Value, tt.want[i].Value) {
				t.Errorf("ParseCompact(%s)[%d] = %X %X", tt.in, i, got[i].Tag, got[i].Value)
			}
			enc, _ = AppendCompact(enc, got[i].Tag, got[i].Value)
		}
		if !bytes.Equal(enc, h(tt.in)) {
			t.Errorf("re-encoded %X, want %s", enc, tt.in)
		}
	}
	for _, s := range []string{"31", "73 C001", "0F"} {
		if _, err := ParseCompact(h(s)); !errors.Is(err, ErrMalformedTLV) {
			t.Errorf("ParseCompact(%s) error = %v", s, err)
		}
	}
}

func TestCompactPrefixes(t *testing.T) {
	for _, s := range []string{"73C00140", "4F" + hexOf(seq(15)), "31C0"} {
		enc := h(s)
		for n := 1; n < len(enc); n++ {
			if _, err := ParseCompact(enc[:n]); err == nil {
				t.Errorf("prefix %X accepted", enc[:n])
			}
		}
	}
}

func TestAppendCompact(t *testing.T) {
	if _, err := AppendCompact(nil, 0x10, nil); !errors.Is(err, ErrMalformedTLV) {
		t.Error("tag 10 accepted")
	}
	if _, err := AppendCompact(nil, 1, make([]byte, 16)); !errors.Is(err, ErrMalformedTLV) {
		t.Error("16-byte value accepted")
	}
}

func FuzzParseCompact(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		list, err := ParseCompact(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedTLV) {
				t.Fatalf("error %v does not wrap ErrMalformedTLV", err)
			}
			return
		}
		var enc []byte
		for _, o := range list {
			if enc, err = AppendCompact(enc, o.Tag, o.Value); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("%X re-encoded as %X", b, enc)
		}
	})
}
