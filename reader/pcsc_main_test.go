package reader_test

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/sscard/ssc/internal/pcsctest"
	"github.com/sscard/ssc/sim"
)

// simProcessEnv, when set to a vpcd address, makes the test binary act as a
// separate software-card process (see startSimProcess).
const simProcessEnv = "SSC_TEST_SIM_PROCESS_VPCD"

// TestMain shares one private pcscd (with vpcd) among the PC/SC tests of
// this package; see pcsctest. Tests that do not call pcsctest.Shared are
// unaffected.
func TestMain(m *testing.M) {
	if addr := os.Getenv(simProcessEnv); addr != "" {
		os.Exit(serveSimProcess(addr))
	}
	pcsctest.Main(m)
}

func serveSimProcess(addr string) int {
	p, err := sim.Builtin(sim.DefaultProfile)
	if err != nil {
		return 1
	}
	card, err := sim.New(p, sim.Options{Mode: sim.Contact})
	if err != nil {
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	(&sim.VPCD{Addr: addr, Card: card}).Serve(ctx)
	return 0
}
