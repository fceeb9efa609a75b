package pboc

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/sscard/ssc/apdu"
)

func TestParseDOL(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want DOL // nil with wantErr
		err  bool
	}{
		{name: "empty", in: "", want: DOL{}},
		{name: "DDOL", in: "9F3704", want: DOL{{0x9F37, 4}}},
		{name: "PDOL", in: "9F66049F02069F03069F1A0295055F2A029A039C019F3704DF6901", want: DOL{
			{0x9F66, 4}, {0x9F02, 6}, {0x9F03, 6}, {0x9F1A, 2}, {0x95, 5}, {0x5F2A, 2},
			{0x9A, 3}, {0x9C, 1}, {0x9F37, 4}, {0xDF69, 1}}},
		{name: "three-byte tag", in: "DF810102", want: DOL{{0xDF8101, 2}}},
		{name: "zero length", in: "9F3700", want: DOL{{0x9F37, 0}}},
		{name: "length 255", in: "9F37FF", want: DOL{{0x9F37, 255}}},
		{name: "no length", in: "9F37", err: true},
		{name: "truncated tag", in: "9F", err: true},
		{name: "truncated long tag", in: "DF81", err: true},
		{name: "leading zero tag number", in: "9F0004", err: true},
		{name: "five-byte tag", in: "DF8181818101", err: true},
		{name: "padding byte 00", in: "009F3704", err: true},
		{name: "padding byte FF", in: "FF", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := hx(tt.in)
			got, err := ParseDOL(in)
			if tt.err {
				wantMalformed(t, err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) || len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			if !bytes.Equal(got.Bytes(), in) {
				t.Errorf("Bytes() = %X, want %X", got.Bytes(), in)
			}
		})
	}
}

func TestParseDOLPrefixes(t *testing.T) {
	// A DOL cut between entries is a valid shorter DOL; cut inside an
	// entry it must be refused.
	entryEnds := map[int]bool{0: true}
	off := 0
	d, _ := ParseDOL(fxPDOL)
	for _, e := range d {
		off += e.Tag.Len() + 1
		entryEnds[off] = true
	}
	for i := range len(fxPDOL) {
		_, err := ParseDOL(fxPDOL[:i])
		if entryEnds[i] != (err == nil) {
			t.Errorf("prefix %X: err = %v", fxPDOL[:i], err)
		}
	}
}

func TestDOLDataLenAndString(t *testing.T) {
	d, err := ParseDOL(fxPDOL)
	if err != nil {
		t.Fatal(err)
	}
	// docs/pboc.md says 33, but the entries add up to 34 (as the sim has it).
	if got := d.DataLen(); got != 34 {
		t.Errorf("DataLen = %d, want 34", got)
	}
	if got, want := d.String(), "9F66(4) 9F02(6) 9F03(6) 9F1A(2) 95(5) 5F2A(2) 9A(3) 9C(1) 9F37(4) DF69(1)"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if DOL(nil).DataLen() != 0 {
		t.Error("empty DOL has data")
	}
}

func TestTerminalDOLData(t *testing.T) {
	date := time.Date(2026, 11, 20, 9, 30, 15, 0, time.UTC)
	term := Terminal{
		Amount: 1250, OtherAmount: 7, Date: date, TransactionType: 0x09,
		TTQ: [4]byte{0x26, 0, 0, 0}, TVR: [5]byte{0x80, 0, 0, 0, 1},
		UnpredictableNumber: hx("01020304"), SMSupported: true,
	}
	d, _ := ParseDOL(fxPDOL)
	got, err := term.DOLData(d)
	if err != nil {
		t.Fatal(err)
	}
	want := hx("26000000 000000001250 000000000007 0156 8000000001 0156 261120 09 01020304 01")
	if !bytes.Equal(got, want) {
		t.Errorf("DOLData = %X\nwant       %X", got, want)
	}
}

func TestTerminalValue(t *testing.T) {
	date := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	term := Terminal{
		Amount: 123456789012345, Date: date, CountryCode: 840, CurrencyCode: 978,
		UnpredictableNumber: hx("A1A2A3A4"), ECashSupported: true,
		Extra: map[apdu.Tag][]byte{
			0x9F1A: hx("0826"),                     // overrides CountryCode
			0x5A:   hx("6217"),                     // cn: F-padded
			0x9F7B: hx("000000010000"),             // n: right-justified
			0x9F35: hx("22"),                       // n2 as given
			0x9F1C: []byte("TERM0001"),             // an: left-justified
			0x9F4E: []byte("a merchant name long"), // truncated on the right
		},
	}
	tests := []struct {
		tag    apdu.Tag
		n      int
		want   string
		wantOK bool
	}{
		{0x9F02, 6, "456789012345", true}, // n12: the amount's low 12 digits
		{0x9F02, 4, "89012345", true},     // left-truncated
		{0x9F02, 8, "0000456789012345", true},
		{0x9F03, 6, "000000000000", true},
		{0x9F1A, 2, "0826", true},
		{0x5F2A, 2, "0978", true},
		{0x5F2A, 3, "000978", true},
		{0x9A, 3, "260102", true},
		{0x9F21, 3, "030405", true},
		{0x9F21, 2, "0405", true},
		{0x9C, 1, "00", true},
		{0x9F66, 4, "00000000", true},
		{0x95, 5, "0000000000", true},
		{0x95, 6, "000000000000", true},
		{0x9F37, 4, "A1A2A3A4", true},
		{0x9F37, 2, "A1A2", true}, // binary: truncated on the right
		{0x9F37, 6, "A1A2A3A40000", true},
		{0xDF69, 1, "00", true},
		{0x9F7A, 1, "01", true},
		{0x5A, 4, "6217FFFF", true},
		{0x9F7B, 8, "0000000000010000", true},
		{0x9F7B, 3, "010000", true},
		{0x9F35, 1, "22", true},
		{0x9F1C, 10, "5445524D303030310000", true},
		{0x9F4E, 8, "61206D65726368616E74"[:16], true},
		{0x9F45, 2, "0000", false},   // unknown to the terminal
		{0xDF7F, 3, "000000", false}, // not in the dictionary either
		{0x9F37, 0, "", true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s_%d", tt.tag, tt.n), func(t *testing.T) {
			v, ok := term.Value(tt.tag, tt.n)
			if fmt.Sprintf("%X", v) != tt.want || ok != tt.wantOK {
				t.Errorf("Value = %X, %v; want %s, %v", v, ok, tt.want, tt.wantOK)
			}
			if len(v) != tt.n {
				t.Errorf("len = %d, want %d", len(v), tt.n)
			}
		})
	}
}

func TestTerminalDefaults(t *testing.T) {
	var term Terminal
	d := DOL{{0x9F1A, 2}, {0x5F2A, 2}, {0x9F37, 4}, {0x9A, 3}, {0x9F21, 3}, {0x9F37, 4}}
	before := time.Now()
	got, err := term.DOLData(d)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != d.DataLen() {
		t.Fatalf("%d bytes, want %d", len(got), d.DataLen())
	}
	if !bytes.Equal(got[:4], hx("01560156")) {
		t.Errorf("country/currency %X, want 0156 0156", got[:4])
	}
	// One unpredictable number per call, even when asked twice.
	if !bytes.Equal(got[4:8], got[14:18]) {
		t.Errorf("9F37 differs within one DOL: %X %X", got[4:8], got[14:18])
	}
	if term.UnpredictableNumber != nil || !term.Date.IsZero() {
		t.Error("DOLData modified the terminal")
	}
	// The date is today's (allow for midnight passing during the test).
	after := time.Now()
	if s := fmt.Sprintf("%X", got[8:11]); s != before.Format("060102") && s != after.Format("060102") {
		t.Errorf("9A = %s, want %s", s, before.Format("060102"))
	}
	again, _ := term.DOLData(d)
	if bytes.Equal(got[4:8], again[4:8]) && bytes.Equal(got[4:8], again[14:18]) {
		// 2^-32 chance of a false alarm.
		t.Errorf("9F37 %X repeated across calls", got[4:8])
	}
}
