package pcsc_test

import (
	"testing"

	"github.com/sscard/ssc/internal/pcsctest"
)

// TestMain shares one private pcscd (with vpcd) among the PC/SC tests of
// this package; see pcsctest. Tests that do not call pcsctest.Shared are
// unaffected. Re-executed as a card process (the benchmarks), the binary
// serves the built-in profile named by the spec, contact mode.
func TestMain(m *testing.M) {
	pcsctest.MainWithCards(m, pcsctest.BuiltinCard)
}
