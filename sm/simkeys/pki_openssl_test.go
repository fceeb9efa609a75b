package simkeys

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sscard/ssc/sm"
)

// Cross-check of the SIM certificates with OpenSSL 3, under the rules of
// sm/sm2_openssl_test.go (skip without an openssl with SM2, fail under
// CI=true or SSC_REQUIRE_OPENSSL=1; GM/T certificates need -vfyopt distid,
// and the 3.0 CLI verifies root -> leaf chains only, which is the SIM PKI).

const sm2DistID = "distid:" + sm.DefaultSignerID

func sm2OpenSSL(t *testing.T) string {
	t.Helper()
	required := os.Getenv("CI") == "true" || os.Getenv("SSC_REQUIRE_OPENSSL") == "1"
	path, err := exec.LookPath("openssl")
	if err == nil {
		var out []byte
		out, err = exec.Command(path, "list", "-public-key-algorithms").CombinedOutput()
		if err == nil && !bytes.Contains(out, []byte("SM2")) {
			err = os.ErrNotExist
		}
	}
	if err != nil {
		if required {
			t.Fatalf("openssl with SM2 is required (CI=true or SSC_REQUIRE_OPENSSL=1): %v", err)
		}
		t.Skipf("no openssl with SM2: %v", err)
	}
	return path
}

// sm2RunOpenSSL runs openssl in dir and returns its combined output and
// error (non-nil for a non-zero exit).
func sm2RunOpenSSL(t *testing.T, openssl, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(openssl, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func sm2WriteFile(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestOpenSSLVerifiesCertificates(t *testing.T) {
	openssl := sm2OpenSSL(t)
	dir := t.TempDir()
	rootPEM, err := RootCertificatePEM()
	if err != nil {
		t.Fatal(err)
	}
	sm2WriteFile(t, dir, "root.pem", rootPEM)
	cardID := sm2Hex(t, testcaCardID)
	now := time.Now().UTC()
	der, err := IssueCardCertificate(cardID, nil, pkix.Name{CommonName: "张三", Country: []string{"CN"}}, now.Add(-time.Hour), now.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	sm2WriteFile(t, dir, "card.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))

	// A card certificate signed by another key with the same issuer name
	// must be rejected.
	card, err := smx509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := sm.PrivateKeyFromScalar(bytes.Repeat([]byte{9}, 32))
	root, _ := RootCertificate()
	fakeRoot := *root // same name, other key
	fakeRoot.PublicKey = &other.PublicKey
	forgedDER, err := smx509.CreateCertificate(nil, card, &fakeRoot, card.PublicKey, other)
	if err != nil {
		t.Fatal(err)
	}
	sm2WriteFile(t, dir, "forged.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: forgedDER}))

	for _, tt := range []struct {
		name string
		args []string
		ok   bool
	}{
		{"x509 parses root", []string{"x509", "-in", "root.pem", "-noout", "-subject"}, true},
		{"x509 parses card", []string{"x509", "-in", "card.pem", "-noout", "-subject", "-nameopt", "utf8"}, true},
		// OpenSSL 3.0 checks certificate signatures with an empty SM2 id unless
		// told: the default-id (GM/T 0009) certificates need -vfyopt distid.
		{"card, no distid: OpenSSL uses an empty id", []string{"verify", "-CAfile", "root.pem", "card.pem"}, false},
		{"card, -vfyopt distid", []string{"verify", "-vfyopt", sm2DistID, "-CAfile", "root.pem", "card.pem"}, true},
		{"card, -vfyopt distid -x509_strict", []string{"verify", "-vfyopt", sm2DistID, "-x509_strict", "-CAfile", "root.pem", "card.pem"}, true},
		// -vfyopt reaches only the target certificate, not the store's copy of
		// the anchor (nor -untrusted intermediates): OpenSSL 3.0's CLI cannot
		// check a GM/T self-signature or a chain deeper than root -> leaf.
		{"root self-signature, -vfyopt distid -check_ss_sig", []string{"verify", "-vfyopt", sm2DistID, "-check_ss_sig", "-CAfile", "root.pem", "root.pem"}, false},
		{"card, -vfyopt distid -purpose any", []string{"verify", "-vfyopt", sm2DistID, "-purpose", "any", "-CAfile", "root.pem", "card.pem"}, true},
		{"forged card", []string{"verify", "-vfyopt", sm2DistID, "-CAfile", "root.pem", "forged.pem"}, false},
		{"card, wrong distid", []string{"verify", "-vfyopt", "distid:ALICE123@YAHOO.COM", "-CAfile", "root.pem", "card.pem"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := sm2RunOpenSSL(t, openssl, dir, tt.args...)
			t.Logf("openssl %s: err=%v\n%s", strings.Join(tt.args, " "), err, out)
			if (err == nil) != tt.ok {
				t.Fatalf("openssl %s: success=%v, want %v", strings.Join(tt.args, " "), err == nil, tt.ok)
			}
		})
	}
}
