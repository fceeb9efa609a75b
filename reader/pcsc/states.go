//go:build !nopcsc && (cgo || windows)

package pcsc

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ebfe/scard"
)

// libpcsclite (pcsc-lite 1.9.9, winscard_clnt.c) keeps the reader states
// of the whole process in one static array, readerStates[16], shared by
// every context. SCardListReaders and SCardStatus refresh it from pcscd
// (getReaderStates), SCardGetStatusChange refreshes it when it starts and
// after every wake-up (getReaderStatesAndRegisterForEvents), each straight
// from the socket into the array and under its own context's lock only;
// SCardStatus and SCardGetStatusChange then read their answer from it. So
// a call on one context can read the array while a call on another
// context is writing an older or half-received copy into it: the watcher
// then saw an older event counter, or a card that was already out, and
// reported a removal and an insertion that did not happen.
//
// statesMu serialises every call of this process that touches the array
// (pcscListReaders, pcscReadStates, cardStatus, the watcher's wait).
//
// A Watch waits for changes in GetStatusChange, which holds the array (it
// reads it after every wake-up) for as long as it waits. A call that needs
// the lock meanwhile ends that wait with SCardCancel; the watcher then
// waits again with the states it had, so nothing is missed. (Looking every
// 10–50 ms instead while calls are frequent costs fewer cancels, but with
// the events that much later TestE2ECardSwap failed one run in two: pcscd
// went on reporting a pulled card present, after SCardReconnect calls that
// write the reader's state behind pcscd's polling thread; see
// docs/protocol-notes.md.)
var statesMu struct {
	mu       sync.Mutex
	held     bool
	watchers int           // watcher waits pending (lockStates)
	wake     chan struct{} // closed and replaced at every unlock
}

// statesRecancel is how often a call waiting for statesMu cancels the
// holder's wait again: SCardCancel has no effect before the wait has begun
// (pcsc-lite only honours it while the call waits for pcscd).
const statesRecancel = time.Millisecond

// statesYield is how long the watcher lets waiting calls take statesMu
// before it takes it first again (waitStates).
const statesYield = 5 * time.Millisecond

// statesWaiters counts the calls waiting for statesMu (a channel does not
// tell its blocked senders): the watcher only looks while there are any.
var statesWaiters atomic.Int32

// statesPreempt is the context of the GetStatusChange that waits holding
// statesMu (nil when none).
var statesPreempt struct {
	mu   sync.Mutex
	sctx *scard.Context
}

// statesCancelling is set while an SCardCancel of statesPreempt runs: one
// at a time (it opens a connection to pcscd, which may not answer).
var statesCancelling atomic.Bool

// lockStates takes statesMu, waiting until ctx is done (its error). The
// watcher (watcher true) goes before the calls waiting with it, after it
// let them go for statesYield (waitStates): each of them cancels its wait,
// and it must not then queue behind all of them (with 16 readers busy it
// was blind long enough to miss a card that came and went). Other callers
// are served in no particular order.
func lockStates(ctx context.Context, watcher bool) error {
	counted := false
	defer func() {
		if counted {
			statesMu.mu.Lock()
			statesMu.watchers--
			statesMu.mu.Unlock()
		}
	}()
	var tick <-chan time.Time
	for {
		statesMu.mu.Lock()
		if statesMu.wake == nil {
			statesMu.wake = make(chan struct{})
		}
		if !statesMu.held && (watcher || statesMu.watchers == 0) {
			statesMu.held = true
			statesMu.mu.Unlock()
			return nil
		}
		if watcher && !counted {
			statesMu.watchers++
			counted = true
		}
		wake := statesMu.wake
		statesMu.mu.Unlock()
		if !watcher {
			if tick == nil {
				statesWaiters.Add(1)
				defer statesWaiters.Add(-1)
				t := time.NewTicker(statesRecancel)
				defer t.Stop()
				tick = t.C
			}
			preemptStates()
		}
		select {
		case <-wake:
		case <-tick:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func unlockStates() {
	statesMu.mu.Lock()
	defer statesMu.mu.Unlock()
	statesMu.held = false
	if statesMu.wake != nil {
		close(statesMu.wake)
	}
	statesMu.wake = make(chan struct{})
}

// preemptStates cancels the GetStatusChange that waits holding statesMu.
func preemptStates() {
	statesPreempt.mu.Lock()
	sctx := statesPreempt.sctx
	statesPreempt.mu.Unlock()
	if sctx == nil || !statesCancelling.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer statesCancelling.Store(false)
		_ = sctx.Cancel()
	}()
}

// withStates runs fn, a short call, holding statesMu.
func withStates(ctx context.Context, fn func() error) error {
	if err := lockStates(ctx, false); err != nil {
		return err
	}
	defer unlockStates()
	return fn()
}

// waitStates is the watcher's GetStatusChange on sctx under statesMu: a
// wait up to timeout that other calls may cancel (scard.ErrCancelled, and
// the caller waits again), or, when calls are queued for the lock already,
// a look without waiting (scard.ErrCancelled when nothing changed).
func waitStates(ctx context.Context, sctx *scard.Context, states []scard.ReaderState, timeout time.Duration) error {
	// Calls waiting for the lock (they cancelled our last wait) go
	// first, for up to statesYield: the watcher has priority after that,
	// or a stream of calls would keep it from looking at all.
	for deadline := time.Now().Add(statesYield); statesWaiters.Load() > 0 && time.Now().Before(deadline); {
		select {
		case <-time.After(statesRecancel):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := lockStates(ctx, true); err != nil {
		return err
	}
	defer unlockStates()
	if statesWaiters.Load() > 0 {
		err := sctx.GetStatusChange(states, 0)
		if errors.Is(err, scard.ErrTimeout) {
			err = scard.ErrCancelled
		}
		return err
	}
	statesPreempt.mu.Lock()
	statesPreempt.sctx = sctx
	statesPreempt.mu.Unlock()
	defer func() {
		statesPreempt.mu.Lock()
		statesPreempt.sctx = nil
		statesPreempt.mu.Unlock()
	}()
	return sctx.GetStatusChange(states, timeout)
}
