package sm_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
)

// certFixture is a small PKI around the SIM root for the verification
// tests, built with smx509 directly.
type certFixture struct {
	root, card, cardLong, enc, emailEKU, inter, interLeaf, interExpired, interExpiredLeaf *smx509.Certificate
	otherRoot, otherLeaf, notCALeaf, p256, tampered, shortRoot, shortRootLeaf             *smx509.Certificate
	futureRoot, futureLeaf, pathRoot, pathInter, pathLeaf                                 *smx509.Certificate
}

var certNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func certKey(t testing.TB, seed byte) *sm2.PrivateKey {
	t.Helper()
	k, err := sm.PrivateKeyFromScalar(bytes.Repeat([]byte{seed}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func certIssue(t testing.TB, tmpl, parent *smx509.Certificate, pub, priv any) *smx509.Certificate {
	t.Helper()
	if tmpl.SerialNumber == nil {
		tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, parent, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	c, err := sm.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func certCATemplate(cn string, nb, na time.Time) *smx509.Certificate {
	return &smx509.Certificate{
		Subject: pkix.Name{CommonName: cn}, NotBefore: nb, NotAfter: na,
		KeyUsage: smx509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
}

func certLeafTemplate(cn string, nb, na time.Time, ku smx509.KeyUsage) *smx509.Certificate {
	return &smx509.Certificate{
		Subject: pkix.Name{CommonName: cn}, NotBefore: nb, NotAfter: na,
		KeyUsage: ku, BasicConstraintsValid: true,
	}
}

func newCertFixture(t testing.TB) *certFixture {
	t.Helper()
	f := &certFixture{}
	var err error
	f.root, err = simkeys.RootCertificate()
	if err != nil {
		t.Fatal(err)
	}
	rootKey := simkeys.RootKey()
	cardID := certCardID(t)
	nb, na := certNow.AddDate(-1, 0, 0), certNow.AddDate(4, 0, 0)
	sig := smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment

	der, err := simkeys.IssueCardCertificate(cardID, nil, pkix.Name{CommonName: "card"}, nb, na)
	if err != nil {
		t.Fatal(err)
	}
	f.card, _ = sm.ParseCertificate(der)
	der, err = simkeys.IssueCardCertificate(cardID, nil, pkix.Name{CommonName: "long"}, nb, time.Date(2060, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	f.cardLong, _ = sm.ParseCertificate(der)

	leafKey := certKey(t, 3)
	f.enc = certIssue(t, certLeafTemplate("enc", nb, na, smx509.KeyUsageKeyEncipherment), f.root, &leafKey.PublicKey, rootKey)
	email := certLeafTemplate("email", nb, na, sig)
	email.ExtKeyUsage = []smx509.ExtKeyUsage{smx509.ExtKeyUsageEmailProtection}
	f.emailEKU = certIssue(t, email, f.root, &leafKey.PublicKey, rootKey)

	interKey := certKey(t, 4)
	f.inter = certIssue(t, certCATemplate("inter", nb, na), f.root, &interKey.PublicKey, rootKey)
	f.interLeaf = certIssue(t, certLeafTemplate("inter leaf", nb, na, sig), f.inter, &leafKey.PublicKey, interKey)
	f.interExpired = certIssue(t, certCATemplate("inter expired", nb, certNow.AddDate(0, -1, 0)), f.root, &interKey.PublicKey, rootKey)
	f.interExpiredLeaf = certIssue(t, certLeafTemplate("leaf of expired", nb, na, sig), f.interExpired, &leafKey.PublicKey, interKey)

	otherKey := certKey(t, 5)
	f.otherRoot = certIssue(t, certCATemplate("other root", nb, na), certCATemplate("other root", nb, na), &otherKey.PublicKey, otherKey)
	f.otherLeaf = certIssue(t, certLeafTemplate("other leaf", nb, na, sig), f.otherRoot, &leafKey.PublicKey, otherKey)

	// A leaf "issued" by the card certificate (not a CA).
	cardKey, _ := simkeys.CardSigningKey(cardID)
	f.notCALeaf = certIssue(t, certLeafTemplate("by card", nb, na, sig), f.card, &leafKey.PublicKey, cardKey)

	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f.p256 = certIssue(t, certLeafTemplate("p256", nb, na, sig), f.root, &p256.PublicKey, rootKey)

	// The card certificate with one bit of its signature flipped.
	bad := append([]byte(nil), f.card.Raw...)
	bad[len(bad)-3] ^= 1
	f.tampered, err = sm.ParseCertificate(bad)
	if err != nil {
		t.Fatal(err)
	}

	shortKey := certKey(t, 6)
	short := certCATemplate("short root", nb, certNow.AddDate(0, 0, -1))
	f.shortRoot = certIssue(t, short, short, &shortKey.PublicKey, shortKey)
	f.shortRootLeaf = certIssue(t, certLeafTemplate("leaf of short root", nb, na, sig), f.shortRoot, &leafKey.PublicKey, shortKey)

	futureKey := certKey(t, 7)
	future := certCATemplate("future root", certNow.AddDate(0, 1, 0), na)
	f.futureRoot = certIssue(t, future, future, &futureKey.PublicKey, futureKey)
	f.futureLeaf = certIssue(t, certLeafTemplate("leaf of future root", nb, na, sig), f.futureRoot, &leafKey.PublicKey, futureKey)

	// Root with pathLenConstraint 0 above an intermediate: too many intermediates.
	pathKey := certKey(t, 8)
	pathTmpl := certCATemplate("path root", nb, na)
	pathTmpl.MaxPathLenZero = true
	f.pathRoot = certIssue(t, pathTmpl, pathTmpl, &pathKey.PublicKey, pathKey)
	f.pathInter = certIssue(t, certCATemplate("path inter", nb, na), f.pathRoot, &interKey.PublicKey, pathKey)
	f.pathLeaf = certIssue(t, certLeafTemplate("path leaf", nb, na, sig), f.pathInter, &leafKey.PublicKey, interKey)
	return f
}

func TestParseCertificate(t *testing.T) {
	root, _ := simkeys.RootCertificate()
	rootPEM, _ := simkeys.RootCertificatePEM()
	card := newCertFixture(t).card
	twoPEM := append(append([]byte(nil), rootPEM...), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: card.Raw})...)
	b64 := base64.StdEncoding.EncodeToString(root.Raw)
	wrapped := b64[:64] + "\r\n" + b64[64:128] + "\n  " + b64[128:] + "\n"

	if c, err := sm.ParseCertificate(root.Raw); err != nil || !c.Equal(root) {
		t.Fatalf("ParseCertificate(root) = %v", err)
	}
	for _, tt := range []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"garbage", []byte("not a certificate")},
		{"truncated", root.Raw[:len(root.Raw)-1]},
		{"trailing byte", append(append([]byte(nil), root.Raw...), 0)},
		{"two certificates", append(append([]byte(nil), root.Raw...), card.Raw...)},
		{"PEM", rootPEM},
		{"SEQUENCE only", []byte{0x30, 0x00}},
	} {
		if c, err := sm.ParseCertificate(tt.in); !errors.Is(err, sm.ErrCertMalformed) || c != nil {
			t.Errorf("ParseCertificate(%s) = %v", tt.name, err)
		}
	}

	certs, err := sm.ParseCertificatesPEM(twoPEM)
	if err != nil || len(certs) != 2 || !certs[1].Equal(card) {
		t.Fatalf("ParseCertificatesPEM(two) = %d, %v", len(certs), err)
	}
	for _, tt := range []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"DER", root.Raw},
		{"public key block", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: root.RawSubjectPublicKeyInfo})},
		{"cert then key", append(append([]byte(nil), rootPEM...), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}})...)},
		{"headers", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: root.Raw})},
		{"bad body", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw[:100]})},
	} {
		if c, err := sm.ParseCertificatesPEM(tt.in); !errors.Is(err, sm.ErrCertMalformed) || c != nil {
			t.Errorf("ParseCertificatesPEM(%s) = %v", tt.name, err)
		}
	}

	for _, tt := range []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"DER", root.Raw, true},
		{"PEM", rootPEM, true},
		{"base64", []byte(b64), true},
		{"wrapped base64", []byte(wrapped), true},
		{"two PEM", twoPEM, false},
		{"bad base64", []byte("MIIB*"), false},
		{"base64 of garbage", []byte(base64.StdEncoding.EncodeToString([]byte("hello"))), false},
		{"empty", nil, false},
		{"DER with trailing byte", append(append([]byte(nil), root.Raw...), 0), false},
	} {
		c, err := sm.DecodeCertificate(tt.in)
		if tt.ok != (err == nil) || (err != nil && !errors.Is(err, sm.ErrCertMalformed)) {
			t.Errorf("DecodeCertificate(%s) = %v", tt.name, err)
		}
		if tt.ok && !c.Equal(root) {
			t.Errorf("DecodeCertificate(%s) gives another certificate", tt.name)
		}
	}

	if _, err := sm.CertificatePublicKey(nil); !errors.Is(err, sm.ErrCertMalformed) {
		t.Errorf("CertificatePublicKey(nil) = %v", err)
	}
}

func TestCertPoolVerify(t *testing.T) {
	f := newCertFixture(t)
	pool, err := simkeys.RootPool()
	if err != nil {
		t.Fatal(err)
	}
	pool.AddCert(f.root) // duplicate: no effect
	pool.AddCert(nil)
	if pool.Len() != 1 {
		t.Fatalf("pool has %d roots", pool.Len())
	}
	withShort := sm.NewCertPool()
	withShort.AddCert(f.root)
	withShort.AddCert(f.shortRoot)
	other := sm.NewCertPool()
	other.AddCert(f.otherRoot)
	var zero sm.CertPool
	futurePool := sm.NewCertPool()
	futurePool.AddCert(f.futureRoot)
	pathPool := sm.NewCertPool()
	pathPool.AddCert(f.pathRoot)

	signing := smx509.KeyUsageDigitalSignature
	tests := []struct {
		name      string
		pool      *sm.CertPool
		leaf      *smx509.Certificate
		opts      sm.CertVerifyOptions
		wantLen   int     // chain length on success
		want      error   // sentinel on failure
		wantAs    any     // optional: errors.As target type
		notWanted []error // sentinels that must not match
	}{
		{"card ok", pool, f.card, sm.CertVerifyOptions{Time: certNow, KeyUsage: signing}, 2, nil, nil, nil},
		{"card both usages", pool, f.card, sm.CertVerifyOptions{Time: certNow, KeyUsage: signing | smx509.KeyUsageContentCommitment}, 2, nil, nil, nil},
		{"card no usage required", pool, f.card, sm.CertVerifyOptions{Time: certNow}, 2, nil, nil, nil},
		{"via intermediate", pool, f.interLeaf, sm.CertVerifyOptions{Time: certNow, KeyUsage: signing, Intermediates: []*smx509.Certificate{f.inter, nil}}, 3, nil, nil, nil},
		{"missing intermediate", pool, f.interLeaf, sm.CertVerifyOptions{Time: certNow, KeyUsage: signing}, 0, sm.ErrCertUntrusted, &smx509.UnknownAuthorityError{}, []error{sm.ErrCertExpired}},
		{"leaf expired", pool, f.card, sm.CertVerifyOptions{Time: certNow.AddDate(5, 0, 0)}, 0, sm.ErrCertExpired, nil, []error{sm.ErrCertNotYetValid, sm.ErrCertUntrusted}},
		{"leaf not yet valid", pool, f.card, sm.CertVerifyOptions{Time: certNow.AddDate(-2, 0, 0)}, 0, sm.ErrCertNotYetValid, nil, []error{sm.ErrCertExpired}},
		{"root expired, leaf valid", pool, f.cardLong, sm.CertVerifyOptions{Time: time.Date(2055, 1, 1, 0, 0, 0, 0, time.UTC)}, 0, sm.ErrCertExpired, &smx509.CertificateInvalidError{}, []error{sm.ErrCertUntrusted}},
		{"short root expired", withShort, f.shortRootLeaf, sm.CertVerifyOptions{Time: certNow}, 0, sm.ErrCertExpired, nil, []error{sm.ErrCertUntrusted}},
		{"intermediate expired", pool, f.interExpiredLeaf, sm.CertVerifyOptions{Time: certNow, Intermediates: []*smx509.Certificate{f.interExpired}}, 0, sm.ErrCertExpired, nil, nil},
		{"root not yet valid", futurePool, f.futureLeaf, sm.CertVerifyOptions{Time: certNow}, 0, sm.ErrCertNotYetValid, &smx509.CertificateInvalidError{}, []error{sm.ErrCertExpired}},
		{"path length exceeded", pathPool, f.pathLeaf, sm.CertVerifyOptions{Time: certNow, Intermediates: []*smx509.Certificate{f.pathInter}}, 0, sm.ErrCertInvalid, &smx509.CertificateInvalidError{}, []error{sm.ErrCertUntrusted}},
		{"other root", other, f.card, sm.CertVerifyOptions{Time: certNow}, 0, sm.ErrCertUntrusted, &smx509.UnknownAuthorityError{}, nil},
		{"other leaf", pool, f.otherLeaf, sm.CertVerifyOptions{Time: certNow}, 0, sm.ErrCertUntrusted, nil, nil},
		{"empty pool", sm.NewCertPool(), f.card, sm.CertVerifyOptions{Time: certNow}, 0, sm.ErrCertUntrusted, nil, nil},
		{"zero pool", &zero, f.card, sm.CertVerifyOptions{Time: certNow}, 0, sm.ErrCertUntrusted, nil, nil},
		{"issuer not a CA", pool, f.notCALeaf, sm.CertVerifyOptions{Time: certNow, Intermediates: []*smx509.Certificate{f.card}}, 0, sm.ErrCertUntrusted, nil, nil},
		{"tampered signature", pool, f.tampered, sm.CertVerifyOptions{Time: certNow}, 0, sm.ErrCertUntrusted, nil, nil},
		{"encryption cert as signing", pool, f.enc, sm.CertVerifyOptions{Time: certNow, KeyUsage: signing}, 0, sm.ErrCertKeyUsage, nil, nil},
		{"encryption cert, no usage required", pool, f.enc, sm.CertVerifyOptions{Time: certNow}, 2, nil, nil, nil},
		{"EKU email, any accepted", pool, f.emailEKU, sm.CertVerifyOptions{Time: certNow, KeyUsage: signing}, 2, nil, nil, nil},
		{"EKU email, server auth wanted", pool, f.emailEKU, sm.CertVerifyOptions{Time: certNow, ExtKeyUsages: []smx509.ExtKeyUsage{smx509.ExtKeyUsageServerAuth}}, 0, sm.ErrCertKeyUsage, &smx509.CertificateInvalidError{}, nil},
		{"P-256 leaf", pool, f.p256, sm.CertVerifyOptions{Time: certNow}, 0, sm.ErrCertNotSM2, nil, nil},
		{"nil leaf", pool, nil, sm.CertVerifyOptions{Time: certNow}, 0, sm.ErrCertMalformed, nil, nil},
		{"unparsed leaf", pool, &smx509.Certificate{}, sm.CertVerifyOptions{Time: certNow}, 0, sm.ErrCertMalformed, nil, nil},
		{"root as leaf", pool, f.root, sm.CertVerifyOptions{Time: certNow}, 1, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chain, err := tt.pool.Verify(tt.leaf, tt.opts)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if len(chain) != tt.wantLen || !chain[0].Equal(tt.leaf) || !chain[len(chain)-1].Equal(tt.pool.Certificates()[0]) {
					t.Fatalf("chain of %d", len(chain))
				}
				return
			}
			if !errors.Is(err, tt.want) || chain != nil {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			for _, nw := range tt.notWanted {
				if errors.Is(err, nw) {
					t.Errorf("err = %v also matches %v", err, nw)
				}
			}
			switch target := tt.wantAs.(type) {
			case *smx509.UnknownAuthorityError:
				if !errors.As(err, target) {
					t.Errorf("err = %v does not wrap smx509.UnknownAuthorityError", err)
				}
			case *smx509.CertificateInvalidError:
				if !errors.As(err, target) {
					t.Errorf("err = %v does not wrap smx509.CertificateInvalidError", err)
				}
			}
		})
	}

	// VerifySigning is Verify with digitalSignature.
	if _, err := pool.VerifySigning(f.card, certNow); err != nil {
		t.Error(err)
	}
	if _, err := pool.VerifySigning(f.enc, certNow); !errors.Is(err, sm.ErrCertKeyUsage) {
		t.Errorf("VerifySigning(enc) = %v", err)
	}
	if _, err := pool.VerifySigning(f.interLeaf, certNow, f.inter); err != nil {
		t.Errorf("VerifySigning with intermediate: %v", err)
	}
	// Zero time = now: the card certificate issued for today verifies.
	der, _ := simkeys.IssueCardCertificate(certCardID(t), nil, pkix.Name{CommonName: "now"}, time.Now().Add(-time.Minute), time.Now().Add(time.Hour))
	nowCert, _ := sm.ParseCertificate(der)
	if _, err := pool.Verify(nowCert, sm.CertVerifyOptions{}); err != nil {
		t.Errorf("zero time: %v", err)
	}
}

func TestCertPoolAppendPEM(t *testing.T) {
	rootPEM, _ := simkeys.RootCertificatePEM()
	p := sm.NewCertPool()
	if err := p.AppendPEM(rootPEM); err != nil || p.Len() != 1 {
		t.Fatalf("AppendPEM = %v, %d roots", err, p.Len())
	}
	bad := append(append([]byte(nil), rootPEM...), []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")...)
	q := sm.NewCertPool()
	if err := q.AppendPEM(bad); !errors.Is(err, sm.ErrCertMalformed) || q.Len() != 0 {
		t.Errorf("AppendPEM(bad) = %v, %d roots", err, q.Len())
	}
	var zero sm.CertPool
	zero.AddCert(mustRoot(t))
	if zero.Len() != 1 {
		t.Error("zero CertPool AddCert")
	}
	if _, err := zero.VerifySigning(mustRoot(t), certNow); err != nil && !errors.Is(err, sm.ErrCertKeyUsage) {
		t.Errorf("zero pool after AddCert: %v", err)
	}
	if !strings.Contains(string(rootPEM), "CERTIFICATE") {
		t.Error("PEM type")
	}
}

func mustRoot(t testing.TB) *smx509.Certificate {
	t.Helper()
	r, err := simkeys.RootCertificate()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func FuzzParseCertificate(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := sm.ParseCertificate(b)
		if err != nil {
			if !errors.Is(err, sm.ErrCertMalformed) || c != nil {
				t.Fatalf("error %v does not wrap ErrCertMalformed", err)
			}
		} else if !bytes.Equal(c.Raw, b) {
			t.Fatal("Raw differs from the input")
		} else {
			// Whatever parses can be asked for its key and verified without panicking.
			_, _ = sm.CertificatePublicKey(c)
			pool := sm.NewCertPool()
			pool.AddCert(mustRoot(t))
			_, _ = pool.Verify(c, sm.CertVerifyOptions{Time: certNow, KeyUsage: smx509.KeyUsageDigitalSignature})
		}
		if c, err := sm.DecodeCertificate(b); err != nil && (!errors.Is(err, sm.ErrCertMalformed) || c != nil) {
			t.Fatalf("DecodeCertificate error %v does not wrap ErrCertMalformed", err)
		}
	})
}

// TestCertFuzzSeeds writes or checks the FuzzParseCertificate seeds made
// from the SIM test PKI (see fuzzseeds_test.go).
func TestCertFuzzSeeds(t *testing.T) {
	root, err := simkeys.RootCertificateDER()
	if err != nil {
		t.Fatal(err)
	}
	rootPEM, _ := simkeys.RootCertificatePEM()
	card, err := simkeys.IssueCardCertificate(certCardID(t), nil, pkix.Name{CommonName: "张三", Country: []string{"CN"}},
		time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	sm.CheckFuzzSeeds(t, map[string]map[string][]byte{
		"FuzzParseCertificate": {
			"sim-root":      root,
			"sim-card":      card,
			"sim-root-pem":  rootPEM,
			"sim-root-b64":  []byte(base64.StdEncoding.EncodeToString(root)),
			"truncated":     root[:len(root)-1],
			"two-pem":       append(append([]byte(nil), rootPEM...), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: card})...),
			"trailing-byte": append(append([]byte(nil), root...), 0),
		},
	})
}

func BenchmarkCertVerifyChain(b *testing.B) {
	f := newCertFixture(b)
	pool, _ := simkeys.RootPool()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pool.VerifySigning(f.card, certNow); err != nil {
			b.Fatal(err)
		}
	}
}

// certCardID is the card identification code of the simulator's gen2 card
// (ssc-facts §1.2).
func certCardID(t testing.TB) []byte {
	t.Helper()
	b, err := hex.DecodeString("330100D1560000050114F199D286DF7E")
	if err != nil {
		t.Fatal(err)
	}
	return b
}
