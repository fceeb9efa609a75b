package sm_test

import (
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
)

// Personalise SM2 offline data authentication with the SIM payment-system CA
// and verify it as a terminal: issuer certificate (tag 90), ICC certificate
// (9F46), then a DDA signature (9F4B) over the terminal's unpredictable
// number.
func ExampleODAVerifier_VerifyCertificates() {
	seed := func(s string) []byte { h := sm3.Sum([]byte(s)); return h[:] }
	issuerKey, _ := sm.PrivateKeyFromScalar(seed("example issuer"))
	iccKey, _ := sm.PrivateKeyFromScalar(seed("example ICC"))
	pan, _ := hex.DecodeString("6228230029000005274F")                        // tag 5A
	static, _ := hex.DecodeString("5A0A6228230029000005274F5F24033012317C00") // AFL records || AIP

	issuer := sm.IssuerCert{IssuerID: [4]byte{0x62, 0x28, 0x23, 0xFF}, Expiry: [2]byte{0x12, 0x30}, Serial: [3]byte{0, 0, 1}}
	xy, _ := sm.MarshalPublicKeyXY(&issuerKey.PublicKey)
	copy(issuer.PublicKey[:], xy)
	tag90, _ := sm.SignIssuerCert(simkeys.PBOCCAKey(), issuer, nil)

	icc := sm.ICCCert{Expiry: [2]byte{0x12, 0x28}, Serial: [3]byte{0, 0, 2}}
	copy(icc.PAN[:], pan)
	xy, _ = sm.MarshalPublicKeyXY(&iccKey.PublicKey)
	copy(icc.PublicKey[:], xy)
	tag9F46, _ := sm.SignICCCert(issuerKey, icc, static, nil)

	v := sm.ODAVerifier{CAKeys: simkeys.CAKeyTable(), Time: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}
	_, iccCert, err := v.VerifyCertificates(simkeys.PBOCRID(), simkeys.PBOCCAIndex, tag90, tag9F46, static, pan)
	fmt.Println(len(tag90), len(tag9F46), err)

	un, _ := hex.DecodeString("11223344") // 9F37 from the DDOL
	dyn, _ := hex.DecodeString("0401020304")
	tag9F4B, _ := sm.SignDynamicData(iccKey, sm.ODAFormatDDA, dyn, un, nil)
	_, err = v.VerifyDynamicSignature(iccCert, tag9F4B, un)
	fmt.Println(err)

	_, err = v.VerifyDynamicSignature(iccCert, tag9F4B, []byte{0, 0, 0, 0})
	fmt.Println(errors.Is(err, sm.ErrDDA), errors.Is(err, sm.ErrSM2Verify))

	_, _, err = v.VerifyCertificates(simkeys.PBOCRID(), 0x81, tag90, tag9F46, static, pan)
	fmt.Println(errors.Is(err, sm.ErrIssuerCert), errors.Is(err, sm.ErrCAKeyNotFound))
	// Output:
	// 142 148 <nil>
	// <nil>
	// true true
	// true true
}
