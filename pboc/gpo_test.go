package pboc

import (
	"bytes"
	"fmt"
	"testing"
)

func TestParseGPOResponse(t *testing.T) {
	qpboc := ber(0x77, ber(0x82, hx("7C00")), ber(0x94, fxAFL), ber(0x9F36, hx("0002")),
		ber(0x9F26, hx("0102030405060708")), ber(0x9F27, hx("40")), ber(0x57, fxTrack2))
	tests := []struct {
		name    string
		in      []byte
		format  int
		aip     AIP
		afl     string
		dataTag string
	}{
		{"format 1", fxGPO1, 1, AIP{0x7C, 0x00}, "[SFI 1 records 1-2 (2 for ODA) SFI 2 records 1-2 (0 for ODA)]", ""},
		{"format 1 from the facts", hx("8012 7C00 08010200 10010400 18010300 20010100"), 1, AIP{0x7C, 0}, "[SFI 1 records 1-2 (0 for ODA) SFI 2 records 1-4 (0 for ODA) SFI 3 records 1-3 (0 for ODA) SFI 4 records 1-1 (0 for ODA)]", ""},
		{"format 2", fxGPO2, 2, AIP{0x7C, 0x00}, "[SFI 1 records 1-2 (2 for ODA) SFI 2 records 1-2 (0 for ODA)]", "9F36"},
		{"format 2 from the facts", hx("770E 82021C00 9408 08010100 10010301"), 2, AIP{0x1C, 0}, "[SFI 1 records 1-1 (0 for ODA) SFI 2 records 1-3 (1 for ODA)]", ""},
		{"qPBOC", qpboc, 2, AIP{0x7C, 0}, "[SFI 1 records 1-2 (2 for ODA) SFI 2 records 1-2 (0 for ODA)]", "9F36 9F26 9F27 57"},
		{"format 1 without AFL", hx("8002 0080"), 1, AIP{0, 0x80}, "[]", ""},
		{"format 2 without AFL", ber(0x77, ber(0x82, hx("0000")), ber(0x9F36, hx("0001"))), 2, AIP{}, "[]", "9F36"},
		{"format 2 empty AFL", ber(0x77, ber(0x82, hx("0000")), ber(0x94)), 2, AIP{}, "[]", ""},
		{"padded", append(bytes.Clone(fxGPO1), 0x00), 1, AIP{0x7C, 0}, "[SFI 1 records 1-2 (2 for ODA) SFI 2 records 1-2 (0 for ODA)]", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseGPOResponse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			var tags string
			for i, d := range r.Data {
				if i > 0 {
					tags += " "
				}
				tags += d.Tag.String()
			}
			if r.Format != tt.format || r.AIP != tt.aip || fmt.Sprint(r.AFL) != tt.afl || tags != tt.dataTag {
				t.Errorf("got format %d AIP %X AFL %v data %q", r.Format, r.AIP, r.AFL, tags)
			}
			if !bytes.Equal(r.Raw, tt.in) {
				t.Errorf("Raw = %X", r.Raw)
			}
		})
	}
}

func TestParseGPOResponseRejects(t *testing.T) {
	for name, in := range map[string][]byte{
		"empty":               nil,
		"wrong tag":           hx("8102 7C00"),
		"format 1 no AIP":     hx("8001 7C"),
		"format 1 odd AFL":    hx("8005 7C00 080101"),
		"format 1 bad AFL":    hx("8006 7C00 08000000"),
		"format 2 no AIP":     ber(0x77, ber(0x94, fxAFL)),
		"format 2 AIP 3":      ber(0x77, ber(0x82, hx("7C0000")), ber(0x94, fxAFL)),
		"format 2 bad AFL":    ber(0x77, ber(0x82, hx("7C00")), ber(0x94, hx("080102"))),
		"two objects":         append(bytes.Clone(fxGPO1), fxGPO1...),
		"status word trailer": append(bytes.Clone(fxGPO1), 0x90, 0x00),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseGPOResponse(in)
			wantMalformed(t, err)
		})
	}
	for _, in := range [][]byte{fxGPO1, fxGPO2} {
		rejectsPrefixes(t, in, func(b []byte) error { _, err := ParseGPOResponse(b); return err })
	}
}

func TestAIPBits(t *testing.T) {
	a := AIP{0x7C, 0x00}
	if !a.SDA() || !a.DDA() || !a.CVM() || !a.TRM() || !a.IssuerAuth() || a.CDA() {
		t.Errorf("7C00 bits wrong")
	}
	if b := (AIP{0x01, 0}); !b.CDA() || b.SDA() {
		t.Errorf("0100 bits wrong")
	}
}
