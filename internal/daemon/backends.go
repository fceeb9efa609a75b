package daemon

import (
	"github.com/sscard/ssc/internal/stack"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sim"
)

// Backends returns the reader backends of c (stack.Backends): PC/SC always,
// the serial readers, and the software card when c.Sim is set (contact
// only: the daemon has no setting for the interface).
func (c Config) Backends() ([]reader.Backend, error) {
	return stack.Backends(stack.BackendConfig{Serial: c.Serial, SimProfile: c.Sim, SimMode: sim.Contact})
}
