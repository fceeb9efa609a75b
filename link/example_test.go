package link_test

import (
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sscard/ssc/link"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
)

// simCardBundle plays the daemon and the software card: it builds the
// level 1 bundle of the SIM card and signs it with the card's key.
func simCardBundle(origin string, nonce []byte) []byte {
	cardID, _ := hex.DecodeString("411600D156000005005A3C9E17B2D40F")
	key, _ := simkeys.CardSigningKey(cardID)
	cert, _ := simkeys.IssueCardCertificate(cardID, &key.PublicKey,
		pkix.Name{Country: []string{"CN"}, CommonName: "张三", SerialNumber: "A12345678"},
		time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2034, 1, 1, 0, 0, 0, 0, time.UTC))
	b := &link.Bundle{
		Version: link.BundleVersion, Level: link.Level1, Origin: origin, Nonce: nonce,
		Card: link.Card{CardID: "411600D156000005005A3C9E17B2D40F", CardNumber: "A12345678",
			SSN: "411602199001011232", Name: "张三", Region: "411600", SpecVersion: "3.00",
			IssueDate: "20240101", ExpiryDate: "20340101"},
		Proof: link.Proof{Alg: link.AlgSM2SM3, Certificates: [][]byte{cert}},
	}
	msg, _ := link.SignedMessage(b)
	b.Proof.Signature, _ = sm.Sign(key, nil, msg)
	data, _ := json.Marshal(b)
	return data
}

func ExampleVerify() {
	// The platform, once: its trusted roots and a book of nonces.
	roots, err := simkeys.RootPool() // SIM: a real platform loads the SSC CA roots
	if err != nil {
		panic(err)
	}
	nonces := link.NewNonceBook(5 * time.Minute)
	const origin = "https://ecard.example.cn"

	// For each link: issue a nonce, let the daemon and the card sign
	// (POST /v1/readers/{reader}/link), then verify what comes back.
	nonce, err := nonces.Issue()
	if err != nil {
		panic(err)
	}
	data := simCardBundle(origin, nonce)

	b, err := link.ParseBundle(data)
	if err != nil {
		panic(err)
	}
	opts := link.Options{Roots: roots, Origin: origin, Nonces: nonces,
		Time: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}
	v, err := link.Verify(b, opts)
	if err != nil {
		fmt.Println("refused:", err)
		return
	}
	fmt.Println("linked card", v.Bundle.Card.CardNumber, "level", v.Bundle.Level, "certificate", v.Certificate.Subject.SerialNumber)

	// The same bundle again is a replay.
	_, err = link.Verify(b, opts)
	fmt.Println("replay refused:", errors.Is(err, link.ErrNonceReplayed))
	// Output:
	// linked card A12345678 level 1 certificate A12345678
	// replay refused: true
}

func ExampleNonceBook() {
	book := link.NewNonceBook(time.Minute)
	nonce, err := book.Issue()
	if err != nil {
		panic(err)
	}
	fmt.Println(len(nonce), "bytes; send as hex:", len(hex.EncodeToString(nonce)), "digits")
	fmt.Println("first redeem:", book.Redeem(nonce))
	fmt.Println("replayed:", errors.Is(book.Redeem(nonce), link.ErrNonceReplayed))
	fmt.Println("unknown:", errors.Is(book.Redeem(make([]byte, 32)), link.ErrNonce))
	// Output:
	// 32 bytes; send as hex: 64 digits
	// first redeem: <nil>
	// replayed: true
	// unknown: true
}
