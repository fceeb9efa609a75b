package sim

import (
	"crypto/x509/pkix"
	"fmt"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/sscard/ssc/sm"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// The PKI application (ssc-facts §3.5, sim-profile §5):
//
//	MF 3F00
//	└─ DDF PKI.社会保障 (504B492EC9E7BBE1B1A3D5CF), no FID (SIM)
//	    └─ ADF DF01 SS.CERT.ADF1: user PIN (VERIFY 00 20 01 81), PIN hash 80 C4,
//	       PSO COMPUTE DIGITAL SIGNATURE with the SIM card key (needs the PIN)
//	        ├─ EF 0012: signing public key 00 40 || X || Y (free read)
//	        ├─ EF 0013: signing private key (never readable, SIM: empty)
//	        └─ EF 0018: signing certificate, DER (free read)
//
// The encryption certificate EF 0019 and the encryption key files 0014/0015
// are absent (SIM): the card is personalised with the signing pair only.

var (
	pkiDDFName = []byte{0x50, 0x4B, 0x49, 0x2E, 0xC9, 0xE7, 0xBB, 0xE1, 0xB1, 0xA3, 0xD5, 0xCF} // "PKI." + GBK 社会保障
	pkiADFName = []byte("SS.CERT.ADF1")
)

const (
	fidPKIADF     = 0xDF01
	fidPKIPubKey  = 0x0012
	fidPKIPrivKey = 0x0013
	fidPKISignCrt = 0x0018
	pinPKIP1      = 0x01
	pinPKIUser    = 0x81
)

// personalisePKI builds the PKI DDF.
func personalisePKI(d *pkiData) *file {
	never := access{never: true}
	adf := &file{
		typ: typeDF, fid: fidPKIADF, name: pkiADFName, fci: tlv(0x6F, tlv(0x84, pkiADFName)), app: true,
		pin: &pin{
			p1: pinPKIP1, ref: pinPKIUser, kind: pinPKI, value: d.pinBCD, digits: d.pin,
			tries: d.tries, maxTries: d.tries, change: never, unblock: never,
		},
		signKey: d.key,
		sign:    access{needPIN: true},
		pinHash: true,
	}
	adf.add(
		&file{typ: typeBinaryEF, fid: fidPKIPubKey, write: never, data: d.pubFile},
		&file{typ: typeBinaryEF, fid: fidPKIPrivKey, read: never, write: never},
		&file{typ: typeBinaryEF, fid: fidPKISignCrt, write: never, data: d.cert},
	)
	ddf := &file{typ: typeDF, name: pkiDDFName, fci: tlv(0x6F, tlv(0x84, pkiDDFName))}
	return ddf.add(adf)
}

// p2s decodes a GBK card field back to UTF-8 (for the certificate name).
func p2s(gbk []byte) string {
	s, err := simplifiedchinese.GBK.NewDecoder().Bytes(gbk)
	if err != nil {
		return string(gbk)
	}
	return string(s)
}

// certCache keeps issued SIM certificates: issuing signs with the SIM root,
// and fuzzing and tests make many cards from the same profile.
var certCache sync.Map // string key -> []byte

// simCertificate issues (or returns the cached) SIM signing certificate.
func simCertificate(cardID []byte, key *sm2.PrivateKey, subject pkix.Name, notBefore, notAfter time.Time) ([]byte, error) {
	k := fmt.Sprintf("%X|%q|%q|%d|%d", cardID, subject.CommonName, subject.SerialNumber, notBefore.Unix(), notAfter.Unix())
	if der, ok := certCache.Load(k); ok {
		return der.([]byte), nil
	}
	der, err := sm.SIMIssueCardCertificate(cardID, &key.PublicKey, subject, notBefore, notAfter)
	if err != nil {
		return nil, err
	}
	certCache.Store(k, der)
	return der, nil
}
