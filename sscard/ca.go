package sscard

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sscard/ssc/sm"
)

// The certification authority of the PKI personalisation (docs/issuance.md,
// "The encryption key pair and certificate — the contract"): it delivers
// QMZS (the signing certificate), JMZS (the encryption certificate) and JMMY
// (the encryption key pair enveloped for the card's signing key).

// Errors of the CA and of its delivery.
var (
	// ErrCADelivery is wrapped by every *CADeliveryError: a QMZS, JMZS or
	// JMMY that is not base64, not an SM2 certificate or not an enveloped
	// key blob, or a delivery that does not fit together.
	ErrCADelivery = errors.New("sscard: malformed CA delivery")
	// ErrCA: the CA refused or failed (keysystem.CAError wraps it).
	ErrCA = errors.New("sscard: certificate authority error")
)

// CADeliveryError names the delivery field at fault (QMZS, JMZS, JMMY).
type CADeliveryError struct {
	Field string
	Err   error
}

func (e *CADeliveryError) Error() string {
	return fmt.Sprintf("%v: %s: %v", ErrCADelivery, e.Field, e.Err)
}

// Unwrap returns ErrCADelivery and the cause.
func (e *CADeliveryError) Unwrap() []error { return []error{ErrCADelivery, e.Err} }

// CADelivery is what the CA delivers for a card: DER certificates and the
// 388-byte enveloped key blob. Its JSON form is {"QMZS","JMZS","JMMY"}, each
// base64 (the --delivery FILE form).
type CADelivery struct {
	SigningCert    []byte // QMZS, DER X.509 SM2
	EncryptionCert []byte // JMZS, DER X.509 SM2
	EnvelopedKey   []byte // JMMY, GM/T 0016 ENVELOPEDKEYBLOB (sm.ParseEnvelopedKey)
}

// caDeliveryJSON is the JSON form of a delivery.
type caDeliveryJSON struct {
	QMZS string `json:"QMZS"`
	JMZS string `json:"JMZS"`
	JMMY string `json:"JMMY"`
}

// maxDeliveryField bounds one base64 field of a delivery (a certificate
// fits EF 0018/0019, 2048 bytes).
const maxDeliveryField = 8192

// ParseCADelivery decodes the three base64 strings of a CA delivery
// (whitespace, line breaks included, is ignored) and checks them: QMZS and
// JMZS must be SM2 certificates, JMMY an enveloped key blob. Errors are
// *CADeliveryError naming the field.
func ParseCADelivery(qmzs, jmzs, jmmy string) (*CADelivery, error) {
	var d CADelivery
	for _, f := range []struct {
		name string
		in   string
		out  *[]byte
	}{{"QMZS", qmzs, &d.SigningCert}, {"JMZS", jmzs, &d.EncryptionCert}, {"JMMY", jmmy, &d.EnvelopedKey}} {
		b, err := decodeBase64Field(f.in)
		if err != nil {
			return nil, &CADeliveryError{Field: f.name, Err: err}
		}
		*f.out = b
	}
	if err := d.Check(); err != nil {
		return nil, err
	}
	return &d, nil
}

func decodeBase64Field(s string) ([]byte, error) {
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
	if clean == "" {
		return nil, errors.New("empty")
	}
	if len(clean) > maxDeliveryField {
		return nil, fmt.Errorf("%d base64 characters, at most %d", len(clean), maxDeliveryField)
	}
	b, err := base64.StdEncoding.DecodeString(clean)
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	return b, nil
}

// Check parses the three parts: both certificates must be SM2 certificates
// (DER) that fit a certificate EF, the blob must parse. It returns a
// *CADeliveryError naming the part.
func (d *CADelivery) Check() error {
	for _, f := range []struct {
		name string
		der  []byte
	}{{"QMZS", d.SigningCert}, {"JMZS", d.EncryptionCert}} {
		c, err := sm.DecodeCertificate(f.der)
		if err == nil {
			_, err = sm.CertificatePublicKey(c)
		}
		if err == nil && len(f.der) > 2048 {
			err = fmt.Errorf("%d bytes, a certificate EF holds 2048", len(f.der))
		}
		if err != nil {
			return &CADeliveryError{Field: f.name, Err: err}
		}
	}
	if _, err := sm.ParseEnvelopedKey(d.EnvelopedKey); err != nil {
		return &CADeliveryError{Field: "JMMY", Err: err}
	}
	return nil
}

// Envelope parses the enveloped key blob (JMMY).
func (d *CADelivery) Envelope() (*sm.EnvelopedKey, error) {
	env, err := sm.ParseEnvelopedKey(d.EnvelopedKey)
	if err != nil {
		return nil, &CADeliveryError{Field: "JMMY", Err: err}
	}
	return env, nil
}

// keys returns the keys of the delivery: QMZS's, JMZS's and JMMY's public
// key, checking that JMZS certifies the enveloped key.
func (d *CADelivery) keys() (sign, enc *ecdsa.PublicKey, env *sm.EnvelopedKey, err error) {
	if err := d.Check(); err != nil {
		return nil, nil, nil, err
	}
	pub := func(der []byte) *ecdsa.PublicKey {
		c, _ := sm.DecodeCertificate(der)
		k, _ := sm.CertificatePublicKey(c)
		return k
	}
	sign, enc = pub(d.SigningCert), pub(d.EncryptionCert)
	env, err = d.Envelope()
	if err != nil {
		return nil, nil, nil, err
	}
	if !enc.Equal(env.PublicKey) {
		return nil, nil, nil, &CADeliveryError{Field: "JMZS", Err: fmt.Errorf("%w: the encryption certificate does not certify the enveloped key (JMMY)", ErrKeyMismatch)}
	}
	return sign, enc, env, nil
}

// MarshalJSON gives {"QMZS","JMZS","JMMY"} in base64.
func (d CADelivery) MarshalJSON() ([]byte, error) {
	e := base64.StdEncoding
	return json.Marshal(caDeliveryJSON{QMZS: e.EncodeToString(d.SigningCert), JMZS: e.EncodeToString(d.EncryptionCert), JMMY: e.EncodeToString(d.EnvelopedKey)})
}

// UnmarshalJSON reads {"QMZS","JMZS","JMMY"} with ParseCADelivery.
func (d *CADelivery) UnmarshalJSON(b []byte) error {
	var j caDeliveryJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return &CADeliveryError{Field: "JSON", Err: err}
	}
	p, err := ParseCADelivery(j.QMZS, j.JMZS, j.JMMY)
	if err != nil {
		return err
	}
	*d = *p
	return nil
}

// ParseCADeliveryJSON parses the JSON form of a delivery (the --delivery
// FILE form); unknown members are ignored, trailing data is an error.
func ParseCADeliveryJSON(b []byte) (*CADelivery, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	var d CADelivery
	if err := dec.Decode(&d); err != nil {
		var de *CADeliveryError
		if errors.As(err, &de) {
			return nil, err
		}
		return nil, &CADeliveryError{Field: "JSON", Err: err}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &CADeliveryError{Field: "JSON", Err: errors.New("data after the delivery object")}
	}
	return &d, nil
}

// CertRequest is what a CA needs for a card: its identification code, its
// signing public key (EF 0012) and the holder (name, card number, dates).
type CertRequest struct {
	CardID     []byte
	SigningKey *ecdsa.PublicKey
	Holder     *BasicInfo
}

// CertIssuer is the certification authority of the provincial platform:
// it certifies the card's signing key and delivers the encryption pair.
// keysystem.SIMCA is the SIM one, keysystem.HTTPCA one reached over HTTP.
type CertIssuer interface {
	Issue(ctx context.Context, req CertRequest) (*CADelivery, error)
}

// CertRoots is implemented by a CertIssuer that knows the roots its
// certificates chain to (keysystem.SIMCA: the SIM root). PersonalisePKI
// verifies the chains with them when it is given no roots, so a test CA
// needs no configuration and a real one is never trusted by default.
type CertRoots interface {
	Roots() (*sm.CertPool, error)
}
