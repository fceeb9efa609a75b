package pboc

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/sscard/ssc/apdu"
)

func mustBER(t *testing.T, b []byte) []apdu.TLV {
	t.Helper()
	l, err := apdu.ParseBER(b)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestFormatTLV(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"PSE FCI", fxPSEFCI, `
6F File Control Information (FCI) Template [28]
  84 Dedicated File (DF) Name [14]: 315041592E5359532E4444463031 = "1PAY.SYS.DDF01"
  A5 File Control Information (FCI) Proprietary Template [10]
    88 Short File Identifier (SFI) [1]: 01 = SFI 1
    5F2D Language Preference [4]: 7A68656E = "zhen"
`},
		{"GPO format 1", fxGPO1, `
80 Response Message Template Format 1 [10]: 7C000801020210010200 = AIP 7C00 (SDA, DDA, cardholder verification, terminal risk management, issuer authentication); AFL SFI 1 records 1-2 (2 for ODA); SFI 2 records 1-2 (0 for ODA)
`},
		{"record", fxRecord11, `
70 READ RECORD Response Message Template [34]
  57 Track 2 Equivalent Data [20]: 6217991000001234561D31122201000000000000 = PAN 6217991000001234561, expiry 3112, service code 220, discretionary 1000000000000
  5F20 Cardholder Name [9]: 5A48414E472F53414E = "ZHANG/SAN"
`},
		{"preferred name with code table", ber(0x61, ber(0x9F11, hx("01")), ber(0x9F12, hx("4372E9646974")), ber(0x87, hx("81"))), `
61 Application Template [16]
  9F11 Issuer Code Table Index [1]: 01 = ISO 8859-1
  9F12 Application Preferred Name [6]: 4372E9646974 = "Crédit"
  87 Application Priority Indicator [1]: 81 = priority 1, cardholder confirmation required
`},
		{"e-cash and log", bytes.Join([][]byte{
			ber(0x9F79, hx("000000050000")), ber(0x9F4F, fxLogFormat), ber(0x9F4E, padTo(gbk("公交"), 8)),
			ber(0x9A, hx("261120")), ber(0x9F21, hx("093015")), ber(0x9F36, hx("0003")),
			ber(0x9F4A, hx("82")), ber(0x9F63, hx("000000000000000008")), ber(0xDF69, hx("01")),
			ber(0x9F02, hx("00000000125A")), ber(0xDF7F, hx("00")), ber(0xBF7F),
		}, nil), `
9F79 E-cash Balance [6]: 000000050000 = 500.00
9F4F Log Format [25]: 9A039F21039F02069F03069F1A025F2A029F4E149C019F3602 = 9A(3) 9F21(3) 9F02(6) 9F03(6) 9F1A(2) 5F2A(2) 9F4E(20) 9C(1) 9F36(2)
9F4E Merchant Name and Location [8]: B9ABBDBB00000000 = "公交"
9A Transaction Date [3]: 261120 = 2026-11-20
9F21 Transaction Time [3]: 093015 = 09:30:15
9F36 Application Transaction Counter (ATC) [2]: 0003 = 3
9F4A Static Data Authentication Tag List [1]: 82 = 82
9F63 Product Identification Information [9]: 000000000000000008 = 社保卡
DF69 SM Algorithm Support Indicator [1]: 01 = supported
9F02 Amount, Authorised (Numeric) [6]: 00000000125A
DF7F unknown [1]: 00
BF7F unknown [0]
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			if err := FormatTLV(&out, mustBER(t, tt.in)); err != nil {
				t.Fatal(err)
			}
			if got, want := out.String(), strings.TrimPrefix(tt.want, "\n"); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

type failWriter struct{}

var errWrite = errors.New("write failed")

func (failWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestFormatTLVWriteError(t *testing.T) {
	if err := FormatTLV(failWriter{}, mustBER(t, fxGPO1)); !errors.Is(err, errWrite) {
		t.Errorf("err = %v", err)
	}
}

func TestDescribe(t *testing.T) {
	nodes := Describe(mustBER(t, fxECashFCI))
	got, err := json.Marshal(nodes)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`{"tag":"6F","name":"File Control Information (FCI) Template","length":83,"children":[`,
		`{"tag":"84","name":"Dedicated File (DF) Name","length":8,"value":"A000000333010106","text":"UnionPay e-Cash"}`,
		`{"tag":"9F12","name":"Application Preferred Name","length":8,"value":"B5E7D7D3CFD6BDF0","text":"电子现金"}`,
		`{"tag":"9F4D","name":"Log Entry","length":2,"value":"0B0A","text":"SFI 11, 10 records"}`,
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("JSON lacks %s\n%s", want, got)
		}
	}
	if Describe(nil) != nil {
		t.Error("Describe(nil) != nil")
	}
	// A constructed object built by hand with an unparsed value is shown
	// as hex rather than dropped.
	n := Describe([]apdu.TLV{{Tag: 0x70, Value: hx("5A01")}})
	if len(n) != 1 || n[0].Value.String() != "5A01" || n[0].Children != nil {
		t.Errorf("unparsed template: %+v", n)
	}
}
