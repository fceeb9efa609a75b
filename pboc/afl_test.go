package pboc

import (
	"bytes"
	"fmt"
	"testing"
)

func TestParseAFL(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []AFLEntry
	}{
		{"sim", "08010202 10010200", []AFLEntry{{1, 1, 2, 2}, {2, 1, 2, 0}}},
		{"facts format 1", "08010200 10010400 18010300 20010100", []AFLEntry{{1, 1, 2, 0}, {2, 1, 4, 0}, {3, 1, 3, 0}, {4, 1, 1, 0}}},
		{"SFI 30, one record", "F0050501", []AFLEntry{{30, 5, 5, 1}}},
		{"empty", "", nil},
		{"not a multiple of 4", "080102", nil},
		{"SFI 0", "00010100", nil},
		{"SFI 31", "F8010100", nil},
		{"low bits set", "09010100", nil},
		{"first record 0", "08000100", nil},
		{"last before first", "08030200", nil},
		{"too many ODA records", "08010203", nil},
		{"second entry bad", "08010101 08000000", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := hx(tt.in)
			got, err := ParseAFL(in)
			if tt.want == nil {
				wantMalformed(t, err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			if !bytes.Equal(EncodeAFL(got), in) {
				t.Errorf("EncodeAFL = %X, want %X", EncodeAFL(got), in)
			}
		})
	}
}

func TestParseAFLPrefixes(t *testing.T) {
	// Truncation is detectable unless it falls on an entry boundary.
	for i := range len(fxAFL) {
		_, err := ParseAFL(fxAFL[:i])
		if (err == nil) != (i > 0 && i%4 == 0) {
			t.Errorf("prefix %X: err = %v", fxAFL[:i], err)
		}
	}
}

func TestAFLEntryString(t *testing.T) {
	if got, want := (AFLEntry{1, 1, 2, 2}).String(), "SFI 1 records 1-2 (2 for ODA)"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}
