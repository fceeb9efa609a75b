//go:build cgo && !nopcsc

package batch_test

import (
	"os"
	"testing"

	"github.com/sscard/ssc/internal/pcsctest"
)

// TestMain shares one private pcscd with 16 vpcd readers among the tests;
// re-executed with childEnv set, the binary is the batch process of
// TestPCSCBatchKill instead.
func TestMain(m *testing.M) {
	if v := os.Getenv(childEnv); v != "" {
		os.Exit(runChild(v))
	}
	pcsctest.Main(m, pcsctest.WithReaders(16))
}
