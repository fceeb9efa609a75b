package sim

import (
	"bytes"
	"crypto/ecdsa"
	"fmt"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// The PKI application (ssc-facts §3.5, sim-profile §5, docs/issuance.md
// "PKI personalisation — the contract"):
//
//	MF 3F00
//	└─ DDF PKI.社会保障 (504B492EC9E7BBE1B1A3D5CF), no FID (SIM): its own
//	   master key (initially the ADF's ZKMY), GET CHALLENGE, EXTERNAL
//	   AUTHENTICATE 00 82 00 00 and CHANGE MASTER KEY 84 D4 (pki_cmd.go)
//	    └─ ADF DF01 SS.CERT.ADF1: user PIN (VERIFY 00 20 01 81), PIN hash 80 C4,
//	       PSO COMPUTE DIGITAL SIGNATURE with the card key (needs the PIN),
//	       admin PIN (VERIFY 00 20 01 00), master key (EXTERNAL
//	       AUTHENTICATE 00 82 00 00), GENERATE KEY PAIR 80 40, UPDATE BINARY
//	       00 D6 of the certificates, CHANGE ADMIN PIN 84 5E and CHANGE
//	       MASTER KEY 84 D4 (pki_cmd.go)
//	        ├─ EF 0012: signing public key 00 40 || X || Y (free read)
//	        ├─ EF 0013: signing private key (never readable)
//	        ├─ EF 0014: encryption public key 00 40 || X || Y (free read)
//	        ├─ EF 0015: encryption private key (never readable)
//	        ├─ EF 0018: signing certificate, DER (free read)
//	        └─ EF 0019: encryption certificate, DER (free read)
//
// A personalised application (pki.blank false) has the SIM key pair of
// simkeys.CardSigningKey and its SIM certificate in EF 0018 (the file holds
// the DER exactly; UPDATE BINARY may grow it up to 2048 bytes), and the
// SIM encryption pair of simkeys.EncryptionKey in EF 0014/0015 with its SIM
// certificate in EF 0019. A blank one (pki.blank true) is the
// unpersonalised application of the contract: EF 0012 and EF 0014 66 × 00,
// no private keys, EF 0018 and EF 0019 2048 × 00. The enveloped
// encryption pair is imported with 80 4E / 80 4A / 80 C2
// (pki_envelope.go).

var (
	pkiDDFName = []byte{0x50, 0x4B, 0x49, 0x2E, 0xC9, 0xE7, 0xBB, 0xE1, 0xB1, 0xA3, 0xD5, 0xCF} // "PKI." + GBK 社会保障
	pkiADFName = []byte("SS.CERT.ADF1")
)

const (
	fidPKIADF     = 0xDF01
	fidPKIPubKey  = 0x0012
	fidPKIPrivKey = 0x0013
	fidPKISignCrt = 0x0018
	fidPKIEncCrt  = 0x0019
	fidPKIEncPub  = 0x0014
	fidPKIEncPriv = 0x0015
	pinPKIP1      = 0x01
	pinPKIUser    = 0x81
	pinPKIAdmin   = 0x00
	pkiCertSize   = 2048 // EF 0018 / 0019 capacity (contract)
	pkiPubSize    = 66   // EF 0012: 00 40 || X || Y
	pkiAdminTries = 5    // admin PIN and master key try counters (contract)
)

// pkiMasterKey is a master key (ZKMY) of the PKI application, with its
// non-volatile try counter: the ADF has one (pkiAdmin.master), the DDF
// another (file.pkiMaster), both the SIM ZKMY at first.
type pkiMasterKey struct {
	key        [16]byte
	tries, max int
}

// pkiAdmin is the admin PIN and the master key of the PKI ADF, with their
// non-volatile try counters.
type pkiAdmin struct {
	pin              [4]byte
	pinTries, pinMax int
	master           pkiMasterKey
	// encKey is the encryption private key (EF 0015, pki_envelope.go);
	// nil: none.
	encKey *sm2.PrivateKey
}

// personalisePKI builds the PKI DDF.
func personalisePKI(d *pkiData) *file {
	never := access{never: true}
	admin := access{needAdmin: true}
	adf := &file{
		typ: typeDF, fid: fidPKIADF, name: pkiADFName, fci: tlv(0x6F, tlv(0x84, pkiADFName)), app: true,
		pin: &pin{
			p1: pinPKIP1, ref: pinPKIUser, kind: pinPKI, value: d.pinBCD, digits: d.pin,
			tries: d.tries, maxTries: d.tries, change: never, unblock: never,
		},
		signKey: d.key,
		sign:    access{needPIN: true},
		pinHash: true,
		pkiAdmin: &pkiAdmin{
			pin: d.adminPIN, pinTries: pkiAdminTries, pinMax: pkiAdminTries,
			master: pkiMasterKey{key: d.masterKey, tries: pkiAdminTries, max: pkiAdminTries},
		},
	}
	adf.pkiAdmin.encKey = d.encKey
	adf.add(
		&file{typ: typeBinaryEF, fid: fidPKIPubKey, write: never, data: bytes.Clone(d.pubFile)},
		&file{typ: typeBinaryEF, fid: fidPKIPrivKey, read: never, write: never},
		&file{typ: typeBinaryEF, fid: fidPKIEncPub, write: never, data: bytes.Clone(d.encPubFile)},
		&file{typ: typeBinaryEF, fid: fidPKIEncPriv, read: never, write: never},
		&file{typ: typeBinaryEF, fid: fidPKISignCrt, write: admin, data: bytes.Clone(d.cert), capacity: pkiCertSize},
	)
	if d.encCert != nil {
		adf.add(&file{typ: typeBinaryEF, fid: fidPKIEncCrt, write: admin, data: bytes.Clone(d.encCert), capacity: pkiCertSize})
	}
	ddf := &file{
		typ: typeDF, name: pkiDDFName, fci: tlv(0x6F, tlv(0x84, pkiDDFName)),
		pkiMaster: &pkiMasterKey{key: d.masterKey, tries: pkiAdminTries, max: pkiAdminTries},
	}
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
func simCertificate(cardID []byte, key *sm2.PrivateKey, cn, cardNumber string, issued, expires time.Time) ([]byte, error) {
	return simCachedCert("sign", simkeys.HolderCertificate, cardID, key, cn, cardNumber, issued, expires)
}

// simCachedCert issues a SIM holder certificate with issue, cached under
// kind and the inputs.
func simCachedCert(kind string, issue func([]byte, *ecdsa.PublicKey, string, string, time.Time, time.Time) ([]byte, error),
	cardID []byte, key *sm2.PrivateKey, cn, cardNumber string, issued, expires time.Time) ([]byte, error) {
	xy, err := sm.MarshalPublicKeyXY(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	k := fmt.Sprintf("%s|%X|%X|%q|%q|%d|%d", kind, cardID, xy, cn, cardNumber, issued.Unix(), expires.Unix())
	if der, ok := certCache.Load(k); ok {
		return der.([]byte), nil
	}
	der, err := issue(cardID, &key.PublicKey, cn, cardNumber, issued, expires)
	if err != nil {
		return nil, err
	}
	certCache.Store(k, der)
	return der, nil
}
