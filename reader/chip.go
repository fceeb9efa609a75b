package reader

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// SimReaderName is the name of the in-process reader that holds the built-in
// software card.
const SimReaderName = "sim"

// Chip is a card the in-process backend can hold: the software card
// (*sim.Card) or any other emulation. It is defined here rather than taken
// from package sim so that reader does not depend on the software card.
//
// A chip that also has a method Contactless() bool reporting true is
// connected with T=1, as a contactless card behind a PC/SC reader; any other
// chip speaks T=0.
type Chip interface {
	ATR() []byte
	PowerOn()
	PowerOff()
	Reset()
	// Transmit processes one command APDU and always returns a response of
	// at least two bytes.
	Transmit(cmd []byte) []byte
}

// ChipBackend hosts chips in-process: each slot is a reader into which a
// Chip can be inserted and from which it can be removed. It behaves like a
// PC/SC reader (shared/exclusive connections, transactions that block other
// connections' Transmit, removal detected by open connections).
type ChipBackend struct {
	mu     sync.Mutex
	slots  []*chipSlot
	subs   map[chan Event]struct{}
	closed bool
}

type chipSlot struct {
	name      string
	chip      Chip // nil when empty
	insertion uint64
	// holder owns the card lock (a transaction, or briefly a lone Transmit);
	// released is closed and replaced each time the lock is freed.
	holder    *chipCard
	released  chan struct{}
	exclusive *chipCard
	shared    int
}

// NewChipBackend returns a backend with one reader per name, all empty.
func NewChipBackend(readers ...string) *ChipBackend {
	b := &ChipBackend{subs: make(map[chan Event]struct{})}
	for _, n := range readers {
		b.slots = append(b.slots, &chipSlot{name: n, released: make(chan struct{})})
	}
	return b
}

// Name implements Backend.
func (b *ChipBackend) Name() string { return "sim" }

func (b *ChipBackend) slot(name string) (*chipSlot, error) {
	if b.closed {
		return nil, &Error{Op: "lookup", Reader: name, Err: ErrClosed}
	}
	for _, s := range b.slots {
		if s.name == name {
			return s, nil
		}
	}
	return nil, &Error{Op: "lookup", Reader: name, Err: ErrReaderNotFound}
}

// Insert puts a card into the named reader (powering it on).
func (b *ChipBackend) Insert(reader string, chip Chip) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, err := b.slot(reader)
	if err != nil {
		return err
	}
	if s.chip != nil {
		return &Error{Op: "insert", Reader: reader, Err: fmt.Errorf("a card is already inserted")}
	}
	chip.PowerOn()
	s.chip = chip
	s.insertion = NextInsertion()
	b.publish(Event{Type: CardInserted, Reader: reader, ATR: chip.ATR(), Insertion: s.insertion})
	return nil
}

// Remove takes the card out of the named reader. Open connections see
// ErrCardRemoved from then on.
func (b *ChipBackend) Remove(reader string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, err := b.slot(reader)
	if err != nil {
		return err
	}
	if s.chip == nil {
		return &Error{Op: "remove", Reader: reader, Err: ErrNoCard}
	}
	s.chip.PowerOff()
	b.publish(Event{Type: CardRemoved, Reader: reader, Insertion: s.insertion})
	s.chip, s.insertion = nil, 0
	// Wake connections waiting for a transaction of the removed card.
	close(s.released)
	s.released = make(chan struct{})
	return nil
}

func (b *ChipBackend) publish(ev Event) {
	ev.Backend = b.Name()
	ev.Time = time.Now()
	for ch := range b.subs {
		// Subscribers have a generous buffer; a subscriber that stopped
		// reading is dropped rather than blocking every card operation.
		select {
		case ch <- ev:
		default:
			close(ch)
			delete(b.subs, ch)
		}
	}
}

// ListReaders implements Backend.
func (b *ChipBackend) ListReaders(ctx context.Context) ([]Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, &Error{Op: "list readers", Err: ErrClosed}
	}
	out := make([]Info, 0, len(b.slots))
	for _, s := range b.slots {
		ri := Info{Name: s.name, Backend: b.Name()}
		if s.chip != nil {
			ri.CardPresent = true
			ri.ATR = slices.Clone(s.chip.ATR())
			ri.InUse = s.exclusive != nil
		}
		out = append(out, ri)
	}
	return out, nil
}

// Watch implements Backend. Events are delivered in order; a consumer that
// falls more than 256 events behind has its channel closed.
func (b *ChipBackend) Watch(ctx context.Context) (<-chan Event, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, &Error{Op: "watch", Err: ErrClosed}
	}
	ch := make(chan Event, 256+2*len(b.slots)+1)
	now := time.Now()
	for _, s := range b.slots {
		ch <- Event{Type: ReaderAdded, Backend: b.Name(), Reader: s.name, Snapshot: true, Time: now}
		if s.chip != nil {
			ch <- Event{Type: CardInserted, Backend: b.Name(), Reader: s.name, ATR: slices.Clone(s.chip.ATR()),
				Insertion: s.insertion, Snapshot: true, Time: now}
		}
	}
	ch <- Event{Type: SnapshotDone, Backend: b.Name(), Time: now}
	b.subs[ch] = struct{}{}
	context.AfterFunc(ctx, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if _, ok := b.subs[ch]; ok {
			delete(b.subs, ch)
			close(ch)
		}
	})
	return ch, nil
}

// Close implements Backend: every reader is emptied and watchers end.
func (b *ChipBackend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	for _, s := range b.slots {
		if s.chip != nil {
			s.chip.PowerOff()
			s.chip = nil
		}
	}
	for ch := range b.subs {
		close(ch)
		delete(b.subs, ch)
	}
	b.closed = true
	return nil
}

// Connect implements Backend.
func (b *ChipBackend) Connect(ctx context.Context, reader string, opts ConnectOptions) (Card, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s, err := b.slot(reader)
	if err != nil {
		return nil, err
	}
	if s.chip == nil {
		return nil, &Error{Op: "connect", Reader: reader, Err: ErrNoCard}
	}
	if s.exclusive != nil || (opts.Mode == Exclusive && s.shared > 0) {
		return nil, &Error{Op: "connect", Reader: reader, Err: ErrSharingViolation}
	}
	proto := T0
	if cl, ok := s.chip.(interface{ Contactless() bool }); ok && cl.Contactless() {
		proto = T1
	}
	if len(opts.Protocols) > 0 && !slices.Contains(opts.Protocols, proto) {
		return nil, &Error{Op: "connect", Reader: reader, Err: fmt.Errorf("%w: card speaks %v", ErrNotSupported, proto)}
	}
	c := &chipCard{b: b, slot: s, insertion: s.insertion, atr: slices.Clone(s.chip.ATR()), proto: proto}
	if opts.Mode == Exclusive {
		s.exclusive = c
	} else {
		s.shared++
	}
	return c, nil
}

type chipCard struct {
	b         *ChipBackend
	slot      *chipSlot
	insertion uint64
	atr       []byte
	proto     Protocol

	// mu serialises this connection's own calls; the slot lock serialises
	// connections against each other.
	mu     sync.Mutex
	inTx   bool
	closed bool
}

func (c *chipCard) Reader() string     { return c.slot.name }
func (c *chipCard) ATR() []byte        { return slices.Clone(c.atr) }
func (c *chipCard) Protocol() Protocol { return c.proto }

// chip returns the inserted chip if it is still the card this connection was
// made to.
func (c *chipCard) chip(op string) (Chip, error) {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	if c.closed {
		return nil, &Error{Op: op, Reader: c.slot.name, Err: ErrClosed}
	}
	if c.slot.chip == nil || c.slot.insertion != c.insertion {
		return nil, &Error{Op: op, Reader: c.slot.name, Err: ErrCardRemoved}
	}
	return c.slot.chip, nil
}

func (c *chipCard) acquire(ctx context.Context, op string) error {
	for {
		c.b.mu.Lock()
		h := c.slot.holder
		// A holder whose card was removed has lost its lock, as in PC/SC.
		if h == nil || h == c || h.closed || h.insertion != c.slot.insertion {
			c.slot.holder = c
			c.b.mu.Unlock()
			return nil
		}
		wait := c.slot.released
		c.b.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return &Error{Op: op, Reader: c.slot.name, Err: fmt.Errorf("%w: %w", ErrTimeout, ctx.Err())}
		}
	}
}

func (c *chipCard) release() {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	c.releaseLocked()
}

func (c *chipCard) releaseLocked() {
	if c.slot.holder == c {
		c.slot.holder = nil
		close(c.slot.released)
		c.slot.released = make(chan struct{})
	}
}

func (c *chipCard) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	if len(cmd) < 4 {
		return nil, &Error{Op: "transmit", Reader: c.slot.name, Err: fmt.Errorf("%w: %d bytes", ErrInvalidCommand, len(cmd))}
	}
	if err := ctx.Err(); err != nil {
		return nil, &Error{Op: "transmit", Reader: c.slot.name, Err: err}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	chip, err := c.chip("transmit")
	if err != nil {
		return nil, err
	}
	if !c.inTx {
		if err := c.acquire(ctx, "transmit"); err != nil {
			return nil, err
		}
		defer c.release()
		// The card may have gone while we waited for another transaction.
		if chip, err = c.chip("transmit"); err != nil {
			return nil, err
		}
	}
	return chip.Transmit(cmd), nil
}

func (c *chipCard) BeginTransaction(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.chip("begin transaction"); err != nil {
		return err
	}
	if c.inTx {
		return nil
	}
	if err := c.acquire(ctx, "begin transaction"); err != nil {
		return err
	}
	c.inTx = true
	return nil
}

func (c *chipCard) EndTransaction(d Disposition) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.inTx {
		return &Error{Op: "end transaction", Reader: c.slot.name, Err: ErrNotInTransaction}
	}
	c.inTx = false
	c.release()
	chip, err := c.chip("end transaction")
	if err != nil {
		return err
	}
	dispose(chip, d)
	return nil
}

func dispose(chip Chip, d Disposition) {
	switch d {
	case ResetCard:
		chip.Reset()
	case UnpowerCard:
		chip.PowerOff()
		chip.PowerOn()
	}
}

func (c *chipCard) Reset(ctx context.Context, cold bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	chip, err := c.chip("reset")
	if err != nil {
		return err
	}
	if !c.inTx {
		if err := c.acquire(ctx, "reset"); err != nil {
			return err
		}
		defer c.release()
	}
	if cold {
		dispose(chip, UnpowerCard)
	} else {
		dispose(chip, ResetCard)
	}
	return nil
}

func (c *chipCard) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inTx = false
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	if c.closed {
		return nil
	}
	c.releaseLocked()
	c.closed = true
	if c.slot.exclusive == c {
		c.slot.exclusive = nil
	} else {
		c.slot.shared--
	}
	return nil
}
