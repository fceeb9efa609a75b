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
// (pcscListReaders, pcscReadStates, cardStatus, the watcher's wait). The
// lock is a buffered channel: its waiters are served in the order they
// came, so the watcher is not starved by a stream of short calls.
//
// A Watch waits for changes in GetStatusChange, which holds the array (it
// reads it after every wake-up) for as long as it waits. So it waits in
// one of two ways (waitStates):
//   - calm (no other call took statesMu in the last statesBusy): a
//     blocking wait, which a call that needs the lock ends with
//     SCardCancel; the watcher then waits again with the states it had,
//     so nothing is missed;
//   - busy: a look without waiting (timeout 0) every statesPoll, so that
//     a stream of short calls (a Connect and a Reset for every card
//     operation) does not pay one SCardCancel (a new connection to
//     pcscd) each.
var statesMu = make(chan struct{}, 1)

const (
	// statesBusy is how long after another call took statesMu the watcher
	// keeps polling instead of waiting.
	statesBusy = 100 * time.Millisecond
	// statesPoll is the watcher's pause between looks while busy: the
	// delay it adds to an event then (pcscd itself polls vpcd and many
	// drivers every 400 ms). Each look holds statesMu for two round trips
	// to pcscd: at 10 ms the looks took so much of the lock that 16
	// readers' card operations ran at half the rate (BenchmarkReaders).
	statesPoll = 50 * time.Millisecond
	// statesRecancel is how often a call waiting for statesMu cancels the
	// holder's wait again: SCardCancel has no effect before the wait has
	// begun (pcsc-lite only honours it while the call waits for pcscd).
	statesRecancel = time.Millisecond
)

// statesLastCall is when a call other than the watcher's wait last took
// statesMu (Unix nanoseconds).
var statesLastCall atomic.Int64

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

// lockStates takes statesMu, waiting until ctx is done (its error).
func lockStates(ctx context.Context) error {
	select {
	case statesMu <- struct{}{}:
		return nil
	default:
	}
	statesWaiters.Add(1)
	defer statesWaiters.Add(-1)
	tick := time.NewTicker(statesRecancel)
	defer tick.Stop()
	for {
		preemptStates()
		select {
		case statesMu <- struct{}{}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func unlockStates() { <-statesMu }

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
	if err := lockStates(ctx); err != nil {
		return err
	}
	defer unlockStates()
	statesLastCall.Store(time.Now().UnixNano())
	return fn()
}

// waitStates is the watcher's GetStatusChange on sctx under statesMu:
// a blocking wait up to timeout that other calls may cancel, or, while
// they are frequent, a look after statesPoll. It returns
// scard.ErrCancelled when it was cancelled or looked and nothing changed
// (the caller looks again), scard.ErrTimeout when a blocking wait timed
// out.
func waitStates(ctx context.Context, sctx *scard.Context, states []scard.ReaderState, timeout time.Duration) error {
	look := time.Since(time.Unix(0, statesLastCall.Load())) < statesBusy
	if look {
		select {
		case <-time.After(statesPoll):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := lockStates(ctx); err != nil {
		return err
	}
	defer unlockStates()
	if look || statesWaiters.Load() > 0 {
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
