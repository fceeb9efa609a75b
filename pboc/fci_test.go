package pboc

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/sscard/ssc/apdu"
)

func TestParseFCI(t *testing.T) {
	pdol, _ := ParseDOL(fxPDOL)
	tests := []struct {
		name string
		in   []byte
		want FCI
	}{
		{"PSE", fxPSEFCI, FCI{DFName: PSEName(), DirectorySFI: 1, Languages: "zhen"}},
		{"PPSE", fxPPSEFCI, FCI{DFName: PPSEName(), Entries: []DirectoryEntry{
			{AID: AIDDebit(), Label: "PBOC DEBIT", Priority: 1, HasPriority: true},
			{AID: AIDECash(), Label: "PBOC ECASH", Priority: 2, HasPriority: true},
		}}},
		{"debit ADF", fxDebitFCI, FCI{
			DFName: AIDDebit(), Label: "PBOC DEBIT", PreferredName: "UnionPay Debit",
			Priority: 1, HasPriority: true, PDOL: pdol, Languages: "zhen", IssuerCodeTable: 1,
			LogEntry: &LogEntry{SFI: 11, Records: 10},
		}},
		{"e-cash ADF, GBK preferred name", fxECashFCI, FCI{
			DFName: AIDECash(), Label: "PBOC ECASH", PreferredName: "电子现金",
			Priority: 2, HasPriority: true, PDOL: pdol, Languages: "zhen",
			LogEntry: &LogEntry{SFI: 11, Records: 10},
		}},
		{"padding after the template", append(bytes.Clone(fxPSEFCI), 0x00, 0xFF, 0x00),
			FCI{DFName: PSEName(), DirectorySFI: 1, Languages: "zhen"}},
		{"load log, ISO 8859-1 name, no priority", ber(0x6F, ber(0x84, AIDDebit()), ber(0xA5,
			ber(0x9F11, hx("01")), ber(0x9F12, hx("4361F17465")),
			ber(0xBF0C, ber(0x9F4D, hx("0B0A")), ber(0xDF4D, hx("0C05"))))),
			FCI{DFName: AIDDebit(), PreferredName: "Cañte", IssuerCodeTable: 1,
				LogEntry: &LogEntry{11, 10}, LoadLogEntry: &LogEntry{12, 5}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFCI(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got.Proprietary = nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestParseFCIProprietary(t *testing.T) {
	f, err := ParseFCI(fxDebitFCI)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := apdu.FindBER(f.Proprietary, 0xBF0C, 0x9F4D); !ok || !bytes.Equal(v.Value, hx("0B0A")) {
		t.Errorf("Proprietary has no BF0C/9F4D: %v", f.Proprietary)
	}
}

func TestParseFCIRejects(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"only padding", hx("0000FF")},
		{"not 6F", ber(0x70, ber(0x84, PSEName()), ber(0xA5))},
		{"two templates", append(bytes.Clone(fxPSEFCI), fxPSEFCI...)},
		{"trailing object", append(bytes.Clone(fxPSEFCI), ber(0x9F36, hx("0001"))...)},
		{"no 84", ber(0x6F, ber(0xA5, ber(0x88, hx("01"))))},
		{"no A5", ber(0x6F, ber(0x84, PSEName()))},
		{"empty 84", ber(0x6F, ber(0x84), ber(0xA5))},
		{"84 too long", ber(0x6F, ber(0x84, make([]byte, 17)), ber(0xA5))},
		{"SFI 0", ber(0x6F, ber(0x84, PSEName()), ber(0xA5, ber(0x88, hx("00"))))},
		{"SFI 31", ber(0x6F, ber(0x84, PSEName()), ber(0xA5, ber(0x88, hx("1F"))))},
		{"SFI two bytes", ber(0x6F, ber(0x84, PSEName()), ber(0xA5, ber(0x88, hx("0101"))))},
		{"bad PDOL", ber(0x6F, ber(0x84, AIDDebit()), ber(0xA5, ber(0x9F38, hx("9F37"))))},
		{"control char in label", ber(0x6F, ber(0x84, AIDDebit()), ber(0xA5, ber(0x50, []byte("PBOC\x07"))))},
		{"bad GBK name", ber(0x6F, ber(0x84, AIDDebit()), ber(0xA5, ber(0x9F12, hx("81"))))},
		{"9F11 not BCD", ber(0x6F, ber(0x84, AIDDebit()), ber(0xA5, ber(0x9F11, hx("0A"))))},
		{"87 two bytes", ber(0x6F, ber(0x84, AIDDebit()), ber(0xA5, ber(0x87, hx("0101"))))},
		{"language not ASCII", ber(0x6F, ber(0x84, AIDDebit()), ber(0xA5, ber(0x5F2D, hx("7A68C3A9"))))},
		{"log entry 1 byte", ber(0x6F, ber(0x84, AIDDebit()), ber(0xA5, ber(0xBF0C, ber(0x9F4D, hx("0B")))))},
		{"log SFI 0", ber(0x6F, ber(0x84, AIDDebit()), ber(0xA5, ber(0xBF0C, ber(0xDF4D, hx("000A")))))},
		{"PPSE entry without AID", ber(0x6F, ber(0x84, PPSEName()), ber(0xA5, ber(0xBF0C, ber(0x61, ber(0x50, []byte("X"))))))},
		{"bad BER inside", hx("6F05 8403 A00000")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFCI(tt.in)
			wantMalformed(t, err)
		})
	}
}

func TestParseFCIPrefixes(t *testing.T) {
	for _, in := range [][]byte{fxPSEFCI, fxPPSEFCI, fxDebitFCI, fxECashFCI} {
		rejectsPrefixes(t, in, func(b []byte) error { _, err := ParseFCI(b); return err })
	}
}

func TestParseFCIOwnsBytes(t *testing.T) {
	in := bytes.Clone(fxDebitFCI)
	f, err := ParseFCI(in)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		in[i] = 0
	}
	if !bytes.Equal(f.DFName, AIDDebit()) {
		t.Errorf("DF name changed with the input: %X", f.DFName)
	}
}

func TestParseDirectoryRecord(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want []DirectoryEntry
	}{
		{"sim", fxDirRecord, []DirectoryEntry{
			{AID: AIDDebit(), Label: "PBOC DEBIT", Priority: 1, HasPriority: true},
			{AID: AIDECash(), Label: "PBOC ECASH", Priority: 2, HasPriority: true},
		}},
		{"all fields, other objects ignored", ber(0x70, ber(0x9F36, hx("0001")), ber(0x61,
			ber(0x4F, AIDCredit()), ber(0x50, []byte("CREDIT")), ber(0x9F11, hx("01")),
			ber(0x9F12, hx("4372E9646974")), ber(0x87, hx("81")), ber(0x73, ber(0x9F0A, hx("01"))),
			ber(0x9F2A, hx("07")))), []DirectoryEntry{{
			AID: AIDCredit(), Label: "CREDIT", PreferredName: "Crédit", Priority: 0x81, HasPriority: true,
			KernelID: hx("07"), Discretionary: ber(0x9F0A, hx("01")), IssuerCodeTable: 1,
		}}},
		{"padded", append(bytes.Clone(fxDirRecord), 0, 0), []DirectoryEntry{
			{AID: AIDDebit(), Label: "PBOC DEBIT", Priority: 1, HasPriority: true},
			{AID: AIDECash(), Label: "PBOC ECASH", Priority: 2, HasPriority: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDirectoryRecord(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
	rejectsPrefixes(t, fxDirRecord, func(b []byte) error { _, err := ParseDirectoryRecord(b); return err })
}

func TestParseDirectoryRecordRejects(t *testing.T) {
	for name, in := range map[string][]byte{
		"no entries":      ber(0x70, ber(0x9F36, hx("0001"))),
		"empty":           ber(0x70),
		"not 70":          ber(0x6F, ber(0x61, ber(0x4F, AIDDebit()))),
		"AID too short":   ber(0x70, ber(0x61, ber(0x4F, hx("A000000333")[:4]))),
		"AID too long":    ber(0x70, ber(0x61, ber(0x4F, make([]byte, 17)))),
		"no AID":          ber(0x70, ber(0x61, ber(0x50, []byte("X")))),
		"bad priority":    ber(0x70, ber(0x61, ber(0x4F, AIDDebit()), ber(0x87))),
		"trailing object": append(bytes.Clone(fxDirRecord), ber(0x70, ber(0x61, ber(0x4F, AIDDebit())))...),
		"second bad":      ber(0x70, ber(0x61, ber(0x4F, AIDDebit())), ber(0x61, ber(0x50, []byte("X")))),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseDirectoryRecord(in)
			wantMalformed(t, err)
		})
	}
}
