package sm

import (
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm4"
)

// Sizes used by the SSSE key scheme.
const (
	KeySize        = 16 // SM4 key
	FactorSize     = 8  // diversification / process factor
	OrigSize       = 8  // original data of an authentication
	CryptogramSize = 8  // authentication cryptogram
	CardIDSize     = 16 // 卡识别码 (EF05 tag 01)
)

// SSSE key ids fixed by the simulation profile (sim-profile §1).
const (
	KidExternalRead    byte = 0x0A // RKSSSE: EXTERNAL AUTHENTICATE that unlocks reading EF05 tag 07 and EF06
	KidExternalUpdate  byte = 0x04 // EXTERNAL AUTHENTICATE that unlocks UPDATE RECORD on EF05/EF06
	SIMKidInternalAuth byte = 0x09 // INTERNAL AUTHENTICATE: the card proves it holds its key (SIM choice)
)

// ErrLength is wrapped by every error about an input of the wrong size.
var ErrLength = errors.New("sm: wrong input length")

// SIMCryptogram computes the SIM authentication cryptogram (sim-profile §1):
// PK = Diversify(cardKey, factor); C = SM4_ECB(PK, orig || 00×8)[0:8].
// The same function serves EXTERNAL AUTHENTICATE (factor = the card's last
// challenge) and INTERNAL AUTHENTICATE (factor chosen by the host).
func SIMCryptogram(cardKey []byte, factor, orig []byte) ([8]byte, error) {
	var c [8]byte
	if len(orig) != OrigSize {
		return c, fmt.Errorf("%w: original data is %d bytes, want %d", ErrLength, len(orig), OrigSize)
	}
	pk, err := Diversify(cardKey, factor)
	if err != nil {
		return c, err
	}
	var in, out [16]byte
	copy(in[:], orig)
	if err := encryptBlock(pk[:], out[:], in[:]); err != nil {
		return c, err
	}
	copy(c[:], out[:8])
	return c, nil
}

// CardKeys is what a card or an HSM holds for the SSSE application: the
// ability to compute an authentication cryptogram with the card key kid for
// a process factor and original data. A real HSM adapter or card profile
// implements it; simkeys.CardKeys is the simulation.
type CardKeys interface {
	Cryptogram(kid byte, factor, orig []byte) ([8]byte, error)
}

func encryptBlock(key, dst, src []byte) error {
	b, err := sm4.NewCipher(key)
	if err != nil {
		return fmt.Errorf("sm: %w", err)
	}
	b.Encrypt(dst, src)
	return nil
}
