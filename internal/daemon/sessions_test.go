package daemon

import (
	"sync/atomic"
	"testing"
	"time"
)

type fakeSession struct {
	owner   string
	aborted atomic.Int32
}

func (s *fakeSession) abort()             { s.aborted.Add(1) }
func (s *fakeSession) readerName() string { return "r0" }

// TestSessionTableTakeIf: a refused takeIf leaves the session as it was:
// still there, not aborted, and expiring when it would have.
func TestSessionTableTakeIf(t *testing.T) {
	var tab sessionTable[*fakeSession]
	tab.init(&Daemon{log: testLogger(t)}, "test")
	owner := func(o string) func(*fakeSession) bool { return func(s *fakeSession) bool { return s.owner == o } }

	s := &fakeSession{owner: "a"}
	tab.put("x", s, time.Hour)
	if _, ok := tab.takeIf("x", owner("b")); ok {
		t.Fatal("taken by another owner")
	}
	if _, ok := tab.takeIf("y", owner("a")); ok {
		t.Fatal("unknown id taken")
	}
	if got, ok := tab.takeIf("x", owner("a")); !ok || got != s || s.aborted.Load() != 0 {
		t.Fatalf("owner's take: %v %v, aborted %d", got, ok, s.aborted.Load())
	}
	if _, ok := tab.take("x"); ok {
		t.Fatal("taken twice")
	}

	// Refused takes do not extend the expiry.
	s = &fakeSession{owner: "a"}
	start := time.Now()
	tab.put("x", s, 200*time.Millisecond)
	for time.Since(start) < 150*time.Millisecond {
		tab.takeIf("x", owner("b"))
		time.Sleep(10 * time.Millisecond)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.aborted.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if s.aborted.Load() != 1 {
		t.Fatalf("session not expired: aborted %d", s.aborted.Load())
	}
	if _, ok := tab.take("x"); ok {
		t.Fatal("expired session still there")
	}
}

// TestSessionTableStaleExpiry: an expiry that fires while a step holds the
// session (the timer's callback waiting for the table) must not end the
// entry the step puts back with a fresh timer.
func TestSessionTableStaleExpiry(t *testing.T) {
	var tab sessionTable[*fakeSession]
	tab.init(&Daemon{log: testLogger(t)}, "test")
	s := &fakeSession{owner: "a"}
	tab.put("x", s, time.Millisecond)
	// The step: take under the lock while the timer fires and its
	// callback waits for the lock, then put back with a new timer.
	tab.mu.Lock()
	time.Sleep(50 * time.Millisecond)
	e := tab.m["x"]
	delete(tab.m, "x")
	e.timer.Stop()
	tab.mu.Unlock()
	tab.put("x", s, time.Hour)
	time.Sleep(50 * time.Millisecond) // the stale callback has run by now
	if s.aborted.Load() != 0 {
		t.Fatal("the stale expiry aborted the session put back")
	}
	if _, ok := tab.take("x"); !ok {
		t.Fatal("session put back is gone")
	}
}
