package daemon

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sscd"
)

// historySize bounds the event history kept for SSE clients; one that falls
// further behind gets a fresh snapshot.
const historySize = 256

// state is what the daemon knows of its readers, fed by reader.System.Watch:
// readers, cards and insertion ids, plus a numbered event history.
type state struct {
	mu       sync.Mutex
	readers  map[string]*sscd.Reader
	history  []sscd.Event // the last historySize events, Seq ascending
	seq      uint64
	changed  chan struct{} // closed and replaced on every event
	backErr  string
	synced   chan struct{} // closed after the first SnapshotDone
	syncOnce sync.Once
	// visible hides the readers the configuration excludes (nil: all
	// visible). Hidden readers stay in readers, so a reload that shows them
	// again knows their state.
	visible func(name string) bool
	// onEvent, when set, is called (outside the lock, on the watch
	// goroutine) with every event added to the history.
	onEvent func(sscd.Event)
	// cardIDs is the card identification code (EF05/01) the first
	// operation on each reader's current insertion read, by reader name.
	cardIDs map[string]cardIdentity
}

// cardIdentity is the card id read from one insertion.
type cardIdentity struct {
	insertion uint64
	id        []byte
}

// checkCardID compares id, just read from the card in reader name as
// insertion, with the id recorded for that insertion (recording it when it
// is the first). pcscd looks at some readers (vpcd) only every 400 ms and
// can miss a card pulled and another pushed in between: the insertion id
// then stays while the card changed. On a mismatch the card is taken as
// swapped: the old insertion is reported removed and the card in the
// reader gets a new insertion (events, cache dropped, probe), whose state
// checkCardID returns with changed true.
func (s *state) checkCardID(name string, insertion uint64, id []byte) (now sscd.Reader, changed bool) {
	s.mu.Lock()
	r := s.readers[name]
	if r == nil || !r.CardPresent || r.Insertion != insertion || len(id) == 0 {
		s.mu.Unlock()
		return sscd.Reader{}, false // the watcher moved on: the caller's checks catch it
	}
	if s.cardIDs == nil {
		s.cardIDs = map[string]cardIdentity{}
	}
	e, ok := s.cardIDs[name]
	if !ok || e.insertion != insertion {
		s.cardIDs[name] = cardIdentity{insertion, bytes.Clone(id)}
		s.mu.Unlock()
		return sscd.Reader{}, false
	}
	if bytes.Equal(e.id, id) {
		s.mu.Unlock()
		return sscd.Reader{}, false
	}
	backend, atr := r.Backend, r.ATR
	s.mu.Unlock()
	next := reader.NextInsertion()
	s.apply(reader.Event{Type: reader.CardRemoved, Reader: name, Backend: backend, ATR: atr, Insertion: insertion})
	s.apply(reader.Event{Type: reader.CardInserted, Reader: name, Backend: backend, ATR: atr, Insertion: next})
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.readers[name]; r != nil && r.CardPresent && r.Insertion == next {
		s.cardIDs[name] = cardIdentity{next, bytes.Clone(id)}
		return *r, true
	}
	return sscd.Reader{}, true
}

// setFilter changes which readers are visible.
func (s *state) setFilter(f func(string) bool) {
	s.mu.Lock()
	s.visible = f
	s.mu.Unlock()
}

// shown says whether reader name is visible; s.mu is held.
func (s *state) shown(name string) bool { return s.visible == nil || s.visible(name) }

func newState() *state {
	return &state{readers: map[string]*sscd.Reader{}, changed: make(chan struct{}), synced: make(chan struct{})}
}

// run applies the events of the watch stream until it ends.
func (s *state) run(events <-chan reader.Event) {
	for ev := range events {
		s.apply(ev)
	}
}

func (s *state) apply(ev reader.Event) {
	out, ok := s.record(ev)
	if ok && s.onEvent != nil {
		s.onEvent(out)
	}
}

// record applies ev to the state; ok says it was a change, out is the
// event added to the history.
func (s *state) record(ev reader.Event) (out sscd.Event, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out = sscd.Event{Time: ev.Time, Reader: ev.Reader, Backend: ev.Backend, ATR: ev.ATR, Insertion: ev.Insertion}
	if out.Time.IsZero() {
		out.Time = time.Now()
	}
	r := s.readers[ev.Reader]
	switch ev.Type {
	case reader.ReaderAdded:
		if r != nil {
			return out, false // a snapshot after recovery repeats what we know
		}
		s.readers[ev.Reader] = &sscd.Reader{Name: ev.Reader, Backend: ev.Backend}
		out.Type = sscd.EventReaderAdded
	case reader.ReaderRemoved:
		if r == nil {
			return out, false
		}
		delete(s.readers, ev.Reader)
		out.Type = sscd.EventReaderRemoved
	case reader.CardInserted:
		if r == nil {
			r = &sscd.Reader{Name: ev.Reader, Backend: ev.Backend}
			s.readers[ev.Reader] = r
		}
		if r.CardPresent && r.Insertion == ev.Insertion {
			return out, false
		}
		*r = sscd.Reader{Name: r.Name, Backend: r.Backend, CardPresent: true, ATR: ev.ATR, Insertion: ev.Insertion}
		out.Type = sscd.EventCardInserted
	case reader.CardRemoved:
		if r == nil || !r.CardPresent {
			return out, false
		}
		*r = sscd.Reader{Name: r.Name, Backend: r.Backend}
		out.Type = sscd.EventCardRemoved
	case reader.SnapshotDone:
		s.backErr = ""
		s.syncOnce.Do(func() { close(s.synced) })
		return out, false
	case reader.BackendError:
		s.backErr = ev.Backend + ": " + ev.Err
		out.Type, out.Error = sscd.EventBackendError, ev.Err
	default:
		return out, false
	}
	s.add(&out)
	return out, true
}

// identify records what the daemon found on a card (Kind, Generation,
// SpecVersion, Protocol of id), if that insertion is still in the reader,
// and adds EventCardIdentified.
func (s *state) identify(name string, insertion uint64, id sscd.Reader) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.readers[name]
	if r == nil || !r.CardPresent || r.Insertion != insertion || r.Kind != sscd.KindUnknown {
		return
	}
	r.Kind, r.Generation, r.SpecVersion, r.Protocol = id.Kind, id.Generation, id.SpecVersion, id.Protocol
	out := sscd.Event{Type: sscd.EventCardIdentified, Time: time.Now(), Reader: name, Backend: r.Backend, ATR: r.ATR,
		Insertion: insertion, Kind: r.Kind, Generation: r.Generation, SpecVersion: r.SpecVersion, Protocol: r.Protocol}
	s.add(&out)
}

// add numbers ev and appends it to the history; s.mu is held.
func (s *state) add(out *sscd.Event) {
	s.seq++
	out.Seq = s.seq
	s.history = append(s.history, *out)
	if len(s.history) > historySize {
		s.history = slices.Delete(s.history, 0, len(s.history)-historySize)
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// snapshot returns every reader (sorted by name), the sequence number it is
// current at and the channel closed at the next change.
func (s *state) snapshot() ([]sscd.Reader, uint64, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]sscd.Reader, 0, len(s.readers))
	for _, r := range s.readers {
		if s.shown(r.Name) {
			out = append(out, *r)
		}
	}
	slices.SortFunc(out, func(a, b sscd.Reader) int { return strings.Compare(a.Name, b.Name) })
	return out, s.seq, s.changed
}

// since returns the events after seq; ok is false when some of them have
// left the history already.
func (s *state) since(seq uint64) (evs []sscd.Event, changed <-chan struct{}, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq >= s.seq {
		return nil, s.changed, true
	}
	if len(s.history) == 0 || s.history[0].Seq > seq+1 {
		return nil, s.changed, false
	}
	i := int(seq + 1 - s.history[0].Seq)
	for _, ev := range s.history[i:] {
		if ev.Reader == "" || s.shown(ev.Reader) {
			evs = append(evs, ev)
		}
	}
	return evs, s.changed, true
}

// find resolves a reader name: the exact name, or a unique case-insensitive
// substring (as reader.System.Find does).
func (s *state) find(name string) (sscd.Reader, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.readers[name]; ok && s.shown(name) {
		return *r, nil
	}
	var match *sscd.Reader
	lname := strings.ToLower(name)
	for _, r := range s.readers {
		if name != "" && s.shown(r.Name) && strings.Contains(strings.ToLower(r.Name), lname) {
			if match != nil {
				return sscd.Reader{}, sscd.Errorf(sscd.CodeReaderNotFound, "reader name %q matches more than one reader", name)
			}
			match = r
		}
	}
	if match == nil {
		return sscd.Reader{}, sscd.Errorf(sscd.CodeReaderNotFound, "no reader %q", name)
	}
	return *match, nil
}

func (s *state) health() (readers, cards int, backErr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.readers {
		if !s.shown(r.Name) {
			continue
		}
		readers++
		if r.CardPresent {
			cards++
		}
	}
	return readers, cards, s.backErr
}

// waitGone reports whether insertion has left reader name, waiting up to
// d for the watcher to say so.
func (s *state) waitGone(name string, insertion uint64, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		s.mu.Lock()
		r, ok := s.readers[name]
		gone := !ok || !r.CardPresent || r.Insertion != insertion
		changed := s.changed
		s.mu.Unlock()
		if gone {
			return true
		}
		select {
		case <-changed:
		case <-timer.C:
			return false
		}
	}
}

// waitSynced waits for the first complete snapshot of the backends, so the
// first requests do not see an empty reader list.
func (s *state) waitSynced(ctx context.Context) {
	select {
	case <-s.synced:
	case <-ctx.Done():
	}
}
