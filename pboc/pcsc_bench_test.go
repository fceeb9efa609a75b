//go:build cgo && !nopcsc

package pboc_test

import (
	"testing"

	"github.com/sscard/ssc/internal/pcsctest"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sim"
)

// BenchmarkReadODAPCSC measures what a terminal does with a card: a new
// Session, application selection, GPO, the AFL records and ODA (DDA with
// INTERNAL AUTHENTICATE contact, fDDA contactless), through pcscd + vpcd.
// The card runs in a process of its own (this test binary re-executed, see
// TestMain), contact in vpcd slot 0 and contactless in slot 1, inserted
// once per test binary and left in.
func BenchmarkReadODAPCSC(b *testing.B) {
	for i, m := range simModes {
		b.Run(m.name, func(b *testing.B) {
			benchReadODA(b, benchPCSCCard(b, m.mode, i), m.oda)
		})
	}
}

// benchPCSCCard starts (once per test binary and mode) a separate
// software-card process in vpcd slot and connects to it through PC/SC.
func benchPCSCCard(b *testing.B, mode sim.Mode, slot int) reader.Card {
	b.Helper()
	name := pcsctest.Shared(b).StartCardProcess(b, slot, mode.String())
	return pcsctest.Connect(b, name, pcsctest.Protocol(mode))
}
