package pboc_test

import (
	"encoding/hex"
	"fmt"
	"os"
	"time"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/pboc"
)

// The software card's debit ADF FCI (docs/pboc.md).
const exampleFCI = "6F5D8408A000000333010101A55150" + "0A50424F43204445424954" + "870101" +
	"9F381B9F66049F02069F03069F1A0295055F2A029A039C019F3704DF6901" + "5F2D047A68656E" +
	"9F110101" + "9F120E556E696F6E506179204465626974" + "BF0C059F4D020B0A"

func ExampleParseFCI() {
	b, _ := hex.DecodeString(exampleFCI)
	fci, err := pboc.ParseFCI(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(fci.DFName, pboc.AIDName(fci.DFName))
	fmt.Println(fci.Label, "/", fci.PreferredName, "priority", fci.Priority.Rank())
	fmt.Println("PDOL", fci.PDOL, "=", fci.PDOL.DataLen(), "bytes")
	fmt.Println("log in SFI", fci.LogEntry.SFI, "records", fci.LogEntry.Records)
	// Output:
	// A000000333010101 UnionPay Debit
	// PBOC DEBIT / UnionPay Debit priority 1
	// PDOL 9F66(4) 9F02(6) 9F03(6) 9F1A(2) 95(5) 5F2A(2) 9A(3) 9C(1) 9F37(4) DF69(1) = 34 bytes
	// log in SFI 11 records 10
}

func ExampleFormatTLV() {
	b, _ := hex.DecodeString("770E82027C0094080801020210010200")
	list, err := apdu.ParseBER(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	pboc.FormatTLV(os.Stdout, list)
	// Output:
	// 77 Response Message Template Format 2 [14]
	//   82 Application Interchange Profile [2]: 7C00 = SDA, DDA, cardholder verification, terminal risk management, issuer authentication
	//   94 Application File Locator (AFL) [8]: 0801020210010200 = SFI 1 records 1-2 (2 for ODA); SFI 2 records 1-2 (0 for ODA)
}

func ExampleTerminal_DOLData() {
	pdol, _ := pboc.ParseDOL([]byte{0x9F, 0x02, 0x06, 0x5F, 0x2A, 0x02, 0x9A, 0x03, 0x9F, 0x37, 0x04, 0xDF, 0x69, 0x01})
	t := pboc.Terminal{
		Amount:              1250, // 12.50 yuan
		Date:                time.Date(2026, 11, 20, 9, 30, 15, 0, time.Local),
		UnpredictableNumber: []byte{0x12, 0x34, 0x56, 0x78},
		SMSupported:         true,
	}
	data, err := t.DOLData(pdol)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%X\n", data)
	// Output:
	// 00000000125001562611201234567801
}

func ExampleParseGPOResponse() {
	b, _ := hex.DecodeString("800A7C000801020210010200")
	r, err := pboc.ParseGPOResponse(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("format %d, AIP %X (SDA %v, DDA %v)\n", r.Format, r.AIP, r.AIP.SDA(), r.AIP.DDA())
	for _, e := range r.AFL {
		fmt.Println(e)
	}
	// Output:
	// format 1, AIP 7C00 (SDA true, DDA true)
	// SFI 1 records 1-2 (2 for ODA)
	// SFI 2 records 1-2 (0 for ODA)
}

func ExampleParseLogRecord() {
	format, _ := hex.DecodeString("9A039F21039F02069F03069F1A025F2A029F4E149C019F3602")
	rec, _ := hex.DecodeString("261101" + "080000" + "000000000600" + "000000000000" + "0156" + "0156" +
		"B9ABBDBB" + "00000000000000000000000000000000" + "00" + "0001")
	dol, err := pboc.ParseDOL(format)
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := pboc.ParseLogRecord(dol, rec)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Date, r.Time, r.Amount, r.Currency, r.Merchant, r.ATC)
	// Output:
	// 2026-11-01 08:00:00 600 156 公交 1
}

func ExampleNewAccount() {
	rec, _ := hex.DecodeString("7029" + "5A0A6217991000001234561F" + "5F2403311231" + "5F340101" +
		"9F631000000000000000000800000000000000")
	objs, err := pboc.ParseRecord(rec)
	if err != nil {
		fmt.Println(err)
		return
	}
	a, err := pboc.NewAccount(nil, objs)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(a.PAN, a.PANSequence, a.Expiry, a.SocialSecurityCard, a.ProductFlags)
	// Output:
	// 6217991000001234561 01 2031-12-31 true [社保卡]
}
