//go:build !nopcsc && (cgo || windows)

package pcsc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sscard/ssc/reader"
)

// Calls into libpcsclite block until pcscd answers; a pcscd that is
// stopped (SIGSTOP, a hung driver) never answers, and a C call cannot be
// interrupted. So every call that can block runs on a goroutine of its own
// (and so on an OS thread of its own while in C), and the caller waits for
// it only until its context is done: then the call is abandoned. It
// finishes by itself when pcscd answers again (or its socket closes), and
// cleans up after itself then (releases the context it held). What the
// abandoned call used is never used again: the card's context is retired
// and the card fails with reader.ErrBackendStuck until it is reset.

// maxAbandoned bounds the calls abandoned and not yet returned: each holds
// a goroutine and an OS thread. Beyond it new calls fail at once.
const maxAbandoned = 32

// lifecycleWait bounds the calls that have no caller context (Close's
// disconnect, the release of a context, EndTransaction).
const lifecycleWait = 3 * time.Second

var (
	abandoned atomic.Int32
	// stuckSince is when the first call was abandoned since the last call
	// that returned in time (zero: healthy), in Unix nanoseconds; stuckOp
	// names that call.
	stuckSince atomic.Int64
	stuckOp    atomic.Pointer[string]
)

// pcscHealth reports the stuck backend: nil when healthy.
func pcscHealth() error {
	since := stuckSince.Load()
	if since == 0 {
		return nil
	}
	op := "a call"
	if p := stuckOp.Load(); p != nil {
		op = *p
	}
	return &reader.Error{Op: op, Err: fmt.Errorf("%w: no answer since %s (%d calls abandoned)",
		reader.ErrBackendStuck, time.Unix(0, since).UTC().Format(time.RFC3339), abandoned.Load())}
}

func markStuck(op string) {
	stuckOp.Store(&op)
	stuckSince.CompareAndSwap(0, time.Now().UnixNano())
}

// markAnswered records that pcscd answered a call in time.
func markAnswered() { stuckSince.Store(0) }

// stuckErr is the error of an abandoned call (or one refused because too
// many are abandoned already).
func stuckErr(op, name string, ctx context.Context) error {
	why := "too many calls abandoned"
	if ctx != nil && ctx.Err() != nil {
		why = ctx.Err().Error()
	}
	return &reader.Error{Op: op, Reader: name, Err: fmt.Errorf("%w: %s abandoned (%s)", reader.ErrBackendStuck, op, why)}
}

const (
	callRunning int32 = iota
	callReturned
	callAbandoned
)

// blocking runs fn (a libpcsclite call) on a goroutine of its own and
// waits until it returns or ctx is done. When ctx ends first the call is
// abandoned: blocking returns stuckErr and running true at once and, once
// fn returns, abandon runs with fn's error (on fn's goroutine) to clean up
// what the caller no longer will. Otherwise fn's error comes back as it is
// (or stuckErr with running false when too many calls are abandoned
// already, and fn was not called).
func blocking(ctx context.Context, op, name string, fn func() error, abandon func(error)) (err error, running bool) {
	if ctx.Err() != nil {
		return reader.ContextError(op, name, ctx), false
	}
	if abandoned.Load() >= maxAbandoned {
		markStuck(op)
		return stuckErr(op, name, nil), false
	}
	var state atomic.Int32
	res := make(chan error, 1)
	go func() {
		err := fn()
		if state.CompareAndSwap(callRunning, callReturned) {
			res <- err
			return
		}
		abandoned.Add(-1)
		if err == nil {
			markAnswered() // pcscd is back
		}
		if abandon != nil {
			abandon(err)
		}
	}()
	select {
	case err := <-res:
		markAnswered()
		return err, false
	case <-ctx.Done():
	}
	if !state.CompareAndSwap(callRunning, callAbandoned) {
		err := <-res // it returned at the same moment
		markAnswered()
		return err, false
	}
	abandoned.Add(1)
	if errors.Is(ctx.Err(), context.Canceled) {
		// The caller gave up, not pcscd: no sign of a stuck backend.
		return reader.ContextError(op, name, ctx), true
	}
	markStuck(op)
	return stuckErr(op, name, ctx), true
}

// rwLock is a reader/writer lock whose waits can end with a context.
type rwLock struct {
	mu      sync.Mutex
	readers int
	writer  bool
	wake    chan struct{} // closed and replaced at every unlock
}

func (l *rwLock) acquire(ctx context.Context, exclusive bool) error {
	for {
		l.mu.Lock()
		if l.wake == nil {
			l.wake = make(chan struct{})
		}
		if !l.writer && (!exclusive || l.readers == 0) {
			if exclusive {
				l.writer = true
			} else {
				l.readers++
			}
			l.mu.Unlock()
			return nil
		}
		wake := l.wake
		l.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (l *rwLock) release(exclusive bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if exclusive {
		l.writer = false
	} else {
		l.readers--
	}
	if l.wake != nil {
		close(l.wake)
	}
	l.wake = make(chan struct{})
}
