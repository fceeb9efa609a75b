package keysystem

import (
	"context"
	"fmt"
	"time"

	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
	"github.com/sscard/ssc/sscard"
)

// SIMCA is the SIM test CA: the signing certificate is
// simkeys.HolderCertificate (subject C=CN, CN=holder name,
// SERIALNUMBER=card number, valid from the issue date 00:00 UTC to the end
// of the expiry date), the encryption certificate
// simkeys.HolderEncryptionCertificate for the SIM encryption key
// (simkeys.EncryptionKey), enveloped with simkeys.EnvelopedKey for the
// request's signing key.
type SIMCA struct{}

var (
	_ sscard.CertIssuer = SIMCA{}
	_ sscard.CertRoots  = SIMCA{}
)

// Issue implements sscard.CertIssuer.
func (SIMCA) Issue(_ context.Context, req sscard.CertRequest) (*sscard.CADelivery, error) {
	h := req.Holder
	if h == nil || h.Name == "" || h.CardNumber == "" {
		return nil, sscard.ErrNotIssued
	}
	if req.SigningKey == nil {
		return nil, fmt.Errorf("%w: no signing key", sm.ErrSM2PublicKey)
	}
	issued, err := time.Parse("20060102", h.IssueDate)
	if err != nil {
		return nil, fmt.Errorf("%w: issue_date: want YYYYMMDD", sscard.ErrCA)
	}
	expires, err := time.Parse("20060102", h.ExpiryDate)
	if err != nil {
		return nil, fmt.Errorf("%w: expiry_date: want YYYYMMDD", sscard.ErrCA)
	}
	sign, err := simkeys.HolderCertificate(req.CardID, req.SigningKey, h.Name, h.CardNumber, issued, expires)
	if err != nil {
		return nil, err
	}
	enc, err := simkeys.HolderEncryptionCertificate(req.CardID, nil, h.Name, h.CardNumber, issued, expires)
	if err != nil {
		return nil, err
	}
	env, err := simkeys.EnvelopedKey(req.CardID, req.SigningKey)
	if err != nil {
		return nil, err
	}
	blob, err := env.Marshal()
	if err != nil {
		return nil, err
	}
	return &sscard.CADelivery{SigningCert: sign, EncryptionCert: enc, EnvelopedKey: blob}, nil
}

// Roots implements sscard.CertRoots: the SIM root, so PersonalisePKI
// verifies the chains of what SIMCA issued without being given roots.
func (SIMCA) Roots() (*sm.CertPool, error) { return simkeys.RootPool() }
