package serial_test

import (
	"encoding/hex"
	"testing"

	"github.com/sscard/ssc/internal/simtest"
	"github.com/sscard/ssc/sim"
)

// newCard returns the software card with the default profile, contact mode.
func newCard(t testing.TB) *sim.Card {
	t.Helper()
	return simtest.Card(t, sim.DefaultProfile, nil)
}

// APDUs of the tests.
var (
	selectMF    = mustHex("00A40000023F00") // SELECT MF: 9000
	getChalleng = mustHex("0084000008")     // GET CHALLENGE, 8 bytes
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
