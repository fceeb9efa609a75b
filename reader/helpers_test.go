package reader_test

import (
	"encoding/hex"
	"testing"

	"github.com/sscard/ssc/internal/simtest"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sim"
)

// The software card is what the in-process backend is tested with; it must
// fit reader.Chip (and report its interface) without importing reader.
var (
	_ reader.Chip                     = (*sim.Card)(nil)
	_ interface{ Contactless() bool } = (*sim.Card)(nil)
)

// newCard returns the software card with the default profile, contact mode.
func newCard(t testing.TB) *sim.Card {
	t.Helper()
	return simtest.Card(t, sim.DefaultProfile, nil)
}

// selectSSSE selects the SSSE application by name.
var selectSSSE = mustHex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF")

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
