package reader

import (
	"fmt"
	"sync/atomic"
	"time"
)

// EventType says what changed.
type EventType int

// Event types. A Watch stream starts with ReaderAdded (and CardInserted for
// each present card) marked Snapshot, then SnapshotDone, then live changes.
const (
	ReaderAdded EventType = iota + 1
	ReaderRemoved
	CardInserted
	CardRemoved
	// SnapshotDone ends the initial snapshot; it is sent again after the
	// backend recovered (for example pcscd restarted) and re-read the state.
	SnapshotDone
	// BackendError reports a failure of the backend (pcscd gone, ...). The
	// stream keeps going and retries; Err says what happened.
	BackendError
)

func (t EventType) String() string {
	switch t {
	case ReaderAdded:
		return "reader-added"
	case ReaderRemoved:
		return "reader-removed"
	case CardInserted:
		return "card-inserted"
	case CardRemoved:
		return "card-removed"
	case SnapshotDone:
		return "snapshot-done"
	case BackendError:
		return "backend-error"
	}
	return fmt.Sprintf("event(%d)", int(t))
}

// MarshalText lets events serialise as their names.
func (t EventType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// Event is one change seen by a backend.
type Event struct {
	Type    EventType `json:"type"`
	Time    time.Time `json:"time"`
	Backend string    `json:"backend"`
	Reader  string    `json:"reader,omitempty"`
	ATR     ATR       `json:"atr,omitempty"`
	// Insertion identifies one insertion of a card in a reader: it is unique
	// within the process and changes when a card is removed and inserted
	// again, so callers can tell "same card" from "another card".
	Insertion uint64 `json:"insertion,omitempty"`
	// Snapshot marks events that describe the state found at start (or
	// after recovery) rather than a change.
	Snapshot bool   `json:"snapshot,omitempty"`
	Err      string `json:"error,omitempty"`
}

var insertionSeq atomic.Uint64

// NextInsertion returns a new process-unique insertion id (never 0).
// Backends call it once for every card insertion they observe.
func NextInsertion() uint64 { return insertionSeq.Add(1) }
