package pboc

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
)

// TestWriteFuzzCorpus regenerates the seed corpora of fuzz_test.go from
// the docs/pboc.md personalisation. It only runs when asked:
//
//	PBOC_WRITE_FUZZ_CORPUS=1 go test -run TestWriteFuzzCorpus ./pboc
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("PBOC_WRITE_FUZZ_CORPUS") == "" {
		t.Skip("set PBOC_WRITE_FUZZ_CORPUS=1 to rewrite testdata/fuzz")
	}
	qpboc := ber(0x77, ber(0x82, hx("7C00")), ber(0x94, fxAFL), ber(0x9F36, hx("0002")),
		ber(0x9F26, hx("0102030405060708")), ber(0x9F27, hx("40")), ber(0x9F10, hx("07010103A000000A01000000000000")),
		ber(0x57, fxTrack2), ber(0x5F34, hx("01")), ber(0x9F6C, hx("0000")), ber(0x9F5D, hx("000000048750")))
	oda := odaSeeds(t)
	corpora := map[string][][][]byte{
		"FuzzParseFCI":             one(fxPSEFCI, fxPPSEFCI, fxDebitFCI, fxECashFCI),
		"FuzzParseDirectoryRecord": one(fxDirRecord),
		"FuzzParseAFL":             one(fxAFL, hx("08010200 10010400 18010300 20010100"), hx("08010100 10010301")),
		"FuzzParseDOL": one(fxPDOL, fxLogFormat, hx("9F3704"),
			hx("9F02069F03069F1A0295055F2A029A039C019F3704"), hx("8A029F02069F03069F1A0295055F2A029A039C019F3704")),
		"FuzzParseGPOResponse": one(fxGPO1, fxGPO2, qpboc, hx("8012 7C00 08010200 10010400 18010300 20010100"),
			hx("770E 82021C00 9408 08010100 10010301")),
		"FuzzParseLogRecord": {{fxLogFormat, fxLog[0]}, {fxLogFormat, fxLog[1]}, {fxLogFormat, fxLog[2]}},
		"FuzzParseRecord":    one(fxRecord11, fxRecord12, fxTrack2),
		"FuzzDescribe": one(fxPPSEFCI, fxDebitFCI, fxECashFCI, fxRecord11, fxRecord12, qpboc,
			ber(0x70, ber(0x8F, hx("80")), ber(0x90, oda[0])), ber(0x9F4F, fxLogFormat), ber(0x9F79, hx("000000050000"))),
		"FuzzParseODACerts": one(oda...),
		"FuzzParseAIDList":  one(aidListSeeds(t)...),
	}
	for target, seeds := range corpora {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, args := range seeds {
			var s strings.Builder
			s.WriteString("go test fuzz v1\n")
			for _, a := range args {
				fmt.Fprintf(&s, "[]byte(%q)\n", a)
			}
			name := filepath.Join(dir, fmt.Sprintf("seed-%02d", i+1))
			if err := os.WriteFile(name, []byte(s.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func one(seeds ...[]byte) [][][]byte {
	out := make([][][]byte, len(seeds))
	for i, s := range seeds {
		out[i] = [][]byte{s}
	}
	return out
}

// odaSeeds are SM2 ODA objects shaped like the software card's: issuer
// and ICC certificates, SSAD, a DDA and an fDDA signature (keys of
// package sm; the signatures need not verify for parsing seeds).
func odaSeeds(t *testing.T) [][]byte {
	key := simkeys.PBOCCAKey()
	var xy [64]byte
	key.PublicKey.X.FillBytes(xy[:32])
	key.PublicKey.Y.FillBytes(xy[32:])
	static := bytes.Join([][]byte{fxRecord11[2:], fxRecord12[3:], hx("7C00")}, nil)
	issuer, err := sm.SignIssuerCert(key, sm.IssuerCert{
		IssuerID: [4]byte{0x62, 0x17, 0x99, 0xFF}, Expiry: [2]byte{0x12, 0x35}, Serial: [3]byte{0, 0, 1}, PublicKey: xy,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var pan [10]byte
	copy(pan[:], hx("6217991000001234561F"))
	icc, err := sm.SignICCCert(key, sm.ICCCert{PAN: pan, Expiry: [2]byte{0x12, 0x31}, Serial: [3]byte{0, 0, 1}, PublicKey: xy}, static, nil)
	if err != nil {
		t.Fatal(err)
	}
	ssad, err := sm.SignStaticData(key, [2]byte{0xDA, 0xC1}, static, nil)
	if err != nil {
		t.Fatal(err)
	}
	dyn := hx("08 0102030405060708")
	dda, err := sm.SignDynamicData(key, sm.ODAFormatDDA, dyn, hx("01020304"), nil)
	if err != nil {
		t.Fatal(err)
	}
	fdda, err := sm.SignDynamicData(key, sm.ODAFormatFDDA, dyn, hx("01020304 000000001250 0156"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return [][]byte{issuer, icc, ssad, dda, fdda}
}

// aidListSeeds are terminal AID list files: the default list as
// MarshalAIDList writes it, the UnionPay-only file of the docs, JSON, and
// two refusals (missing partial, a duplicate).
func aidListSeeds(t *testing.T) [][]byte {
	def, err := MarshalAIDList(DefaultAIDs())
	if err != nil {
		t.Fatal(err)
	}
	unionPay, err := os.ReadFile(filepath.Join("testdata", "unionpay-only.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return [][]byte{def, unionPay,
		[]byte(`{"aids": [{"aid": "A0000000031010", "name": "Visa", "partial": true}]}`),
		[]byte("aids:\n  - aid: A0000000031010\n"),
		[]byte("aids:\n  - aid: A0000000031010\n    partial: true\n  - aid: a0000000031010\n    partial: false\n"),
	}
}
