package serial

import (
	"context"
	"slices"
	"time"

	"github.com/sscard/ssc/reader"
)

// serialWatchBuffer events are buffered for a slow consumer before the
// watcher waits for it.
const serialWatchBuffer = 64

// Watch implements reader.Backend. One goroutine polls every reader's slot status
// (every 400 ms, pcscd's pace; a new card is powered to read its ATR). It
// sends a snapshot (ReaderAdded and CardInserted for the readers that
// answer, Snapshot set), SnapshotDone, a BackendError for each reader that
// does not answer, then live changes. A card swapped between two polls is
// seen through the reader's notices or its unpowered state and reported as
// CardRemoved + CardInserted. When a port fails the stream sends
// BackendError, CardRemoved and ReaderRemoved; when it answers again,
// ReaderAdded (and CardInserted) with Snapshot set and SnapshotDone. The
// channel is closed when ctx is done or the backend is closed.
func (b *serialBackend) Watch(ctx context.Context) (<-chan reader.Event, error) {
	const op = "watch"
	if b.isClosed() {
		return nil, &reader.Error{Op: op, Err: reader.ErrClosed}
	}
	if ctx.Err() != nil {
		return nil, reader.ContextError(op, "", ctx)
	}
	wctx, cancel := context.WithCancel(ctx)
	w := &serialWatch{b: b, ctx: wctx, ch: make(chan reader.Event, serialWatchBuffer)}
	go func() {
		defer cancel()
		defer close(w.ch)
		// End the stream when the backend closes.
		go func() {
			select {
			case <-b.closing:
				cancel()
			case <-wctx.Done():
			}
		}()
		w.run()
	}()
	return w.ch, nil
}

type serialWatch struct {
	b    *serialBackend
	ctx  context.Context
	ch   chan reader.Event
	seen []serialSeen
}

type serialSeen struct {
	listed    bool // ReaderAdded sent
	failing   bool // BackendError sent and not recovered
	insertion uint64
	atr       reader.ATR
}

func (w *serialWatch) run() {
	w.seen = make([]serialSeen, len(w.b.readers))
	// Snapshot: every reader once.
	var failed []error
	failedIdx := make([]int, 0)
	for i, r := range w.b.readers {
		st, err := r.refresh(w.ctx)
		if w.ctx.Err() != nil {
			return
		}
		if err != nil {
			failed = append(failed, err)
			failedIdx = append(failedIdx, i)
			continue
		}
		if !w.add(i, st, true) {
			return
		}
	}
	if !w.send(reader.Event{Type: reader.SnapshotDone, Snapshot: true}) {
		return
	}
	for k, err := range failed {
		i := failedIdx[k]
		w.seen[i].failing = true
		if !w.send(reader.Event{Type: reader.BackendError, Reader: w.b.readers[i].name, Err: err.Error()}) {
			return
		}
	}
	t := time.NewTicker(w.b.poll)
	defer t.Stop()
	for {
		select {
		case <-w.ctx.Done():
			return
		case <-t.C:
		}
		for i, r := range w.b.readers {
			st, err := r.refresh(w.ctx)
			if w.ctx.Err() != nil {
				return
			}
			if !w.update(i, st, err) {
				return
			}
		}
	}
}

// add lists reader i with its card.
func (w *serialWatch) add(i int, st serialState, snap bool) bool {
	r, s := w.b.readers[i], &w.seen[i]
	s.listed = true
	if !w.send(reader.Event{Type: reader.ReaderAdded, Reader: r.name, Snapshot: snap}) {
		return false
	}
	if st.present {
		s.insertion, s.atr = st.insertion, reader.ATR(slices.Clone(st.atr))
		return w.send(reader.Event{Type: reader.CardInserted, Reader: r.name, ATR: s.atr, Insertion: s.insertion, Snapshot: snap})
	}
	return true
}

// update compares reader i's state with what this stream reported.
func (w *serialWatch) update(i int, st serialState, err error) bool {
	r, s := w.b.readers[i], &w.seen[i]
	if err != nil {
		if s.failing {
			return true
		}
		s.failing = true
		if !w.send(reader.Event{Type: reader.BackendError, Reader: r.name, Err: err.Error()}) {
			return false
		}
		if s.insertion != 0 {
			if !w.send(reader.Event{Type: reader.CardRemoved, Reader: r.name, ATR: s.atr, Insertion: s.insertion}) {
				return false
			}
			s.insertion, s.atr = 0, nil
		}
		if s.listed {
			s.listed = false
			return w.send(reader.Event{Type: reader.ReaderRemoved, Reader: r.name})
		}
		return true
	}
	if s.failing || !s.listed {
		// Back (or there for the first time): a fresh snapshot of it.
		s.failing = false
		if !w.add(i, st, true) {
			return false
		}
		return w.send(reader.Event{Type: reader.SnapshotDone, Snapshot: true})
	}
	if s.insertion != 0 && s.insertion != st.insertion {
		if !w.send(reader.Event{Type: reader.CardRemoved, Reader: r.name, ATR: s.atr, Insertion: s.insertion}) {
			return false
		}
		s.insertion, s.atr = 0, nil
	}
	if st.present && s.insertion == 0 {
		s.insertion, s.atr = st.insertion, reader.ATR(slices.Clone(st.atr))
		return w.send(reader.Event{Type: reader.CardInserted, Reader: r.name, ATR: s.atr, Insertion: s.insertion})
	}
	return true
}

// send delivers ev, waiting for the consumer; false when the stream ends.
func (w *serialWatch) send(ev reader.Event) bool {
	ev.Time = time.Now()
	ev.Backend = "serial"
	select {
	case w.ch <- ev:
		return true
	case <-w.ctx.Done():
		return false
	}
}
