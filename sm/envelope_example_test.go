package sm_test

import (
	"encoding/hex"
	"fmt"

	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
)

// A CA envelopes a card's encryption key pair for the card's signing key
// (the JMMY of the CA delivery); the card opens it.
func ExampleSealEnvelopedKey() {
	cardID, _ := hex.DecodeString("411600D156000005005A3C9E17B2D40F")
	signing, _ := simkeys.CardSigningKey(cardID) // the card's key (EF 0012/0013)
	enc, _ := simkeys.EncryptionKey(cardID)
	session, _ := simkeys.EnvelopeSessionKey(cardID)

	env, err := sm.SealEnvelopedKey(nil, &signing.PublicKey, enc, session[:])
	if err != nil {
		panic(err)
	}
	blob, _ := env.Marshal()
	fmt.Println(len(blob), "bytes,", len(env.CipherBlock()), "bytes for 80 4E")

	parsed, err := sm.ParseEnvelopedKey(blob)
	if err != nil {
		panic(err)
	}
	priv, err := parsed.Open(signing)
	if err != nil {
		panic(err)
	}
	fmt.Println("opened the encryption key:", priv.Equal(enc))
	// Output:
	// 388 bytes, 112 bytes for 80 4E
	// opened the encryption key: true
}
