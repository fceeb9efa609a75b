//go:build !nopcsc && (cgo || windows)

package pcsc

import (
	"context"

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
//
// The lock is taken and held by the goroutine running the C call, until it
// returns: a call abandoned while pcscd is stopped (blocking.go) keeps
// holding it, as the race needs, and calls queued behind it are abandoned
// at their callers' deadlines too (reader.ErrBackendStuck) rather than
// deadlocking them; they run, in order, once pcscd answers again.
var pcscLifecycle rwLock

// pcscEstablish creates a context; the call is abandoned when ctx ends
// (the context is then released when it comes back).
func pcscEstablish(ctx context.Context) (*scard.Context, error) {
	var sctx *scard.Context
	err, _ := blocking(ctx, "establish context", "", func() error {
		pcscLifecycle.acquire(context.Background(), true)
		defer pcscLifecycle.release(true)
		var err error
		sctx, err = scard.EstablishContext()
		return err
	}, func(err error) {
		if err == nil {
			pcscRelease(sctx)
		}
	})
	if err != nil {
		return nil, err
	}
	return sctx, nil
}

// pcscRelease releases a context, waiting at most lifecycleWait (then the
// release finishes in the background).
func pcscRelease(c *scard.Context) error {
	ctx, cancel := context.WithTimeout(context.Background(), lifecycleWait)
	defer cancel()
	err, _ := blocking(ctx, "release context", "", func() error {
		pcscLifecycle.acquire(context.Background(), true)
		defer pcscLifecycle.release(true)
		return c.Release()
	}, nil)
	return err
}

// pcscDisconnect disconnects h, waiting at most until ctx ends. done (if
// not nil) runs once the call into libpcsclite is over (or was never
// made): whoever keeps h's context alive lets it go there, not before.
func pcscDisconnect(ctx context.Context, h *scard.Card, d scard.Disposition, done func()) error {
	err, running := blocking(ctx, "disconnect", "", func() error {
		pcscLifecycle.acquire(context.Background(), false)
		defer pcscLifecycle.release(false)
		return h.Disconnect(d)
	}, func(error) {
		if done != nil {
			done()
		}
	})
	if !running && done != nil {
		done()
	}
	return err
}

// pcscDisconnectBounded is pcscDisconnect waiting at most lifecycleWait.
func pcscDisconnectBounded(h *scard.Card, d scard.Disposition, done func()) error {
	ctx, cancel := context.WithTimeout(context.Background(), lifecycleWait)
	defer cancel()
	return pcscDisconnect(ctx, h, d, done)
}
