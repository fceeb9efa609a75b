//go:build !nopcsc && (cgo || windows)

package pcsc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ebfe/scard"
	"github.com/sscard/ssc/reader"
)

// pcscCard is a connection to the card in one PC/SC reader, on a PC/SC
// context of its own.
//
// Cancellation: ctx is checked before every PC/SC call, and Connect and
// BeginTransaction also honour it while they wait. A call in flight
// (SCardTransmit, SCardReconnect) cannot be interrupted: it runs on a
// goroutine of its own and is abandoned when ctx ends (blocking.go), with
// reader.ErrBackendStuck; its context is retired and the card fails with
// that error until Reset connects anew. Note that pcsc-lite also makes
// Transmit and Reset wait while another application holds a transaction on
// the card.
//
// Contexts are reference counted: every PC/SC call holds a reference, and a
// context is released only when it is retired (Close, an aborted wait, pcscd
// gone) and no call uses it any more. Releasing a context under a call that
// still uses it is undefined behaviour in libpcsclite.
type pcscCard struct {
	b      *pcscBackend
	reader string
	mode   scard.ShareMode
	protos scard.Protocol

	// closing is closed by Close; it aborts waits.
	closing chan struct{}

	mu sync.Mutex
	// cur is the context for new calls; nil until first needed and after
	// it was retired.
	cur *pcscCtx
	// h is the card handle (on cur); nil before the first connect
	// finished and after a handle was dropped (an aborted wait, pcscd
	// gone); the card is connected again on next use.
	h     *scard.Card
	atr   reader.ATR
	proto reader.Protocol
	// counter is the reader's insertion/removal counter when we connected;
	// another value after connecting again means the card was swapped.
	counter    uint16
	hasCounter bool
	// lost is set when the card was removed while we had no handle; every
	// call fails with it until Reset.
	lost    error
	inTx    bool
	closed  bool
	dialing *pcscDial // the SCardConnect in progress
}

// pcscCtx is a PC/SC context with a reference count (guarded by the card's
// mutex).
type pcscCtx struct {
	sctx     *scard.Context
	refs     int
	retired  bool
	released bool
}

type pcscDial struct {
	done chan struct{}
	err  error // valid once done is closed
}

var _ reader.Card = (*pcscCard)(nil)

// unref drops a reference to pc and releases it if it is retired and unused.
func (c *pcscCard) unref(pc *pcscCtx) {
	c.mu.Lock()
	pc.refs--
	release := pc.retired && pc.refs == 0 && !pc.released
	if release {
		pc.released = true
	}
	c.mu.Unlock()
	if release {
		pcscRelease(pc.sctx)
	}
}

// retireLocked stops new calls from using pc; the last reference releases
// it. The caller holds c.mu and must hold a reference itself or call
// releaseIfIdle after unlocking.
func (c *pcscCard) retireLocked(pc *pcscCtx) {
	pc.retired = true
	if c.cur == pc {
		c.cur = nil
		c.h = nil
		c.inTx = false
	}
}

// handle returns the card handle with a reference on its context, which the
// caller drops with unref. With no handle it connects (again), in the
// background because SCardConnect waits while another application holds a
// transaction; the wait honours ctx and Close.
func (c *pcscCard) handle(ctx context.Context, op string) (*pcscCtx, *scard.Card, error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, nil, &reader.Error{Op: op, Reader: c.reader, Err: reader.ErrClosed}
		}
		if c.lost != nil {
			err := c.lost
			c.mu.Unlock()
			return nil, nil, &reader.Error{Op: op, Reader: c.reader, Err: err}
		}
		if c.h != nil {
			pc, h := c.cur, c.h
			pc.refs++
			c.mu.Unlock()
			return pc, h, nil
		}
		d := c.dialing
		if d == nil {
			if c.cur == nil {
				// Not under c.mu: a stuck pcscd must not block Close.
				c.mu.Unlock()
				sctx, err := pcscEstablish(ctx)
				if err != nil {
					return nil, nil, pcscErr(op, c.reader, err)
				}
				c.mu.Lock()
				if c.closed || c.cur != nil || c.dialing != nil {
					c.mu.Unlock()
					pcscRelease(sctx)
					continue
				}
				c.cur = &pcscCtx{sctx: sctx}
			}
			d = &pcscDial{done: make(chan struct{})}
			c.dialing = d
			c.cur.refs++
			go c.dial(d, c.cur)
		}
		c.mu.Unlock()

		select {
		case <-d.done:
		case <-ctx.Done():
			return nil, nil, reader.ContextError(op, c.reader, ctx)
		case <-c.closing:
			return nil, nil, &reader.Error{Op: op, Reader: c.reader, Err: reader.ErrClosed}
		}
		if d.err != nil {
			return nil, nil, pcscErr(op, c.reader, d.err)
		}
	}
}

// dial connects to the card on pc and installs the handle. It holds a
// reference to pc.
func (c *pcscCard) dial(d *pcscDial, pc *pcscCtx) {
	defer c.unref(pc)
	h, err := pc.sctx.Connect(c.reader, c.mode, c.protos)
	var st *scard.CardStatus
	if err == nil {
		// Close ends a wait for statesMu.
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-c.closing:
				cancel()
			case <-ctx.Done():
			}
		}()
		st, err = cardStatus(ctx, h)
		cancel()
		if err != nil {
			c.disconnectOn(pc, h)
			h = nil
		}
	}
	c.mu.Lock()
	defer close(d.done)
	c.dialing = nil
	switch {
	case c.closed || pc.retired:
		c.mu.Unlock()
		if h != nil {
			c.disconnectOn(pc, h)
		}
		d.err = reader.ErrClosed
		return
	case err != nil:
		c.serviceGoneLocked(pc, err)
		c.mu.Unlock()
		d.err = err
		return
	}
	cnt := pcscCounter(scard.StateFlag(st.State))
	if c.hasCounter && cnt != c.counter {
		// The card was removed (and perhaps another inserted) while we
		// had no handle: report what the old handle would have.
		c.lost = &pcscError{sentinel: reader.ErrCardRemoved, code: scard.ErrRemovedCard}
		d.err = c.lost
		c.mu.Unlock()
		c.disconnectOn(pc, h)
		return
	}
	c.h = h
	c.setStatusLocked(st)
	c.mu.Unlock()
}

// disconnectOn disconnects h (on pc), waiting at most lifecycleWait, and
// keeps a reference to pc until the call into libpcsclite is over.
func (c *pcscCard) disconnectOn(pc *pcscCtx, h *scard.Card) error {
	c.mu.Lock()
	pc.refs++
	c.mu.Unlock()
	return pcscDisconnectBounded(h, scard.LeaveCard, func() { c.unref(pc) })
}

// abandoned records that a call on pc was abandoned (pcscd did not answer
// in time): pc and its handle are never used again, and every call fails
// with reader.ErrBackendStuck until Reset connects anew. The abandoned
// call keeps its reference to pc and drops it when it returns.
func (c *pcscCard) abandoned(pc *pcscCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.retireLocked(pc)
	if c.lost == nil && !c.closed {
		c.lost = fmt.Errorf("%w: a call on this connection was abandoned", reader.ErrBackendStuck)
	}
}

// cardStatus is h.Status under statesMu (states.go): SCardStatus reads the
// event counter and ATR from libpcsclite's process-wide reader states.
func cardStatus(ctx context.Context, h *scard.Card) (*scard.CardStatus, error) {
	var st *scard.CardStatus
	err := withStates(ctx, func() error {
		var err error
		st, err = h.Status()
		return err
	})
	return st, err
}

func (c *pcscCard) setStatusLocked(st *scard.CardStatus) {
	c.atr = reader.ATR(bytes.Clone(st.Atr))
	c.proto = fromScardProtocol(st.ActiveProtocol)
	c.counter = pcscCounter(scard.StateFlag(st.State))
	c.hasCounter = true
}

func fromScardProtocol(p scard.Protocol) reader.Protocol {
	switch p {
	case scard.ProtocolT0:
		return reader.T0
	case scard.ProtocolT1:
		return reader.T1
	}
	return reader.ProtocolUndefined
}

// serviceGoneLocked handles err from a call on pc: if pcscd went away, the
// context is dead for good (a new pcscd does not know it) and the card
// session is over (pcscd restarting powers the card off). The context is
// retired and every call fails until Reset connects anew.
func (c *pcscCard) serviceGoneLocked(pc *pcscCtx, err error) {
	var code scard.Error
	if c.closed || !errors.As(err, &code) || !isServiceGone(code) {
		return
	}
	c.retireLocked(pc)
	if c.lost == nil {
		c.lost = &pcscError{sentinel: reader.ErrServiceUnavailable, code: code}
	}
}

// opErr maps the error of a call on pc's handle. After Close it is
// reader.ErrClosed.
func (c *pcscCard) opErr(op string, pc *pcscCtx, err error) error {
	c.mu.Lock()
	closed := c.closed
	c.serviceGoneLocked(pc, err)
	c.mu.Unlock()
	if closed {
		return &reader.Error{Op: op, Reader: c.reader, Err: fmt.Errorf("%w (%w)", reader.ErrClosed, err)}
	}
	return pcscErr(op, c.reader, err)
}

// Reader implements reader.Card.
func (c *pcscCard) Reader() string { return c.reader }

// ATR implements reader.Card: the ATR read with SCardStatus when the card was
// connected or last reset.
func (c *pcscCard) ATR() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.atr)
}

// Protocol implements reader.Card: the active protocol read with SCardStatus when
// the card was connected or last reset.
func (c *pcscCard) Protocol() reader.Protocol {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.proto
}

// Transmit implements reader.Card. The command must be a whole APDU (4 bytes at
// least, at most an extended APDU); anything else is reader.ErrInvalidCommand
// without reaching pcscd. A Transmit in flight cannot be interrupted by ctx.
func (c *pcscCard) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	const op = "transmit"
	if len(cmd) < 4 || len(cmd) > maxCommandAPDU {
		return nil, &reader.Error{Op: op, Reader: c.reader,
			Err: fmt.Errorf("%w: %d bytes (want 4 to %d)", reader.ErrInvalidCommand, len(cmd), maxCommandAPDU)}
	}
	if ctx.Err() != nil {
		return nil, reader.ContextError(op, c.reader, ctx)
	}
	pc, h, err := c.handle(ctx, op)
	if err != nil {
		return nil, err
	}
	// ebfe/scard panics on any other protocol.
	if p := h.ActiveProtocol(); p != scard.ProtocolT0 && p != scard.ProtocolT1 {
		c.unref(pc)
		return nil, &reader.Error{Op: op, Reader: c.reader,
			Err: fmt.Errorf("%w: transmit with protocol 0x%X", reader.ErrNotSupported, uint32(p))}
	}
	var rsp []byte
	err, running := blocking(ctx, op, c.reader, func() error {
		var err error
		rsp, err = transmit(h, cmd)
		return err
	}, func(error) { c.unref(pc) })
	if running {
		c.abandoned(pc)
		return nil, err
	}
	defer c.unref(pc)
	if err != nil {
		return nil, c.opErr(op, pc, err)
	}
	return rsp, nil
}

// BeginTransaction implements reader.Card. It waits while another application holds
// a transaction, and returns as soon as ctx is done or the card is closed.
//
// pcsc-lite cannot cancel that wait (it asks pcscd every 200 ms or so); it
// can only fail it by disconnecting the handle. So when ctx ends first, the
// handle is disconnected (leaving the card as it is), its PC/SC context is
// retired (pcscd may drop it: libpcsclite can send one more request on the
// handle just disconnected) and the card is connected again, on a new
// context, on its next use. Should the card have been removed meanwhile,
// that use fails with reader.ErrCardRemoved. A reset of the card by another
// application during the wait is not reported. Goroutines finish the
// aborted wait in the background (normally within 200 ms; up to about 2 s
// when pcscd drops the context) and then release the old context.
func (c *pcscCard) BeginTransaction(ctx context.Context) error {
	const op = "begin transaction"
	if ctx.Err() != nil {
		return reader.ContextError(op, c.reader, ctx)
	}
	c.mu.Lock()
	inTx := c.inTx
	c.mu.Unlock()
	if inTx {
		return nil
	}
	pc, h, err := c.handle(ctx, op)
	if err != nil {
		return err
	}
	res := make(chan error, 1)
	go func() {
		defer c.unref(pc) // the reference passes to this goroutine
		res <- h.BeginTransaction()
	}()
	var cause error
	select {
	case err := <-res:
		return c.began(op, pc, h, err)
	case <-ctx.Done():
		cause = reader.ContextError(op, c.reader, ctx)
	case <-c.closing:
		cause = &reader.Error{Op: op, Reader: c.reader, Err: reader.ErrClosed}
	}
	select {
	case err := <-res:
		// It finished at the same moment. A transaction we got stands
		// unless the card is being closed (Close releases it).
		if err == nil && cause != nil && ctx.Err() != nil {
			select {
			case <-c.closing:
			default:
				return c.began(op, pc, h, nil)
			}
		}
		return cause
	default:
	}
	c.mu.Lock()
	closed := c.closed
	disconnect := !closed && c.h == h
	if disconnect {
		c.retireLocked(pc)
		pc.refs++ // for the Disconnect below
	}
	c.mu.Unlock()
	if disconnect { // (Close disconnects by itself)
		// In the background too: the disconnect waits for libpcsclite's
		// lock on the context while pcscd holds the wait's current poll
		// (up to 100 ms). The card no longer uses that context.
		go pcscDisconnectBounded(h, scard.LeaveCard, func() { c.unref(pc) })
	}
	return cause
}

// began records the outcome of SCardBeginTransaction on h.
func (c *pcscCard) began(op string, pc *pcscCtx, h *scard.Card, err error) error {
	if err != nil {
		return c.opErr(op, pc, err)
	}
	c.mu.Lock()
	ok := c.h == h && !c.closed
	if ok {
		c.inTx = true
	}
	c.mu.Unlock()
	if !ok {
		return &reader.Error{Op: op, Reader: c.reader, Err: reader.ErrClosed}
	}
	return nil
}

// EndTransaction implements reader.Card.
func (c *pcscCard) EndTransaction(d reader.Disposition) error {
	const op = "end transaction"
	disp, err := toScardDisposition(d)
	if err != nil {
		return &reader.Error{Op: op, Reader: c.reader, Err: err}
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return &reader.Error{Op: op, Reader: c.reader, Err: reader.ErrClosed}
	}
	pc, h := c.cur, c.h
	if !c.inTx || h == nil {
		c.mu.Unlock()
		return &reader.Error{Op: op, Reader: c.reader, Err: reader.ErrNotInTransaction}
	}
	c.inTx = false
	pc.refs++
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), lifecycleWait)
	defer cancel()
	err, running := blocking(ctx, op, c.reader, func() error { return h.EndTransaction(disp) },
		func(error) { c.unref(pc) })
	if running {
		c.abandoned(pc)
		return err
	}
	defer c.unref(pc)
	if err != nil {
		return c.opErr(op, pc, err)
	}
	return nil
}

func toScardDisposition(d reader.Disposition) (scard.Disposition, error) {
	switch d {
	case reader.LeaveCard:
		return scard.LeaveCard, nil
	case reader.ResetCard:
		return scard.ResetCard, nil
	case reader.UnpowerCard:
		return scard.UnpowerCard, nil
	}
	return 0, fmt.Errorf("%w: disposition %d", reader.ErrNotSupported, d)
}

// Reset implements reader.Card with SCardReconnect (warm: SCARD_RESET_CARD, cold:
// SCARD_UNPOWER_CARD). It also recovers a connection whose card was removed
// and inserted again (reader.ErrCardRemoved) or whose pcscd went away
// (reader.ErrServiceUnavailable: every call fails with it until Reset) by
// connecting anew, on a new PC/SC context, before resetting.
func (c *pcscCard) Reset(ctx context.Context, cold bool) error {
	const op = "reset"
	if ctx.Err() != nil {
		return reader.ContextError(op, c.reader, ctx)
	}
	disp := scard.ResetCard
	if cold {
		disp = scard.UnpowerCard
	}
	for attempt := 0; ; attempt++ {
		// Whatever card is in the reader now is the one to reset.
		c.mu.Lock()
		c.lost = nil
		c.hasCounter = false
		c.mu.Unlock()
		pc, h, err := c.handle(ctx, op)
		if err != nil {
			// A failed connect on a dead context retired it: once more.
			if attempt == 0 && pcscServiceGone(err) {
				continue
			}
			return err
		}
		var st *scard.CardStatus
		err, running := blocking(ctx, op, c.reader, func() error {
			if err := h.Reconnect(c.mode, c.protos, disp); err != nil {
				return err
			}
			var err error
			st, err = cardStatus(ctx, h)
			return err
		}, func(error) { c.unref(pc) })
		if running {
			c.abandoned(pc)
			return err
		}
		if err == nil {
			c.mu.Lock()
			if c.h == h {
				c.setStatusLocked(st)
			}
			c.mu.Unlock()
			c.unref(pc)
			return nil
		}
		err = c.opErr(op, pc, err) // retires pc if pcscd went away
		c.unref(pc)
		if attempt == 0 && pcscServiceGone(err) {
			continue
		}
		return err
	}
}

func pcscServiceGone(err error) bool {
	var code scard.Error
	return errors.As(err, &code) && isServiceGone(code)
}

// Close implements reader.Card: it ends a transaction, disconnects leaving the card
// powered and releases the context (once no call uses it). It aborts a
// BeginTransaction or connect waiting in another goroutine. It is
// idempotent.
func (c *pcscCard) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.closing)
	h, inTx, pc := c.h, c.inTx, c.cur
	if pc != nil {
		c.retireLocked(pc)
		pc.refs++ // for the calls below
	}
	c.mu.Unlock()
	c.b.forgetCard(c)
	if pc == nil {
		return nil
	}
	if h == nil {
		c.unref(pc)
		return nil
	}
	// Bounded: Close must return even while pcscd is stopped; what is
	// abandoned finishes (and drops pc) when it answers again.
	ctx, cancel := context.WithTimeout(context.Background(), lifecycleWait)
	defer cancel()
	if inTx {
		err, running := blocking(ctx, "close", c.reader, func() error { return h.EndTransaction(scard.LeaveCard) },
			func(error) { c.unref(pc) })
		if running {
			return err
		}
	}
	if err := pcscDisconnect(ctx, h, scard.LeaveCard, func() { c.unref(pc) }); err != nil && !pcscGoneAlready(err) {
		return pcscErr("close", c.reader, err)
	}
	return nil
}

// pcscGoneAlready reports errors of SCardDisconnect that only say there was
// nothing left to disconnect.
func pcscGoneAlready(err error) bool {
	var code scard.Error
	if !errors.As(err, &code) {
		return false
	}
	switch code {
	case scard.ErrRemovedCard, scard.ErrNoSmartcard, scard.ErrResetCard, scard.ErrUnpoweredCard,
		scard.ErrReaderUnavailable:
		return true
	}
	return isServiceGone(code)
}
