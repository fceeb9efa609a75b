//go:build !nopcsc && (cgo || windows)

package pcsc

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/ebfe/scard"
	"github.com/sscard/ssc/reader"
)

// Watch tuning.
const (
	// pcscMaxStates is pcsc-lite's PCSCLITE_MAX_READERS_CONTEXTS: the
	// most reader states one SCardGetStatusChange accepts.
	pcscMaxStates = 16
	// pcscWatchPoll bounds each GetStatusChange. Cancellation normally
	// interrupts it at once (SCardCancel); the bound is a safety net, and
	// each time it expires the reader list is read again in case a reader
	// change notification was missed.
	pcscWatchPoll = time.Second
	// Retry pauses while pcscd is unavailable: 100 ms doubling to 2 s.
	pcscRetryMin = 100 * time.Millisecond
	pcscRetryMax = 2 * time.Second
	// Events buffered for a slow consumer before the watcher waits for it.
	pcscWatchBuffer = 64
	// pcscWatchGrace is how long past pcscWatchPoll the watcher waits for
	// pcscd to answer before it abandons the call and reports the backend
	// stuck (BackendError).
	pcscWatchGrace = 2 * time.Second
)

type pcscWatch struct {
	b      *pcscBackend
	ctx    context.Context
	cancel context.CancelFunc
	ch     chan reader.Event
	done   chan struct{} // closed after ch, when the watcher goroutine ends

	// Watcher goroutine state.
	readers  []*pcscWatched // in pcscd's order
	failing  bool           // a BackendError was sent and no snapshot since
	relisted time.Time      // the last relist
	// orphaned is set when a call on the session's context was abandoned:
	// the abandoned call releases the context when it returns.
	orphaned bool
}

type pcscWatched struct {
	name      string
	state     scard.StateFlag // last event state, CHANGED bit cleared
	present   bool
	atr       reader.ATR
	insertion uint64
	// uncounted: the card was seen present with the counter of the
	// absence before it (see update).
	uncounted bool
}

// Watch implements reader.Backend. The stream runs on its own PC/SC context in one
// goroutine: first a snapshot (ReaderAdded for each reader, CardInserted for
// each card present, all with Snapshot set), then SnapshotDone, then live
// changes from SCardGetStatusChange over every reader and the PnP
// notification pseudo reader.
//
// Every card insertion gets a new id from reader.NextInsertion; a card removed and
// inserted again between two polls is caught through pcsc-lite's event
// counter and reported as CardRemoved followed by CardInserted.
//
// When pcscd goes away the stream sends BackendError, then CardRemoved and
// ReaderRemoved for what vanished with it, and retries (100 ms backing off
// to 2 s); once pcscd is back it sends a fresh snapshot and SnapshotDone.
// Events are not dropped: when the buffer is full the watcher waits for the
// consumer. The channel is closed only when ctx is done (or the backend is
// closed), after the watcher goroutine has finished.
func (b *pcscBackend) Watch(ctx context.Context) (<-chan reader.Event, error) {
	const op = "watch"
	if ctx.Err() != nil {
		return nil, reader.ContextError(op, "", ctx)
	}
	wctx, cancel := context.WithCancel(ctx)
	w := &pcscWatch{
		b:      b,
		ctx:    wctx,
		cancel: cancel,
		ch:     make(chan reader.Event, pcscWatchBuffer),
		done:   make(chan struct{}),
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		cancel()
		return nil, &reader.Error{Op: op, Err: reader.ErrClosed}
	}
	b.watches[w] = struct{}{}
	b.mu.Unlock()
	go w.run()
	return w.ch, nil
}

func (w *pcscWatch) run() {
	defer func() {
		w.cancel()
		w.b.mu.Lock()
		delete(w.b.watches, w)
		w.b.mu.Unlock()
		close(w.ch)
		close(w.done)
	}()
	backoff := pcscRetryMin
	for w.ctx.Err() == nil {
		ectx, cancel := context.WithTimeout(w.ctx, pcscWatchPoll+pcscWatchGrace)
		sctx, err := pcscEstablish(ectx)
		cancel()
		if err == nil {
			started := time.Now()
			w.orphaned = false
			err = w.session(sctx)
			if !w.orphaned {
				pcscRelease(sctx)
			}
			if w.ctx.Err() != nil {
				return
			}
			if time.Since(started) > pcscRetryMax {
				backoff = pcscRetryMin // it ran for a while: retry soon
			}
		}
		if !w.lost(err) {
			return
		}
		select {
		case <-w.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, pcscRetryMax)
	}
}

// call runs fn, a call on the session's context sctx, abandoning it when
// pcscd does not answer within pcscWatchPoll + pcscWatchGrace (the error
// then matches reader.ErrBackendStuck and the session must end). The bound
// does not come from w.ctx: a cancelled watch ends its wait with
// SCardCancel, and the call returns by itself.
func (w *pcscWatch) call(sctx *scard.Context, op string, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), pcscWatchPoll+pcscWatchGrace)
	defer cancel()
	err, running := blocking(ctx, op, "", func() error { return fn(ctx) }, func(error) { pcscRelease(sctx) })
	if running {
		w.orphaned = true
	}
	return err
}

// lost reports a failure of pcscd (or of the watcher's context): a
// BackendError once per outage, then the removal of every card and reader
// known. It returns false when ctx ended while sending.
func (w *pcscWatch) lost(err error) bool {
	if err == nil {
		err = errors.New("PC/SC session ended")
	}
	if !w.failing {
		w.failing = true
		if !w.send(reader.Event{Type: reader.BackendError, Err: pcscErr("watch", "", err).Error()}) {
			return false
		}
	}
	for len(w.readers) > 0 {
		if !w.removeReader(w.readers[0].name) {
			return false
		}
	}
	return true
}

// session sends a snapshot and then live events until ctx is done (nil) or
// PC/SC fails (the error).
func (w *pcscWatch) session(sctx *scard.Context) error {
	// SCardCancel is the only way to end a waiting GetStatusChange early.
	stop := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		select {
		case <-w.ctx.Done():
			sctx.Cancel()
		case <-stop:
		}
	}()
	defer func() {
		close(stop)
		<-stopped
	}()

	if err := w.snapshot(sctx); err != nil {
		return err
	}
	pnp := scard.ReaderState{Reader: pnpReader}
	usePnP := true
	states := make([]scard.ReaderState, 0, 8)
	for {
		if w.ctx.Err() != nil {
			return nil
		}
		states = states[:0]
		for _, r := range w.readers {
			states = append(states, scard.ReaderState{Reader: r.name, CurrentState: r.state})
		}
		// pcsc-lite refuses more than PCSCLITE_MAX_READERS_CONTEXTS (16)
		// states in one call (SCARD_E_INVALID_PARAMETER), so with 16
		// readers the PnP entry is left out: readers that come or go are
		// then found by the relist after each poll timeout, and a reader
		// going away also shows in its own state.
		withPnP := usePnP && len(states) < pcscMaxStates
		if withPnP {
			states = append(states, pnp)
		}
		if len(states) == 0 {
			// Nothing to wait on (ebfe/scard cannot pass an empty
			// list): poll the reader list.
			select {
			case <-w.ctx.Done():
				return nil
			case <-time.After(pcscWatchPoll):
			}
			if _, err := w.relist(sctx); err != nil {
				return err
			}
			continue
		}
		// Under statesMu (states.go), which a call needing it takes by
		// cancelling this wait: ErrCancelled, and the loop waits again.
		err := w.call(sctx, "watch: get status change", func(ctx context.Context) error {
			return waitStates(ctx, sctx, states, pcscWatchPoll)
		})
		if w.orphaned {
			return err
		}
		if w.ctx.Err() != nil {
			return nil
		}
		switch {
		case err == nil:
		case errors.Is(err, scard.ErrTimeout):
			if _, err := w.relist(sctx); err != nil {
				return err
			}
			continue
		case errors.Is(err, scard.ErrCancelled):
			// Cancelled, or a look that found nothing (states.go):
			// relist now and then as a timeout would have.
			if time.Since(w.relisted) >= pcscWatchPoll {
				if _, err := w.relist(sctx); err != nil {
					return err
				}
			}
			continue
		case errors.Is(err, scard.ErrUnknownReader):
			// A reader went away before we learnt of it ...
			changed, err := w.relist(sctx)
			if err != nil {
				return err
			}
			if !changed {
				// ... or this pcsc-lite has no PnP notification:
				// rely on polling the reader list.
				usePnP = false
			}
			continue
		default:
			return err
		}
		readerStates := states
		readersChanged := false
		if withPnP {
			n := len(states) - 1
			readerStates = states[:n]
			readersChanged = states[n].EventState&scard.StateChanged != 0
			pnp.CurrentState = states[n].EventState &^ scard.StateChanged
		}
		for _, s := range readerStates {
			if s.EventState&scard.StateChanged == 0 {
				continue
			}
			if s.EventState&(scard.StateUnknown|scard.StateIgnore) != 0 {
				// Going away: relist below. Take the state so that
				// the next wait does not return at once for it.
				// Keep the event counter: pcsc-lite also reports a
				// transient UNKNOWN|UNAVAILABLE state with counter 0
				// (seen after a GetStatusChange timeout under load),
				// and the next real state must not look like a swap.
				if r := w.find(s.Reader); r != nil {
					r.state = transientState(r.state, s.EventState)
				}
				readersChanged = true
				continue
			}
			if !w.update(s.Reader, s.EventState, s.Atr, false) {
				return nil
			}
		}
		if readersChanged {
			if _, err := w.relist(sctx); err != nil {
				return err
			}
		}
	}
}

// snapshot reads every reader's state and sends it, then SnapshotDone.
func (w *pcscWatch) snapshot(sctx *scard.Context) error {
	var rs []scard.ReaderState
	for attempt := 0; ; attempt++ {
		err := w.call(sctx, "watch: read states", func(ctx context.Context) error {
			return withStates(ctx, func() error {
				names, err := pcscListReaders(sctx)
				if err != nil {
					return err
				}
				rs, err = pcscReadStates(sctx, names)
				return err
			})
		})
		if errors.Is(err, scard.ErrUnknownReader) && attempt < 3 {
			continue
		}
		if err != nil {
			return err
		}
		break
	}
	for _, s := range rs {
		if s.EventState&scard.StateUnknown != 0 {
			continue
		}
		w.readers = append(w.readers, &pcscWatched{name: s.Reader})
		if !w.send(reader.Event{Type: reader.ReaderAdded, Reader: s.Reader, Snapshot: true}) {
			return nil
		}
		if !w.update(s.Reader, s.EventState, s.Atr, true) {
			return nil
		}
	}
	w.failing = false
	w.send(reader.Event{Type: reader.SnapshotDone, Snapshot: true})
	return nil
}

// relist compares pcscd's reader list with ours and reports the difference.
// New readers start unaware of their state, so the next GetStatusChange
// returns at once and reports a card already in them.
// It reports whether the list changed.
func (w *pcscWatch) relist(sctx *scard.Context) (bool, error) {
	w.relisted = time.Now()
	var names []string
	err := w.call(sctx, "watch: list readers", func(ctx context.Context) error {
		return withStates(ctx, func() error {
			var err error
			names, err = pcscListReaders(sctx)
			return err
		})
	})
	if err != nil {
		return false, err
	}
	changed := false
	for i := 0; i < len(w.readers); {
		if slices.Contains(names, w.readers[i].name) {
			i++
			continue
		}
		changed = true
		if !w.removeReader(w.readers[i].name) {
			return true, nil
		}
	}
	for _, n := range names {
		if w.find(n) != nil {
			continue
		}
		changed = true
		w.readers = append(w.readers, &pcscWatched{name: n, state: scard.StateUnaware})
		if !w.send(reader.Event{Type: reader.ReaderAdded, Reader: n}) {
			return true, nil
		}
	}
	return changed, nil
}

func (w *pcscWatch) find(name string) *pcscWatched {
	for _, r := range w.readers {
		if r.name == name {
			return r
		}
	}
	return nil
}

// update applies a reader's new state and sends the card events it implies.
func (w *pcscWatch) update(name string, state scard.StateFlag, atr []byte, snap bool) bool {
	r := w.find(name)
	if r == nil {
		return true
	}
	state &^= scard.StateChanged
	present := pcscPresent(state)
	prev, cnt := r.state, pcscCounter(state)
	// pcscd sets a reader's state to PRESENT before it counts the
	// insertion (EHStatusHandlerThread), so a look in between shows the
	// new card with the counter of its absence (r.uncounted); the count
	// that follows is the same insertion, not a swap.
	counted := r.uncounted && cnt == pcscCounter(prev)+1
	if counted || !present {
		r.uncounted = false
	}
	// Still present with another counter value: removed and inserted
	// (maybe another card) since the last look.
	swapped := r.present && present && cnt != pcscCounter(prev) && !counted
	if r.present && (!present || swapped) {
		r.present = false
		if !w.send(reader.Event{Type: reader.CardRemoved, Reader: name, ATR: r.atr, Insertion: r.insertion}) {
			return false
		}
	}
	r.state = state
	if present && !r.present {
		r.present = true
		r.uncounted = !snap && prev&scard.StateEmpty != 0 && cnt == pcscCounter(prev)
		r.atr = reader.ATR(slices.Clone(atr))
		r.insertion = reader.NextInsertion()
		if !w.send(reader.Event{Type: reader.CardInserted, Reader: name, ATR: r.atr, Insertion: r.insertion, Snapshot: snap}) {
			return false
		}
	}
	return true
}

func (w *pcscWatch) removeReader(name string) bool {
	i := slices.IndexFunc(w.readers, func(r *pcscWatched) bool { return r.name == name })
	if i < 0 {
		return true
	}
	r := w.readers[i]
	w.readers = slices.Delete(w.readers, i, i+1)
	if r.present {
		if !w.send(reader.Event{Type: reader.CardRemoved, Reader: name, ATR: r.atr, Insertion: r.insertion}) {
			return false
		}
	}
	return w.send(reader.Event{Type: reader.ReaderRemoved, Reader: name})
}

// send delivers ev, waiting for the consumer; false when ctx is done.
func (w *pcscWatch) send(ev reader.Event) bool {
	ev.Time = time.Now()
	ev.Backend = "pcsc"
	select {
	case w.ch <- ev:
		return true
	case <-w.ctx.Done():
		return false
	}
}

// transientState is the state kept for a reader reported UNKNOWN or IGNORE
// (going away, or a transient glitch): the new flags with the previous
// event counter (the upper 16 bits). pcsc-lite also reports a transient
// UNKNOWN|UNAVAILABLE with counter 0 under load; keeping the counter means
// the next real state is not taken for a card swap.
func transientState(prev, cur scard.StateFlag) scard.StateFlag {
	return cur&^scard.StateChanged&0xFFFF | prev&^0xFFFF
}
