//go:build cgo && !nopcsc

package pcsc

import (
	"context"
	"errors"
	"testing"

	"github.com/ebfe/scard"
	"github.com/sscard/ssc/reader"
)

func TestPCSCErrorMapping(t *testing.T) {
	cases := []struct {
		code scard.Error
		want error
	}{
		{scard.ErrRemovedCard, reader.ErrCardRemoved},
		{scard.ErrNoSmartcard, reader.ErrNoCard},
		{scard.ErrResetCard, reader.ErrCardReset},
		{scard.ErrUnpoweredCard, reader.ErrCardReset},
		{scard.ErrUnresponsiveCard, reader.ErrCardUnresponsive},
		{scard.ErrNotTransacted, reader.ErrCardUnresponsive},
		{scard.ErrSharingViolation, reader.ErrSharingViolation},
		{scard.ErrNoService, reader.ErrServiceUnavailable},
		{scard.ErrServiceStopped, reader.ErrServiceUnavailable},
		{scard.ErrCommError, reader.ErrServiceUnavailable},
		{scard.ErrUnknownReader, reader.ErrReaderNotFound},
		{scard.ErrReaderUnavailable, reader.ErrReaderUnavailable},
		{scard.ErrNoReadersAvailable, reader.ErrNoReaders},
		{scard.ErrTimeout, reader.ErrTimeout},
		{scard.ErrInvalidHandle, reader.ErrClosed},
		{scard.ErrProtoMismatch, reader.ErrNotSupported},
		{scard.ErrInvalidValue, reader.ErrInvalidCommand},
		{scard.ErrInternalError, reader.ErrReaderUnavailable},
	}
	for _, c := range cases {
		err := pcscErr("op", "r", c.code)
		if !errors.Is(err, c.want) {
			t.Errorf("%v: %v does not match %v", c.code, err, c.want)
		}
		var code scard.Error
		if !errors.As(err, &code) || code != c.code {
			t.Errorf("%v: scard code lost from %v", c.code, err)
		}
		var re *reader.Error
		if !errors.As(err, &re) || re.Op != "op" || re.Reader != "r" {
			t.Errorf("%v: not a *Error: %#v", c.code, err)
		}
	}
	if err := pcscErr("op", "", nil); err != nil {
		t.Errorf("nil error mapped to %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	<-ctx.Done()
	if err := reader.ContextError("op", "", ctx); !errors.Is(err, reader.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline: %v", err)
	}
}

// The watcher's state machine, without pcscd: the event counter in the high
// 16 bits reveals a remove+insert that happened between two looks.
func TestPCSCWatchUpdate(t *testing.T) {
	w := &pcscWatch{ctx: context.Background(), ch: make(chan reader.Event, 16)}
	w.readers = []*pcscWatched{{name: "r"}}
	atr1, atr2 := []byte{0x3B, 0x01}, []byte{0x3B, 0x02}
	st := func(counter uint32, f scard.StateFlag) scard.StateFlag {
		return scard.StateFlag(counter<<16) | f | scard.StateChanged
	}
	next := func() reader.Event {
		t.Helper()
		select {
		case ev := <-w.ch:
			return ev
		default:
			t.Fatal("no event")
			return reader.Event{}
		}
	}
	none := func() {
		t.Helper()
		select {
		case ev := <-w.ch:
			t.Fatalf("unexpected event %+v", ev)
		default:
		}
	}

	w.update("r", st(0, scard.StateEmpty), nil, true)
	none()
	w.update("r", st(1, scard.StatePresent), atr1, false)
	in1 := next()
	if in1.Type != reader.CardInserted || in1.Insertion == 0 || string(in1.ATR) != string(atr1) || in1.Backend != "pcsc" {
		t.Fatalf("insertion: %+v", in1)
	}
	// Same state again (e.g. INUSE toggled): nothing.
	w.update("r", st(1, scard.StatePresent|scard.StateInuse), atr1, false)
	none()
	// Removed and another card inserted between two looks.
	w.update("r", st(3, scard.StatePresent), atr2, false)
	out := next()
	in2 := next()
	if out.Type != reader.CardRemoved || out.Insertion != in1.Insertion || string(out.ATR) != string(atr1) {
		t.Fatalf("removal: %+v", out)
	}
	if in2.Type != reader.CardInserted || in2.Insertion == in1.Insertion || string(in2.ATR) != string(atr2) {
		t.Fatalf("second insertion: %+v", in2)
	}
	// EMPTY still carries the old ATR: removal only.
	w.update("r", st(4, scard.StateEmpty), atr2, false)
	if ev := next(); ev.Type != reader.CardRemoved || ev.Insertion != in2.Insertion {
		t.Fatalf("removal: %+v", ev)
	}
	none()
	// A reader that goes away takes its card with it.
	w.update("r", st(5, scard.StatePresent), atr1, false)
	in3 := next()
	if !w.removeReader("r") {
		t.Fatal("removeReader")
	}
	if ev := next(); ev.Type != reader.CardRemoved || ev.Insertion != in3.Insertion {
		t.Fatalf("removal with reader: %+v", ev)
	}
	if ev := next(); ev.Type != reader.ReaderRemoved || ev.Reader != "r" {
		t.Fatalf("reader removal: %+v", ev)
	}
}

// TestPCSCWatchTransientUnknown is the regression test of the watcher fix:
// a transient UNKNOWN|UNAVAILABLE state with event counter 0 between two
// looks at the same card must not make it look removed and reinserted.
func TestPCSCWatchTransientUnknown(t *testing.T) {
	w := &pcscWatch{ctx: context.Background(), ch: make(chan reader.Event, 16)}
	w.readers = []*pcscWatched{{name: "r"}}
	atr := []byte{0x3B, 0x01}
	st := func(counter uint32, f scard.StateFlag) scard.StateFlag {
		return scard.StateFlag(counter<<16) | f | scard.StateChanged
	}
	w.update("r", st(0, scard.StateEmpty), nil, true)
	w.update("r", st(7, scard.StatePresent), atr, false)
	in := <-w.ch
	if in.Type != reader.CardInserted {
		t.Fatalf("insertion: %+v", in)
	}
	r := w.find("r")
	r.state = transientState(r.state, st(0, scard.StateUnknown|scard.StateUnavailable))
	if got := uint32(r.state) >> 16; got != 7 {
		t.Fatalf("event counter %d after the transient state, want 7 kept", got)
	}
	w.update("r", st(7, scard.StatePresent), atr, false)
	select {
	case ev := <-w.ch:
		t.Fatalf("the same card after a transient UNKNOWN gave %+v", ev)
	default:
	}
	// Without the fix the counter would be 0 and this is what update saw:
	// a counter jump, taken for a swap. Check the test would catch it.
	r.state = st(0, scard.StateUnknown|scard.StateUnavailable) &^ scard.StateChanged
	w.update("r", st(7, scard.StatePresent), atr, false)
	if ev := <-w.ch; ev.Type != reader.CardRemoved {
		t.Fatalf("control: %+v", ev)
	}
}

func TestPCSCTransmitValidation(t *testing.T) {
	// No pcscd needed: bad commands are refused before any PC/SC call.
	c := &pcscCard{reader: "r", closing: make(chan struct{})}
	for _, n := range []int{0, 1, 3, maxCommandAPDU + 1} {
		_, err := c.Transmit(context.Background(), make([]byte, n))
		if !errors.Is(err, reader.ErrInvalidCommand) {
			t.Errorf("%d bytes: %v", n, err)
		}
	}
}

// TestPCSCWatchUncountedInsertion: pcscd sets a reader PRESENT before it
// increments the event counter, and a look in between sees the new card
// with the counter of its absence. The count that follows is the same
// insertion (one CardInserted, no removal); a real swap afterwards still
// counts. This was the last phantom swap of the churn test (1 in about 25
// runs) once libpcsclite's state array was under a lock.
func TestPCSCWatchUncountedInsertion(t *testing.T) {
	w := &pcscWatch{ctx: context.Background(), ch: make(chan reader.Event, 16)}
	w.readers = []*pcscWatched{{name: "r"}}
	atr := []byte{0x3B, 0x01}
	st := func(counter uint32, f scard.StateFlag) scard.StateFlag {
		return scard.StateFlag(counter<<16) | f | scard.StateChanged
	}
	w.update("r", st(4, scard.StateEmpty), nil, true)
	w.update("r", st(4, scard.StatePresent), atr, false) // not yet counted
	in := <-w.ch
	if in.Type != reader.CardInserted {
		t.Fatalf("insertion: %+v", in)
	}
	w.update("r", st(5, scard.StatePresent), atr, false) // counted now
	select {
	case ev := <-w.ch:
		t.Fatalf("the count of the same insertion gave %+v", ev)
	default:
	}
	// Removed and inserted again between two looks: a swap.
	w.update("r", st(7, scard.StatePresent), atr, false)
	if ev := <-w.ch; ev.Type != reader.CardRemoved || ev.Insertion != in.Insertion {
		t.Fatalf("swap removal: %+v", ev)
	}
	if ev := <-w.ch; ev.Type != reader.CardInserted || ev.Insertion == in.Insertion {
		t.Fatalf("swap insertion: %+v", ev)
	}
	// A counted insertion is not uncounted: +1 later is a swap (pcscd
	// re-powering after a communication error counts too).
	w.update("r", st(8, scard.StatePresent), atr, false)
	if ev := <-w.ch; ev.Type != reader.CardRemoved {
		t.Fatalf("after a counted insertion, +1: %+v", ev)
	}
	<-w.ch
}
