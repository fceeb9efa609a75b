package sm

import (
	"encoding/binary"
	"fmt"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
)

// SIM keys and card computations of the software card's PBOC 3.0
// application (docs/pboc.md "SIM choices"). None of this comes from JR/T
// 0025: real issuers keep their keys and cryptogram algorithms to
// themselves. The functions are here, not in package sim, so that host tests
// can recompute what the software card answers.

const (
	simPBOCIssuerSeed = "SSC-SIM-PBOC-ISSUER"
	simPBOCICCSeed    = "SSC-SIM-PBOC-ICC"
	simPBOCDNSeed     = "SSC-SIM-PBOC-DN"
	simPBOCACSeed     = "SSC-SIM-PBOC-AC"
)

// Sizes of the PBOC SIM inputs.
const (
	PBOCIssuerIDSize = 4  // issuer identifier of an issuer certificate (cn, F-padded)
	PBOCPANFieldSize = 10 // PAN field of an ICC certificate (cn, F-padded)
)

// SIMPBOCIssuerKey returns the SIM issuer key pair of the PBOC application
// (SIM): d = SM3("SSC-SIM-PBOC-ISSUER" || issuerID) reduced as
// PrivateKeyFromScalar does, with issuerID the 4-byte issuer identifier of
// the issuer certificate (the first 6 PAN digits F-padded, e.g. 621799FF).
// It is a public test key.
func SIMPBOCIssuerKey(issuerID []byte) (*sm2.PrivateKey, error) {
	if len(issuerID) != PBOCIssuerIDSize {
		return nil, fmt.Errorf("%w: issuer id is %d bytes, want %d", ErrLength, len(issuerID), PBOCIssuerIDSize)
	}
	return testcaKey([]byte(simPBOCIssuerSeed), issuerID), nil
}

// SIMPBOCICCKey returns the SIM ICC key pair of the PBOC application (SIM):
// d = SM3("SSC-SIM-PBOC-ICC" || pan) reduced as PrivateKeyFromScalar does,
// with pan the 10-byte PAN field of the ICC certificate (cn, F-padded). It
// is a public test key.
func SIMPBOCICCKey(pan []byte) (*sm2.PrivateKey, error) {
	if len(pan) != PBOCPANFieldSize {
		return nil, fmt.Errorf("%w: PAN field is %d bytes, want %d", ErrLength, len(pan), PBOCPANFieldSize)
	}
	return testcaKey([]byte(simPBOCICCSeed), pan), nil
}

// SIMPBOCDynamicNumber returns the ICC dynamic number of the software card
// (SIM): the first 8 bytes of SM3("SSC-SIM-PBOC-DN" || ATC || terminalData),
// terminalData being what the dynamic signature covers (the DDOL data for
// DDA; 9F37 || 9F02 || 5F2A for fDDA). The ICC dynamic data the card signs
// is 08 || this number.
func SIMPBOCDynamicNumber(atc uint16, terminalData []byte) [8]byte {
	return simPBOCHash([]byte(simPBOCDNSeed), pbocATC(atc), terminalData)
}

// SIMPBOCAC returns the application cryptogram (9F26) of the software
// card's qPBOC answer (SIM, not an ARQC/TC of JR/T 0025 and not checked by
// terminals): the first 8 bytes of SM3("SSC-SIM-PBOC-AC" || pan || ATC ||
// pdolData), pan the 10-byte PAN field and ATC the value the GPO answers.
func SIMPBOCAC(pan []byte, atc uint16, pdolData []byte) [8]byte {
	return simPBOCHash([]byte(simPBOCACSeed), pan, pbocATC(atc), pdolData)
}

func pbocATC(atc uint16) []byte { return binary.BigEndian.AppendUint16(nil, atc) }

// simPBOCHash is the first 8 bytes of SM3 over the parts.
func simPBOCHash(parts ...[]byte) [8]byte {
	h := sm3.New()
	for _, p := range parts {
		h.Write(p)
	}
	var out [8]byte
	copy(out[:], h.Sum(nil))
	return out
}
