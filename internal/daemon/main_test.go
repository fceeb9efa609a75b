package daemon

import (
	"os"
	"testing"

	"github.com/sscard/ssc/internal/pcsctest"
)

// The end-to-end tests share one private pcscd+vpcd; the others use the
// in-process software card and no PC/SC. The test binary started with
// floodEnv set is the flooding child of flood_test.go.
func TestMain(m *testing.M) {
	if os.Getenv(floodEnv) != "" {
		os.Exit(floodChild())
	}
	pcsctest.Main(m)
}
