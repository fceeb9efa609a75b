package daemon

import (
	"testing"

	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sscd"
)

func TestStateEvents(t *testing.T) {
	s := newState()
	steps := []struct {
		ev      reader.Event
		newSeq  bool // a change clients see
		present bool
	}{
		{reader.Event{Type: reader.ReaderAdded, Reader: "a", Backend: "pcsc", Snapshot: true}, true, false},
		{reader.Event{Type: reader.CardInserted, Reader: "a", Insertion: 7, Snapshot: true}, true, true},
		{reader.Event{Type: reader.SnapshotDone}, false, true},
		{reader.Event{Type: reader.ReaderAdded, Reader: "a"}, false, true},                // repeated after recovery
		{reader.Event{Type: reader.CardInserted, Reader: "a", Insertion: 7}, false, true}, // same insertion
		{reader.Event{Type: reader.CardRemoved, Reader: "a", Insertion: 7}, true, false},
		{reader.Event{Type: reader.CardRemoved, Reader: "a", Insertion: 7}, false, false},
		{reader.Event{Type: reader.BackendError, Backend: "pcsc", Err: "gone"}, true, false},
		{reader.Event{Type: reader.ReaderRemoved, Reader: "a"}, true, false},
		{reader.Event{Type: reader.ReaderRemoved, Reader: "a"}, false, false},
	}
	var seq uint64
	for i, st := range steps {
		s.apply(st.ev)
		_, got, _ := s.snapshot()
		if st.newSeq {
			seq++
		}
		if got != seq {
			t.Fatalf("step %d (%v): seq %d, want %d", i, st.ev.Type, got, seq)
		}
		r, err := s.find("a")
		if err == nil && r.CardPresent != st.present {
			t.Fatalf("step %d: present %v", i, r.CardPresent)
		}
	}
	if _, _, backErr := s.health(); backErr == "" {
		t.Error("backend error not kept")
	}
	evs, _, ok := s.since(2)
	if !ok || len(evs) != 3 || evs[0].Type != sscd.EventCardRemoved || evs[0].Seq != 3 {
		t.Errorf("since(2): %+v %v", evs, ok)
	}
}

func TestStateHistoryOverflow(t *testing.T) {
	s := newState()
	s.apply(reader.Event{Type: reader.ReaderAdded, Reader: "a"})
	for i := range historySize + 10 {
		s.apply(reader.Event{Type: reader.CardInserted, Reader: "a", Insertion: uint64(i + 1)})
		s.apply(reader.Event{Type: reader.CardRemoved, Reader: "a"})
	}
	if _, _, ok := s.since(1); ok {
		t.Error("since(1) claims a complete history after overflow")
	}
	_, last, _ := s.snapshot()
	evs, _, ok := s.since(last - 5)
	if !ok || len(evs) != 5 || evs[4].Seq != last {
		t.Errorf("recent history: %d events, ok %v", len(evs), ok)
	}
}
