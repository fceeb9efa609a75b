//go:build !nopcsc && (cgo || windows)

package pcsc

import (
	"sync"

	"github.com/ebfe/scard"
)

// pcscLifecycle works around a race in libpcsclite's client library
// (1.9.9, Debian 12): SCardDisconnect looks its handle up in the process-wide
// list of contexts without the library's own lock, while
// SCardEstablishContext and SCardReleaseContext change that list under it.
// A disconnect running while another thread creates or releases a context
// dereferences a freed list node: SIGSEGV in SCardDisconnect. Reproduced in
// C with four threads, each with its own context (docs/protocol-notes.md).
// Creating and releasing contexts exclusively, and disconnecting under the
// shared side, keeps them apart; every other call runs concurrently as
// before. These calls are a few per card operation, so the lock costs
// nothing measurable.
var pcscLifecycle sync.RWMutex

func pcscEstablish() (*scard.Context, error) {
	pcscLifecycle.Lock()
	defer pcscLifecycle.Unlock()
	return scard.EstablishContext()
}

func pcscRelease(c *scard.Context) error {
	pcscLifecycle.Lock()
	defer pcscLifecycle.Unlock()
	return c.Release()
}

func pcscDisconnect(h *scard.Card, d scard.Disposition) error {
	pcscLifecycle.RLock()
	defer pcscLifecycle.RUnlock()
	return h.Disconnect(d)
}
