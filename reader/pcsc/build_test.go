package pcsc_test

import (
	"context"
	"testing"

	"github.com/sscard/ssc/internal/pcsctest"
	"github.com/sscard/ssc/reader/pcsc"
)

// The PC/SC tests need cgo and no nopcsc tag. This one has no build
// constraint: in a build without PC/SC it skips, or fails when
// SSC_REQUIRE_PCSC=1 or CI=true, so CI cannot lose the PC/SC tests to a
// CGO_ENABLED=0 build.
func TestPCSCBuild(t *testing.T) {
	env := pcsctest.Shared(t)
	b := pcsc.New()
	defer b.Close()
	ris, err := b.ListReaders(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, ri := range ris {
		if ri.Name == env.ReaderName(0) {
			return
		}
	}
	t.Fatalf("reader %q not listed: %+v", env.ReaderName(0), ris)
}
