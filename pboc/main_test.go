package pboc_test

import (
	"testing"

	"github.com/sscard/ssc/internal/pcsctest"
	"github.com/sscard/ssc/sim"
)

// TestMain shares one private pcscd (with vpcd) among the PC/SC tests of
// this package (see internal/pcsctest); re-executed as a card process for
// the benchmarks, the binary serves the gen3 card with its PBOC
// application in the mode named by the spec ("contact", "contactless").
func TestMain(m *testing.M) {
	pcsctest.MainWithCards(m, func(spec string) (sim.Chip, error) {
		mode := sim.Contact
		if spec == sim.Contactless.String() {
			mode = sim.Contactless
		}
		return newPBOCChip(mode, nil)
	})
}
