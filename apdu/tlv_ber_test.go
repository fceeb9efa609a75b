package apdu

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// sscFCI is the FCI the social security card returns on SELECT of SSSE:
// DF name "sx1.sh.社会保障" (GBK) and the SFI of the directory file.
const sscFCI = "6F16840F7378312E73682EC9E7BBE1B1A3D5CFA50388010B"

func TestTag(t *testing.T) {
	tests := []struct {
		tag         Tag
		s           string
		n           int
		constructed bool
	}{
		{0x6F, "6F", 1, true},
		{0x84, "84", 1, false},
		{0x9F36, "9F36", 2, false},
		{0xBF0C, "BF0C", 2, true},
		{0x5F2D, "5F2D", 2, false},
		{0x7F2181, "7F2181", 3, true},
		{0xDF818101, "DF818101", 4, false},
		{0xFF818101, "FF818101", 4, true},
	}
	for _, tt := range tests {
		if tt.tag.String() != tt.s || tt.tag.Len() != tt.n || tt.tag.Constructed() != tt.constructed {
			t.Errorf("%s: String %s Len %d Constructed %v", tt.s, tt.tag, tt.tag.Len(), tt.tag.Constructed())
		}
	}
}

// dump renders a TLV tree compactly: tag:value or tag{children}.
func dump(list []TLV) string {
	var sb strings.Builder
	for i, t := range list {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(t.Tag.String())
		if t.Children != nil {
			sb.WriteString("{" + dump(t.Children) + "}")
		} else {
			sb.WriteString(":" + hexOf(t.Value))
		}
	}
	return sb.String()
}

func TestParseBER(t *testing.T) {
	tests := []struct {
		name, in, want string
		canonical      bool // EncodeBER gives the input back
	}{
		{"SSC FCI", sscFCI, "6F{84:7378312E73682EC9E7BBE1B1A3D5CF A5{88:0B}}", true},
		{"two objects", "9F3602001A 5A0162", "9F36:001A 5A:62", true},
		{"empty", "", "", true},
		{"only padding", "00 FF 00", "", false},
		{"padding between", "00 8401AA FF FF 8500 00", "84:AA 85:", false},
		{"empty constructed", "A500", "A5:", true},
		{"constructed with padding only", "A5020000", "A5:0000", true},
		{"multi-byte tags", "BF0C05 9F4D020B0A", "BF0C{9F4D:0B0A}", true},
		{"3-byte tag", "7FA10100", "7FA101:", true},
		{"2-byte tag, long length", "7F218100", "7F21:", false},
		{"4-byte tag", "DF81810100", "DF818101:", true},
		{"long form 81", "8481 80" + strings.Repeat("AB", 128), "84:" + strings.Repeat("AB", 128), true},
		{"non-minimal 81", "84 8102 0102", "84:0102", false},
		{"non-minimal 84", "84 8400000001 AA", "84:AA", false},
		{"82", "53820100" + strings.Repeat("00", 256), "53:" + strings.Repeat("00", 256), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := h(tt.in)
			list, err := ParseBER(in)
			if err != nil {
				t.Fatal(err)
			}
			if got := dump(list); got != tt.want {
				t.Errorf("parsed %s, want %s", got, tt.want)
			}
			enc := EncodeBER(list)
			if tt.canonical && !bytes.Equal(enc, in) {
				t.Errorf("EncodeBER = %X, want %X", enc, in)
			}
			again, err := ParseBER(enc)
			if err != nil || dump(again) != tt.want {
				t.Errorf("re-parsed %s, %v", dump(again), err)
			}
		})
	}
}

func TestParseBERErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
	}{
		{"indefinite length", "6F80 8400 0000", ErrMalformedTLV},
		{"length form 85", "84 850000000001 AA", ErrMalformedTLV},
		{"length beyond input", "8403 AABB", ErrMalformedTLV},
		{"84 length beyond input", "84 84FFFFFFFF AA", ErrMalformedTLV},
		{"missing length", "84", ErrMalformedTLV},
		{"truncated long length", "84 82 01", ErrMalformedTLV},
		{"truncated tag", "9F", ErrMalformedTLV},
		{"truncated 3-byte tag", "9F81", ErrMalformedTLV},
		{"tag longer than 4 bytes", "9F81818101 00", ErrMalformedTLV},
		{"leading zero tag byte", "9F80 01 00", ErrMalformedTLV},
		{"zero tag number byte", "9F00 00", ErrMalformedTLV},
		{"bad child", "6F03 8402 AA", ErrMalformedTLV},
	}
	for _, tt := range tests {
		if list, err := ParseBER(h(tt.in)); !errors.Is(err, tt.want) {
			t.Errorf("%s: ParseBER = %s, %v; want %v", tt.name, dump(list), err, tt.want)
		}
	}
}

// nested returns n constructed A1 objects nested in each other around 8000.
func nested(n int) []byte {
	b := h("8000")
	for range n {
		b = AppendBER(nil, 0xA1, b)
	}
	return b
}

func TestBERLimits(t *testing.T) {
	if _, err := ParseBER(nested(15)); err != nil { // 15 levels of A1 + 80 = 16
		t.Fatalf("depth 16: %v", err)
	}
	if _, err := ParseBER(nested(16)); !errors.Is(err, ErrTLVLimit) || !errors.Is(err, ErrMalformedTLV) {
		t.Fatalf("depth 17: %v", err)
	}
	if _, err := (BERParser{MaxDepth: 3}).Parse(nested(3)); !errors.Is(err, ErrTLVLimit) {
		t.Fatalf("MaxDepth 3: %v", err)
	}
	if _, err := (BERParser{MaxDepth: 40}).Parse(nested(39)); err != nil {
		t.Fatalf("MaxDepth 40: %v", err)
	}
	many := bytes.Repeat(h("8000"), DefaultBERMaxObjects)
	if _, err := ParseBER(many); err != nil {
		t.Fatalf("%d objects: %v", DefaultBERMaxObjects, err)
	}
	if _, err := ParseBER(append(many, 0x80, 0x00)); !errors.Is(err, ErrTLVLimit) {
		t.Fatalf("too many objects: %v", err)
	}
	if _, err := (BERParser{MaxObjects: 2}).Parse(h(sscFCI)); !errors.Is(err, ErrTLVLimit) { // 4 objects
		t.Fatalf("MaxObjects 2: %v", err)
	}
	if _, err := (BERParser{MaxInput: 10}).Parse(h(sscFCI)); !errors.Is(err, ErrTLVLimit) {
		t.Fatalf("MaxInput 10: %v", err)
	}
}

// Every non-empty strict prefix of one encoded object is rejected.
func TestBERPrefixes(t *testing.T) {
	for _, s := range []string{sscFCI, "9F360200 1A", "DF81810100", "8481 80" + strings.Repeat("AB", 128), "A500", "7003 5F2400"} {
		enc := h(s)
		for n := 1; n < len(enc); n++ {
			if list, err := ParseBER(enc[:n]); !errors.Is(err, ErrMalformedTLV) {
				t.Errorf("prefix %X parsed as %s, %v", enc[:n], dump(list), err)
			}
		}
	}
}

func TestFindBER(t *testing.T) {
	list, err := ParseBER(h(sscFCI + "9F0801 02"))
	if err != nil {
		t.Fatal(err)
	}
	if sfi, ok := FindBER(list, 0x6F, 0xA5, 0x88); !ok || hexOf(sfi.Value) != "0B" {
		t.Errorf("FindBER 6F/A5/88 = %X, %v", sfi.Value, ok)
	}
	if v, ok := FindBER(list, 0x9F08); !ok || hexOf(v.Value) != "02" {
		t.Errorf("FindBER 9F08 = %X, %v", v.Value, ok)
	}
	for _, path := range [][]Tag{{}, {0x88}, {0x6F, 0x88}, {0x6F, 0xA5, 0x88, 0x01}, {0x70}} {
		if _, ok := FindBER(list, path...); ok {
			t.Errorf("FindBER %v found something", path)
		}
	}
	if sfi, ok := (TLV{Children: list}).Find(0x88); !ok || hexOf(sfi.Value) != "0B" {
		t.Errorf("Find 88 = %X, %v", sfi.Value, ok)
	}
	if _, ok := list[0].Find(0x9F08); ok {
		t.Error("Find looked outside the object")
	}
}

func TestEncodeBER(t *testing.T) {
	fci := TLV{Tag: 0x6F, Children: []TLV{
		{Tag: 0x84, Value: h("7378312E73682EC9E7BBE1B1A3D5CF")},
		{Tag: 0xA5, Children: []TLV{{Tag: 0x88, Value: h("0B")}}},
	}}
	if got := hexOf(fci.Bytes()); got != sscFCI {
		t.Errorf("Bytes = %s", got)
	}
	big := TLV{Tag: 0x70, Children: []TLV{{Tag: 0x53, Value: make([]byte, 300)}}}
	if got := hexOf(big.Bytes()[:9]); got != "708201305382012C00" {
		t.Errorf("Bytes = %s...", got)
	}
	for _, tt := range []struct {
		n    int
		want string
	}{{0, "00"}, {0x7F, "7F"}, {0x80, "8180"}, {0xFF, "81FF"}, {0x100, "820100"}, {0x10000, "83010000"}, {0x1000000, "8401000000"}} {
		if got := hexOf(appendBERLength(nil, tt.n)); got != tt.want || berLengthLen(tt.n) != len(got)/2 {
			t.Errorf("length %d = %s, want %s", tt.n, got, tt.want)
		}
	}
}

func FuzzParseBER(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		list, err := ParseBER(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedTLV) {
				t.Fatalf("error %v does not wrap ErrMalformedTLV", err)
			}
			return
		}
		// Re-encoding is canonical: it parses to the same tree and is stable.
		enc := EncodeBER(list)
		again, err := ParseBER(enc)
		if err != nil {
			t.Fatalf("re-encoding %X of %X fails: %v", enc, b, err)
		}
		if dump(again) != dump(list) {
			t.Fatalf("%X: tree %s re-parsed as %s", b, dump(list), dump(again))
		}
		if enc2 := EncodeBER(again); !bytes.Equal(enc2, enc) {
			t.Fatalf("unstable encoding %X then %X", enc, enc2)
		}
	})
}

func BenchmarkParseBER(b *testing.B) {
	fci := h(sscFCI)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseBER(fci); err != nil {
			b.Fatal(err)
		}
	}
}
