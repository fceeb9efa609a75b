package simkeys

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"github.com/sscard/ssc/sm"
)

var testcaUpdate = flag.Bool("update-testca", false, "rewrite the golden file testdata/sim-root-ca.pem (the fuzz seeds of package sm have their own -update-testca)")

const testcaRootPEMPath = "testdata/sim-root-ca.pem"

// testcaCardID is the card identification code of the simulator's gen2
// card (ssc-facts §1.2).
const testcaCardID = "330100D1560000050114F199D286DF7E"

func TestPKIKeys(t *testing.T) {
	cardID := sm2Hex(t, testcaCardID)
	card, err := CardSigningKey(cardID)
	if err != nil {
		t.Fatal(err)
	}
	// Pinned: every other implementation of the SIM profile must derive
	// exactly these (d = SM3(seed), which is in [1, n-2] for all three).
	tests := []struct {
		name  string
		seed  []byte
		key   *sm2.PrivateKey
		wantD string
		wantP string // X || Y
	}{
		{"root", []byte("SSC-SIM-ROOT-CA"), RootKey(),
			"B4A734DEB485824A631E41C2A0A95694A62348EE467D60A1D80DB3D9EB031A57",
			"9C2AC439DE4D8BA959895E9C5F7B4E6AA3B46A64B574B5A4D925A927210A5B48BCD78D11DC9B9996A8125EFBE1575B304670D4D0351F1642BD5FD9DD2EC5BCAC"},
		{"pboc", []byte("SSC-SIM-PBOC-CA"), PBOCCAKey(),
			"A857176C8A36507F375D6E19DCECA09F265E61FF86455C256723DCFB6F54976B",
			"7694B27B5FF108EB61CE1C4D6EA132281169E44DCECFC239FCFFE2B941DD0CAC744E7F06D04DC6179B3D88C2AAF8639E49204DF0F9F9AE8170AF05852B6ABF96"},
		{"gen2 card", append([]byte("SSC-SIM-CARD"), cardID...), card,
			"7BC9399D1BB6106DA094AF07A5A65F8D164BFD531A2F809B7E4AB89A87D75370",
			"B5026D7FC99FAE7AA7A8D793E77A246BC2CE3C8AB3A6EFCDBB2F12F92ADCC206BB242E8AF9F783EC8E4F330731FE1C22B3CE3DE830B8A57BD72FD7598D7B4911"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := leftPad32(tt.key.D.Bytes())
			if sum := sm3.Sum(tt.seed); !bytes.Equal(d, sum[:]) {
				t.Errorf("d = %X, want SM3(seed) = %X", d, sum)
			}
			if !bytes.Equal(d, sm2Hex(t, tt.wantD)) {
				t.Errorf("d = %X, want %s", d, tt.wantD)
			}
			xy, err := sm.MarshalPublicKeyXY(&tt.key.PublicKey)
			if err != nil || !bytes.Equal(xy, sm2Hex(t, tt.wantP)) {
				t.Errorf("P = %X, %v; want %s", xy, err, tt.wantP)
			}
		})
	}
	if _, err := CardSigningKey(cardID[:15]); !errors.Is(err, sm.ErrLength) {
		t.Errorf("15-byte card id: err = %v", err)
	}
	other, _ := CardSigningKey(bytes.Repeat([]byte{1}, 16))
	if other.D.Cmp(card.D) == 0 {
		t.Error("two cards share a key")
	}
	if RootKey() == RootKey() {
		t.Error("RootKey returns a shared value")
	}
}

var testcaBadKey = ecdsa.PublicKey{Curve: sm2.P256(), X: big.NewInt(1), Y: big.NewInt(1)}

func leftPad32(b []byte) []byte {
	return append(make([]byte, 32-len(b)), b...)
}

func TestRootGolden(t *testing.T) {
	pemBytes, err := RootCertificatePEM()
	if err != nil {
		t.Fatal(err)
	}
	if *testcaUpdate {
		if err := os.WriteFile(testcaRootPEMPath, pemBytes, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	golden, err := os.ReadFile(testcaRootPEMPath)
	if err != nil {
		t.Fatalf("%v (run go test ./sm/simkeys -run TestRootGolden -update-testca)", err)
	}
	if !bytes.Equal(pemBytes, golden) {
		t.Fatalf("SIM root certificate differs from %s:\n%s", testcaRootPEMPath, pemBytes)
	}
	// Recomputing from scratch (not the cached value) gives the same bytes,
	// also concurrently.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			r := testcaBuildRoot()
			if r.err != nil {
				t.Error(r.err)
				return
			}
			want, _ := RootCertificateDER()
			if !bytes.Equal(r.der, want) {
				t.Error("rebuilding the root gives other bytes")
			}
		})
	}
	wg.Wait()
}

func TestRootProfile(t *testing.T) {
	root, err := RootCertificate()
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"subject", root.Subject.String() == "CN=SSC SIM Test Root CA,O=ssc SIM profile,C=CN"},
		{"self-issued", bytes.Equal(root.RawIssuer, root.RawSubject)},
		{"serial", root.SerialNumber.Int64() == RootSerial},
		{"not before", root.NotBefore.Equal(RootNotBefore())},
		{"not after", root.NotAfter.Equal(RootNotAfter())},
		{"CA", root.BasicConstraintsValid && root.IsCA},
		{"key usage", root.KeyUsage == smx509.KeyUsageCertSign|smx509.KeyUsageCRLSign},
		{"SM2 with SM3", root.SignatureAlgorithm == smx509.SM2WithSM3},
		{"self-signature", root.CheckSignatureFrom(root) == nil},
		{"subject key id", len(root.SubjectKeyId) == 20},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("root %s check failed", c.name)
		}
	}
	pub, err := sm.CertificatePublicKey(root)
	if err != nil || !pub.Equal(&RootKey().PublicKey) {
		t.Errorf("root key is not RootKey: %v", err)
	}
	pool, err := RootPool()
	if err != nil {
		t.Fatal(err)
	}
	if pool.Len() != 1 {
		t.Errorf("RootPool has %d roots", pool.Len())
	}
}

func TestIssueCardCertificate(t *testing.T) {
	cardID := sm2Hex(t, testcaCardID)
	cardKey, _ := CardSigningKey(cardID)
	nb := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	na := time.Date(2030, 2, 28, 23, 59, 59, 0, time.UTC)
	subject := pkix.Name{CommonName: "张三", SerialNumber: "330100199001011234", Country: []string{"CN"}}

	der, err := IssueCardCertificate(cardID, nil, subject, nb, na)
	if err != nil {
		t.Fatal(err)
	}
	again, err := IssueCardCertificate(cardID, &cardKey.PublicKey, subject, nb.Add(300*time.Millisecond), na)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(der, again) {
		t.Fatal("issuing twice gives different bytes")
	}
	// Pinned bytes (SM3 of the DER): the software card and the daemon must
	// issue exactly this certificate for these inputs.
	if sum := sm3.Sum(der); hex.EncodeToString(sum[:]) != "b6a3868957fb5cf4cd37ef557643a6b6c53f0e2ab005fc49776b4682fd40067f" {
		t.Errorf("gen2 card certificate (%d bytes) SM3 %X changed", len(der), sum)
	}

	c, err := sm.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := RootCertificate()
	checks := []struct {
		name string
		ok   bool
	}{
		{"common name", c.Subject.CommonName == "张三"},
		{"subject serial", c.Subject.SerialNumber == "330100199001011234"},
		{"issuer", bytes.Equal(c.RawIssuer, root.RawSubject)},
		{"key usage", c.KeyUsage == smx509.KeyUsageDigitalSignature|smx509.KeyUsageContentCommitment},
		{"not CA", c.BasicConstraintsValid && !c.IsCA},
		{"AKI", bytes.Equal(c.AuthorityKeyId, root.SubjectKeyId)},
		{"SKI", len(c.SubjectKeyId) == 20},
		{"serial 16 bytes positive", c.SerialNumber.Sign() > 0 && len(c.SerialNumber.Bytes()) == 16},
		{"validity", c.NotBefore.Equal(nb) && c.NotAfter.Equal(na)},
		{"SM2 with SM3", c.SignatureAlgorithm == smx509.SM2WithSM3},
		{"signed by root", c.CheckSignatureFrom(root) == nil},
	}
	for _, ch := range checks {
		if !ch.ok {
			t.Errorf("card certificate %s check failed", ch.name)
		}
	}
	pub, err := sm.CertificatePublicKey(c)
	if err != nil || !pub.Equal(&cardKey.PublicKey) {
		t.Errorf("certificate key is not the SIM card key: %v", err)
	}

	// Concurrent issuing (run with -race) gives the same bytes.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			b, err := IssueCardCertificate(cardID, nil, subject, nb, na)
			if err != nil || !bytes.Equal(b, der) {
				t.Errorf("concurrent issue: %v", err)
			}
		})
	}
	wg.Wait()

	// Different inputs give different serials.
	other, err := IssueCardCertificate(cardID, nil, subject, nb, na.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	oc, _ := sm.ParseCertificate(other)
	if oc.SerialNumber.Cmp(c.SerialNumber) == 0 {
		t.Error("two certificates share a serial")
	}

	bad := []struct {
		name   string
		cardID []byte
		sub    pkix.Name
		nb, na time.Time
		want   error
	}{
		{"short card id", cardID[:8], subject, nb, na, sm.ErrLength},
		{"no common name", cardID, pkix.Name{Country: []string{"CN"}}, nb, na, ErrCertIssue},
		{"inverted validity", cardID, subject, na, nb, ErrCertIssue},
		{"empty validity", cardID, subject, nb, nb, ErrCertIssue},
		{"sub-second validity", cardID, subject, nb, nb.Add(500 * time.Millisecond), ErrCertIssue},
		{"year 10000", cardID, subject, nb, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), ErrCertIssue},
	}
	for _, tt := range bad {
		if _, err := IssueCardCertificate(tt.cardID, nil, tt.sub, tt.nb, tt.na); !errors.Is(err, tt.want) || !errors.Is(err, ErrCertIssue) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := IssueCardCertificate(cardID, &testcaBadKey, subject, nb, na); !errors.Is(err, sm.ErrSM2PublicKey) {
		t.Errorf("bad key: err = %v", err)
	}
}

func TestRootPEMFile(t *testing.T) {
	// The shipped file is one CERTIFICATE block that parses and matches.
	b, err := os.ReadFile(filepath.FromSlash(testcaRootPEMPath))
	if err != nil {
		t.Fatal(err)
	}
	certs, err := sm.ParseCertificatesPEM(b)
	if err != nil || len(certs) != 1 {
		t.Fatalf("%d certificates, %v", len(certs), err)
	}
	root, _ := RootCertificate()
	if !certs[0].Equal(root) {
		t.Error("file certificate differs")
	}
	if !strings.HasPrefix(string(b), "-----BEGIN CERTIFICATE-----\n") {
		t.Error("not a PEM certificate")
	}
	if sum := sm3.Sum(root.Raw); hex.EncodeToString(sum[:]) != "d343d099fcfd85dbe267678e933aeb0cf4f7657023fb3d159e3772efa4407984" {
		t.Errorf("root DER SM3 %X changed", sum)
	}
}

// sm2Hex decodes hex (spaces allowed) or fails the test.
func sm2Hex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}
