package simkeys

import (
	"crypto/ecdsa"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"github.com/sscard/ssc/sm"
)

// The SIM test PKI (sim-profile §5, §6): SM2 key pairs derived from fixed
// strings, a self-signed SM2-with-SM3 root and card signing certificates it
// issues. Everything here is public by construction and deterministic: the
// software card, the daemon and the tests compute the same keys and the
// same certificate bytes independently.
//
// Determinism of the X.509 signatures: smx509.CreateCertificate hands its
// io.Reader to the signer, and gmsm's SM2 signer treats a nil reader as a
// request for a deterministic signature — the nonce is derived with RFC 6979
// (HMAC-SM3 over the private key and the digest e of the TBS certificate,
// gmsm's SignDeterministic). That is the "deterministic stream seeded from
// the key and the TBS" a DRBG would give, but standardised and implemented
// by gmsm, so nothing is hand-rolled. Every other field that
// CreateCertificate would fill from randomness or from GODEBUG settings
// (serial number, subject and authority key identifiers) is set explicitly.
// The same inputs therefore always give identical DER; TestRootGolden
// pins the root against testdata/sim-root-ca.pem.

const (
	simRootCASeed  = "SSC-SIM-ROOT-CA"
	simCardSeed    = "SSC-SIM-CARD"
	simPBOCCASeed  = "SSC-SIM-PBOC-CA"
	simCertSerialL = "SSC-SIM-CERT" // domain separation of card certificate serials
)

// RootNotBefore and RootNotAfter bound the SIM root's validity. They are
// functions so that no caller can move the validity of the shared root.
func RootNotBefore() time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) }

// RootNotAfter: see RootNotBefore.
func RootNotAfter() time.Time { return time.Date(2049, 12, 31, 23, 59, 59, 0, time.UTC) }

// RootSerial is the serial number of the SIM root certificate.
const RootSerial = 1

// RootSubject returns the subject (and issuer) name of the SIM root:
// C=CN, O=ssc SIM profile, CN=SSC SIM Test Root CA.
func RootSubject() pkix.Name {
	return pkix.Name{
		Country:      []string{"CN"},
		Organization: []string{"ssc SIM profile"},
		CommonName:   "SSC SIM Test Root CA",
	}
}

// ErrCertIssue is wrapped by the errors of the certificate issuing
// functions (bad template: empty name, empty or inverted validity, ...).
var ErrCertIssue = errors.New("simkeys: cannot issue certificate")

// testcaKey derives a SIM key pair: d = SM3(parts...) with the reduction
// rule of sm.PrivateKeyFromScalar.
func testcaKey(parts ...[]byte) *sm2.PrivateKey {
	h := sm3.New()
	for _, p := range parts {
		h.Write(p)
	}
	priv, err := sm.PrivateKeyFromScalar(h.Sum(nil))
	if err != nil {
		panic("simkeys: key derivation: " + err.Error()) // unreachable: SM3 gives 32 bytes
	}
	return priv
}

// RootKey returns the SIM test root CA key: d = SM3("SSC-SIM-ROOT-CA")
// reduced as sm.PrivateKeyFromScalar does (sim-profile §5). Each call returns
// a new key value. It is a public test key; never trust it outside tests
// and simulations.
func RootKey() *sm2.PrivateKey {
	return testcaKey([]byte(simRootCASeed))
}

// CardSigningKey returns the SIM PKI signing key pair of a card:
// d = SM3("SSC-SIM-CARD" || cardID) reduced as sm.PrivateKeyFromScalar does,
// with cardID the 16 raw bytes of the card identification code
// (sim-profile §5). (CardKey is the unrelated SM4 SSSE card key.)
func CardSigningKey(cardID []byte) (*sm2.PrivateKey, error) {
	if len(cardID) != sm.CardIDSize {
		return nil, fmt.Errorf("%w: card id is %d bytes, want %d", sm.ErrLength, len(cardID), sm.CardIDSize)
	}
	return testcaKey([]byte(simCardSeed), cardID), nil
}

// PBOCCAKey returns the SIM payment-system CA key used for PBOC SM2
// offline data authentication: d = SM3("SSC-SIM-PBOC-CA") reduced as
// sm.PrivateKeyFromScalar does; RID A000000333, index 80 (sim-profile §6,
// see CAKeyTable).
func PBOCCAKey() *sm2.PrivateKey {
	return testcaKey([]byte(simPBOCCASeed))
}

// testcaKeyID is the key identifier of a public key: the leftmost 160 bits
// of SM3 over the subjectPublicKey bit string value 04 || X || Y (RFC 7093
// method 1, with SM3 in place of SHA-256).
func testcaKeyID(pub *ecdsa.PublicKey) ([]byte, error) {
	q, err := sm.MarshalPublicKey(pub)
	if err != nil {
		return nil, err
	}
	sum := sm3.Sum(q)
	return sum[:20], nil
}

type testcaRoot struct {
	key  *sm2.PrivateKey
	der  []byte
	cert *smx509.Certificate
	skid []byte
	err  error
}

// testcaBuildRoot builds the SIM root from scratch.
func testcaBuildRoot() *testcaRoot {
	r := &testcaRoot{key: RootKey()}
	r.skid, r.err = testcaKeyID(&r.key.PublicKey)
	if r.err != nil {
		return r
	}
	tmpl := &smx509.Certificate{
		SerialNumber:          big.NewInt(RootSerial),
		Subject:               RootSubject(),
		NotBefore:             RootNotBefore(),
		NotAfter:              RootNotAfter(),
		SignatureAlgorithm:    smx509.SM2WithSM3,
		KeyUsage:              smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            -1,
		SubjectKeyId:          r.skid,
	}
	// nil rand: deterministic RFC 6979 signature, see the file comment.
	r.der, r.err = smx509.CreateCertificate(nil, tmpl, tmpl, &r.key.PublicKey, r.key)
	if r.err != nil {
		return r
	}
	r.cert, r.err = smx509.ParseCertificate(r.der)
	return r
}

var testcaRootOnce = sync.OnceValue(testcaBuildRoot)

func testcaRootCA() (*testcaRoot, error) {
	r := testcaRootOnce()
	if r.err != nil { // unreachable with gmsm working
		return nil, fmt.Errorf("%w: SIM root: %w", ErrCertIssue, r.err)
	}
	return r, nil
}

// RootCertificateDER returns the DER of the SIM root certificate:
// self-signed SM2-with-SM3, subject RootSubject, serial RootSerial,
// valid RootNotBefore..RootNotAfter, CA with keyCertSign and cRLSign,
// key RootKey. The bytes are fixed (testdata/sim-root-ca.pem).
func RootCertificateDER() ([]byte, error) {
	r, err := testcaRootCA()
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), r.der...), nil
}

// RootCertificatePEM returns RootCertificateDER as one PEM
// CERTIFICATE block, the content of testdata/sim-root-ca.pem.
func RootCertificatePEM() ([]byte, error) {
	der, err := RootCertificateDER()
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// RootCertificate returns the parsed SIM root certificate. The value is
// shared: callers must not modify it.
func RootCertificate() (*smx509.Certificate, error) {
	r, err := testcaRootCA()
	if err != nil {
		return nil, err
	}
	return r.cert, nil
}

// RootPool returns a new CertPool holding the SIM root as its only trust
// anchor.
func RootPool() (*sm.CertPool, error) {
	root, err := RootCertificate()
	if err != nil {
		return nil, err
	}
	p := sm.NewCertPool()
	p.AddCert(root)
	return p, nil
}

// HolderCertificate issues the signing certificate of a personalised
// card as the SIM profile has it (docs/issuance.md): subject C=CN,
// CN=commonName (the holder's name), SERIALNUMBER=cardNumber, valid from the
// issue day (00:00 UTC) to the end of the expiry day (+1 day − 1 s); see
// IssueCardCertificate for the rest.
func HolderCertificate(cardID []byte, pub *ecdsa.PublicKey, commonName, cardNumber string, issueDay, expiryDay time.Time) ([]byte, error) {
	subject, notAfter := simHolderSubject(commonName, cardNumber, expiryDay)
	return IssueCardCertificate(cardID, pub, subject, issueDay, notAfter)
}

// simHolderSubject is the subject and notAfter of the SIM holder
// certificates (signing and encryption).
func simHolderSubject(commonName, cardNumber string, expiryDay time.Time) (pkix.Name, time.Time) {
	return pkix.Name{Country: []string{"CN"}, CommonName: commonName, SerialNumber: cardNumber}, expiryDay.Add(24*time.Hour - time.Second)
}

// IssueCardCertificate issues, with the SIM root, the PKI signing
// certificate of a card (the content of EF 0018) and returns its DER.
//
// pub is the card's signing public key (EF 0012); nil means the SIM card
// key pair of cardID (CardSigningKey). subject must have a CommonName:
// the holder's name or the card number. The certificate is v3,
// SM2-with-SM3, issuer = the SIM root, keyUsage digitalSignature +
// nonRepudiation (contentCommitment), basicConstraints CA=false, with
// subject and authority key identifiers. notBefore and notAfter are
// truncated to whole seconds (UTC) and notBefore must be before notAfter.
//
// The serial number is the first 16 bytes of SM3("SSC-SIM-CERT" || cardID
// || X || Y || subject DER || notBefore || notAfter) (times as 8-byte
// big-endian Unix seconds) with the top bit cleared and the next one set,
// so it is positive, 16 bytes long and different for different
// certificates. With the deterministic signature (see the file comment)
// the same inputs always give the same DER.
func IssueCardCertificate(cardID []byte, pub *ecdsa.PublicKey, subject pkix.Name, notBefore, notAfter time.Time) ([]byte, error) {
	return testcaIssue(cardID, pub, CardSigningKey, subject, notBefore, notAfter,
		smx509.KeyUsageDigitalSignature|smx509.KeyUsageContentCommitment)
}

// testcaIssue issues a card certificate with the SIM root (see
// IssueCardCertificate): pub nil means the key pair defKey derives
// from cardID; usage is the keyUsage extension.
func testcaIssue(cardID []byte, pub *ecdsa.PublicKey, defKey func([]byte) (*sm2.PrivateKey, error), subject pkix.Name, notBefore, notAfter time.Time, usage smx509.KeyUsage) ([]byte, error) {
	if len(cardID) != sm.CardIDSize {
		return nil, fmt.Errorf("%w: %w: card id is %d bytes, want %d", ErrCertIssue, sm.ErrLength, len(cardID), sm.CardIDSize)
	}
	if pub == nil {
		k, err := defKey(cardID)
		if err != nil {
			return nil, err
		}
		pub = &k.PublicKey
	}
	xy, err := sm.MarshalPublicKeyXY(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCertIssue, err)
	}
	if subject.CommonName == "" {
		return nil, fmt.Errorf("%w: subject has no common name", ErrCertIssue)
	}
	notBefore = notBefore.UTC().Truncate(time.Second)
	notAfter = notAfter.UTC().Truncate(time.Second)
	if !notBefore.Before(notAfter) {
		return nil, fmt.Errorf("%w: notBefore %v is not before notAfter %v", ErrCertIssue, notBefore, notAfter)
	}
	// UTCTime/GeneralizedTime cover years 0001..9999 only.
	if notBefore.Year() < 1950 || notAfter.Year() > 9999 {
		return nil, fmt.Errorf("%w: validity outside 1950..9999", ErrCertIssue)
	}
	subjectDER, err := asn1.Marshal(subject.ToRDNSequence())
	if err != nil {
		return nil, fmt.Errorf("%w: subject: %w", ErrCertIssue, err)
	}
	root, err := testcaRootCA()
	if err != nil {
		return nil, err
	}
	skid, err := testcaKeyID(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCertIssue, err)
	}

	h := sm3.New()
	h.Write([]byte(simCertSerialL))
	h.Write(cardID)
	h.Write(xy)
	h.Write(subjectDER)
	var t [16]byte
	binary.BigEndian.PutUint64(t[:8], uint64(notBefore.Unix()))
	binary.BigEndian.PutUint64(t[8:], uint64(notAfter.Unix()))
	h.Write(t[:])
	sum := h.Sum(nil)
	serial := sum[:16]
	serial[0] = serial[0]&0x7F | 0x40

	tmpl := &smx509.Certificate{
		SerialNumber:          new(big.Int).SetBytes(serial),
		Subject:               subject,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		SignatureAlgorithm:    smx509.SM2WithSM3,
		KeyUsage:              usage,
		BasicConstraintsValid: true,
		IsCA:                  false,
		MaxPathLen:            -1,
		SubjectKeyId:          skid,
		AuthorityKeyId:        root.skid,
	}
	der, err := smx509.CreateCertificate(nil, tmpl, root.cert, pub, root.key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCertIssue, err)
	}
	return der, nil
}
