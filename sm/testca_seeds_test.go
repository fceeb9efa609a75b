package sm

import (
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The seed corpora of the asymmetric fuzz targets live in
// testdata/fuzz/<target>/ and are produced from the SIM test PKI by this
// test with -update-testca (go test ./sm -run TestAsymFuzzSeeds
// -update-testca). Without the flag it checks that they are all there.

func testcaSeeds(t *testing.T) map[string]map[string][]byte {
	t.Helper()
	f := newODAFixture(t)
	set := func(b []byte, i int, v byte) []byte { c := append([]byte(nil), b...); c[i] = v; return c }

	cardID := sm2Hex(t, testcaCardID)
	cardKey, _ := SIMCardSigningKey(cardID)
	ef0012, _ := MarshalCardPublicKey(&cardKey.PublicKey)
	uncompressed, _ := MarshalPublicKey(&cardKey.PublicKey)
	offCurve := set(ef0012, 65, ef0012[65]^1)

	root, err := SIMRootCertificateDER()
	if err != nil {
		t.Fatal(err)
	}
	rootPEM, _ := SIMRootCertificatePEM()
	card, err := SIMIssueCardCertificate(cardID, nil, pkix.Name{CommonName: "张三", Country: []string{"CN"}},
		time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
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
		"FuzzParseCertificate": {
			"sim-root":      root,
			"sim-card":      card,
			"sim-root-pem":  rootPEM,
			"sim-root-b64":  []byte(base64.StdEncoding.EncodeToString(root)),
			"truncated":     root[:len(root)-1],
			"two-pem":       append(append([]byte(nil), rootPEM...), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: card})...),
			"trailing-byte": append(append([]byte(nil), root...), 0),
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
	for target, seeds := range testcaSeeds(t) {
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
