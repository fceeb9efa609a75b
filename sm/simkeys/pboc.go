package simkeys

import (
	"encoding/binary"
	"fmt"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"

	"github.com/sscard/ssc/sm"
)

// SIM keys and card computations of the software card's PBOC 3.0
// application (docs/pboc.md "SIM choices"). None of this comes from JR/T
// 0025: real issuers keep their keys and cryptogram algorithms to
// themselves. The functions are here, not in package sim, so that host tests
// can recompute what the software card answers.
//
// The SIM payment-system CA (sim-profile §6) signs the issuer certificates
// for offline data authentication: RID A000000333, index 80, key
// PBOCCAKey; CAKeyTable is the terminal table that trusts it.

const (
	simPBOCIssuerSeed = "SSC-SIM-PBOC-ISSUER"
	simPBOCICCSeed    = "SSC-SIM-PBOC-ICC"
	simPBOCDNSeed     = "SSC-SIM-PBOC-DN"
	simPBOCACSeed     = "SSC-SIM-PBOC-AC"
)

// PBOCIssuerKey returns the SIM issuer key pair of the PBOC application
// (SIM): d = SM3("SSC-SIM-PBOC-ISSUER" || issuerID) reduced as
// sm.PrivateKeyFromScalar does, with issuerID the 4-byte issuer identifier of
// the issuer certificate (the first 6 PAN digits F-padded, e.g. 621799FF).
// It is a public test key.
func PBOCIssuerKey(issuerID []byte) (*sm2.PrivateKey, error) {
	if len(issuerID) != sm.PBOCIssuerIDSize {
		return nil, fmt.Errorf("%w: issuer id is %d bytes, want %d", sm.ErrLength, len(issuerID), sm.PBOCIssuerIDSize)
	}
	return testcaKey([]byte(simPBOCIssuerSeed), issuerID), nil
}

// PBOCICCKey returns the SIM ICC key pair of the PBOC application (SIM):
// d = SM3("SSC-SIM-PBOC-ICC" || pan) reduced as sm.PrivateKeyFromScalar does,
// with pan the 10-byte PAN field of the ICC certificate (cn, F-padded). It
// is a public test key.
func PBOCICCKey(pan []byte) (*sm2.PrivateKey, error) {
	if len(pan) != sm.PBOCPANFieldSize {
		return nil, fmt.Errorf("%w: PAN field is %d bytes, want %d", sm.ErrLength, len(pan), sm.PBOCPANFieldSize)
	}
	return testcaKey([]byte(simPBOCICCSeed), pan), nil
}

// PBOCDynamicNumber returns the ICC dynamic number of the software card
// (SIM): the first 8 bytes of SM3("SSC-SIM-PBOC-DN" || ATC || terminalData),
// terminalData being what the dynamic signature covers (the DDOL data for
// DDA; 9F37 || 9F02 || 5F2A for fDDA). The ICC dynamic data the card signs
// is 08 || this number.
func PBOCDynamicNumber(atc uint16, terminalData []byte) [8]byte {
	return simPBOCHash([]byte(simPBOCDNSeed), pbocATC(atc), terminalData)
}

// PBOCAC returns the application cryptogram (9F26) of the software
// card's qPBOC answer (SIM, not an ARQC/TC of JR/T 0025 and not checked by
// terminals): the first 8 bytes of SM3("SSC-SIM-PBOC-AC" || pan || ATC ||
// pdolData), pan the 10-byte PAN field and ATC the value the GPO answers.
func PBOCAC(pan []byte, atc uint16, pdolData []byte) [8]byte {
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

// PBOCCAIndex is the CA public key index (tag 8F) of the SIM
// payment-system CA key.
const PBOCCAIndex byte = 0x80

// PBOCRID returns the RID of the SIM payment-system CA key, A000000333,
// as a new slice on each call (a shared one could be overwritten).
func PBOCRID() []byte { return []byte{0xA0, 0x00, 0x00, 0x03, 0x33} }

// CAKeyTable returns a table holding the SIM payment-system CA key (RID
// A000000333, index 80, the public key of PBOCCAKey).
func CAKeyTable() *sm.CAKeyTable {
	t := sm.NewCAKeyTable()
	xy, err := sm.MarshalPublicKeyXY(&PBOCCAKey().PublicKey)
	if err == nil {
		err = t.Add(PBOCRID(), PBOCCAIndex, xy)
	}
	if err != nil {
		panic("simkeys: SIM CA key table: " + err.Error()) // unreachable: a derived key is on the curve
	}
	return t
}
