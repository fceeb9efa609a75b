package reader_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sim"
)

func newChipBackend(t *testing.T, readers ...string) *reader.ChipBackend {
	t.Helper()
	b := reader.NewChipBackend(readers...)
	t.Cleanup(func() { b.Close() })
	return b
}

func mustConnect(t *testing.T, b reader.Backend, name string, mode reader.ShareMode) reader.Card {
	t.Helper()
	c, err := b.Connect(context.Background(), name, reader.ConnectOptions{Mode: mode})
	if err != nil {
		t.Fatalf("connect %q: %v", name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func respSW(t *testing.T, resp []byte) apdu.StatusWord {
	t.Helper()
	r, err := apdu.ParseResponse(resp)
	if err != nil {
		t.Fatal(err)
	}
	return r.SW
}

func TestChipBackendErrors(t *testing.T) {
	ctx := context.Background()
	b := newChipBackend(t, "a", "b")
	if err := b.Insert("a", newCard(t)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		do   func() error
		want error
	}{
		{"connect empty reader", func() error { _, err := b.Connect(ctx, "b", reader.ConnectOptions{}); return err }, reader.ErrNoCard},
		{"connect unknown reader", func() error { _, err := b.Connect(ctx, "z", reader.ConnectOptions{}); return err }, reader.ErrReaderNotFound},
		{"insert twice", func() error { return b.Insert("a", newCard(t)) }, nil},
		{"remove from empty reader", func() error { return b.Remove("b") }, reader.ErrNoCard},
		{"insert into unknown reader", func() error { return b.Insert("z", newCard(t)) }, reader.ErrReaderNotFound},
		{"transmit empty command", func() error {
			c := mustConnect(t, b, "a", reader.Shared)
			_, err := c.Transmit(ctx, nil)
			return err
		}, reader.ErrInvalidCommand},
		{"end transaction without begin", func() error {
			return mustConnect(t, b, "a", reader.Shared).EndTransaction(reader.LeaveCard)
		}, reader.ErrNotInTransaction},
		{"transmit after close", func() error {
			c := mustConnect(t, b, "a", reader.Shared)
			c.Close()
			_, err := c.Transmit(ctx, selectSSSE)
			return err
		}, reader.ErrClosed},
		{"cancelled context", func() error {
			c := mustConnect(t, b, "a", reader.Shared)
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			_, err := c.Transmit(cctx, selectSSSE)
			return err
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if tt.want == nil {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			var re *reader.Error
			if tt.want != context.Canceled && !errors.As(err, &re) {
				t.Errorf("%T is not a *reader.Error", err)
			}
		})
	}
}

func TestChipBackendRemovalAndInsertionIDs(t *testing.T) {
	ctx := context.Background()
	b := newChipBackend(t, "sim")
	events, err := b.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	next := func(want reader.EventType) reader.Event {
		t.Helper()
		select {
		case ev := <-events:
			if ev.Type != want {
				t.Fatalf("event %v, want %v", ev.Type, want)
			}
			return ev
		case <-time.After(5 * time.Second):
			t.Fatalf("no %v event", want)
		}
		return reader.Event{}
	}
	if ev := next(reader.ReaderAdded); !ev.Snapshot || ev.Reader != "sim" {
		t.Fatalf("snapshot event %+v", ev)
	}
	next(reader.SnapshotDone)

	if err := b.Insert("sim", newCard(t)); err != nil {
		t.Fatal(err)
	}
	first := next(reader.CardInserted)
	c := mustConnect(t, b, "sim", reader.Shared)
	if got := respSW(t, must(c.Transmit(ctx, selectSSSE))); got != 0x6118 {
		t.Fatalf("select: %v", got)
	}
	if err := b.Remove("sim"); err != nil {
		t.Fatal(err)
	}
	if ev := next(reader.CardRemoved); ev.Insertion != first.Insertion {
		t.Fatalf("removal of insertion %d, want %d", ev.Insertion, first.Insertion)
	}
	if _, err := c.Transmit(ctx, selectSSSE); !errors.Is(err, reader.ErrCardRemoved) {
		t.Fatalf("transmit after removal: %v", err)
	}
	if err := b.Insert("sim", newCard(t)); err != nil {
		t.Fatal(err)
	}
	second := next(reader.CardInserted)
	if second.Insertion == first.Insertion || second.Insertion == 0 {
		t.Fatalf("insertion ids %d then %d", first.Insertion, second.Insertion)
	}
	// The old connection stays invalid: it was made to another insertion.
	if _, err := c.Transmit(ctx, selectSSSE); !errors.Is(err, reader.ErrCardRemoved) {
		t.Fatalf("old connection after re-insertion: %v", err)
	}
}

func TestChipBackendSharingAndTransactions(t *testing.T) {
	ctx := context.Background()
	b := newChipBackend(t, "sim")
	if err := b.Insert("sim", newCard(t)); err != nil {
		t.Fatal(err)
	}
	excl := mustConnect(t, b, "sim", reader.Exclusive)
	if _, err := b.Connect(ctx, "sim", reader.ConnectOptions{}); !errors.Is(err, reader.ErrSharingViolation) {
		t.Fatalf("shared connect during exclusive: %v", err)
	}
	excl.Close()

	c1 := mustConnect(t, b, "sim", reader.Shared)
	c2 := mustConnect(t, b, "sim", reader.Shared)
	if _, err := b.Connect(ctx, "sim", reader.ConnectOptions{Mode: reader.Exclusive}); !errors.Is(err, reader.ErrSharingViolation) {
		t.Fatalf("exclusive connect while shared: %v", err)
	}
	if err := c1.BeginTransaction(ctx); err != nil {
		t.Fatal(err)
	}
	// c2 cannot begin while c1 holds the card...
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := c2.BeginTransaction(short); !errors.Is(err, reader.ErrTimeout) {
		t.Fatalf("begin during another transaction: %v", err)
	}
	// ...and its Transmit waits for the end of c1's transaction.
	done := make(chan error, 1)
	go func() {
		_, err := c2.Transmit(ctx, selectSSSE)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("transmit did not wait for the transaction: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	if err := c1.EndTransaction(reader.LeaveCard); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// A removed card's transaction does not block the next card.
	if err := c1.BeginTransaction(ctx); err != nil {
		t.Fatal(err)
	}
	b.Remove("sim")
	b.Insert("sim", newCard(t))
	c3 := mustConnect(t, b, "sim", reader.Shared)
	short2, cancel2 := context.WithTimeout(ctx, time.Second)
	defer cancel2()
	if err := c3.BeginTransaction(short2); err != nil {
		t.Fatalf("begin after the holder's card was removed: %v", err)
	}
	c3.EndTransaction(reader.LeaveCard)
}

func TestChipBackendResetClearsState(t *testing.T) {
	ctx := context.Background()
	b := newChipBackend(t, "sim")
	b.Insert("sim", newCard(t))
	c := mustConnect(t, b, "sim", reader.Shared)
	readEF05 := []byte{0x00, 0xB2, 0x01, 0x2C, 0x00} // record 1 of SFI 5 in the current DF
	c.Transmit(ctx, selectSSSE)
	if got := respSW(t, must(c.Transmit(ctx, readEF05))); got.SW1() != 0x61 {
		t.Fatalf("read in SSSE: %v", got)
	}
	for _, cold := range []bool{false, true} {
		c.Transmit(ctx, selectSSSE)
		if err := c.Reset(ctx, cold); err != nil {
			t.Fatal(err)
		}
		// After reset the MF is current again: SFI 5 is not there.
		if got := respSW(t, must(c.Transmit(ctx, readEF05))); got != apdu.SWFileNotFound {
			t.Fatalf("cold=%v: read after reset: %v", cold, got)
		}
	}
}

func TestChipBackendCloseEndsWatch(t *testing.T) {
	b := reader.NewChipBackend("sim")
	events, err := b.Watch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	for range events {
	}
	if _, err := b.ListReaders(context.Background()); !errors.Is(err, reader.ErrClosed) {
		t.Fatalf("list after close: %v", err)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// A chip reporting Contactless() is spoken to with T=1, any other with T=0,
// as PC/SC readers do; a connection asking for the other protocol fails.
func TestChipBackendProtocol(t *testing.T) {
	ctx := context.Background()
	p, err := sim.Builtin(sim.DefaultProfile)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := sim.New(p, sim.Options{Mode: sim.Contactless})
	if err != nil {
		t.Fatal(err)
	}
	b := newChipBackend(t, "contact", "contactless")
	if err := b.Insert("contact", newCard(t)); err != nil {
		t.Fatal(err)
	}
	if err := b.Insert("contactless", cl); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]reader.Protocol{"contact": reader.T0, "contactless": reader.T1} {
		if got := mustConnect(t, b, name, reader.Shared).Protocol(); got != want {
			t.Errorf("%s: protocol %v, want %v", name, got, want)
		}
	}
	_, err = b.Connect(ctx, "contactless", reader.ConnectOptions{Protocols: []reader.Protocol{reader.T0}})
	if !errors.Is(err, reader.ErrNotSupported) {
		t.Errorf("contactless card with T=0 only: %v, want ErrNotSupported", err)
	}
}
