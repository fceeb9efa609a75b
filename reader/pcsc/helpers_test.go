package pcsc_test

import (
	"encoding/hex"
	"testing"

	"github.com/sscard/ssc/internal/simtest"
	"github.com/sscard/ssc/sim"
)

// Helpers shared by the tests of this package (no build constraints, so
// they exist with -tags nopcsc too).

// newCard returns the software card with the default profile, contact mode.
func newCard(t testing.TB) *sim.Card {
	t.Helper()
	return simtest.Card(t, sim.DefaultProfile, nil)
}

// APDUs of the tests.
var (
	selectSSSE  = mustHex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF") // SELECT the SSSE application by name
	getResp18   = mustHex("00C0000018")                               // GET RESPONSE, 0x18 bytes
	selectMF    = mustHex("00A40000023F00")                           // SELECT MF: 9000
	getChalleng = mustHex("0084000008")                               // GET CHALLENGE, 8 bytes
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
