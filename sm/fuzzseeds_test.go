package sm

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// The seed corpora of the asymmetric fuzz targets live in
// testdata/fuzz/<target>/ and are produced from the SIM test keys by this
// test and TestCertFuzzSeeds with -update-testca (go test ./sm -run
// FuzzSeeds -update-testca). Without the flag they check that the seeds
// are all there.

var testcaUpdate = flag.Bool("update-testca", false, "rewrite the seed corpora of the asymmetric fuzz targets (testdata/fuzz)")

func testcaSeeds(t *testing.T) map[string]map[string][]byte {
	t.Helper()
	f := newODAFixture(t)
	set := func(b []byte, i int, v byte) []byte { c := append([]byte(nil), b...); c[i] = v; return c }

	cardKey := simCardSigningKey(t, sm2Hex(t, gen2CardID))
	ef0012, _ := MarshalCardPublicKey(&cardKey.PublicKey)
	uncompressed, _ := MarshalPublicKey(&cardKey.PublicKey)
	offCurve := set(ef0012, 65, ef0012[65]^1)

	vecDER := mustDER(t, sm2Hex(t, sm2VecR+sm2VecS))

	return map[string]map[string][]byte{
		"FuzzParseIssuerCert": {
			"valid":     f.issuerCert,
			"expired":   f.issuerCertExpired,
			"month13":   set(f.issuerCert, 5, 0x13),
			"pklen41":   set(f.issuerCert, 13, 0x41),
			"truncated": f.issuerCert[:141],
			"icc-cert":  f.iccCert,
			"empty":     {},
		},
		"FuzzParseICCCert": {
			"valid":      f.iccCert,
			"bad-pan":    f.iccCertBadPAN,
			"pklen00":    set(f.iccCert, 19, 0x00),
			"truncated":  f.iccCert[:100],
			"issuercert": f.issuerCert,
		},
		"FuzzParseSignedStaticData": {
			"valid":     f.ssad,
			"format03":  set(f.ssad, 0, 0x03),
			"truncated": f.ssad[:66],
		},
		"FuzzParseDynamicSignature": {
			"dda":        f.dda,
			"fdda":       f.fdda,
			"empty-data": odaMust(SignDynamicData(f.iccKey, ODAFormatDDA, nil, nil, nil)),
			"bad-length": set(f.dda, 1, 0xFF),
			"cda-a5":     set(f.dda, 0, 0xA5),
		},
		"FuzzParseCardPublicKey": {
			"ef0012":       ef0012,
			"no-key":       make([]byte, 66),
			"header-zeros": append([]byte{0x00, 0x40}, make([]byte, 64)...),
			"off-curve":    offCurve,
			"sec1":         uncompressed,
			"xy":           uncompressed[1:],
		},
		"FuzzSignatureDER": {
			"vector":      vecDER,
			"small":       sm2Hex(t, "300602010102017F"),
			"trailing":    append(append([]byte(nil), vecDER...), 0),
			"non-minimal": sm2Hex(t, "30070202000102017F"),
			"negative":    sm2Hex(t, "30060201FF020101"),
			"long-form":   append([]byte{0x30, 0x81}, vecDER[1:]...),
		},
	}
}

func TestAsymFuzzSeeds(t *testing.T) {
	checkFuzzSeeds(t, testcaSeeds(t))
}

// checkFuzzSeeds writes (-update-testca) or checks the seed files of
// testdata/fuzz/<target>/<name>.
func checkFuzzSeeds(t *testing.T, seeds map[string]map[string][]byte) {
	t.Helper()
	for target, seeds := range seeds {
		dir := filepath.Join("testdata", "fuzz", target)
		for name, b := range seeds {
			path := filepath.Join(dir, name)
			content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
			if *testcaUpdate {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("%v (regenerate with -update-testca)", err)
			} else if string(got) != content {
				t.Errorf("%s is stale (regenerate with -update-testca)", path)
			}
		}
	}
}
