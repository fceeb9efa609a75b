package pboc

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/sscard/ssc/apdu"
)

func TestParseTrack2(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *Track2
	}{
		{"sim", "6217991000001234561D31122201000000000000", &Track2{"6217991000001234561", "3112", "220", "1000000000000"}},
		{"F-padded", "6217991000001234561D3112220100000000000F", &Track2{"6217991000001234561", "3112", "220", "100000000000"}},
		{"16-digit PAN", "6228230029000005D29122011234", &Track2{"6228230029000005", "2912", "201", "1234"}},
		{"no discretionary data", "6228230029000005274D2912201F", &Track2{"6228230029000005274", "2912", "201", ""}},
		{"no separator", "62282300290000052749912201", nil},
		{"letter in PAN", "6228A30029000005274D2912201F", nil},
		{"F inside", "6228F30029000005274D2912201F", nil},
		{"two separators", "6228230029000005274D2912D01F", nil},
		{"service code cut", "6228230029000005274D291220", nil},
		{"month 13", "6228230029000005274D2913201F", nil},
		{"month 00", "6228230029000005274D2900201F", nil},
		{"empty PAN", "D2912201", nil},
		{"20-digit PAN", "62282300290000052740D2912201", nil},
		{"empty", "", nil},
		{"too long", "6217991000001234561D311222010000000000000000", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTrack2(hx(tt.in))
			if tt.want == nil {
				wantMalformed(t, err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *got != *tt.want {
				t.Errorf("got %+v, want %+v", *got, *tt.want)
			}
		})
	}
}

func TestParseRecord(t *testing.T) {
	objs, err := ParseRecord(fxRecord11)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[0].Tag != 0x57 || objs[1].Tag != 0x5F20 {
		t.Fatalf("objects %v", objs)
	}
	if _, err := ParseRecord(append(bytes.Clone(fxRecord12), 0xFF, 0xFF)); err != nil {
		t.Errorf("padded record: %v", err)
	}
	for _, in := range [][]byte{fxRecord11, fxRecord12} {
		rejectsPrefixes(t, in, func(b []byte) error { _, err := ParseRecord(b); return err })
	}
	for name, in := range map[string][]byte{
		"not 70":      ber(0x77, ber(0x5A, hx("6217"))),
		"two records": append(bytes.Clone(fxRecord11), fxRecord11...),
		"bare object": ber(0x5A, hx("6217")),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseRecord(in)
			wantMalformed(t, err)
		})
	}
}

func simObjects(t *testing.T) []apdu.TLV {
	t.Helper()
	var objs []apdu.TLV
	for _, r := range [][]byte{fxRecord11, fxRecord12} {
		o, err := ParseRecord(r)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, o...)
	}
	return objs
}

func TestNewAccount(t *testing.T) {
	fci, err := ParseFCI(fxDebitFCI)
	if err != nil {
		t.Fatal(err)
	}
	got, err := NewAccount(fci, simObjects(t))
	if err != nil {
		t.Fatal(err)
	}
	want := &Account{
		AID: AIDDebit(), Label: "PBOC DEBIT", PreferredName: "UnionPay Debit",
		PAN: "6217991000001234561", PANSequence: "01", Expiry: "2031-12-31", Effective: "2021-12-01",
		Cardholder: "ZHANG/SAN", IssuerCountry: "156", Currency: "156",
		Track2:     &Track2{"6217991000001234561", "3112", "220", "1000000000000"},
		AppVersion: hx("0030"), ProductID: hx("00000000000000000800000000000000"),
		SocialSecurityCard: true, ProductFlags: []string{"社保卡"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestNewAccountVariants(t *testing.T) {
	// Objects nested in templates (a format 2 GPO answer) are found too,
	// and 9F0B replaces 5F20.
	objs := []apdu.TLV{
		{Tag: 0x77, Children: []apdu.TLV{{Tag: 0x5A, Value: hx("6228230029000005274F")}}},
		{Tag: 0x5F20, Value: []byte("LI/SI ")},
		{Tag: 0x9F0B, Value: []byte("OUYANG/XIAOMING   ")},
		{Tag: 0x9F63, Value: hx("000000000000000081")},
	}
	a, err := NewAccount(nil, objs)
	if err != nil {
		t.Fatal(err)
	}
	if a.PAN != "6228230029000005274" || a.Cardholder != "OUYANG/XIAOMING" || a.SocialSecurityCard ||
		!reflect.DeepEqual(a.ProductFlags, []string{"市民卡", "公共缴费"}) || a.AID != nil {
		t.Errorf("got %+v", a)
	}
}

func TestNewAccountRejects(t *testing.T) {
	base := func(extra ...apdu.TLV) []apdu.TLV {
		return append([]apdu.TLV{{Tag: 0x5A, Value: hx("6217991000001234561F")}}, extra...)
	}
	tests := []struct {
		name string
		objs []apdu.TLV
	}{
		{"PAN not cn", []apdu.TLV{{Tag: 0x5A, Value: hx("62179910A0")}}},
		{"PAN empty", []apdu.TLV{{Tag: 0x5A, Value: hx("FF")}}},
		{"PAN too long", []apdu.TLV{{Tag: 0x5A, Value: hx("62179910000012345612")}}},
		{"PSN two bytes", base(apdu.TLV{Tag: 0x5F34, Value: hx("0001")})},
		{"PSN not BCD", base(apdu.TLV{Tag: 0x5F34, Value: hx("0A")})},
		{"expiry 2 bytes", base(apdu.TLV{Tag: 0x5F24, Value: hx("3112")})},
		{"expiry Feb 30", base(apdu.TLV{Tag: 0x5F24, Value: hx("310230")})},
		{"effective month 0", base(apdu.TLV{Tag: 0x5F25, Value: hx("210001")})},
		{"name not ASCII", base(apdu.TLV{Tag: 0x5F20, Value: gbk("张三")})},
		{"country 3 bytes", base(apdu.TLV{Tag: 0x5F28, Value: hx("000156")})},
		{"currency not n3", base(apdu.TLV{Tag: 0x9F42, Value: hx("1156")})},
		{"bad track 2", base(apdu.TLV{Tag: 0x57, Value: hx("6217")})},
		{"track 2 PAN differs", base(apdu.TLV{Tag: 0x57, Value: hx("6217991000001234562D31122201000000000000")})},
		{"track 2 expiry differs", base(apdu.TLV{Tag: 0x5F24, Value: hx("311130")}, apdu.TLV{Tag: 0x57, Value: fxTrack2})},
		{"9F63 short", base(apdu.TLV{Tag: 0x9F63, Value: hx("0000000000000000")})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewAccount(nil, tt.objs)
			wantMalformed(t, err)
		})
	}
}

func TestNewAccountMissingPAN(t *testing.T) {
	_, err := NewAccount(nil, []apdu.TLV{{Tag: 0x5F20, Value: []byte("X")}})
	var m *MissingDataError
	if !errors.As(err, &m) || m.Tag != 0x5A || !errors.Is(err, ErrMissingData) {
		t.Fatalf("err = %v, want MissingDataError for 5A", err)
	}
	if got := err.Error(); got != "pboc: account: data object 5A (Application Primary Account Number (PAN)) missing" {
		t.Errorf("message %q", got)
	}
}

func TestProductFlags(t *testing.T) {
	if got := ProductFlags(0xFF); len(got) != 8 || got[4] != "社保卡" {
		t.Errorf("ProductFlags(FF) = %v", got)
	}
	if got := ProductFlags(0); got != nil {
		t.Errorf("ProductFlags(0) = %v", got)
	}
}
