package sm

import (
	"bytes"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// Cross-checks with OpenSSL 3 (Debian 12 ships 3.0 with SM2/SM3). They run
// whenever an openssl binary with SM2 is on PATH; without one they skip,
// except under CI=true or SSC_REQUIRE_OPENSSL=1, where they fail so that CI
// cannot silently lose them.
//
// What OpenSSL 3.0 needs (measured with 3.0.19):
//   - pkeyutl uses no signer id for SM2 unless told: both directions need
//     -pkeyopt distid:1234567812345678 (TestOpenSSLSM2DistID shows that
//     without it OpenSSL rejects our signatures).
//   - openssl verify (and x509/req) also use an empty id for SM2-with-SM3
//     certificate signatures unless told, while GM/T 0015 certificates (ours,
//     gmsm's, the Chinese CAs') use the default id: verifying them needs
//     `openssl verify -vfyopt distid:1234567812345678 -CAfile root.pem
//     cert.pem`; signing needs -sigopt distid:... (TestOpenSSLCertificatesVerifyHere here,
//     sm/simkeys TestOpenSSLVerifiesCertificates). -vfyopt applies to the target
//     certificate only: the trust anchor's self-signature (-check_ss_sig)
//     and -untrusted intermediates are still checked with the empty id and
//     fail, so the 3.0 CLI verifies GM/T chains of depth 1 (root -> leaf,
//     which is the SIM PKI) but not deeper ones.

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

func sm2WritePubPEM(t *testing.T, dir, name string, priv *sm2.PrivateKey) {
	t.Helper()
	der, err := smx509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	sm2WriteFile(t, dir, name, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func sm2WritePrivPEM(t *testing.T, dir, name string, priv *sm2.PrivateKey) {
	t.Helper()
	der, err := smx509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	sm2WriteFile(t, dir, name, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

var sm2OpenSSLMessages = []struct {
	name string
	msg  []byte
}{
	{"empty", nil},
	{"message digest", []byte("message digest")},
	{"binary 1000", bytes.Repeat([]byte{0x00, 0xFF, 0x5A}, 334)[:1000]},
}

const sm2DistID = "distid:" + DefaultSignerID

func TestOpenSSLVerifiesOurSM2(t *testing.T) {
	openssl := sm2OpenSSL(t)
	dir := t.TempDir()
	priv := sm2VecKey(t)
	sm2WritePubPEM(t, dir, "pub.pem", priv)
	for _, m := range sm2OpenSSLMessages {
		t.Run(m.name, func(t *testing.T) {
			sig, err := Sign(priv, nil, m.msg)
			if err != nil {
				t.Fatal(err)
			}
			sm2WriteFile(t, dir, "msg", m.msg)
			sm2WriteFile(t, dir, "sig.der", mustDER(t, sig))
			args := []string{"pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "msg",
				"-sigfile", "sig.der", "-digest", "sm3", "-pkeyopt", sm2DistID}
			out, err := sm2RunOpenSSL(t, openssl, dir, args...)
			if err != nil || !strings.Contains(out, "Signature Verified Successfully") {
				t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			// A different message must fail.
			sm2WriteFile(t, dir, "msg", append(append([]byte(nil), m.msg...), 'x'))
			if out, err := sm2RunOpenSSL(t, openssl, dir, args...); err == nil {
				t.Fatalf("openssl verifies a signature of another message:\n%s", out)
			}
		})
	}
}

func TestOpenSSLSignsSM2(t *testing.T) {
	openssl := sm2OpenSSL(t)
	dir := t.TempDir()
	priv := simCardSigningKey(t, sm2Hex(t, gen2CardID))
	sm2WritePrivPEM(t, dir, "priv.pem", priv)
	for _, m := range sm2OpenSSLMessages {
		t.Run(m.name, func(t *testing.T) {
			sm2WriteFile(t, dir, "msg", m.msg)
			args := []string{"pkeyutl", "-sign", "-inkey", "priv.pem", "-rawin", "-in", "msg",
				"-digest", "sm3", "-pkeyopt", sm2DistID, "-out", "sig.der"}
			if out, err := sm2RunOpenSSL(t, openssl, dir, args...); err != nil {
				t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			der, err := os.ReadFile(filepath.Join(dir, "sig.der"))
			if err != nil {
				t.Fatal(err)
			}
			sig, err := SignatureFromDER(der)
			if err != nil {
				t.Fatalf("OpenSSL's DER %X: %v", der, err)
			}
			if err := Verify(&priv.PublicKey, nil, m.msg, sig); err != nil {
				t.Fatalf("Verify(OpenSSL signature) = %v", err)
			}
			e, _ := SM2Digest(&priv.PublicKey, nil, m.msg)
			if err := VerifyDigest(&priv.PublicKey, e[:], sig); err != nil {
				t.Fatalf("VerifyDigest(OpenSSL signature) = %v", err)
			}
			if err := Verify(&priv.PublicKey, nil, append(m.msg, 'x'), sig); err == nil {
				t.Fatal("OpenSSL's signature verifies for another message")
			}
		})
	}
}

// TestOpenSSLSM2DistID documents why -pkeyopt distid is needed: OpenSSL
// 3.0's pkeyutl hashes an empty id by default, so it neither verifies our
// default-id signatures without the option nor produces signatures that
// verify with the default id.
func TestOpenSSLSM2DistID(t *testing.T) {
	openssl := sm2OpenSSL(t)
	dir := t.TempDir()
	priv := sm2VecKey(t)
	sm2WritePubPEM(t, dir, "pub.pem", priv)
	msg := []byte("message digest")
	sig, _ := Sign(priv, nil, msg)
	sm2WriteFile(t, dir, "msg", msg)
	sm2WriteFile(t, dir, "sig.der", mustDER(t, sig))
	out, err := sm2RunOpenSSL(t, openssl, dir, "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin",
		"-in", "msg", "-sigfile", "sig.der", "-digest", "sm3")
	t.Logf("openssl pkeyutl -verify without distid: err=%v\n%s", err, out)
	if err == nil {
		t.Error("OpenSSL verifies a default-id signature without -pkeyopt distid: the documented behaviour changed")
	}
}

// TestOpenSSLCertificatesVerifyHere: a CA and a signing certificate made by
// OpenSSL (with -sigopt distid) verify with CertPool, and key usage is
// enforced on them.
func TestOpenSSLCertificatesVerifyHere(t *testing.T) {
	openssl := sm2OpenSSL(t)
	dir := t.TempDir()
	sm2WriteFile(t, dir, "ee.cnf", []byte("keyUsage=critical,digitalSignature,nonRepudiation\nbasicConstraints=critical,CA:FALSE\n"))
	sm2WriteFile(t, dir, "enc.cnf", []byte("keyUsage=critical,keyEncipherment\nbasicConstraints=critical,CA:FALSE\n"))
	steps := [][]string{
		{"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", "ca.key"},
		{"req", "-x509", "-new", "-key", "ca.key", "-sm3", "-sigopt", sm2DistID, "-subj", "/C=CN/O=OpenSSL/CN=OpenSSL SM2 Root",
			"-days", "3650", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-addext", "basicConstraints=critical,CA:TRUE", "-out", "ca.pem"},
		{"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", "ee.key"},
		{"req", "-new", "-key", "ee.key", "-sm3", "-sigopt", sm2DistID, "-subj", "/CN=card holder", "-out", "ee.csr"},
		{"x509", "-req", "-in", "ee.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "7", "-sm3", "-sigopt", sm2DistID,
			"-vfyopt", sm2DistID, "-days", "365", "-extfile", "ee.cnf", "-out", "ee.pem"},
		{"x509", "-req", "-in", "ee.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "8", "-sm3", "-sigopt", sm2DistID,
			"-vfyopt", sm2DistID, "-days", "365", "-extfile", "enc.cnf", "-out", "enc.pem"},
		{"req", "-x509", "-new", "-key", "ca.key", "-sm3", "-subj", "/CN=empty id", "-days", "30", "-out", "emptyid.pem"},
	}
	for _, args := range steps {
		if out, err := sm2RunOpenSSL(t, openssl, dir, args...); err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	read := func(name string) *smx509.Certificate {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		c, err := DecodeCertificate(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return c
	}
	pool := NewCertPool()
	pool.AddCert(read("ca.pem"))
	if _, err := pool.VerifySigning(read("ee.pem"), time.Now()); err != nil {
		t.Errorf("OpenSSL signing certificate: %v", err)
	}
	if _, err := pool.VerifySigning(read("enc.pem"), time.Now()); !errors.Is(err, ErrCertKeyUsage) {
		t.Errorf("OpenSSL encryption certificate as signing: err = %v, want ErrCertKeyUsage", err)
	}
	// A self-signed certificate OpenSSL made without distid has an
	// empty-id signature: not valid under GM/T 0009.
	emptyID := read("emptyid.pem")
	if err := emptyID.CheckSignatureFrom(emptyID); err == nil {
		t.Error("gmsm accepts OpenSSL's empty-id self-signature")
	}
}
