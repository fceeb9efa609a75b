package sm

import (
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm3"
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

	simMKPrefix = "SSC-SIM-MK"
)

// ErrLength is wrapped by every error about an input of the wrong size.
var ErrLength = errors.New("sm: wrong input length")

// SIMMasterKey returns the SIM test master key of a key id:
// MK(kid) = SM3("SSC-SIM-MK" || kid)[0:16] (sim-profile §1). It is a
// simulation key, public by construction; real master keys live in an HSM.
func SIMMasterKey(kid byte) [16]byte {
	var in [len(simMKPrefix) + 1]byte
	copy(in[:], simMKPrefix)
	in[len(simMKPrefix)] = kid
	sum := sm3.Sum(in[:])
	var mk [16]byte
	copy(mk[:], sum[:16])
	return mk
}

// SIMCardKey returns the SIM card key of a key id for a card:
// K(kid) = Diversify(MK(kid), D) with D = the last 8 bytes of the 16-byte
// card identification code (sim-profile §1).
func SIMCardKey(kid byte, cardID []byte) ([16]byte, error) {
	if len(cardID) != CardIDSize {
		return [16]byte{}, fmt.Errorf("%w: card id is %d bytes, want %d", ErrLength, len(cardID), CardIDSize)
	}
	mk := SIMMasterKey(kid)
	return Diversify(mk[:], cardID[CardIDSize-FactorSize:])
}

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
// implements it; SIMKeys is the simulation.
type CardKeys interface {
	Cryptogram(kid byte, factor, orig []byte) ([8]byte, error)
}

// SIMKeys holds the SIM card keys of one card, derived from its 16-byte card
// identification code (sim-profile §1). Every kid has a key; which kids a
// card accepts, and for what, is the card's business.
type SIMKeys struct {
	CardID []byte
}

// Cryptogram implements CardKeys with SIMCardKey and SIMCryptogram.
func (k SIMKeys) Cryptogram(kid byte, factor, orig []byte) ([8]byte, error) {
	key, err := SIMCardKey(kid, k.CardID)
	if err != nil {
		return [8]byte{}, err
	}
	return SIMCryptogram(key[:], factor, orig)
}

var _ CardKeys = SIMKeys{}

func encryptBlock(key, dst, src []byte) error {
	b, err := sm4.NewCipher(key)
	if err != nil {
		return fmt.Errorf("sm: %w", err)
	}
	b.Encrypt(dst, src)
	return nil
}
