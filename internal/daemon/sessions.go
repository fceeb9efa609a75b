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
}

type sessionEntry[S pendingSession] struct {
	s     S
	timer *time.Timer
}

func (t *sessionTable[S]) init(d *Daemon, kind string) {
	t.d, t.kind, t.m = d, kind, map[string]sessionEntry[S]{}
}

// put registers s under id; it is aborted if not taken within timeout.
func (t *sessionTable[S]) put(id string, s S, timeout time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.m[id] = sessionEntry[S]{s: s, timer: time.AfterFunc(timeout, func() {
		if s, ok := t.take(id); ok {
			t.d.logf("%s session on %q expired", t.kind, s.readerName())
			s.abort()
		}
	})}
}

// take removes and returns the session id.
func (t *sessionTable[S]) take(id string) (S, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[id]
	delete(t.m, id)
	if ok {
		e.timer.Stop()
	}
	return e.s, ok
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
