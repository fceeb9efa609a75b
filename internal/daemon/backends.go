package daemon

import (
	"github.com/sscard/ssc/internal/stack"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sscard"
)

// Backends returns the reader backends of c (stack.Backends): PC/SC always,
// the serial readers, and the software card when c.Sim is set (contact
// only: the daemon has no setting for the interface).
func (c Config) Backends() ([]reader.Backend, error) {
	return stack.Backends(stack.BackendConfig{Serial: c.Serial, SimProfile: c.Sim, SimMode: sim.Contact})
}

// hsmAdapter returns the HSM of c, or nil when none is configured.
func (c Config) hsmAdapter() sscard.HSM {
	kind, _ := c.hsm()
	switch kind {
	case "sim":
		return sscard.SIMHSM{}
	case "http":
		return sscard.HTTPHSM{URL: c.HSM, WriteURL: c.HSMWriteURL}
	}
	return nil
}
