package serial

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/sscard/ssc/ccid"
	"github.com/sscard/ssc/reader"
)

// maxSerialTPDU is the longest TPDU a serial GemPC reader takes in one
// XfrBlock (dwMaxCCIDMessageLength 271 - 10).
const maxSerialTPDU = ccid.MaxSerialMessage - ccid.HeaderSize

// serialPINTimeout is libccid's minimum wait for a Secure (PIN entry).
const serialPINTimeout = 90 * time.Second

// Connect implements reader.Backend: the card is powered (IccPowerOn at 5 V,
// SetParameters for T=0) unless it already is, and the connection speaks
// T=0 TPDUs.
func (b *serialBackend) Connect(ctx context.Context, name string, opts reader.ConnectOptions) (reader.Card, error) {
	const op = "connect"
	r, err := b.reader(op, name)
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, reader.ContextError(op, r.name, ctx)
	}
	if len(opts.Protocols) > 0 && !slices.Contains(opts.Protocols, reader.T0) {
		return nil, &reader.Error{Op: op, Reader: r.name, Err: fmt.Errorf("%w: serial readers speak T=0 only", reader.ErrNotSupported)}
	}
	if err := r.lock(ctx, op); err != nil {
		return nil, err
	}
	defer r.unlock()
	if err := r.slotStatusLocked(ctx, op); err != nil {
		return nil, err
	}
	r.mu.Lock()
	present, powered := r.present, r.powered
	r.mu.Unlock()
	if !present {
		return nil, &reader.Error{Op: op, Reader: r.name, Err: reader.ErrNoCard}
	}
	if !powered {
		if err := r.powerOnLocked(ctx, op); err != nil {
			return nil, err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.present || !r.powered {
		return nil, &reader.Error{Op: op, Reader: r.name, Err: reader.ErrNoCard}
	}
	if r.exclusive != nil || (opts.Mode == reader.Exclusive && r.shared > 0) {
		return nil, &reader.Error{Op: op, Reader: r.name, Err: reader.ErrSharingViolation}
	}
	c := &serialCard{r: r, insertion: r.insertion, resets: r.resets, atr: slices.Clone(r.atr)}
	if opts.Mode == reader.Exclusive {
		r.exclusive = c
	} else {
		r.shared++
	}
	return c, nil
}

// serialCard is a connection to the card in a serial reader.
type serialCard struct {
	r *serialReader

	// mu serialises this connection's calls; the reader's holder lock
	// serialises connections, its line lock exchanges.
	mu        sync.Mutex
	insertion uint64
	resets    uint64
	atr       []byte
	inTx      bool
	closed    bool
}

var (
	_ reader.Card   = (*serialCard)(nil)
	_ reader.PINPad = (*serialCard)(nil)
)

func (c *serialCard) Reader() string { return c.r.name }

func (c *serialCard) ATR() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.atr)
}

func (c *serialCard) Protocol() reader.Protocol { return reader.T0 }

// checkLocked reports whether this connection's card is still there (r.mu
// held): reader.ErrClosed, reader.ErrCardRemoved, or reader.ErrCardReset once after another
// connection power-cycled it.
func (c *serialCard) checkLocked(op string) error {
	r := c.r
	switch {
	case c.closed:
		return &reader.Error{Op: op, Reader: r.name, Err: reader.ErrClosed}
	case r.b.isClosed():
		return &reader.Error{Op: op, Reader: r.name, Err: reader.ErrClosed}
	case r.line == nil:
		// The port failed under this connection (reopening it later
		// makes the card a new insertion).
		return &reader.Error{Op: op, Reader: r.name, Err: fmt.Errorf("%w: the port failed", reader.ErrReaderUnavailable)}
	case !r.present || r.insertion != c.insertion:
		return &reader.Error{Op: op, Reader: r.name, Err: reader.ErrCardRemoved}
	case r.resets != c.resets:
		c.resets, c.atr = r.resets, slices.Clone(r.atr)
		return &reader.Error{Op: op, Reader: r.name, Err: reader.ErrCardReset}
	}
	return nil
}

func (c *serialCard) check(op string) error {
	c.r.mu.Lock()
	defer c.r.mu.Unlock()
	return c.checkLocked(op)
}

// acquire takes the reader's card lock for this connection (c.mu held).
func (c *serialCard) acquire(ctx context.Context, op string) error {
	r := c.r
	for {
		r.mu.Lock()
		h := r.holder
		// A holder whose card was removed has lost its lock, as in PC/SC.
		if h == nil || h == c || h.closed || h.insertion != r.insertion {
			r.holder = c
			r.mu.Unlock()
			return nil
		}
		wait := r.released
		r.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return &reader.Error{Op: op, Reader: r.name, Err: fmt.Errorf("%w: %w", reader.ErrTimeout, ctx.Err())}
		case <-r.b.closing:
			return &reader.Error{Op: op, Reader: r.name, Err: reader.ErrClosed}
		}
	}
}

func (c *serialCard) release() {
	c.r.mu.Lock()
	defer c.r.mu.Unlock()
	c.releaseLocked()
}

func (c *serialCard) releaseLocked() {
	r := c.r
	if r.holder == c {
		r.holder = nil
		close(r.released)
		r.released = make(chan struct{})
	}
}

// run does f with the card lock (unless in a transaction) and the line
// lock, after checking the card is still this connection's.
func (c *serialCard) run(ctx context.Context, op string, f func() error) error {
	if ctx.Err() != nil {
		return reader.ContextError(op, c.r.name, ctx)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.check(op); err != nil {
		return err
	}
	if !c.inTx {
		if err := c.acquire(ctx, op); err != nil {
			return err
		}
		defer c.release()
	}
	if err := c.r.lock(ctx, op); err != nil {
		return err
	}
	defer c.r.unlock()
	// The card may have gone while we waited.
	if err := c.check(op); err != nil {
		return err
	}
	return f()
}

// serialTPDU turns a short command APDU into a T=0 TPDU: case 1 gets P3 = 00,
// case 4 loses Le (the card answers 61xx and apdu.Transmitter sends GET
// RESPONSE). Extended APDUs cannot be carried by T=0. (Transmit checks the
// reader's size limit.)
func serialTPDU(cmd []byte) ([]byte, error) {
	switch n := len(cmd); {
	case n < 4:
		return nil, fmt.Errorf("%w: %d bytes", reader.ErrInvalidCommand, n)
	case n == 4:
		return append(slices.Clone(cmd), 0x00), nil
	case n == 5:
		return cmd, nil
	case cmd[4] == 0:
		return nil, fmt.Errorf("%w: extended length APDU (T=0 over a serial reader takes short APDUs only)", reader.ErrInvalidCommand)
	case n == 5+int(cmd[4]):
		return cmd, nil
	case n == 6+int(cmd[4]):
		return cmd[:n-1], nil
	default:
		return nil, fmt.Errorf("%w: Lc %d does not match %d bytes", reader.ErrInvalidCommand, cmd[4], n)
	}
}

// Transmit implements reader.Card.
func (c *serialCard) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	const op = "transmit"
	t, err := serialTPDU(cmd)
	if err == nil && len(t) > maxSerialTPDU {
		err = fmt.Errorf("%w: %d-byte TPDU exceeds the reader's %d", reader.ErrInvalidCommand, len(t), maxSerialTPDU)
	}
	if err != nil {
		return nil, &reader.Error{Op: op, Reader: c.r.name, Err: err}
	}
	var rsp []byte
	err = c.run(ctx, op, func() error {
		rsp, err = c.xfr(ctx, op, ccid.Message{Type: ccid.XfrBlock, Data: t}, exchangeOpts{timeout: serialXfrTimeout, cap: serialXfrCap})
		return err
	})
	return rsp, err
}

// xfr runs a card command (XfrBlock, Secure) and returns the DataBlock
// payload. Caller holds the line lock.
func (c *serialCard) xfr(ctx context.Context, op string, m ccid.Message, o exchangeOpts) ([]byte, error) {
	r := c.r
	a, err := r.exchange(ctx, op, m, o)
	if err != nil {
		return nil, c.removedOr(op, err)
	}
	r.observe(a.ICCStatus())
	if err := a.Err(); err != nil {
		if e := c.check(op); e != nil {
			return nil, e
		}
		switch a.ErrorCode() {
		case ccid.ErrCodePINCancelled:
			if m.Type == ccid.Secure {
				return nil, &reader.Error{Op: op, Reader: r.name, Err: fmt.Errorf("%w: %w", reader.ErrPINPadCancelled, err)}
			}
		case ccid.ErrCodePINTimeout:
			if m.Type == ccid.Secure {
				return nil, &reader.Error{Op: op, Reader: r.name, Err: fmt.Errorf("%w: %w", reader.ErrPINPadTimeout, err)}
			}
		}
		return nil, r.slotErr(op, a)
	}
	if len(a.Data) < 2 {
		return nil, &reader.Error{Op: op, Reader: r.name, Err: fmt.Errorf("%w: %d-byte card response", reader.ErrProtocol, len(a.Data))}
	}
	return slices.Clone(a.Data), nil
}

// removedOr reports a failed exchange as reader.ErrCardRemoved when the card went
// meanwhile (the port failure also forgets the card; that one is reported
// as it is).
func (c *serialCard) removedOr(op string, err error) error {
	if portFailed(err) {
		return err
	}
	if e := c.check(op); e != nil {
		return e
	}
	return err
}

// BeginTransaction implements reader.Card.
func (c *serialCard) BeginTransaction(ctx context.Context) error {
	const op = "begin transaction"
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.check(op); err != nil {
		return err
	}
	if c.inTx {
		return nil
	}
	if err := c.acquire(ctx, op); err != nil {
		return err
	}
	c.inTx = true
	return nil
}

// EndTransaction implements reader.Card. ResetCard and UnpowerCard power-cycle
// the card (CCID has no warm reset; libccid also resets with power off +
// on).
func (c *serialCard) EndTransaction(d reader.Disposition) error {
	const op = "end transaction"
	c.mu.Lock()
	if !c.inTx {
		c.mu.Unlock()
		return &reader.Error{Op: op, Reader: c.r.name, Err: reader.ErrNotInTransaction}
	}
	if d == reader.LeaveCard {
		c.inTx = false
		c.release()
		c.mu.Unlock()
		return c.check(op)
	}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*serialPowerOnTimeout)
	defer cancel()
	err := c.Reset(ctx, true)
	c.mu.Lock()
	c.inTx = false
	c.release()
	c.mu.Unlock()
	return err
}

// Reset implements reader.Card: IccPowerOff then IccPowerOn (for both kinds: a
// CCID reader has no warm reset), and SetParameters again. Other
// connections see reader.ErrCardReset once.
func (c *serialCard) Reset(ctx context.Context, cold bool) error {
	const op = "reset"
	return c.run(ctx, op, func() error {
		r := c.r
		if err := r.powerOffLocked(ctx, op); err != nil {
			return c.removedOr(op, err)
		}
		if err := r.powerOnLocked(ctx, op); err != nil {
			return c.removedOr(op, err)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if err := c.checkLocked(op); err != nil && r.insertion != c.insertion {
			return err
		}
		r.resets++
		c.resets, c.atr = r.resets, slices.Clone(r.atr)
		return nil
	})
}

// Close implements reader.Card. The card stays powered (PC/SC LeaveCard): the
// next connection finds it as this one left it.
func (c *serialCard) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.closed {
		return nil
	}
	c.inTx = false
	c.releaseLocked()
	c.closed = true
	if r.exclusive == c {
		r.exclusive = nil
	} else {
		r.shared--
	}
	return nil
}

// PINPadFeatures implements reader.PINPad: a GemPC PinPad verifies and modifies;
// a GemPC Twin has no keypad (reader.ErrNoPINPad).
func (c *serialCard) PINPadFeatures(ctx context.Context) (reader.PINPadFeatures, error) {
	if c.r.cfg.Type != GemPCPinPad {
		return reader.PINPadFeatures{}, &reader.Error{Op: "PIN pad features", Reader: c.r.name, Err: reader.ErrNoPINPad}
	}
	return reader.PINPadFeatures{Verify: true, Modify: true}, nil
}

// serialPINWait is libccid's wait for a Secure: max(90 s, bTimerOut + 10 s).
func serialPINWait(t byte) time.Duration {
	return max(serialPINTimeout, time.Duration(t)*time.Second+10*time.Second)
}

// VerifyPINPad implements reader.PINPad with a CCID Secure (bPINOperation 00).
// As libccid does for the GemPC PinPad firmware, bNumberMessage is forced
// to 1 and bEntryValidationCondition to 2 (the OK key).
func (c *serialCard) VerifyPINPad(ctx context.Context, v ccid.PINVerify) ([]byte, error) {
	const op = "verify PIN on the PIN pad"
	if c.r.cfg.Type != GemPCPinPad {
		return nil, &reader.Error{Op: op, Reader: c.r.name, Err: reader.ErrNoPINPad}
	}
	if len(v.APDU) < 4 || len(v.APDU) > maxSerialTPDU {
		return nil, &reader.Error{Op: op, Reader: c.r.name, Err: fmt.Errorf("%w: %d-byte PIN APDU template", reader.ErrInvalidCommand, len(v.APDU))}
	}
	v.NumberMessage, v.EntryValidation = 1, 2
	return c.secure(ctx, op, v.SecureData(), serialPINWait(v.TimeOut))
}

// ModifyPINPad implements reader.PINPad with a CCID Secure (bPINOperation 01).
func (c *serialCard) ModifyPINPad(ctx context.Context, m ccid.PINModify) ([]byte, error) {
	const op = "modify PIN on the PIN pad"
	if c.r.cfg.Type != GemPCPinPad {
		return nil, &reader.Error{Op: op, Reader: c.r.name, Err: reader.ErrNoPINPad}
	}
	if len(m.APDU) < 4 || len(m.APDU) > maxSerialTPDU {
		return nil, &reader.Error{Op: op, Reader: c.r.name, Err: fmt.Errorf("%w: %d-byte PIN APDU template", reader.ErrInvalidCommand, len(m.APDU))}
	}
	if m.NumberMessage > 3 && m.NumberMessage != 0xFF {
		return nil, &reader.Error{Op: op, Reader: c.r.name, Err: fmt.Errorf("%w: bNumberMessage %d", reader.ErrInvalidCommand, m.NumberMessage)}
	}
	m.EntryValidation = 2
	return c.secure(ctx, op, m.SecureData(), serialPINWait(m.TimeOut))
}

func (c *serialCard) secure(ctx context.Context, op string, data []byte, timeout time.Duration) ([]byte, error) {
	if ccid.HeaderSize+len(data) > ccid.MaxSerialMessage {
		return nil, &reader.Error{Op: op, Reader: c.r.name, Err: fmt.Errorf("%w: %d-byte Secure message", reader.ErrInvalidCommand, ccid.HeaderSize+len(data))}
	}
	var rsp []byte
	err := c.run(ctx, op, func() error {
		var err error
		rsp, err = c.xfr(ctx, op, ccid.Message{Type: ccid.Secure, Data: data},
			exchangeOpts{timeout: timeout, cap: timeout + serialXfrTimeout})
		return err
	})
	return rsp, err
}
