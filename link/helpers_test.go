package link_test

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/hex"
	"flag"
	"math/big"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"github.com/sscard/ssc/link"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// The test card: the software card's gen3 profile.
const (
	testCardID     = "411600D156000005005A3C9E17B2D40F"
	testCardNumber = "A12345678"
	testOrigin     = "https://ecard.example.cn"
)

var (
	certNotBefore = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	certNotAfter  = time.Date(2034, 1, 1, 0, 0, 0, 0, time.UTC)
	// verifyTime is inside the certificates' validity.
	verifyTime = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
)

// testNonce is the fixed nonce of the golden bundle: SM3("SSC-LINK test nonce").
func testNonce() []byte {
	s := sm3.Sum([]byte("SSC-LINK test nonce"))
	return s[:]
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// card is a SIM card as the software card has it: its SM2 signing key
// (simkeys.CardSigningKey) and its EF 0018 certificate issued by the SIM root
// with subject C=CN, CN=name, serialNumber=card number.
type card struct {
	data link.Card
	bank link.Bank
	key  *sm2.PrivateKey
	cert []byte
}

func newCard(t testing.TB, cardID, cardNumber string) *card {
	t.Helper()
	id := mustHex(t, cardID)
	key, err := simkeys.CardSigningKey(id)
	if err != nil {
		t.Fatal(err)
	}
	c := &card{
		data: link.Card{
			CardID:      cardID,
			CardNumber:  cardNumber,
			SSN:         "411602199001011232",
			Name:        "张三",
			Region:      "411600",
			SpecVersion: "3.00",
			IssueDate:   "20240101",
			ExpiryDate:  "20340101",
		},
		bank: link.Bank{AID: "A000000333010101", PAN: "6217991000001234561", Expiry: "311231"},
		key:  key,
	}
	subject := pkix.Name{Country: []string{"CN"}, CommonName: c.data.Name, SerialNumber: cardNumber}
	c.cert, err = simkeys.IssueCardCertificate(id, &key.PublicKey, subject, certNotBefore, certNotAfter)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testCard(t testing.TB) *card { return newCard(t, testCardID, testCardNumber) }

// bundle builds and signs a bundle exactly as the daemon and the card do.
func (c *card) bundle(t testing.TB, level int, origin string, nonce []byte) *link.Bundle {
	t.Helper()
	b := &link.Bundle{
		Version: link.BundleVersion,
		Level:   level,
		Origin:  origin,
		Nonce:   bytes.Clone(nonce),
		Card:    c.data,
		Proof:   link.Proof{Alg: link.AlgSM2SM3, Certificates: [][]byte{c.cert}},
	}
	if level == link.Level2 {
		bank := c.bank
		b.Bank = &bank
	}
	c.sign(t, b)
	return b
}

// sign (re)signs b with the card's key.
func (c *card) sign(t testing.TB, b *link.Bundle) {
	t.Helper()
	msg, err := link.SignedMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	b.Proof.Signature, err = sm.Sign(c.key, nil, msg)
	if err != nil {
		t.Fatal(err)
	}
}

func simRoots(t testing.TB) *sm.CertPool {
	t.Helper()
	p, err := simkeys.RootPool()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// ca is a certificate authority made for the tests.
type ca struct {
	key  *sm2.PrivateKey
	cert *smx509.Certificate
}

func keyFromSeed(t testing.TB, seed string) *sm2.PrivateKey {
	t.Helper()
	d := sm3.Sum([]byte(seed))
	k, err := sm.PrivateKeyFromScalar(d[:])
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func keyID(t testing.TB, k *sm2.PrivateKey) []byte {
	t.Helper()
	q, err := sm.MarshalPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	s := sm3.Sum(q)
	return s[:20]
}

// newRootCA makes a self-signed SM2 root other than the SIM one.
func newRootCA(t testing.TB, seed string) *ca {
	t.Helper()
	key := keyFromSeed(t, seed)
	tmpl := &smx509.Certificate{
		SerialNumber:          big.NewInt(7),
		Subject:               pkix.Name{Country: []string{"CN"}, CommonName: seed},
		NotBefore:             certNotBefore,
		NotAfter:              certNotAfter,
		SignatureAlgorithm:    smx509.SM2WithSM3,
		KeyUsage:              smx509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            -1,
		SubjectKeyId:          keyID(t, key),
	}
	der, err := smx509.CreateCertificate(nil, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := sm.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &ca{key: key, cert: cert}
}

// simRootCA is the SIM root with its (public, test-only) key.
func simRootCA(t testing.TB) *ca {
	t.Helper()
	cert, err := simkeys.RootCertificate()
	if err != nil {
		t.Fatal(err)
	}
	return &ca{key: simkeys.RootKey(), cert: cert}
}

// issue issues a certificate for the subject key: a CA when isCA, else a
// card signing certificate with subject serialNumber = cardNumber.
func (a *ca) issue(t testing.TB, pub *sm2.PrivateKey, cn, cardNumber string, isCA bool) []byte {
	t.Helper()
	tmpl := &smx509.Certificate{
		SerialNumber:          big.NewInt(1000 + int64(len(cn))),
		Subject:               pkix.Name{Country: []string{"CN"}, CommonName: cn, SerialNumber: cardNumber},
		NotBefore:             certNotBefore,
		NotAfter:              certNotAfter,
		SignatureAlgorithm:    smx509.SM2WithSM3,
		KeyUsage:              smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment,
		BasicConstraintsValid: true,
		MaxPathLen:            -1,
		SubjectKeyId:          keyID(t, pub),
		AuthorityKeyId:        a.cert.SubjectKeyId,
	}
	if isCA {
		tmpl.IsCA = true
		tmpl.KeyUsage = smx509.KeyUsageCertSign
	}
	der, err := smx509.CreateCertificate(nil, tmpl, a.cert, &pub.PublicKey, a.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// anyBinding accepts every certificate: it isolates the signature check.
var anyBinding = link.BindingFunc(func(*smx509.Certificate, *link.Card) error { return nil })
