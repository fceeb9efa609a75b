package simkeys

import (
	"crypto/ecdsa"
	"crypto/x509/pkix"
	"fmt"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"github.com/sscard/ssc/sm"
)

// The SIM encryption key pair and certificate of a card
// (docs/issuance.md, "The encryption key pair and certificate — the
// contract"): the key pair d = SM3("SSC-SIM-ENC" || cardID) (the
// sim-profile §5 scalar rule), the session key of its envelope
// SM3("SSC-SIM-JMMY" || cardID)[0:16], the certificate issued like the
// signing one with keyUsage keyEncipherment + dataEncipherment +
// keyAgreement.

const (
	simEncSeed     = "SSC-SIM-ENC"
	simSessionSeed = "SSC-SIM-JMMY"
)

// EncryptionKey returns the SIM encryption key pair of a card:
// d = SM3("SSC-SIM-ENC" || cardID) reduced as sm.PrivateKeyFromScalar does,
// cardID the 16 raw bytes of the card identification code.
func EncryptionKey(cardID []byte) (*sm2.PrivateKey, error) {
	if len(cardID) != sm.CardIDSize {
		return nil, fmt.Errorf("%w: card id is %d bytes, want %d", sm.ErrLength, len(cardID), sm.CardIDSize)
	}
	return testcaKey([]byte(simEncSeed), cardID), nil
}

// EnvelopeSessionKey returns the SIM session key of a card's enveloped
// encryption key pair: SM3("SSC-SIM-JMMY" || cardID)[0:16].
func EnvelopeSessionKey(cardID []byte) ([sm.EnvelopedSessionKeySize]byte, error) {
	var k [sm.EnvelopedSessionKeySize]byte
	if len(cardID) != sm.CardIDSize {
		return k, fmt.Errorf("%w: card id is %d bytes, want %d", sm.ErrLength, len(cardID), sm.CardIDSize)
	}
	sum := sm3.Sum(append([]byte(simSessionSeed), cardID...))
	copy(k[:], sum[:])
	return k, nil
}

// IssueEncryptionCertificate issues, with the SIM root, the encryption
// certificate of a card (the content of EF 0019): as
// IssueCardCertificate (subject, validity, serial rule, deterministic
// DER) but keyUsage keyEncipherment + dataEncipherment + keyAgreement. pub
// nil means the SIM encryption key of cardID (EncryptionKey).
func IssueEncryptionCertificate(cardID []byte, pub *ecdsa.PublicKey, subject pkix.Name, notBefore, notAfter time.Time) ([]byte, error) {
	return testcaIssue(cardID, pub, EncryptionKey, subject, notBefore, notAfter,
		smx509.KeyUsageKeyEncipherment|smx509.KeyUsageDataEncipherment|smx509.KeyUsageKeyAgreement)
}

// HolderEncryptionCertificate is HolderCertificate for the
// encryption certificate: same subject and validity, issued with
// IssueEncryptionCertificate.
func HolderEncryptionCertificate(cardID []byte, pub *ecdsa.PublicKey, commonName, cardNumber string, issueDay, expiryDay time.Time) ([]byte, error) {
	subject, notAfter := simHolderSubject(commonName, cardNumber, expiryDay)
	return IssueEncryptionCertificate(cardID, pub, subject, issueDay, notAfter)
}

// EnvelopedKey envelopes the SIM encryption key pair of a card
// (EncryptionKey) under its SIM session key (EnvelopeSessionKey)
// for signingPub, the card's signing public key (EF 0012; nil: the SIM
// signing key CardSigningKey). The SM2 encryption is randomised
// (crypto/rand), so each call gives another blob.
func EnvelopedKey(cardID []byte, signingPub *ecdsa.PublicKey) (*sm.EnvelopedKey, error) {
	enc, err := EncryptionKey(cardID)
	if err != nil {
		return nil, err
	}
	if signingPub == nil {
		k, err := CardSigningKey(cardID)
		if err != nil {
			return nil, err
		}
		signingPub = &k.PublicKey
	}
	session, err := EnvelopeSessionKey(cardID)
	if err != nil {
		return nil, err
	}
	defer clear(session[:])
	return sm.SealEnvelopedKey(nil, signingPub, enc, session[:])
}
