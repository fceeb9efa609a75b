//go:build cgo && !nopcsc

package pcsc_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sscard/ssc/internal/pcsctest"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/reader/pcsc"
	"github.com/sscard/ssc/sim"
)

// Integration tests of the PC/SC backend through a private pcscd with the
// vpcd driver (internal/pcsctest) and the software card (sim) in its
// virtual reader.

func sw(rsp []byte) uint16 {
	if len(rsp) < 2 {
		return 0
	}
	return uint16(rsp[len(rsp)-2])<<8 | uint16(rsp[len(rsp)-1])
}

// checkGoroutines fails the test if goroutines started during it are still
// running once its cleanups ran. Call it first so that its cleanup runs last.
func checkGoroutines(t testing.TB) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(3 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutine leak: %d before, %d after\n%s", before, n, buf)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// slot is one vpcd slot of the shared pcscd into which a chip can be
// inserted (a sim.VPCD connection) and removed.
type slot struct {
	t      testing.TB
	env    *pcsctest.Env
	n      int
	cancel context.CancelFunc
	served chan struct{}
	vpcd   *sim.VPCD
}

func newSlot(t testing.TB, env *pcsctest.Env, n int) *slot {
	s := &slot{t: t, env: env, n: n}
	t.Cleanup(func() { s.remove(true) })
	return s
}

func (s *slot) name() string { return s.env.ReaderName(s.n) }

// insert connects chip to vpcd and waits until pcscd reports the card.
func (s *slot) insert(chip sim.Chip) {
	s.t.Helper()
	if s.cancel != nil {
		s.t.Fatal("slot already holds a card")
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.served = make(chan struct{})
	s.vpcd = &sim.VPCD{Addr: s.env.VPCDAddr(s.n), Card: chip, RetryInterval: 50 * time.Millisecond}
	go func() {
		defer close(s.served)
		s.vpcd.Serve(ctx)
	}()
	select {
	case <-s.vpcd.Connected():
	case <-time.After(5 * time.Second):
		s.t.Fatal("virtual card did not connect to vpcd")
	}
	pcsctest.WaitCard(s.t, s.name(), true)
}

// remove takes the card out (closes the vpcd connection); with wait it also
// waits until pcscd noticed.
func (s *slot) remove(wait bool) {
	if s.cancel == nil {
		return
	}
	s.cancel()
	<-s.served
	s.cancel = nil
	if wait {
		pcsctest.WaitCard(s.t, s.name(), false)
	}
}

func connect(t testing.TB, b reader.Backend, name string) reader.Card {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := b.Connect(ctx, name, reader.ConnectOptions{})
	if err != nil {
		t.Fatalf("connect %q: %v", name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func transmit(t testing.TB, c reader.Card, cmd []byte) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rsp, err := c.Transmit(ctx, cmd)
	if err != nil {
		t.Fatalf("transmit %X: %v", cmd, err)
	}
	return rsp
}

func TestPCSCListReaders(t *testing.T) {
	env := pcsctest.Shared(t)
	checkGoroutines(t)
	chip := newCard(t)
	s0 := newSlot(t, env, 0)
	s0.insert(chip)

	b := pcsc.New()
	defer b.Close()
	if b.Name() != "pcsc" {
		t.Fatalf("Name() = %q", b.Name())
	}
	ris, err := b.ListReaders(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]reader.Info{}
	for _, ri := range ris {
		got[ri.Name] = ri
		if ri.Backend != "pcsc" {
			t.Errorf("%q: backend %q", ri.Name, ri.Backend)
		}
	}
	r0, ok := got[env.ReaderName(0)]
	if !ok {
		t.Fatalf("reader %q not listed: %+v", env.ReaderName(0), ris)
	}
	if !r0.CardPresent || !bytes.Equal(r0.ATR, chip.ATR()) || r0.InUse {
		t.Errorf("slot 0: %+v, want card with ATR %X, not in use", r0, chip.ATR())
	}
	r1, ok := got[env.ReaderName(1)]
	if !ok {
		t.Fatalf("reader %q not listed: %+v", env.ReaderName(1), ris)
	}
	if r1.CardPresent || len(r1.ATR) != 0 {
		t.Errorf("slot 1: %+v, want empty", r1)
	}

	// An exclusive connection shows as in use.
	c, err := b.Connect(context.Background(), env.ReaderName(0), reader.ConnectOptions{Mode: reader.Exclusive})
	if err != nil {
		t.Fatal(err)
	}
	ris, err = b.ListReaders(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, ri := range ris {
		if ri.Name == env.ReaderName(0) && !ri.InUse {
			t.Errorf("exclusively connected reader not in use: %+v", ri)
		}
	}
	// ... and keeps others out.
	_, err = b.Connect(context.Background(), env.ReaderName(0), reader.ConnectOptions{})
	if !errors.Is(err, reader.ErrSharingViolation) {
		t.Errorf("second connect to an exclusive card: %v, want ErrSharingViolation", err)
	}
	c.Close()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.ListReaders(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("ListReaders with a cancelled context: %v", err)
	}
}

func TestPCSCConnectTransmit(t *testing.T) {
	env := pcsctest.Shared(t)
	checkGoroutines(t)
	chip := newCard(t)
	s0 := newSlot(t, env, 0)
	s0.insert(chip)
	b := pcsc.New()
	defer b.Close()

	c := connect(t, b, env.ReaderName(0))
	if c.Reader() != env.ReaderName(0) {
		t.Errorf("Reader() = %q", c.Reader())
	}
	if !bytes.Equal(c.ATR(), chip.ATR()) {
		t.Errorf("ATR %X, want %X", c.ATR(), chip.ATR())
	}
	if c.Protocol() != reader.T0 {
		t.Errorf("protocol %v, want T=0", c.Protocol())
	}

	// T=0: the card answers 61xx and the data comes with GET RESPONSE.
	rsp := transmit(t, c, selectSSSE)
	if !bytes.Equal(rsp, []byte{0x61, 0x18}) {
		t.Fatalf("SELECT SSSE: %X, want 6118", rsp)
	}
	fci := transmit(t, c, getResp18)
	if len(fci) != 0x18+2 || sw(fci) != 0x9000 || fci[0] != 0x6F {
		t.Fatalf("GET RESPONSE: %X, want a 24-byte FCI (6F...) and 9000", fci)
	}
	if rsp := transmit(t, c, getChalleng); len(rsp) != 10 || sw(rsp) != 0x9000 {
		t.Errorf("GET CHALLENGE: %X", rsp)
	}

	// Bad commands never reach pcscd (ebfe/scard would panic on an empty
	// one) and are ErrInvalidCommand.
	for _, cmd := range [][]byte{nil, {}, {0x00}, {0x00, 0xA4, 0x04}, make([]byte, 70000)} {
		_, err := c.Transmit(context.Background(), cmd)
		if !errors.Is(err, reader.ErrInvalidCommand) {
			t.Errorf("Transmit(%d bytes): %v, want ErrInvalidCommand", len(cmd), err)
		}
		var re *reader.Error
		if !errors.As(err, &re) || re.Reader != env.ReaderName(0) {
			t.Errorf("error %v is not a *reader.Error for the reader", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Transmit(ctx, selectMF); !errors.Is(err, context.Canceled) {
		t.Errorf("Transmit with a cancelled context: %v", err)
	}
	if err := c.EndTransaction(reader.LeaveCard); !errors.Is(err, reader.ErrNotInTransaction) {
		t.Errorf("EndTransaction without a transaction: %v", err)
	}

	// Reset: the card forgets the selected application.
	if err := c.Reset(context.Background(), false); err != nil {
		t.Fatalf("warm reset: %v", err)
	}
	if err := c.Reset(context.Background(), true); err != nil {
		t.Fatalf("cold reset: %v", err)
	}
	if !bytes.Equal(c.ATR(), chip.ATR()) || c.Protocol() != reader.T0 {
		t.Errorf("after reset: ATR %X protocol %v", c.ATR(), c.Protocol())
	}
	if rsp := transmit(t, c, selectMF); sw(rsp) != 0x9000 {
		t.Errorf("SELECT MF after reset: %X", rsp)
	}

	if err := c.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, err := c.Transmit(context.Background(), selectMF); !errors.Is(err, reader.ErrClosed) {
		t.Errorf("Transmit after Close: %v, want ErrClosed", err)
	}
	if err := c.BeginTransaction(context.Background()); !errors.Is(err, reader.ErrClosed) {
		t.Errorf("BeginTransaction after Close: %v, want ErrClosed", err)
	}
}

func TestPCSCConnectErrors(t *testing.T) {
	env := pcsctest.Shared(t)
	checkGoroutines(t)
	b := pcsc.New()
	ctx := context.Background()

	_, err := b.Connect(ctx, "no such reader", reader.ConnectOptions{})
	if !errors.Is(err, reader.ErrReaderNotFound) {
		t.Errorf("unknown reader: %v, want ErrReaderNotFound", err)
	}
	_, err = b.Connect(ctx, env.ReaderName(1), reader.ConnectOptions{})
	if !errors.Is(err, reader.ErrNoCard) {
		t.Errorf("empty reader: %v, want ErrNoCard", err)
	}
	_, err = b.Connect(ctx, env.ReaderName(1), reader.ConnectOptions{Protocols: []reader.Protocol{reader.ProtocolUndefined}})
	if !errors.Is(err, reader.ErrNotSupported) {
		t.Errorf("undefined protocol: %v, want ErrNotSupported", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err = b.Connect(cctx, env.ReaderName(1), reader.ConnectOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ListReaders(ctx); !errors.Is(err, reader.ErrClosed) {
		t.Errorf("ListReaders after Close: %v", err)
	}
	if _, err := b.Watch(ctx); !errors.Is(err, reader.ErrClosed) {
		t.Errorf("Watch after Close: %v", err)
	}
}

func TestPCSCTransactions(t *testing.T) {
	env := pcsctest.Shared(t)
	checkGoroutines(t)
	s0 := newSlot(t, env, 0)
	s0.insert(newCard(t))
	b := pcsc.New()
	defer b.Close()
	a := connect(t, b, env.ReaderName(0))
	c := connect(t, b, env.ReaderName(0))
	ctx := context.Background()

	// The second BeginTransaction waits until the first transaction ends.
	if err := a.BeginTransaction(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.BeginTransaction(ctx); err != nil { // already in one: no-op
		t.Fatal(err)
	}
	transmit(t, a, selectMF)
	got := make(chan error, 1)
	go func() { got <- c.BeginTransaction(ctx) }()
	select {
	case err := <-got:
		t.Fatalf("second BeginTransaction returned while the first holds the card: %v", err)
	case <-time.After(400 * time.Millisecond):
	}
	start := time.Now()
	if err := a.EndTransaction(reader.LeaveCard); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("second BeginTransaction: %v", err)
		}
		t.Logf("second transaction began %v after the first ended", time.Since(start))
	case <-time.After(3 * time.Second):
		t.Fatal("second BeginTransaction still waiting 3 s after the first ended")
	}
	transmit(t, c, selectMF)
	if err := c.EndTransaction(reader.LeaveCard); err != nil {
		t.Fatal(err)
	}

	// A deadline ends the wait promptly, and the card stays usable.
	if err := a.BeginTransaction(ctx); err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	start = time.Now()
	err := c.BeginTransaction(tctx)
	elapsed := time.Since(start)
	cancel()
	if !errors.Is(err, reader.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("BeginTransaction with a 200 ms deadline: %v, want ErrTimeout", err)
	}
	if elapsed > 600*time.Millisecond {
		t.Errorf("BeginTransaction took %v to honour a 200 ms deadline", elapsed)
	}
	t.Logf("BeginTransaction with a 200 ms deadline returned after %v", elapsed)

	// Cancellation works the same, and Close of the card aborts a wait in
	// another goroutine.
	cctx, ccancel := context.WithCancel(ctx)
	go func() { time.Sleep(100 * time.Millisecond); ccancel() }()
	if err := c.BeginTransaction(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled BeginTransaction: %v", err)
	}
	if err := a.EndTransaction(reader.LeaveCard); err != nil {
		t.Fatal(err)
	}
	// c lost its handle to end the wait; it connects again transparently.
	if rsp := transmit(t, c, selectMF); sw(rsp) != 0x9000 {
		t.Fatalf("SELECT MF after a cancelled wait: %X", rsp)
	}
	if err := c.BeginTransaction(ctx); err != nil {
		t.Fatalf("BeginTransaction after a cancelled wait: %v", err)
	}
	if err := c.EndTransaction(reader.ResetCard); err != nil {
		t.Fatal(err)
	}

	// The reset by c is reported to a.
	_, err = a.Transmit(ctx, selectMF)
	if !errors.Is(err, reader.ErrCardReset) {
		t.Errorf("transmit after another connection reset the card: %v, want ErrCardReset", err)
	}
	if err := a.Reset(ctx, false); err != nil {
		t.Fatal(err)
	}

	// Close aborts a BeginTransaction waiting in another goroutine.
	e := connect(t, b, env.ReaderName(0))
	if err := a.BeginTransaction(ctx); err != nil {
		t.Fatal(err)
	}
	go func() { got <- e.BeginTransaction(ctx) }()
	time.Sleep(200 * time.Millisecond)
	start = time.Now()
	e.Close()
	select {
	case err := <-got:
		if !errors.Is(err, reader.ErrClosed) {
			t.Errorf("BeginTransaction aborted by Close: %v, want ErrClosed", err)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("Close took %v to abort a waiting BeginTransaction", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not abort a waiting BeginTransaction")
	}
	// Close ends a's transaction too.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	d := connect(t, b, env.ReaderName(0))
	tctx, cancel = context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := d.BeginTransaction(tctx); err != nil {
		t.Fatalf("transaction left behind by Close: %v", err)
	}
	d.EndTransaction(reader.LeaveCard)
}

// Aborting a wait disconnects the handle under libpcsclite's polling loop;
// with deadlines in step with its 200 ms cycle pcscd may even drop the
// connection. The card must stay usable every time.
func TestPCSCAbortedWaitsRepeatedly(t *testing.T) {
	env := pcsctest.Shared(t)
	checkGoroutines(t)
	s0 := newSlot(t, env, 0)
	s0.insert(newCard(t))
	b := pcsc.New()
	defer b.Close()
	a := connect(t, b, env.ReaderName(0))
	c := connect(t, b, env.ReaderName(0))
	ctx := context.Background()
	for i := range 6 {
		if err := a.BeginTransaction(ctx); err != nil {
			t.Fatal(err)
		}
		d := 200*time.Millisecond + time.Duration(i%3)*time.Millisecond
		tctx, cancel := context.WithTimeout(ctx, d)
		start := time.Now()
		err := c.BeginTransaction(tctx)
		cancel()
		if !errors.Is(err, reader.ErrTimeout) {
			t.Fatalf("round %d: %v, want ErrTimeout", i, err)
		}
		if el := time.Since(start); el > d+300*time.Millisecond {
			t.Errorf("round %d: deadline %v honoured after %v", i, d, el)
		}
		if err := a.EndTransaction(reader.LeaveCard); err != nil {
			t.Fatal(err)
		}
		if rsp := transmit(t, c, selectMF); sw(rsp) != 0x9000 {
			t.Fatalf("round %d: SELECT MF: %X", i, rsp)
		}
	}
}

// A Connect held up by another application's transaction honours ctx.
func TestPCSCConnectWaitsForTransaction(t *testing.T) {
	env := pcsctest.Shared(t)
	checkGoroutines(t)
	s0 := newSlot(t, env, 0)
	s0.insert(newCard(t))
	b := pcsc.New()
	defer b.Close()
	a := connect(t, b, env.ReaderName(0))
	if err := a.BeginTransaction(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	c, err := b.Connect(ctx, env.ReaderName(0), reader.ConnectOptions{})
	if err == nil {
		// pcscd did not make us wait: fine too.
		t.Logf("connect during another transaction did not wait")
		c.Close()
	} else if !errors.Is(err, reader.ErrTimeout) {
		t.Fatalf("connect: %v, want ErrTimeout", err)
	} else if d := time.Since(start); d > time.Second {
		t.Fatalf("connect honoured its deadline only after %v", d)
	}
	// Ending the transaction lets the abandoned connect finish and clean up
	// (checked by checkGoroutines).
	if err := a.EndTransaction(reader.LeaveCard); err != nil {
		t.Fatal(err)
	}
}

func TestPCSCCardRemoved(t *testing.T) {
	env := pcsctest.Shared(t)
	checkGoroutines(t)
	s0 := newSlot(t, env, 0)
	s0.insert(newCard(t))
	b := pcsc.New()
	defer b.Close()
	c := connect(t, b, env.ReaderName(0))
	transmit(t, c, selectSSSE)

	s0.remove(true)
	_, err := c.Transmit(context.Background(), selectMF)
	if !errors.Is(err, reader.ErrCardRemoved) && !errors.Is(err, reader.ErrNoCard) {
		t.Fatalf("transmit after removal: %v, want ErrCardRemoved or ErrNoCard", err)
	}
	t.Logf("transmit after removal: %v", err)
	if err := c.BeginTransaction(context.Background()); !errors.Is(err, reader.ErrCardRemoved) && !errors.Is(err, reader.ErrNoCard) {
		t.Errorf("BeginTransaction after removal: %v", err)
	}

	// A card inserted again is another session: the old connection keeps
	// failing until Reset connects to the new card.
	s0.insert(newCard(t))
	if _, err := c.Transmit(context.Background(), selectMF); !errors.Is(err, reader.ErrCardRemoved) {
		t.Errorf("transmit after reinsertion: %v, want ErrCardRemoved", err)
	}
	if err := c.Reset(context.Background(), false); err != nil {
		t.Fatalf("reset after reinsertion: %v", err)
	}
	if rsp := transmit(t, c, selectMF); sw(rsp) != 0x9000 {
		t.Errorf("SELECT MF on the new card: %X", rsp)
	}
}

// Removal while a BeginTransaction waited (and so dropped its handle) is
// still reported once the card is connected again.
func TestPCSCRemovedDuringCancelledWait(t *testing.T) {
	env := pcsctest.Shared(t)
	checkGoroutines(t)
	s0 := newSlot(t, env, 0)
	s0.insert(newCard(t))
	b := pcsc.New()
	defer b.Close()
	a := connect(t, b, env.ReaderName(0))
	c := connect(t, b, env.ReaderName(0))
	if err := a.BeginTransaction(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	if err := c.BeginTransaction(ctx); !errors.Is(err, reader.ErrTimeout) {
		t.Fatalf("BeginTransaction: %v", err)
	}
	a.Close()
	s0.remove(true)
	s0.insert(newCard(t))
	if _, err := c.Transmit(context.Background(), selectMF); !errors.Is(err, reader.ErrCardRemoved) {
		t.Fatalf("transmit to a card swapped during the dropped handle: %v, want ErrCardRemoved", err)
	}
	if err := c.Reset(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	transmit(t, c, selectMF)
}

// watcher reads a Watch stream with timeouts.
type watcher struct {
	t   testing.TB
	ch  <-chan reader.Event
	log []reader.Event
}

func (w *watcher) next(timeout time.Duration) reader.Event {
	w.t.Helper()
	select {
	case ev, ok := <-w.ch:
		if !ok {
			w.t.Fatalf("watch channel closed; events so far:\n%s", w.dump())
		}
		w.log = append(w.log, ev)
		return ev
	case <-time.After(timeout):
		w.t.Fatalf("no event within %v; events so far:\n%s", timeout, w.dump())
	}
	return reader.Event{}
}

// until reads events until one satisfies f.
func (w *watcher) until(timeout time.Duration, what string, f func(reader.Event) bool) reader.Event {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			w.t.Fatalf("no %s within %v; events:\n%s", what, timeout, w.dump())
		}
		if ev := w.next(left); f(ev) {
			return ev
		}
	}
}

func (w *watcher) dump() string {
	var sb strings.Builder
	for _, ev := range w.log {
		fmt.Fprintf(&sb, "  %-14v reader=%q insertion=%d snapshot=%v atr=%X err=%q\n",
			ev.Type, ev.Reader, ev.Insertion, ev.Snapshot, []byte(ev.ATR), ev.Err)
	}
	return sb.String()
}

// snapshot reads a snapshot up to SnapshotDone and returns it.
func (w *watcher) snapshot(timeout time.Duration) []reader.Event {
	w.t.Helper()
	var evs []reader.Event
	for {
		ev := w.next(timeout)
		if ev.Backend != "pcsc" {
			w.t.Errorf("event backend %q", ev.Backend)
		}
		if ev.Type == reader.SnapshotDone {
			return evs
		}
		if !ev.Snapshot {
			w.t.Fatalf("non-snapshot event before SnapshotDone:\n%s", w.dump())
		}
		evs = append(evs, ev)
	}
}

func TestPCSCWatch(t *testing.T) {
	env := pcsctest.Shared(t)
	checkGoroutines(t)
	chip := newCard(t)
	s0 := newSlot(t, env, 0)
	s1 := newSlot(t, env, 1)
	s1.insert(newCard(t))
	b := pcsc.New()
	defer b.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := b.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w := &watcher{t: t, ch: ch}
	snap := w.snapshot(5 * time.Second)
	added := map[string]bool{}
	var snapInsertion uint64
	for _, ev := range snap {
		switch ev.Type {
		case reader.ReaderAdded:
			added[ev.Reader] = true
		case reader.CardInserted:
			if ev.Reader != env.ReaderName(1) || ev.Insertion == 0 || !bytes.Equal(ev.ATR, chip.ATR()) {
				t.Errorf("snapshot card: %+v", ev)
			}
			snapInsertion = ev.Insertion
		default:
			t.Errorf("unexpected snapshot event %+v", ev)
		}
	}
	if !added[env.ReaderName(0)] || !added[env.ReaderName(1)] || snapInsertion == 0 {
		t.Fatalf("snapshot lacks a reader or the card:\n%s", w.dump())
	}

	isCard := func(typ reader.EventType, name string) func(reader.Event) bool {
		return func(ev reader.Event) bool { return ev.Type == typ && ev.Reader == name }
	}
	s0.insert(chip)
	in1 := w.until(5*time.Second, "insertion", isCard(reader.CardInserted, env.ReaderName(0)))
	if in1.Snapshot || in1.Insertion == 0 || in1.Insertion == snapInsertion || !bytes.Equal(in1.ATR, chip.ATR()) {
		t.Errorf("insertion event %+v", in1)
	}
	s0.remove(false)
	out1 := w.until(5*time.Second, "removal", isCard(reader.CardRemoved, env.ReaderName(0)))
	if out1.Insertion != in1.Insertion {
		t.Errorf("removal insertion id %d, want %d", out1.Insertion, in1.Insertion)
	}
	s0.insert(chip)
	in2 := w.until(5*time.Second, "second insertion", isCard(reader.CardInserted, env.ReaderName(0)))
	if in2.Insertion == in1.Insertion || in2.Insertion == 0 {
		t.Errorf("second insertion has id %d, first had %d", in2.Insertion, in1.Insertion)
	}
	for _, ev := range w.log {
		if ev.Type == reader.BackendError {
			t.Errorf("unexpected backend error: %+v", ev)
		}
	}

	// Cancelling ends the stream promptly and closes the channel.
	cancel()
	start := time.Now()
	for range ch {
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("channel closed %v after cancel", d)
	}
}

// A slow consumer loses nothing: the events wait in the channel.
func TestPCSCWatchSlowConsumer(t *testing.T) {
	env := pcsctest.Shared(t)
	checkGoroutines(t)
	s0 := newSlot(t, env, 0)
	b := pcsc.New()
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := b.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		s0.insert(newCard(t))
		s0.remove(true)
	}
	w := &watcher{t: t, ch: ch}
	w.snapshot(5 * time.Second)
	var ins, outs []uint64
	for len(outs) < 3 {
		ev := w.next(5 * time.Second)
		switch ev.Type {
		case reader.CardInserted:
			ins = append(ins, ev.Insertion)
		case reader.CardRemoved:
			outs = append(outs, ev.Insertion)
		}
	}
	if len(ins) != 3 || ins[0] == ins[1] || ins[1] == ins[2] || ins[0] != outs[0] || ins[2] != outs[2] {
		t.Errorf("insertions %v, removals %v:\n%s", ins, outs, w.dump())
	}
}

// Backend.Close ends Watch streams and closes cards.
func TestPCSCBackendClose(t *testing.T) {
	env := pcsctest.Shared(t)
	checkGoroutines(t)
	s0 := newSlot(t, env, 0)
	s0.insert(newCard(t))
	b := pcsc.New()
	ch, err := b.Watch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c, err := b.Connect(context.Background(), env.ReaderName(0), reader.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.BeginTransaction(context.Background()); err != nil {
		t.Fatal(err)
	}
	w := &watcher{t: t, ch: ch}
	w.snapshot(5 * time.Second)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for range ch {
	}
	if _, err := c.Transmit(context.Background(), selectMF); !errors.Is(err, reader.ErrClosed) {
		t.Errorf("card after backend Close: %v", err)
	}
}

// pcscd restarts: Watch reports the failure, recovers with a fresh snapshot
// and goes on; old connections fail with ErrServiceUnavailable, Reset and
// new connections work.
func TestPCSCRestart(t *testing.T) {
	env := pcsctest.Shared(t)
	checkGoroutines(t)
	chip := newCard(t)
	s0 := newSlot(t, env, 0)
	s0.insert(chip)
	b := pcsc.New()
	defer b.Close()
	old := connect(t, b, env.ReaderName(0))
	old2 := connect(t, b, env.ReaderName(0))
	transmit(t, old, selectMF)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := b.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w := &watcher{t: t, ch: ch}
	var before uint64
	for _, ev := range w.snapshot(5 * time.Second) {
		if ev.Type == reader.CardInserted && ev.Reader == env.ReaderName(0) {
			before = ev.Insertion
		}
	}
	if before == 0 {
		t.Fatalf("no card in the snapshot:\n%s", w.dump())
	}

	env.Restart(t)

	w.until(5*time.Second, "backend error", func(ev reader.Event) bool { return ev.Type == reader.BackendError })
	var removed, readersGone bool
	var after uint64
	w.until(10*time.Second, "snapshot after restart", func(ev reader.Event) bool {
		switch ev.Type {
		case reader.CardRemoved:
			removed = removed || ev.Insertion == before
		case reader.ReaderRemoved:
			readersGone = true
		case reader.CardInserted:
			after = ev.Insertion
		}
		return ev.Type == reader.SnapshotDone
	})
	if !removed || !readersGone {
		t.Errorf("card/readers not reported gone (removed %v, readers %v):\n%s", removed, readersGone, w.dump())
	}
	// The virtual card reconnects to vpcd shortly after the restart: its
	// insertion is in the snapshot or follows it.
	if after == 0 {
		after = w.until(5*time.Second, "insertion after restart", func(ev reader.Event) bool {
			return ev.Type == reader.CardInserted && ev.Reader == env.ReaderName(0)
		}).Insertion
	}
	if after == before {
		t.Errorf("same insertion id %d after the restart", after)
	}
	pcsctest.WaitCard(t, env.ReaderName(0), true)

	// The stream keeps working.
	s0.remove(false)
	w.until(5*time.Second, "removal after restart", func(ev reader.Event) bool {
		return ev.Type == reader.CardRemoved && ev.Insertion == after
	})
	s0.insert(chip)

	if _, err := old.Transmit(context.Background(), selectMF); !errors.Is(err, reader.ErrServiceUnavailable) {
		t.Errorf("old connection after restart: %v, want ErrServiceUnavailable", err)
	}
	c := connect(t, b, env.ReaderName(0))
	if rsp := transmit(t, c, selectMF); sw(rsp) != 0x9000 {
		t.Errorf("SELECT MF on a new connection: %X", rsp)
	}
	if err := old2.Reset(context.Background(), false); err != nil {
		t.Fatalf("Reset of a connection from before the restart: %v", err)
	}
	if rsp := transmit(t, old2, selectMF); sw(rsp) != 0x9000 {
		t.Errorf("SELECT MF after Reset: %X", rsp)
	}
	for _, ev := range w.log {
		if ev.Type == reader.BackendError && !strings.Contains(ev.Err, "PC/SC") && !strings.Contains(ev.Err, "pcscd") {
			t.Logf("backend error text: %q", ev.Err)
		}
	}
}

// Watch started while pcscd is down reports the failure and picks up once
// pcscd is there.
func TestPCSCWatchServiceDown(t *testing.T) {
	env := pcsctest.Shared(t)
	checkGoroutines(t)
	b := pcsc.New()
	defer b.Close()
	env.Kill()
	restarted := false
	defer func() {
		if !restarted {
			env.Restart(t)
		}
	}()
	if _, err := b.ListReaders(context.Background()); !errors.Is(err, reader.ErrServiceUnavailable) {
		t.Errorf("ListReaders without pcscd: %v, want ErrServiceUnavailable", err)
	}
	if _, err := b.Connect(context.Background(), env.ReaderName(0), reader.ConnectOptions{}); !errors.Is(err, reader.ErrServiceUnavailable) {
		t.Errorf("Connect without pcscd: %v, want ErrServiceUnavailable", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := b.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w := &watcher{t: t, ch: ch}
	ev := w.next(3 * time.Second)
	if ev.Type != reader.BackendError || ev.Err == "" {
		t.Fatalf("first event %+v, want BackendError", ev)
	}
	// Only one error per outage, however often it retries.
	select {
	case ev := <-ch:
		t.Fatalf("event while pcscd is down: %+v", ev)
	case <-time.After(700 * time.Millisecond):
	}
	env.Restart(t)
	restarted = true
	snap := w.snapshot(5 * time.Second)
	if len(snap) < 2 {
		t.Errorf("snapshot after recovery: %+v", snap)
	}
}

func BenchmarkPCSCTransmit(b *testing.B) {
	env := pcsctest.Shared(b)
	// Slot 1: BenchmarkTransmit keeps a card in slot 0 for the whole run.
	s1 := newSlot(b, env, 1)
	s1.insert(newCard(b))
	be := pcsc.New()
	defer be.Close()
	c := connect(b, be, env.ReaderName(1))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		rsp, err := c.Transmit(ctx, selectMF)
		if err != nil || len(rsp) != 2 {
			b.Fatalf("%X %v", rsp, err)
		}
	}
}

// TestPCSCConcurrentLifecycle connects, transmits and disconnects on two
// readers (a goroutine each) while two more goroutines create and release
// PC/SC contexts (ListReaders) as fast as they can. libpcsclite 1.9.9
// crashes in SCardDisconnect when another thread creates or releases a
// context meanwhile (lifecycle.go); this is the regression test of the
// workaround (without it the test binary dies with SIGSEGV).
func TestPCSCConcurrentLifecycle(t *testing.T) {
	env := pcsctest.Shared(t)
	for n := range 2 {
		newSlot(t, env, n).insert(newCard(t))
	}
	b := pcsc.New()
	defer b.Close()
	var wg sync.WaitGroup
	deadline := time.Now().Add(3 * time.Second)
	var rounds, lists atomic.Int64
	for n := range 2 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				c, err := b.Connect(ctx, env.ReaderName(n), reader.ConnectOptions{})
				if err == nil {
					_, err = c.Transmit(ctx, getChalleng)
					if cerr := c.Close(); err == nil {
						err = cerr
					}
				}
				cancel()
				if err != nil {
					t.Error(err)
					return
				}
				rounds.Add(1)
			}
		}()
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if _, err := b.ListReaders(context.Background()); err != nil {
					t.Error(err)
					return
				}
				lists.Add(1)
			}
		}()
	}
	wg.Wait()
	t.Logf("%d connect/transmit/close rounds, %d context create/release rounds", rounds.Load(), lists.Load())
}
