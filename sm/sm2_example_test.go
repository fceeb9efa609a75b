package sm_test

import (
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
)

// The host side of PSO: COMPUTE DIGITAL SIGNATURE (sim-profile §5): read the
// card's public key from EF 0012, compute e = SM3(Z || M) with the default
// signer id, send e, check the r || s the card returns.
func ExampleSM2Digest() {
	cardID, _ := hex.DecodeString("330100D1560000050114F199D286DF7E")
	card, _ := simkeys.CardSigningKey(cardID) // stands in for the card
	ef0012, _ := sm.MarshalCardPublicKey(&card.PublicKey)

	pub, err := sm.ParseCardPublicKey(ef0012)
	if err != nil {
		fmt.Println(err)
		return
	}
	msg := []byte("message digest")
	e, err := sm.SM2Digest(pub, nil, msg) // nil id = DefaultSignerID
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("APDU: 002A9E9A20%X00\n", e)

	sig, _ := sm.SignDigest(card, e[:]) // what the card answers
	fmt.Println("verify:", sm.Verify(pub, nil, msg, sig))
	// Output:
	// APDU: 002A9E9A20E0BC4ED4192BA5DF5CCF72CCBE22755D4433D00C8A5E1E2D8905C7D7290BE23000
	// verify: <nil>
}

func ExampleSign() {
	cardID, _ := hex.DecodeString("330100D1560000050114F199D286DF7E")
	key, _ := simkeys.CardSigningKey(cardID)
	msg := []byte("message digest")

	sig, err := sm.Sign(key, []byte(sm.DefaultSignerID), msg) // r || s, deterministic
	if err != nil {
		fmt.Println(err)
		return
	}
	der, _ := sm.SignatureToDER(sig) // for OpenSSL, X.509, PKCS#7
	fmt.Println(len(sig), len(der) >= 70)
	fmt.Println(sm.Verify(&key.PublicKey, nil, msg, sig))
	fmt.Println(errors.Is(sm.Verify(&key.PublicKey, nil, []byte("other"), sig), sm.ErrSM2Verify))
	// Output:
	// 64 true
	// <nil>
	// true
}

func ExampleParseCardPublicKey() {
	// A card whose key pair has not been generated yet reads as zeros.
	_, err := sm.ParseCardPublicKey(make([]byte, 66))
	fmt.Println(errors.Is(err, sm.ErrSM2NoKey))
	_, err = sm.ParseCardPublicKey(make([]byte, 65))
	fmt.Println(errors.Is(err, sm.ErrLength))
	// Output:
	// true
	// true
}

func ExampleSignatureFromDER() {
	der, _ := hex.DecodeString("300602010102017F")
	sig, err := sm.SignatureFromDER(der)
	fmt.Printf("%X %v\n", sig[31:33], err)
	_, err = sm.SignatureFromDER(append(der, 0)) // trailing byte
	fmt.Println(errors.Is(err, sm.ErrSM2Signature))
	// Output:
	// 0100 <nil>
	// true
}
