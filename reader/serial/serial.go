package serial

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sscard/ssc/ccid"
	"github.com/sscard/ssc/reader"
)

// Config names one serial (RS-232) CCID reader of the GemPC Twin
// family, as libccidtwin's DEVICENAME does: the device path and the reader
// type.
type Config struct {
	// Path is the device ("/dev/ttyS0", "/dev/ttyUSB0", a pty).
	Path string
	// Type is "GemPCTwin" (default) or "GemPCPinPad" (with keypad).
	Type string
}

// Prefix starts the name of every serial reader: "serial:" + path.
const Prefix = "serial:"

// Serial reader types (Config.Type), compared case-insensitively as
// libccid does.
const (
	GemPCTwin   = "GemPCTwin"
	GemPCPinPad = "GemPCPinPad"
)

// ParseSpec parses "PATH[:TYPE]" (with or without the "serial:"
// prefix), e.g. "/dev/ttyUSB0:GemPCPinPad". As in libccid's DEVICENAME the
// path ends at the first ':' (a path containing ':' cannot be named). The
// type is GemPCTwin or GemPCPinPad (any case); empty means GemPCTwin.
func ParseSpec(spec string) (Config, error) {
	s := strings.TrimPrefix(spec, Prefix)
	path, typ, _ := strings.Cut(s, ":")
	if path == "" {
		return Config{}, fmt.Errorf("serial reader %q: %w: no device path", spec, reader.ErrReaderNotFound)
	}
	c := Config{Path: path, Type: GemPCTwin}
	switch {
	case typ == "" || strings.EqualFold(typ, GemPCTwin):
	case strings.EqualFold(typ, GemPCPinPad):
		c.Type = GemPCPinPad
	default:
		return Config{}, fmt.Errorf("serial reader %q: %w: type %q (want %s or %s)", spec, reader.ErrNotSupported, typ, GemPCTwin, GemPCPinPad)
	}
	return c, nil
}

// New returns the backend of the given serial readers (reader names
// "serial:" + Path). Readers are opened lazily; card presence is polled
// with GetSlotStatus (every 400 ms while watched).
//
// Behaviour worth knowing:
//
//   - One port per reader, opened on first use (ListReaders, Watch or
//     Connect) and initialised like libccid (Escape 02 firmware, Escape
//     01 01 01, GetSlotStatus); it stays open, shared by listing, watching
//     and every connection, until Close or until it fails (then it is
//     reopened on next use). Exchanges on a port are serialised.
//   - ListReaders omits a reader whose port cannot be opened or does not
//     answer (its error is returned only when no serial reader could be
//     listed, so reader.System.Find reports the cause); Watch reports it as a
//     BackendError naming the reader and adds it once it answers.
//   - Like pcscd, the backend powers a newly found card to read its ATR
//     (IccPowerOn at 5 V, then SetParameters for T=0), so ListReaders and
//     CardInserted events carry the ATR. Only T=0 is spoken (the readers'
//     TPDU level; the driver would have to build T=1 blocks itself). PPS is
//     sent only when TA1 asks for a rate the reader type supports and the
//     card is in negotiable mode; otherwise the default rate (Fi/Di 11) is
//     kept.
//   - Connections follow reader.ChipBackend: Shared/Exclusive modes, and a
//     per-reader lock held by a transaction (or briefly by a lone Transmit)
//     that other connections of this process wait for. Other processes
//     are kept off the port by TIOCEXCL (go.bug.st/serial), except root.
//   - Close of a Card leaves the card powered (PC/SC LeaveCard).
//   - Cards of GemPCPinPad readers implement PINPad with CCID Secure.
func New(configs ...Config) reader.Backend {
	return newSerialBackend(openSerialPort, configs...)
}

// serialPollInterval is how often Watch asks each reader for its slot
// status (pcscd does the same every ~400 ms).
const serialPollInterval = 400 * time.Millisecond

type serialBackend struct {
	open    func(path string) (serialPort, error)
	readers []*serialReader
	poll    time.Duration

	mu      sync.Mutex
	closed  bool
	closing chan struct{}
}

func newSerialBackend(open func(string) (serialPort, error), configs ...Config) *serialBackend {
	b := &serialBackend{open: open, poll: serialPollInterval, closing: make(chan struct{})}
	for _, c := range configs {
		if c.Type == "" || strings.EqualFold(c.Type, GemPCTwin) {
			c.Type = GemPCTwin
		} else if strings.EqualFold(c.Type, GemPCPinPad) {
			c.Type = GemPCPinPad
		}
		name := Prefix + c.Path
		if slices.ContainsFunc(b.readers, func(r *serialReader) bool { return r.name == name }) {
			continue
		}
		b.readers = append(b.readers, &serialReader{
			b:        b,
			cfg:      c,
			name:     name,
			sem:      make(chan struct{}, 1),
			released: make(chan struct{}),
		})
	}
	return b
}

// Name implements reader.Backend.
func (b *serialBackend) Name() string { return "serial" }

func (b *serialBackend) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

func (b *serialBackend) reader(op, name string) (*serialReader, error) {
	if b.isClosed() {
		return nil, &reader.Error{Op: op, Reader: name, Err: reader.ErrClosed}
	}
	for _, r := range b.readers {
		// The bare path is accepted too (sscctl --serial PATH).
		if r.name == name || r.cfg.Path == name {
			return r, nil
		}
	}
	return nil, &reader.Error{Op: op, Reader: name, Err: reader.ErrReaderNotFound}
}

// ListReaders implements reader.Backend (see New for unreachable ports).
func (b *serialBackend) ListReaders(ctx context.Context) ([]reader.Info, error) {
	const op = "list readers"
	if b.isClosed() {
		return nil, &reader.Error{Op: op, Err: reader.ErrClosed}
	}
	if ctx.Err() != nil {
		return nil, reader.ContextError(op, "", ctx)
	}
	out := []reader.Info{}
	var errs []error
	for _, r := range b.readers {
		st, err := r.refresh(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, reader.ContextError(op, "", ctx)
			}
			errs = append(errs, err)
			continue
		}
		ri := reader.Info{Name: r.name, Backend: b.Name(), CardPresent: st.present}
		if st.present {
			ri.ATR = reader.ATR(slices.Clone(st.atr))
			r.mu.Lock()
			ri.InUse = r.exclusive != nil
			r.mu.Unlock()
		}
		out = append(out, ri)
	}
	if len(out) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// Close implements reader.Backend: ports are closed (an exchange in progress
// fails), watchers end and connections fail with reader.ErrClosed.
func (b *serialBackend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.closing)
	b.mu.Unlock()
	var errs []error
	for _, r := range b.readers {
		r.mu.Lock()
		l := r.line
		r.line, r.ready = nil, false
		r.setAbsentLocked()
		r.mu.Unlock()
		if l != nil {
			errs = append(errs, l.close())
		}
	}
	return errors.Join(errs...)
}

// serialReader is one configured reader: its port (line), the card state
// learnt from the reader's answers, and the connections' locks.
type serialReader struct {
	b    *serialBackend
	cfg  Config
	name string

	// sem is the line lock (ctx-aware): one exchange at a time, and the
	// line is opened and closed under it.
	sem chan struct{}

	mu    sync.Mutex
	line  *serialLine // nil until opened, after a failure and after Close
	ready bool        // the reader answered the init on line
	// Card state, updated from every answer's bmICCStatus and from notices.
	present   bool
	powered   bool   // we powered it and it has not been seen unpowered since
	atr       []byte // of the current power-up
	insertion uint64
	resets    uint64 // counts power cycles (Reset, dispositions)
	powerErr  error  // power-up of this insertion failed (mute card)
	// Connections (as in the sim backend).
	holder    *serialCard
	released  chan struct{}
	exclusive *serialCard
	shared    int
}

// serialState is a snapshot of a reader's card state.
type serialState struct {
	present   bool
	atr       []byte
	insertion uint64
}

func (r *serialReader) stateLocked() serialState {
	return serialState{present: r.present, atr: r.atr, insertion: r.insertion}
}

// lock takes the line lock, honouring ctx and Close.
func (r *serialReader) lock(ctx context.Context, op string) error {
	select {
	case r.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return reader.ContextError(op, r.name, ctx)
	case <-r.b.closing:
		return &reader.Error{Op: op, Reader: r.name, Err: reader.ErrClosed}
	}
}

func (r *serialReader) unlock() { <-r.sem }

// setAbsentLocked forgets the card.
func (r *serialReader) setAbsentLocked() {
	if r.present || r.insertion != 0 {
		r.present, r.powered, r.atr, r.insertion, r.powerErr = false, false, nil, 0, nil
		// Wake connections waiting for a transaction of the removed card.
		close(r.released)
		r.released = make(chan struct{})
	}
}

func (r *serialReader) newInsertionLocked() {
	r.setAbsentLocked()
	r.present = true
	r.insertion = reader.NextInsertion()
}

// observe applies the bmICCStatus of an answer.
func (r *serialReader) observe(icc int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch icc {
	case ccid.ICCAbsent:
		r.setAbsentLocked()
	case ccid.ICCInactive:
		// Unpowered although we powered it: removed and inserted again
		// between two looks (libccid reads it the same way).
		if !r.present || r.powered {
			r.newInsertionLocked()
		}
	case ccid.ICCActive:
		if !r.present {
			r.newInsertionLocked()
		}
	}
}

// notice applies a 50 02 / 50 03 card movement notice.
func (r *serialReader) notice(present bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if present {
		r.newInsertionLocked()
	} else {
		r.setAbsentLocked()
	}
}

// openLocked opens and initialises the port if needed. Caller holds sem.
// A port whose reader does not answer the init stays open (and the init
// is tried again on next use): closing it would gain nothing, and a pty
// pair (socat) ends for good when an end is closed.
func (r *serialReader) openLocked(ctx context.Context, op string) (*serialLine, error) {
	r.mu.Lock()
	l, ready := r.line, r.ready
	r.mu.Unlock()
	if l != nil && ready {
		return l, nil
	}
	if r.b.isClosed() {
		return nil, &reader.Error{Op: op, Reader: r.name, Err: reader.ErrClosed}
	}
	if l == nil {
		p, err := r.b.open(r.cfg.Path)
		if err != nil {
			return nil, &reader.Error{Op: op, Reader: r.name, Err: fmt.Errorf("%w: open %s: %w", reader.ErrReaderUnavailable, r.cfg.Path, err)}
		}
		l = newSerialLine(p)
		l.notify = r.notice
		r.mu.Lock()
		if r.b.isClosed() {
			r.mu.Unlock()
			p.Close()
			return nil, &reader.Error{Op: op, Reader: r.name, Err: reader.ErrClosed}
		}
		r.line = l
		r.mu.Unlock()
	}
	if err := r.initLine(ctx, l); err != nil {
		if portFailed(err) {
			r.dropLocked(l)
		}
		if ctx.Err() != nil {
			return nil, reader.ContextError(op, r.name, ctx)
		}
		return nil, &reader.Error{Op: op, Reader: r.name, Err: fmt.Errorf("%w: reader init on %s: %w", reader.ErrReaderUnavailable, r.cfg.Path, err)}
	}
	r.mu.Lock()
	r.ready = true
	r.mu.Unlock()
	return l, nil
}

// initLine runs libccid's init: firmware (any successful answer will do),
// card movement notices in synchronous mode, slot status.
func (r *serialReader) initLine(ctx context.Context, l *serialLine) error {
	ctl := exchangeOpts{timeout: serialControlTimeout, idempotent: true}
	fw, err := l.exchange(ctx, ccid.Message{Type: ccid.Escape, Data: []byte{0x02}}, ctl)
	if err != nil {
		return err
	}
	if err := fw.Err(); err != nil {
		return &lineError{kind: reader.ErrProtocol, err: fmt.Errorf("firmware query: %w", err)}
	}
	if _, err := l.exchange(ctx, ccid.Message{Type: ccid.Escape, Data: []byte{0x01, 0x01, 0x01}}, ctl); err != nil {
		return err
	}
	// Whatever we knew is stale: a new session starts from scratch.
	r.mu.Lock()
	r.setAbsentLocked()
	r.mu.Unlock()
	st, err := l.exchange(ctx, ccid.Message{Type: ccid.GetSlotStatus}, ctl)
	if err != nil {
		return err
	}
	r.observe(st.ICCStatus())
	return nil
}

// dropLocked closes a failed line; the next use reopens it.
func (r *serialReader) dropLocked(l *serialLine) {
	r.mu.Lock()
	if r.line == l {
		r.line, r.ready = nil, false
		r.setAbsentLocked()
	}
	r.mu.Unlock()
	l.close()
}

// exchange runs one command on the (opened) line. Caller holds sem. Line
// errors become *reader.Error with the matching sentinel; a port failure closes
// the line.
func (r *serialReader) exchange(ctx context.Context, op string, m ccid.Message, o exchangeOpts) (ccid.Message, error) {
	l, err := r.openLocked(ctx, op)
	if err != nil {
		return ccid.Message{}, err
	}
	a, err := l.exchange(ctx, m, o)
	if err != nil {
		if portFailed(err) {
			r.dropLocked(l)
		}
		if ctx.Err() != nil {
			return ccid.Message{}, reader.ContextError(op, r.name, ctx)
		}
		return ccid.Message{}, &reader.Error{Op: op, Reader: r.name, Err: err}
	}
	return a, nil
}

// slotStatusLocked asks the reader for the slot status. Caller holds sem.
func (r *serialReader) slotStatusLocked(ctx context.Context, op string) error {
	a, err := r.exchange(ctx, op, ccid.Message{Type: ccid.GetSlotStatus}, exchangeOpts{timeout: serialControlTimeout, idempotent: true})
	if err != nil {
		return err
	}
	// A failed status with bError FE is "absent or mute", not an error.
	r.observe(a.ICCStatus())
	return nil
}

// refresh reads the slot status and powers a new card to learn its ATR.
func (r *serialReader) refresh(ctx context.Context) (serialState, error) {
	const op = "slot status"
	if err := r.lock(ctx, op); err != nil {
		return serialState{}, err
	}
	defer r.unlock()
	if err := r.slotStatusLocked(ctx, op); err != nil {
		return serialState{}, err
	}
	r.mu.Lock()
	need := r.present && !r.powered && r.powerErr == nil
	r.mu.Unlock()
	if need {
		if err := r.powerOnLocked(ctx, op); err != nil && (ctx.Err() != nil || portFailed(err)) {
			return serialState{}, err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stateLocked(), nil
}

// slotErr maps a failed answer to the package's sentinels.
func (r *serialReader) slotErr(op string, a ccid.Message) error {
	err := a.Err()
	if err == nil {
		return nil
	}
	var kind error
	switch {
	case a.ICCStatus() == ccid.ICCAbsent:
		kind = reader.ErrNoCard
	case a.ErrorCode() == ccid.ErrCodeICCMute, a.ErrorCode() == ccid.ErrCodeXfrParity:
		kind = reader.ErrCardUnresponsive
	case a.ErrorCode() == ccid.ErrCodeCommandNotSupported:
		kind = reader.ErrNotSupported
	default:
		kind = reader.ErrProtocol
	}
	return &reader.Error{Op: op, Reader: r.name, Err: fmt.Errorf("%w: %w", kind, err)}
}

// powerOnLocked powers the card at 5 V (the libccid default), reads the
// ATR and sets the T=0 parameters. Caller holds sem.
func (r *serialReader) powerOnLocked(ctx context.Context, op string) error {
	a, err := r.exchange(ctx, op, ccid.Message{Type: ccid.IccPowerOn, Param: [3]byte{0x01}}, exchangeOpts{timeout: serialPowerOnTimeout, cap: serialXfrCap})
	if err != nil {
		return err
	}
	if err := r.slotErr(op, a); err != nil {
		r.observe(a.ICCStatus())
		if a.ICCStatus() != ccid.ICCAbsent {
			r.mu.Lock()
			r.powerErr = err
			r.mu.Unlock()
		}
		return err
	}
	atr := slices.Clone(a.Data)
	r.mu.Lock()
	if !r.present {
		r.newInsertionLocked()
	}
	r.powered, r.atr, r.powerErr = true, atr, nil
	r.mu.Unlock()
	return r.setParamsLocked(ctx, op, atr)
}

// powerOffLocked unpowers the card. Caller holds sem.
func (r *serialReader) powerOffLocked(ctx context.Context, op string) error {
	a, err := r.exchange(ctx, op, ccid.Message{Type: ccid.IccPowerOff}, exchangeOpts{timeout: serialControlTimeout, idempotent: true})
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.powered = false
	r.mu.Unlock()
	r.observe(a.ICCStatus())
	return nil
}

// setParamsLocked sends PPS if worth it and SetParameters for T=0.
func (r *serialReader) setParamsLocked(ctx context.Context, op string, atr []byte) error {
	p := t0Params(atr, r.maxRate())
	if p.pps != nil {
		a, err := r.exchange(ctx, op, ccid.Message{Type: ccid.XfrBlock, Data: p.pps}, exchangeOpts{timeout: serialControlTimeout})
		if err != nil {
			return err
		}
		if a.Err() != nil || !slices.Equal(a.Data, p.pps) {
			// The card refused the rate: ISO 7816-3 wants a new reset,
			// after which it runs at the default rate.
			p.fidi = 0x11
			if err := r.powerCycleNoParams(ctx, op); err != nil {
				return err
			}
		}
	}
	data := []byte{p.fidi, p.tccks, p.guard, p.wi, 0x00}
	a, err := r.exchange(ctx, op, ccid.Message{Type: ccid.SetParameters, Param: [3]byte{0x00}, Data: data}, exchangeOpts{timeout: serialControlTimeout, idempotent: true})
	if err != nil {
		return err
	}
	if a.Err() == nil {
		return nil
	}
	// libccid: 00 = not supported, 1..127 = parameter not changeable;
	// both leave the reader's defaults, which work for T=0.
	if code := a.ErrorCode(); code < 0x80 {
		return nil
	}
	return r.slotErr(op, a)
}

// powerCycleNoParams resets the card after a refused PPS.
func (r *serialReader) powerCycleNoParams(ctx context.Context, op string) error {
	if err := r.powerOffLocked(ctx, op); err != nil {
		return err
	}
	a, err := r.exchange(ctx, op, ccid.Message{Type: ccid.IccPowerOn, Param: [3]byte{0x01}}, exchangeOpts{timeout: serialPowerOnTimeout, cap: serialXfrCap})
	if err != nil {
		return err
	}
	if err := r.slotErr(op, a); err != nil {
		return err
	}
	r.mu.Lock()
	r.powered, r.atr = true, slices.Clone(a.Data)
	r.mu.Unlock()
	return nil
}

// maxRate is dwMaxDataRate of the reader type (docs/serial-ccid.md §2).
func (r *serialReader) maxRate() int {
	if r.cfg.Type == GemPCPinPad {
		return 500000
	}
	return 344086
}

type t0Param struct {
	fidi, tccks, guard, wi byte
	pps                    []byte // PPS request to send, nil for none
}

// Fi and Di per ISO 7816-3 tables 7 and 8 (0 = RFU).
var (
	serialFi = [16]int{372, 372, 558, 744, 1116, 1488, 1860, 0, 0, 512, 768, 1024, 1536, 2048, 0, 0}
	serialDi = [16]int{0, 1, 2, 4, 8, 16, 32, 64, 12, 20, 0, 0, 0, 0, 0, 0}
)

// t0Params derives the T=0 SetParameters data from the ATR as libccid
// does (Fi/Di, TCCKS with the inverse-convention bit, guard time TC1, WI
// TC2 default 0A, clock stop 0) and decides on PPS: only a card in
// negotiable mode (no TA2) whose TA1 asks for a faster rate that the
// reader supports at its 4 MHz clock, and offering T=0 first.
func t0Params(atr []byte, maxRate int) t0Param {
	p := t0Param{fidi: 0x11, wi: 0x0A}
	if len(atr) < 2 {
		return p
	}
	if atr[0] == 0x3F {
		p.tccks = 0x02
	}
	// Walk the interface bytes: group i has TAi TBi TCi TDi.
	var ta1, tc1, tc2, ta2 int = -1, -1, -1, -1
	firstProto := 0
	y, i := atr[1]>>4, 2
	for g := 1; y != 0 && g <= 8; g++ {
		var td int = -1
		for bit := 0; bit < 4; bit++ {
			if y&(1<<bit) == 0 {
				continue
			}
			if i >= len(atr) {
				return p
			}
			v := int(atr[i])
			i++
			switch {
			case g == 1 && bit == 0:
				ta1 = v
			case g == 1 && bit == 2:
				tc1 = v
			case g == 2 && bit == 0:
				ta2 = v
			case g == 2 && bit == 2:
				tc2 = v
			case bit == 3:
				td = v
			}
		}
		if td < 0 {
			break
		}
		if g == 1 {
			firstProto = td & 0x0F
		}
		y = byte(td) >> 4
	}
	if tc1 >= 0 {
		p.guard = byte(tc1)
	}
	if tc2 >= 0 {
		p.wi = byte(tc2)
	}
	if ta1 < 0 || ta1 == 0x11 || firstProto != 0 {
		return p
	}
	fi, di := serialFi[ta1>>4], serialDi[ta1&0x0F]
	if fi == 0 || di == 0 {
		return p
	}
	if ta2 >= 0 {
		// Specific mode: the card already runs at TA1.
		if ta2&0x10 == 0 && 4000000*di/fi <= maxRate {
			p.fidi = byte(ta1)
		}
		return p
	}
	if rate := 4000000 * di / fi; rate > maxRate || rate <= 4000000/372 {
		return p
	}
	p.fidi = byte(ta1)
	p.pps = []byte{0xFF, 0x10, byte(ta1), 0xFF ^ 0x10 ^ byte(ta1)}
	return p
}
