package daemon

import (
	"testing"

	"github.com/sscard/ssc/internal/pcsctest"
)

// The end-to-end tests share one private pcscd+vpcd; the others use the
// in-process software card and no PC/SC.
func TestMain(m *testing.M) { pcsctest.Main(m) }
