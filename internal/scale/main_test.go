//go:build cgo && !nopcsc

package scale

import (
	"os"
	"testing"

	"github.com/sscard/ssc/internal/pcsctest"
)

// One private pcscd with 16 vpcd readers for the whole package. The
// benchmarks' cards run in processes of their own (this test binary
// re-executed, see pcsctest.StartCardProcess); the churn test's cards are
// served from the test process so it can pull and insert them quickly.
func TestMain(m *testing.M) {
	if os.Getenv(viewEnv) != "" {
		os.Exit(runViewer())
	}
	pcsctest.MainWithCards(m, pcsctest.BuiltinCard, pcsctest.WithReaders(pcsctest.MaxReaders))
}
