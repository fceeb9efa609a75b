package sm

import (
	"crypto/ecdsa"
	"crypto/x509/pkix"
	"fmt"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
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

// SIMEncryptionKey returns the SIM encryption key pair of a card:
// d = SM3("SSC-SIM-ENC" || cardID) reduced as PrivateKeyFromScalar does,
// cardID the 16 raw bytes of the card identification code.
func SIMEncryptionKey(cardID []byte) (*sm2.PrivateKey, error) {
	if len(cardID) != CardIDSize {
		return nil, fmt.Errorf("%w: card id is %d bytes, want %d", ErrLength, len(cardID), CardIDSize)
	}
	return testcaKey([]byte(simEncSeed), cardID), nil
}

// SIMEnvelopeSessionKey returns the SIM session key of a card's enveloped
// encryption key pair: SM3("SSC-SIM-JMMY" || cardID)[0:16].
func SIMEnvelopeSessionKey(cardID []byte) ([EnvelopedSessionKeySize]byte, error) {
	var k [EnvelopedSessionKeySize]byte
	if len(cardID) != CardIDSize {
		return k, fmt.Errorf("%w: card id is %d bytes, want %d", ErrLength, len(cardID), CardIDSize)
	}
	sum := sm3.Sum(append([]byte(simSessionSeed), cardID...))
	copy(k[:], sum[:])
	return k, nil
}

// SIMIssueEncryptionCertificate issues, with the SIM root, the encryption
// certificate of a card (the content of EF 0019): as
// SIMIssueCardCertificate (subject, validity, serial rule, deterministic
// DER) but keyUsage keyEncipherment + dataEncipherment + keyAgreement. pub
// nil means the SIM encryption key of cardID (SIMEncryptionKey).
func SIMIssueEncryptionCertificate(cardID []byte, pub *ecdsa.PublicKey, subject pkix.Name, notBefore, notAfter time.Time) ([]byte, error) {
	return testcaIssue(cardID, pub, SIMEncryptionKey, subject, notBefore, notAfter,
		smx509.KeyUsageKeyEncipherment|smx509.KeyUsageDataEncipherment|smx509.KeyUsageKeyAgreement)
}

// SIMHolderEncryptionCertificate is SIMHolderCertificate for the
// encryption certificate: same subject and validity, issued with
// SIMIssueEncryptionCertificate.
func SIMHolderEncryptionCertificate(cardID []byte, pub *ecdsa.PublicKey, commonName, cardNumber string, issueDay, expiryDay time.Time) ([]byte, error) {
	subject, notAfter := simHolderSubject(commonName, cardNumber, expiryDay)
	return SIMIssueEncryptionCertificate(cardID, pub, subject, issueDay, notAfter)
}

// SIMEnvelopedKey envelopes the SIM encryption key pair of a card
// (SIMEncryptionKey) under its SIM session key (SIMEnvelopeSessionKey)
// for signingPub, the card's signing public key (EF 0012; nil: the SIM
// signing key SIMCardSigningKey). The SM2 encryption is randomised
// (crypto/rand), so each call gives another blob.
func SIMEnvelopedKey(cardID []byte, signingPub *ecdsa.PublicKey) (*EnvelopedKey, error) {
	enc, err := SIMEncryptionKey(cardID)
	if err != nil {
		return nil, err
	}
	if signingPub == nil {
		k, err := SIMCardSigningKey(cardID)
		if err != nil {
			return nil, err
		}
		signingPub = &k.PublicKey
	}
	session, err := SIMEnvelopeSessionKey(cardID)
	if err != nil {
		return nil, err
	}
	defer clear(session[:])
	return SealEnvelopedKey(nil, signingPub, enc, session[:])
}
