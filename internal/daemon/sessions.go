package daemon

import (
	"sync"
	"time"
)

// pendingSession is a multi-call card operation between its API calls (an
// HSM read, a write session): it holds the card until the next call, an
// abort, its expiry or shutdown.
type pendingSession interface {
	abort()
	readerName() string
}

// sessionTable keeps the pending sessions of one kind by id, each with an
// expiry timer. take removes a session, so that the next call, an abort,
// expiry and shutdown each finish or continue a session at most once.
type sessionTable[S pendingSession] struct {
	kind string // for the log: "HSM", "issue"
	d    *Daemon
	mu   sync.Mutex
	m    map[string]sessionEntry[S]
	// removed are the sessions ended because their card left the reader,
	// kept until they would have expired, so the next call on one answers
	// card_changed rather than session_not_found.
	removed map[string]S
}

type sessionEntry[S pendingSession] struct {
	s     S
	timer *time.Timer
}

func (t *sessionTable[S]) init(d *Daemon, kind string) {
	t.d, t.kind, t.m, t.removed = d, kind, map[string]sessionEntry[S]{}, map[string]S{}
}

// endReader ends at once the sessions holding reader name, whose card
// left it (or was swapped): the reader is free for the next operation
// without waiting for the expiry. Their ids answer card_changed (removedIf)
// until they would have expired. The aborts (a card reset, bounded) run in
// the background: this is called on the watch goroutine.
func (t *sessionTable[S]) endReader(name string, timeout time.Duration) {
	t.mu.Lock()
	var ended []S
	for id, e := range t.m {
		if e.s.readerName() != name {
			continue
		}
		delete(t.m, id)
		e.timer.Stop()
		ended = append(ended, e.s)
		t.removed[id] = e.s
		time.AfterFunc(timeout, func() {
			t.mu.Lock()
			delete(t.removed, id)
			t.mu.Unlock()
		})
	}
	t.mu.Unlock()
	for _, s := range ended {
		t.d.log.Info("session ended: card removed", "kind", t.kind, "reader", name)
		t.d.wg.Add(1)
		go func() {
			defer t.d.wg.Done()
			s.abort()
		}()
	}
}

// removedIf reports whether session id was ended by endReader (and mine
// accepts it: the caller is the one that created it); it forgets it then.
func (t *sessionTable[S]) removedIf(id string, mine func(S) bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.removed[id]
	if !ok || !mine(s) {
		return false
	}
	delete(t.removed, id)
	return true
}

// put registers s under id; it is aborted if not taken within timeout.
// The expiry takes only the entry it was armed for: a timer that fires
// while a step holds the session cannot end the entry the step puts back.
func (t *sessionTable[S]) put(id string, s S, timeout time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var timer *time.Timer
	timer = time.AfterFunc(timeout, func() {
		if s, ok := t.takeEntry(id, func(e sessionEntry[S]) bool { return e.timer == timer }); ok {
			t.d.log.Info("session expired", "kind", t.kind, "reader", s.readerName())
			s.abort()
		}
	})
	t.m[id] = sessionEntry[S]{s: s, timer: timer}
}

// take removes and returns the session id.
func (t *sessionTable[S]) take(id string) (S, bool) {
	return t.takeIf(id, func(S) bool { return true })
}

// takeIf removes and returns the session id if mine accepts it (the caller
// is the one that created it). Otherwise the session stays exactly as it
// was — not ended, not aborted, its expiry unchanged — and takeIf answers
// as for an unknown id. mine runs under the table's lock: it must be quick
// and must not call the table.
func (t *sessionTable[S]) takeIf(id string, mine func(S) bool) (S, bool) {
	return t.takeEntry(id, func(e sessionEntry[S]) bool { return mine(e.s) })
}

func (t *sessionTable[S]) takeEntry(id string, ok func(sessionEntry[S]) bool) (S, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, found := t.m[id]
	if !found || !ok(e) {
		var zero S
		return zero, false
	}
	delete(t.m, id)
	e.timer.Stop()
	return e.s, true
}

func (t *sessionTable[S]) abortAll() {
	t.mu.Lock()
	ids := make([]string, 0, len(t.m))
	for id := range t.m {
		ids = append(ids, id)
	}
	t.mu.Unlock()
	for _, id := range ids {
		if s, ok := t.take(id); ok {
			s.abort()
		}
	}
}
