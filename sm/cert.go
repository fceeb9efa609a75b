package sm

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// Errors of the X.509 functions. Each error returned by them wraps exactly
// one of these (errors.Is) and, where there is one, the underlying smx509
// error (errors.As on smx509.CertificateInvalidError or
// smx509.UnknownAuthorityError still works).
var (
	// ErrCertMalformed: the bytes are not a certificate smx509 can parse.
	ErrCertMalformed = errors.New("sm: malformed certificate")
	// ErrCertExpired: the leaf or a certificate of its chain is past its
	// notAfter at the verification time.
	ErrCertExpired = errors.New("sm: certificate expired")
	// ErrCertNotYetValid: the leaf or a certificate of its chain is before
	// its notBefore at the verification time.
	ErrCertNotYetValid = errors.New("sm: certificate not yet valid")
	// ErrCertUntrusted: no chain to a configured root (unknown issuer or a
	// bad signature on the way).
	ErrCertUntrusted = errors.New("sm: certificate not issued by a trusted root")
	// ErrCertKeyUsage: the leaf lacks a required key usage, or the chain does
	// not allow the requested extended key usage.
	ErrCertKeyUsage = errors.New("sm: certificate key usage does not allow this use")
	// ErrCertNotSM2: the certificate's key is not an SM2 key or its signature
	// is not SM2-with-SM3.
	ErrCertNotSM2 = errors.New("sm: certificate is not SM2/SM3")
	// ErrCertInvalid: any other chain failure (issuer not a CA, path length,
	// name constraints, ...).
	ErrCertInvalid = errors.New("sm: invalid certificate chain")
)

// ParseCertificate parses one DER certificate (no trailing bytes) with
// gmsm's smx509, which understands SM2 keys and SM2-with-SM3 signatures.
func ParseCertificate(der []byte) (*smx509.Certificate, error) {
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCertMalformed, err)
	}
	return c, nil
}

// ParseCertificatesPEM parses every block of PEM data. Each block must be a
// CERTIFICATE; text between blocks is ignored; at least one is required.
func ParseCertificatesPEM(data []byte) ([]*smx509.Certificate, error) {
	var certs []*smx509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%w: PEM block %q, want CERTIFICATE", ErrCertMalformed, block.Type)
		}
		if len(block.Headers) != 0 {
			return nil, fmt.Errorf("%w: PEM block with headers", ErrCertMalformed)
		}
		c, err := ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%w: no PEM CERTIFICATE block", ErrCertMalformed)
	}
	return certs, nil
}

// DecodeCertificate parses one certificate given as DER, as a single PEM
// CERTIFICATE block, or as bare base64 of the DER (the form the provincial
// CA delivers the QMZS/JMZS certificates in; whitespace is ignored).
func DecodeCertificate(b []byte) (*smx509.Certificate, error) {
	switch {
	case len(b) > 0 && b[0] == 0x30:
		return ParseCertificate(b)
	case bytes.Contains(b, []byte("-----BEGIN")):
		certs, err := ParseCertificatesPEM(b)
		if err != nil {
			return nil, err
		}
		if len(certs) != 1 {
			return nil, fmt.Errorf("%w: %d certificates, want 1", ErrCertMalformed, len(certs))
		}
		return certs[0], nil
	default:
		clean := bytes.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
				return -1
			}
			return r
		}, b)
		der, err := base64.StdEncoding.Strict().DecodeString(string(clean))
		if err != nil {
			return nil, fmt.Errorf("%w: neither DER, PEM nor base64: %w", ErrCertMalformed, err)
		}
		return ParseCertificate(der)
	}
}

// CertificatePublicKey returns the SM2 public key of a certificate, or an
// error wrapping ErrCertNotSM2 when it holds another kind of key.
func CertificatePublicKey(c *smx509.Certificate) (*ecdsa.PublicKey, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: nil certificate", ErrCertMalformed)
	}
	pub, ok := c.PublicKey.(*ecdsa.PublicKey)
	if !ok || !sm2.IsSM2PublicKey(pub) {
		return nil, fmt.Errorf("%w: public key is %T, not SM2", ErrCertNotSM2, c.PublicKey)
	}
	return pub, nil
}

// CertPool is a set of trusted root certificates. Add the roots first; a
// pool that is no longer modified may verify from several goroutines.
type CertPool struct {
	pool  *smx509.CertPool
	roots []*smx509.Certificate
}

// NewCertPool returns an empty pool.
func NewCertPool() *CertPool {
	return &CertPool{pool: smx509.NewCertPool()}
}

// AddCert adds a trusted root. Adding the same certificate twice has no
// effect.
func (p *CertPool) AddCert(c *smx509.Certificate) {
	if c == nil {
		return
	}
	for _, r := range p.roots {
		if r.Equal(c) {
			return
		}
	}
	if p.pool == nil {
		p.pool = smx509.NewCertPool()
	}
	p.pool.AddCert(c)
	p.roots = append(p.roots, c)
}

// AppendPEM adds every certificate of PEM data as a trusted root; it adds
// nothing when any block fails to parse.
func (p *CertPool) AppendPEM(data []byte) error {
	certs, err := ParseCertificatesPEM(data)
	if err != nil {
		return err
	}
	for _, c := range certs {
		p.AddCert(c)
	}
	return nil
}

// Len returns the number of roots in the pool.
func (p *CertPool) Len() int { return len(p.roots) }

// Certificates returns the roots of the pool (a new slice, shared
// certificates).
func (p *CertPool) Certificates() []*smx509.Certificate {
	return append([]*smx509.Certificate(nil), p.roots...)
}

// CertVerifyOptions are the parameters of CertPool.Verify.
type CertVerifyOptions struct {
	// Intermediates are untrusted certificates that may complete the chain.
	Intermediates []*smx509.Certificate
	// Time is the verification time; zero means time.Now().
	Time time.Time
	// KeyUsage lists the key usage bits the leaf must all carry, for example
	// smx509.KeyUsageDigitalSignature for a signing certificate. When it is
	// not zero the leaf must have a keyUsage extension.
	KeyUsage smx509.KeyUsage
	// ExtKeyUsages are the acceptable extended key usages (any of them); nil
	// accepts any.
	ExtKeyUsages []smx509.ExtKeyUsage
}

// Verify verifies an SM2 leaf certificate: it builds a chain to one of the
// pool's roots (through opts.Intermediates), checks the SM2-with-SM3
// signatures (with the default signer id, as GM/T 0015 certificates use),
// the validity of every certificate of the chain at opts.Time, the CA
// constraints, and the leaf's key usage. It returns the chain from the leaf
// to the root, or an error wrapping one of ErrCertMalformed, ErrCertNotSM2,
// ErrCertExpired, ErrCertNotYetValid, ErrCertUntrusted, ErrCertKeyUsage and
// ErrCertInvalid.
func (p *CertPool) Verify(leaf *smx509.Certificate, opts CertVerifyOptions) ([]*smx509.Certificate, error) {
	if leaf == nil || len(leaf.Raw) == 0 {
		return nil, fmt.Errorf("%w: nil or unparsed certificate", ErrCertMalformed)
	}
	if _, err := CertificatePublicKey(leaf); err != nil {
		return nil, err
	}
	if leaf.SignatureAlgorithm != smx509.SM2WithSM3 {
		return nil, fmt.Errorf("%w: leaf signature algorithm %v", ErrCertNotSM2, leaf.SignatureAlgorithm)
	}
	at := opts.Time
	if at.IsZero() {
		at = time.Now()
	}
	if err := certValidity(leaf, at); err != nil {
		return nil, err
	}
	inter := smx509.NewCertPool()
	for _, c := range opts.Intermediates {
		if c != nil {
			inter.AddCert(c)
		}
	}
	eku := opts.ExtKeyUsages
	if len(eku) == 0 {
		eku = []smx509.ExtKeyUsage{smx509.ExtKeyUsageAny}
	}
	roots := p.pool
	if roots == nil { // zero CertPool: trust nothing, never the system roots
		roots = smx509.NewCertPool()
	}
	chains, err := leaf.Verify(smx509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   at,
		KeyUsages:     eku,
	})
	if err != nil {
		return nil, certClassify(err, at)
	}
	chain := chains[0]
	for i := 1; i < len(chain)-1; i++ {
		if c := chain[i]; c.SignatureAlgorithm != smx509.SM2WithSM3 {
			return nil, fmt.Errorf("%w: intermediate %q signature algorithm %v", ErrCertNotSM2, c.Subject.CommonName, c.SignatureAlgorithm)
		}
	}
	if opts.KeyUsage != 0 && leaf.KeyUsage&opts.KeyUsage != opts.KeyUsage {
		return nil, fmt.Errorf("%w: leaf key usage %#x lacks %#x", ErrCertKeyUsage, leaf.KeyUsage, opts.KeyUsage&^leaf.KeyUsage)
	}
	return chain, nil
}

// VerifySigning verifies a signing certificate (for example the PKI
// application's EF 0018) at time at: Verify with KeyUsage =
// digitalSignature.
func (p *CertPool) VerifySigning(leaf *smx509.Certificate, at time.Time, intermediates ...*smx509.Certificate) ([]*smx509.Certificate, error) {
	return p.Verify(leaf, CertVerifyOptions{
		Intermediates: intermediates,
		Time:          at,
		KeyUsage:      smx509.KeyUsageDigitalSignature,
	})
}

// VerifyEncryption verifies an encryption certificate (the PKI
// application's EF 0019) at time at: Verify with KeyUsage =
// keyEncipherment.
func (p *CertPool) VerifyEncryption(leaf *smx509.Certificate, at time.Time, intermediates ...*smx509.Certificate) ([]*smx509.Certificate, error) {
	return p.Verify(leaf, CertVerifyOptions{
		Intermediates: intermediates,
		Time:          at,
		KeyUsage:      smx509.KeyUsageKeyEncipherment,
	})
}

func certValidity(c *smx509.Certificate, at time.Time) error {
	name := c.Subject.CommonName
	if at.Before(c.NotBefore) {
		return fmt.Errorf("%w: %q is valid from %s, time is %s", ErrCertNotYetValid, name, c.NotBefore.Format(time.RFC3339), at.UTC().Format(time.RFC3339))
	}
	if at.After(c.NotAfter) {
		return fmt.Errorf("%w: %q expired %s, time is %s", ErrCertExpired, name, c.NotAfter.Format(time.RFC3339), at.UTC().Format(time.RFC3339))
	}
	return nil
}

// certClassify maps an smx509 verification error to the package's sentinels,
// keeping it in the chain.
func certClassify(err error, at time.Time) error {
	var inv smx509.CertificateInvalidError
	if errors.As(err, &inv) {
		switch inv.Reason {
		case smx509.Expired:
			if inv.Cert != nil && at.Before(inv.Cert.NotBefore) {
				return fmt.Errorf("%w: %w", ErrCertNotYetValid, err)
			}
			return fmt.Errorf("%w: %w", ErrCertExpired, err)
		case smx509.IncompatibleUsage, smx509.CANotAuthorizedForExtKeyUsage:
			return fmt.Errorf("%w: %w", ErrCertKeyUsage, err)
		}
		return fmt.Errorf("%w: %w", ErrCertInvalid, err)
	}
	// No issuer in the pool or the intermediates whose signature checks
	// out (an issuer that does but is out of its validity period comes back
	// as Expired above, with that issuer as inv.Cert).
	var unk smx509.UnknownAuthorityError
	if errors.As(err, &unk) {
		return fmt.Errorf("%w: %w", ErrCertUntrusted, err)
	}
	return fmt.Errorf("%w: %w", ErrCertInvalid, err)
}
