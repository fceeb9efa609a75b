package ecardplatform_test

import (
	"testing"

	"github.com/sscard/ssc/internal/pcsctest"
)

// The browser tests share one private pcscd+vpcd (the daemon reads the
// software card through PC/SC, as with a real reader); the platform tests
// use an in-process software card.
func TestMain(m *testing.M) { pcsctest.Main(m) }
