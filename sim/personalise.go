package sim

import (
	"encoding/binary"

	"github.com/emmansun/gmsm/sm3"
	"github.com/sscard/ssc/sm"
)

// File identifiers and names of the card's file system (ssc-facts §1, §9.2).
var (
	// ssseName is the SSSE DDF name: "sx1.sh." + GBK "社会保障".
	ssseName = []byte{0x73, 0x78, 0x31, 0x2E, 0x73, 0x68, 0x2E, 0xC9, 0xE7, 0xBB, 0xE1, 0xB1, 0xA3, 0xD5, 0xCF}
	// simDF01AID is the AID the SIM directory record gives DF01 (RID
	// D156000005 + 01, ssc-facts §1.1).
	simDF01AID = []byte{0xD1, 0x56, 0x00, 0x00, 0x05, 0x01}
)

const (
	fidSSSE  = 0xDDF1
	fidEF05  = 0xEF05
	fidEF06  = 0xEF06
	fidDF01  = 0xDF01
	fidEF07  = 0xEF07
	fidEF08  = 0xEF08
	sfiEF07  = 0x07
	sfiEF08  = 0x08
	sfiDir   = 0x0B
	sfiEF05  = 0x05
	sfiEF06  = 0x06
	pinSSSE  = 0x00 // VERIFY P2 of the SSSE PIN
	extTries = 15   // EXTERNAL AUTHENTICATE try counter (sim-profile §2)
)

// tlv encodes one SIMPLE-TLV record (values are at most 255 bytes here).
func tlv(tag byte, value []byte) []byte {
	return append([]byte{tag, byte(len(value))}, value...)
}

// ssseFCI is 6F 16 84 0F <name> A5 03 88 01 0B (ssc-facts §1.2).
func ssseFCI() []byte {
	a5 := tlv(0xA5, tlv(0x88, []byte{sfiDir}))
	return tlv(0x6F, append(tlv(0x84, ssseName), a5...))
}

// simDirectoryRecord is the SIM content of the SSSE directory EF (SFI 0B),
// whose real format is not public (ssc-facts §8 q3): one application
// template per sub-application, 70{61{4F AID, 50 label}} (ssc-facts §9.2).
func simDirectoryRecord() []byte {
	app := append(tlv(0x4F, simDF01AID), tlv(0x50, []byte("DF01"))...)
	return tlv(0x70, tlv(0x61, app))
}

// simFingerprint is the SIM fingerprint template of EF07: n bytes of
// SM3("SSC-SIM-FINGERPRINT" || cardID || counter32) blocks, counter from 0.
func simFingerprint(cardID []byte, n int) []byte {
	out := make([]byte, 0, n+sm3.Size)
	var ctr [4]byte
	for i := uint32(0); len(out) < n; i++ {
		binary.BigEndian.PutUint32(ctr[:], i)
		h := sm3.New()
		h.Write([]byte("SSC-SIM-FINGERPRINT"))
		h.Write(cardID)
		h.Write(ctr[:])
		out = h.Sum(out)
	}
	return out[:n]
}

// personalise builds the file tree of a card:
//
//	MF 3F00
//	└─ DDF SSSE DDF1 (sx1.sh.社会保障): keys 0A, 04 (external), 09 (internal, SIM), PIN
//	    ├─ EF SFI 0B directory (SIM content)
//	    ├─ EF05 SFI 05: records 01..07 (3rd gen: 07 needs key 0A)
//	    ├─ EF06 SFI 06: records 08 09 4E 0A 0B 0C 0D (3rd gen: needs key 0A)
//	    ├─ EF07 SFI 07: fingerprint, binary (needs key 0A, both generations)
//	    ├─ EF08 SFI 08: photo JPEG, binary (needs key 0A, both generations; optional)
//	    └─ DF01 (D15600000501): public data, read after VERIFY (SIM sample)
//	        ├─ EF05 SFI 05: records 20 21 0E (户籍)
//	        └─ EF06 SFI 06: records 23 24 (常住地)
//
// then, when the profile has them, the PKI DDF (pki.go) and the PBOC DFs
// (pboc.go).
func personalise(p *personalisation) *file {
	var protected access // 2nd gen reads everything freely (sim-profile §2)
	if p.gen3 {
		protected = extAuth(sm.KidExternalRead)
	}
	update := extAuth(sm.KidExternalUpdate)

	ef05 := &file{typ: typeRecordEF, fid: fidEF05, sfi: sfiEF05, write: update, records: []record{
		{data: tlv(0x01, p.cardID)},
		{data: tlv(0x02, p.category)},
		{data: tlv(0x03, p.version)},
		{data: tlv(0x04, p.institution)},
		{data: tlv(0x05, p.issue)},
		{data: tlv(0x06, p.expiry)},
		{data: tlv(0x07, p.cardNumber), read: protected},
	}}
	ef06 := &file{typ: typeRecordEF, fid: fidEF06, sfi: sfiEF06, read: protected, write: update, records: []record{
		{data: tlv(0x08, p.ssn)},
		{data: tlv(0x09, p.name)},
		{data: tlv(0x4E, p.ext)},
		{data: tlv(0x0A, []byte{p.sex})},
		{data: tlv(0x0B, []byte{p.ethnicity})},
		{data: tlv(0x0C, p.birthplace)},
		{data: tlv(0x0D, p.birthDate)},
	}}
	dir := &file{typ: typeRecordEF, sfi: sfiDir, write: access{never: true}, records: []record{
		{data: simDirectoryRecord()},
	}}
	// DF01 public data (ssc-facts §1.6): readable after VERIFY of the SSSE
	// PIN; SIM sample records.
	pinRead := access{needPIN: true}
	df01 := &file{typ: typeDF, fid: fidDF01, name: simDF01AID, fci: tlv(0x6F, tlv(0x84, simDF01AID))}
	df01.add(
		&file{typ: typeRecordEF, fid: fidEF05, sfi: sfiEF05, read: pinRead, write: update, records: []record{
			{data: tlv(0x20, p.hukouType)},
			{data: tlv(0x21, p.hukouAddress)},
			{data: tlv(0x0E, p.hukouRegion)},
		}},
		&file{typ: typeRecordEF, fid: fidEF06, sfi: sfiEF06, read: pinRead, write: update, records: []record{
			{data: tlv(0x23, p.residenceAddress)},
			{data: tlv(0x24, p.residenceRegion)},
		}},
	)
	ssse := &file{
		typ: typeDF, fid: fidSSSE, name: ssseName, fci: ssseFCI(), app: true, invalidated: p.blocked,
		keys: []*key{
			{kid: sm.KidExternalRead, use: useExternalAuth, tries: extTries, maxTries: extTries},
			{kid: sm.KidExternalUpdate, use: useExternalAuth, tries: extTries, maxTries: extTries},
			{kid: sm.SIMKidInternalAuth, use: useInternalAuth},
		},
		pin: &pin{
			ref: pinSSSE, kind: pinPlain, value: p.pinBC, tries: p.pinTries, maxTries: p.pinTries,
			unblock: update, // SIM: kid 04 stands in for the PUK/HSM path (sim-profile §4)
		},
	}
	// EF07/EF08 need key 0A (RKSSSE) on both generations: ssc-facts §1.7
	// gives "ext-auth RKSSSE" for 2nd gen and "presumably same" for 3rd.
	rk := extAuth(sm.KidExternalRead)
	ef07 := &file{typ: typeBinaryEF, fid: fidEF07, sfi: sfiEF07, read: rk, write: update,
		data: simFingerprint(p.cardID, p.fingerprintSize)}
	ssse.add(dir, ef05, ef06, ef07)
	if p.photo != nil {
		ssse.add(&file{typ: typeBinaryEF, fid: fidEF08, sfi: sfiEF08, read: rk, write: update, data: p.photo})
	}
	ssse.add(df01)
	mf := &file{typ: typeDF, fid: fidMF}
	mf.add(ssse)
	if p.pki != nil {
		mf.add(personalisePKI(p.pki))
	}
	if p.pboc != nil {
		mf.add(personalisePBOC(p.pboc)...)
	}
	return mf
}
