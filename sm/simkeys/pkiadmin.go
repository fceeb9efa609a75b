package simkeys

import "github.com/emmansun/gmsm/sm3"

// PKIAdminPIN returns the SIM admin PIN (GLYPIN) of the PKI application of
// the card with the 16-byte card identification code cardID:
// SM3("SSC-SIM-GLYPIN" || cardID)[0:4] (SIM choice, docs/issuance.md "PKI
// personalisation — the contract"). Hosts give it as 8 hex digits.
func PKIAdminPIN(cardID []byte) [4]byte {
	sum := sm3.Sum(append([]byte("SSC-SIM-GLYPIN"), cardID...))
	var p [4]byte
	copy(p[:], sum[:4])
	return p
}

// PKIMasterKey returns the SIM master key (ZKMY) of the PKI application of
// the card with the card identification code cardID:
// SM3("SSC-SIM-ZKMY" || cardID)[0:16] (SIM choice, same contract).
func PKIMasterKey(cardID []byte) [16]byte {
	sum := sm3.Sum(append([]byte("SSC-SIM-ZKMY"), cardID...))
	var k [16]byte
	copy(k[:], sum[:16])
	return k
}
