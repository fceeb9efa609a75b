package simkeys

import (
	"fmt"

	"github.com/emmansun/gmsm/sm3"

	"github.com/sscard/ssc/sm"
)

const mkPrefix = "SSC-SIM-MK"

// MasterKey returns the SIM test master key of a key id:
// MK(kid) = SM3("SSC-SIM-MK" || kid)[0:16] (sim-profile §1). It is a
// simulation key, public by construction; real master keys live in an HSM.
func MasterKey(kid byte) [16]byte {
	var in [len(mkPrefix) + 1]byte
	copy(in[:], mkPrefix)
	in[len(mkPrefix)] = kid
	sum := sm3.Sum(in[:])
	var mk [16]byte
	copy(mk[:], sum[:16])
	return mk
}

// CardKey returns the SIM card key of a key id for a card:
// K(kid) = Diversify(MK(kid), D) with D = the last 8 bytes of the 16-byte
// card identification code (sim-profile §1).
func CardKey(kid byte, cardID []byte) ([16]byte, error) {
	if len(cardID) != sm.CardIDSize {
		return [16]byte{}, fmt.Errorf("%w: card id is %d bytes, want %d", sm.ErrLength, len(cardID), sm.CardIDSize)
	}
	mk := MasterKey(kid)
	return sm.Diversify(mk[:], cardID[sm.CardIDSize-sm.FactorSize:])
}

// CardKeys holds the SIM card keys of one card, derived from its 16-byte
// card identification code (sim-profile §1). Every kid has a key; which
// kids a card accepts, and for what, is the card's business.
type CardKeys struct {
	CardID []byte
}

// Cryptogram implements sm.CardKeys with CardKey and sm.SIMCryptogram.
func (k CardKeys) Cryptogram(kid byte, factor, orig []byte) ([8]byte, error) {
	key, err := CardKey(kid, k.CardID)
	if err != nil {
		return [8]byte{}, err
	}
	return sm.SIMCryptogram(key[:], factor, orig)
}

var _ sm.CardKeys = CardKeys{}
