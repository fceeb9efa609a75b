package pboc

import (
	"bytes"
	"encoding/hex"
	"strings"

	"github.com/sscard/ssc/apdu"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// Test data: the software card's personalisation of docs/pboc.md.

// hx decodes hex written with spaces for readability.
func hx(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// ber encodes one object whose value is the concatenation of parts.
func ber(tag apdu.Tag, parts ...[]byte) []byte {
	return apdu.AppendBER(nil, tag, bytes.Join(parts, nil))
}

func gbk(s string) []byte {
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil {
		panic(err)
	}
	return b
}

// padTo right-pads b with zeros to n bytes.
func padTo(b []byte, n int) []byte { return append(bytes.Clone(b), make([]byte, n-len(b))...) }

var (
	fxPDOL      = hx("9F6604 9F0206 9F0306 9F1A02 9505 5F2A02 9A03 9C01 9F3704 DF6901")
	fxAFL       = hx("08010202 10010200")
	fxLogFormat = hx("9A03 9F2103 9F0206 9F0306 9F1A02 5F2A02 9F4E14 9C01 9F3602")
	fxTrack2    = hx("6217991000001234561D31122201000000000000")

	fxPSEFCI = ber(0x6F, ber(0x84, PSEName()), ber(0xA5, ber(0x88, hx("01")), ber(0x5F2D, []byte("zhen"))))

	fxPPSEFCI = ber(0x6F, ber(0x84, PPSEName()), ber(0xA5, ber(0xBF0C,
		ber(0x61, ber(0x4F, AIDDebit()), ber(0x50, []byte("PBOC DEBIT")), ber(0x87, hx("01"))),
		ber(0x61, ber(0x4F, AIDECash()), ber(0x50, []byte("PBOC ECASH")), ber(0x87, hx("02"))))))

	fxDebitFCI = ber(0x6F, ber(0x84, AIDDebit()), ber(0xA5,
		ber(0x50, []byte("PBOC DEBIT")), ber(0x87, hx("01")), ber(0x9F38, fxPDOL),
		ber(0x5F2D, []byte("zhen")), ber(0x9F11, hx("01")), ber(0x9F12, []byte("UnionPay Debit")),
		ber(0xBF0C, ber(0x9F4D, hx("0B0A")))))

	fxECashFCI = ber(0x6F, ber(0x84, AIDECash()), ber(0xA5,
		ber(0x50, []byte("PBOC ECASH")), ber(0x87, hx("02")), ber(0x9F38, fxPDOL),
		ber(0x5F2D, []byte("zhen")), ber(0x9F12, gbk("电子现金")),
		ber(0xBF0C, ber(0x9F4D, hx("0B0A")))))

	fxDirRecord = ber(0x70,
		ber(0x61, ber(0x4F, AIDDebit()), ber(0x50, []byte("PBOC DEBIT")), ber(0x87, hx("01"))),
		ber(0x61, ber(0x4F, AIDECash()), ber(0x50, []byte("PBOC ECASH")), ber(0x87, hx("02"))))

	fxGPO1 = ber(0x80, hx("7C00"), fxAFL)
	fxGPO2 = ber(0x77, ber(0x82, hx("7C00")), ber(0x94, fxAFL), ber(0x9F36, hx("0001")))

	fxRecord11 = ber(0x70, ber(0x57, fxTrack2), ber(0x5F20, []byte("ZHANG/SAN")))
	fxRecord12 = ber(0x70,
		ber(0x5A, hx("6217991000001234561F")), ber(0x5F24, hx("311231")), ber(0x5F25, hx("211201")),
		ber(0x5F28, hx("0156")), ber(0x5F34, hx("01")), ber(0x9F07, hx("FF00")),
		ber(0x8E, hx("000000000000000042031E031F00")),
		ber(0x8C, hx("9F02069F03069F1A0295055F2A029A039C019F3704")),
		ber(0x8D, hx("8A029F02069F03069F1A0295055F2A029A039C019F3704")),
		ber(0x9F08, hx("0030")), ber(0x9F42, hx("0156")), ber(0x9F44, hx("02")),
		ber(0x9F63, hx("00000000000000000800000000000000")))

	// The three personalised log records, newest first.
	fxLog = [][]byte{
		bytes.Join([][]byte{hx("261120 093015 000000001250 000000000000 0156 0156"),
			padTo(gbk("社区卫生服务中心"), 20), hx("00 0003")}, nil),
		bytes.Join([][]byte{hx("261115 181002 000000003800 000000000000 0156 0156"),
			padTo(gbk("人民医院药房"), 20), hx("00 0002")}, nil),
		bytes.Join([][]byte{hx("261101 080000 000000000600 000000000000 0156 0156"),
			padTo(gbk("公交"), 20), hx("00 0001")}, nil),
	}
)
