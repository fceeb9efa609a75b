package sscard

import (
	"context"
	"fmt"
	"time"

	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
)

// The internal tests cannot import sscard/keysystem (it imports sscard):
// simHSM and simCA are its SIM key system and CA, computed the same way
// from package sm. keysystem's own tests run the real ones against cards.

// simHSM answers the read key, the write key and the update key with the
// SIM card keys (keysystem.SIM).
type simHSM struct{}

func (simHSM) Authenticate(ctx context.Context, st Step1) (Step2Input, error) {
	var out Step2Input
	if err := ctx.Err(); err != nil {
		return out, err
	}
	for i, p := range []struct {
		kid  byte
		f, o []byte
		dst  *[16]byte
	}{{KidInternal, st.F1, st.O1, &out.Result1}, {KidRead, st.F2, st.O2, &out.Result2}} {
		c, err := simCryptogram(p.kid, st.CardID, p.f, p.o)
		if err != nil {
			return Step2Input{}, fmt.Errorf("SIM HSM result %d: %w", i+1, err)
		}
		copy(p.dst[:8], c[:])
		copy(p.dst[8:], p.o)
	}
	return out, nil
}

func (simHSM) AuthorizeWrite(ctx context.Context, req WriteKeyRequest) (WriteKeyAnswer, error) {
	var out WriteKeyAnswer
	if err := ctx.Err(); err != nil {
		return out, err
	}
	c, err := simCryptogram(KidUpdate, req.CardID, req.Factor, req.Orig)
	if err != nil {
		return WriteKeyAnswer{}, err
	}
	copy(out.Result[:8], c[:])
	copy(out.Result[8:], req.Orig)
	return out, nil
}

func (simHSM) ExternalAuthCryptogram(ctx context.Context, kid byte, cardID, factor, orig []byte) ([8]byte, error) {
	if err := ctx.Err(); err != nil {
		return [8]byte{}, err
	}
	return simCryptogram(kid, cardID, factor, orig)
}

func simCryptogram(kid byte, cardID, factor, orig []byte) ([8]byte, error) {
	key, err := simkeys.CardKey(kid, cardID)
	if err != nil {
		return [8]byte{}, err
	}
	return sm.SIMCryptogram(key[:], factor, orig)
}

// simCA is the SIM test CA (keysystem.SIMCA), roots included.
type simCA struct{}

func (simCA) Issue(_ context.Context, req CertRequest) (*CADelivery, error) {
	h := req.Holder
	if h == nil || h.Name == "" || h.CardNumber == "" {
		return nil, ErrNotIssued
	}
	if req.SigningKey == nil {
		return nil, fmt.Errorf("%w: no signing key", sm.ErrSM2PublicKey)
	}
	issued, err := time.Parse("20060102", h.IssueDate)
	if err != nil {
		return nil, err
	}
	expires, err := time.Parse("20060102", h.ExpiryDate)
	if err != nil {
		return nil, err
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
	return &CADelivery{SigningCert: sign, EncryptionCert: enc, EnvelopedKey: blob}, nil
}

func (simCA) Roots() (*sm.CertPool, error) { return simkeys.RootPool() }
