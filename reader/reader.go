// Package reader puts every kind of card reader behind one interface: list
// readers, connect to a card, transmit APDUs with a context, transactions,
// and a card event stream. System combines backends. The hardware backends
// are packages of their own (reader/pcsc, reader/serial), so that code using
// cards needs neither cgo nor a serial port library; the in-process backend
// for emulated chips (ChipBackend) lives here.
package reader

import (
	"context"
	"errors"
	"fmt"
)

// Protocol is the transmission protocol negotiated with a card.
type Protocol int

// Protocols. Contactless cards appear as T=1 through PC/SC.
const (
	ProtocolUndefined Protocol = 0
	T0                Protocol = 1
	T1                Protocol = 2
)

func (p Protocol) String() string {
	switch p {
	case T0:
		return "T=0"
	case T1:
		return "T=1"
	}
	return "undefined"
}

// ShareMode says whether other applications may use the card while we hold it.
type ShareMode int

// Share modes; Shared is the default.
const (
	Shared ShareMode = iota
	Exclusive
)

// Disposition says what happens to the card when a connection or transaction ends.
type Disposition int

// Dispositions, as in PC/SC.
const (
	LeaveCard Disposition = iota
	ResetCard
	UnpowerCard
)

// ConnectOptions tune Connect.
type ConnectOptions struct {
	Mode ShareMode
	// Protocols allowed; zero means T=0 or T=1.
	Protocols []Protocol
}

// Info describes one reader and what is in it.
type Info struct {
	Name        string `json:"name"`
	Backend     string `json:"backend"` // "pcsc", "sim", "serial"
	CardPresent bool   `json:"card_present"`
	ATR         ATR    `json:"atr,omitempty"`
	// InUse is true when another application holds the card exclusively.
	InUse bool `json:"in_use,omitempty"`
}

// Backend is one source of readers.
type Backend interface {
	// Name is "pcsc", "sim" or "serial".
	Name() string
	ListReaders(ctx context.Context) ([]Info, error)
	Connect(ctx context.Context, reader string, opts ConnectOptions) (Card, error)
	// Watch streams events until ctx is done (see Event); the channel is
	// closed then. It starts with a snapshot of the current state.
	Watch(ctx context.Context) (<-chan Event, error)
	Close() error
}

// Card is a connection to the card in one reader. A Card is safe for use by
// one goroutine at a time; use transactions to keep other applications out.
type Card interface {
	// Transmit sends one raw APDU and returns the raw response. It never
	// panics on bad input: an empty command is an error.
	Transmit(ctx context.Context, cmd []byte) ([]byte, error)
	Reader() string
	// ATR and Protocol are the values seen at connect (or the last Reset).
	ATR() []byte
	Protocol() Protocol
	BeginTransaction(ctx context.Context) error
	EndTransaction(d Disposition) error
	// Reset warm-resets the card (cold unpowers it first) and reconnects;
	// security state on the card is lost.
	Reset(ctx context.Context, cold bool) error
	// Close ends any transaction and disconnects, leaving the card powered.
	Close() error
}

// Error is a reader-level failure: Op is what was attempted, Err one of the
// sentinel errors of this package (possibly wrapping the backend's own error).
type Error struct {
	Op     string
	Reader string
	Err    error
}

func (e *Error) Error() string {
	if e.Reader != "" {
		return fmt.Sprintf("reader %q: %s: %v", e.Reader, e.Op, e.Err)
	}
	return fmt.Sprintf("reader: %s: %v", e.Op, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// ContextError reports why ctx ended as an *Error of op on the named reader:
// a deadline matches both ErrTimeout and context.DeadlineExceeded, a
// cancellation matches context.Canceled. Backends share it so that every
// backend reports an expired ctx alike.
func ContextError(op, name string, ctx context.Context) error {
	err := ctx.Err()
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return &Error{Op: op, Reader: name, Err: err}
}

// HealthReporter is implemented by backends that can tell they are stuck
// (a call abandoned at its deadline that has not come back, and no call
// succeeded since): Health returns nil when healthy, else an error matching
// ErrBackendStuck.
type HealthReporter interface {
	Health() error
}

// Health asks every backend that reports its health (HealthReporter) and
// returns the problems found, nil when none.
func (s *System) Health() []error {
	var errs []error
	for _, b := range s.Backends {
		if h, ok := b.(HealthReporter); ok {
			if err := h.Health(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errs
}
