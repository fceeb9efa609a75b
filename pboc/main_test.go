package pboc_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"

	"github.com/sscard/ssc/internal/pcsctest"
	"github.com/sscard/ssc/sim"
)

// simProcessEnv, when set to "<mode>|<vpcd address>", makes the test binary
// act as a separate software-card process serving the gen3 profile with
// its PBOC application to vpcd; the benchmarks through pcscd use it so the
// card does not share the measuring process.
const simProcessEnv = "SSC_PBOC_SIM_PROCESS"

// TestMain shares one private pcscd (with vpcd) among the PC/SC tests of
// this package (see internal/pcsctest).
func TestMain(m *testing.M) {
	if v := os.Getenv(simProcessEnv); v != "" {
		os.Exit(serveSimProcess(v))
	}
	pcsctest.Main(m)
}

func serveSimProcess(v string) int {
	modeName, addr, ok := strings.Cut(v, "|")
	if !ok {
		fmt.Fprintf(os.Stderr, "%s=%q: want <mode>|<addr>\n", simProcessEnv, v)
		return 2
	}
	mode := sim.Contact
	if modeName == sim.Contactless.String() {
		mode = sim.Contactless
	}
	card, err := newPBOCChip(mode, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	(&sim.VPCD{Addr: addr, Card: card}).Serve(ctx)
	return 0
}
