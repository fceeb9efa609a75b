package serial

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sscard/ssc/ccid"
)

// An in-memory serial line for the transport's unit tests: fakePort is the
// host end (a serialPort that, like go.bug.st/serial, returns (0, nil) when
// its short read timeout expires), fakeDev a scriptable reader on the
// other end that can misbehave in the ways a real line does.

var errFakeClosed = errors.New("fake port closed")

// byteQueue is one direction of the line.
type byteQueue struct {
	mu     sync.Mutex
	buf    []byte
	closed bool
	signal chan struct{}
}

func newByteQueue() *byteQueue { return &byteQueue{signal: make(chan struct{}, 1)} }

func (q *byteQueue) write(b []byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return errFakeClosed
	}
	q.buf = append(q.buf, b...)
	select {
	case q.signal <- struct{}{}:
	default:
	}
	return nil
}

// read waits up to timeout for bytes: (0, nil) when none came.
func (q *byteQueue) read(p []byte, timeout time.Duration) (int, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		q.mu.Lock()
		if len(q.buf) > 0 {
			n := copy(p, q.buf)
			q.buf = q.buf[n:]
			q.mu.Unlock()
			return n, nil
		}
		if q.closed {
			q.mu.Unlock()
			return 0, errFakeClosed
		}
		q.mu.Unlock()
		select {
		case <-q.signal:
		case <-t.C:
			return 0, nil
		}
	}
}

func (q *byteQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// fakePort is the host end.
type fakePort struct {
	rx, tx *byteQueue // device→host, host→device
	// trickle makes every other Read return (0, nil) at once and the
	// others at most one byte, as a slow line with a short read timeout.
	trickle atomic.Bool
	odd     atomic.Bool
}

func (p *fakePort) Read(b []byte) (int, error) {
	if p.trickle.Load() {
		if !p.odd.Swap(!p.odd.Load()) {
			return 0, nil
		}
		b = b[:min(len(b), 1)]
	}
	return p.rx.read(b, 5*time.Millisecond)
}
func (p *fakePort) Write(b []byte) (int, error) { return len(b), p.tx.write(b) }
func (p *fakePort) Close() error {
	p.rx.close()
	p.tx.close()
	return nil
}

// devFault says how the device misbehaves for one command.
type devFault struct {
	nak      bool          // answer NAK instead (the host must resend)
	noise    []byte        // junk before the echo
	notice   []byte        // 50 xx bytes before the echo
	noEcho   bool          // no echo frame
	fullEcho bool          // echo the whole command (as real Twins may)
	badEcho  bool          // echo with a wrong LRC
	badLRC   bool          // the answer's LRC is wrong
	dropByte int           // drop the answer frame's byte at this index (> 0)
	timeReqs int           // time request bytes (80) before the answer ...
	gap      time.Duration // ... each after this pause
	timeExt  bool          // a CCID time-extension answer first
	stale    bool          // an answer with another bSeq first
	delay    time.Duration // before answering
	silent   bool          // no answer at all (echo only)
	code     byte          // fail the command with this bError (Secure: EF, F0)
}

// fakeDev is a scriptable serial GemPC reader with a trivial card.
type fakeDev struct {
	port *fakePort

	mu      sync.Mutex
	present bool
	powered bool
	atr     []byte
	cmds    []ccid.Message // received commands
	// fault, if set, is asked for every command (n counts from 0).
	fault func(n int, m ccid.Message) devFault
	done  chan struct{}
}

var fakeATR = []byte{0x3B, 0x02, 0x14, 0x50}

// newFakeLine starts a device with a card inserted; it stops when the
// port is closed.
func newFakeLine(t testing.TB) (*fakePort, *fakeDev) {
	t.Helper()
	p := &fakePort{rx: newByteQueue(), tx: newByteQueue()}
	d := &fakeDev{port: p, present: true, atr: fakeATR, done: make(chan struct{})}
	go d.serve()
	t.Cleanup(func() {
		p.Close()
		<-d.done
	})
	return p, d
}

func (d *fakeDev) setFault(f func(n int, m ccid.Message) devFault) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fault = f
}

// faultOn applies f to the commands of type t only.
func faultOn(t ccid.MessageType, f devFault) func(int, ccid.Message) devFault {
	return func(_ int, m ccid.Message) devFault {
		if m.Type == t {
			return f
		}
		return devFault{}
	}
}

// faultOnce applies f to the first command of type t only.
func faultOnce(t ccid.MessageType, f devFault) func(int, ccid.Message) devFault {
	done := false
	return func(_ int, m ccid.Message) devFault {
		if m.Type == t && !done {
			done = true
			return f
		}
		return devFault{}
	}
}

func (d *fakeDev) setPresent(present bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.present, d.powered = present, false
}

func (d *fakeDev) commands() []ccid.Message {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.cmds)
}

func (d *fakeDev) count(t ccid.MessageType) int {
	n := 0
	for _, m := range d.commands() {
		if m.Type == t {
			n++
		}
	}
	return n
}

type devReader struct{ q *byteQueue }

func (r devReader) Read(p []byte) (int, error) { return r.q.read(p, 5*time.Millisecond) }

func (d *fakeDev) serve() {
	defer close(d.done)
	dec := ccid.NewDecoder(devReader{d.port.tx})
	for {
		f, err := dec.Next(time.Now().Add(50 * time.Millisecond))
		switch {
		case err == nil:
		case errors.Is(err, ccid.ErrTimeout):
			continue
		case errors.Is(err, ccid.ErrMalformed):
			dec.Discard()
			d.port.rx.write(ccid.NAKFrame())
			continue
		default:
			return
		}
		if f.Kind != ccid.FrameMessage {
			continue
		}
		m, err := ccid.ParseMessage(f.Message)
		if err != nil {
			continue
		}
		d.mu.Lock()
		n := len(d.cmds)
		d.cmds = append(d.cmds, m)
		var fl devFault
		if d.fault != nil {
			fl = d.fault(n, m)
		}
		d.mu.Unlock()
		d.handle(m, fl)
	}
}

func frameOf(m ccid.Message) []byte {
	raw, _ := m.AppendBinary(nil)
	return ccid.AppendFrame(nil, raw)
}

func (d *fakeDev) send(b []byte) { d.port.rx.write(b) }

func (d *fakeDev) handle(m ccid.Message, fl devFault) {
	if fl.nak {
		d.send(ccid.NAKFrame())
		return
	}
	d.send(fl.noise)
	d.send(fl.notice)
	if !fl.noEcho {
		e := ccid.Message{Type: m.Type, Slot: m.Slot, Seq: m.Seq, Param: m.Param}
		if fl.fullEcho {
			e.Data = m.Data
		}
		b := frameOf(e)
		if fl.badEcho {
			b[len(b)-1] ^= 0x55
		}
		d.send(b)
	}
	if fl.delay > 0 {
		time.Sleep(fl.delay)
	}
	for range fl.timeReqs {
		time.Sleep(fl.gap)
		d.send([]byte{0x80})
	}
	if fl.silent {
		return
	}
	if fl.timeExt {
		d.send(frameOf(ccid.Message{Type: answerType(m.Type), Seq: m.Seq, Param: [3]byte{0x80, 1}}))
	}
	a := d.answer(m, fl)
	a.Slot, a.Seq = m.Slot, m.Seq
	if fl.stale {
		s := a
		s.Seq--
		d.send(frameOf(s))
	}
	b := frameOf(a)
	if fl.badLRC {
		b[len(b)-1] ^= 0x55
	}
	if fl.dropByte > 0 && fl.dropByte < len(b) {
		b = append(b[:fl.dropByte:fl.dropByte], b[fl.dropByte+1:]...)
	}
	d.send(b)
}

func (d *fakeDev) answer(m ccid.Message, fl devFault) ccid.Message {
	d.mu.Lock()
	defer d.mu.Unlock()
	icc := ccid.ICCAbsent
	if d.present {
		icc = ccid.ICCInactive
		if d.powered {
			icc = ccid.ICCActive
		}
	}
	fail := func(code byte) ccid.Message {
		return ccid.Message{Type: answerType(m.Type), Param: [3]byte{byte(icc) | 0x40, code}}
	}
	if fl.code != 0 {
		return fail(fl.code)
	}
	ok := func(data []byte) ccid.Message {
		return ccid.Message{Type: answerType(m.Type), Param: [3]byte{byte(icc)}, Data: data}
	}
	switch m.Type {
	case ccid.Escape:
		if bytes.Equal(m.Data, []byte{0x02}) {
			return ok([]byte("fake GemPC"))
		}
		return ok(nil)
	case ccid.GetSlotStatus:
		if !d.present {
			return fail(ccid.ErrCodeICCMute)
		}
		return ok(nil)
	case ccid.IccPowerOn:
		if !d.present {
			return fail(ccid.ErrCodeICCMute)
		}
		d.powered, icc = true, ccid.ICCActive
		return ok(d.atr)
	case ccid.IccPowerOff:
		d.powered = false
		if d.present {
			icc = ccid.ICCInactive
		}
		return ok(nil)
	case ccid.SetParameters:
		return ok(m.Data)
	case ccid.XfrBlock, ccid.Secure:
		if !d.present || !d.powered {
			return fail(ccid.ErrCodeICCMute)
		}
		if m.Type == ccid.XfrBlock && len(m.Data) > 0 && m.Data[0] == 0xFF {
			return ok(m.Data) // PPS
		}
		if m.Type == ccid.XfrBlock && len(m.Data) == 5 && m.Data[1] == 0x84 {
			return ok(append(bytes.Repeat([]byte{0xA5}, int(m.Data[4])), 0x90, 0x00))
		}
		return ok([]byte{0x90, 0x00})
	}
	return fail(ccid.ErrCodeCommandNotSupported)
}

// fakeBackend is a serial backend whose one reader ("serial:/dev/fake",
// of type typ) is a fake device.
func fakeBackend(t testing.TB, typ string) (*serialBackend, *fakeDev) {
	t.Helper()
	p, d := newFakeLine(t)
	opened := false
	var mu sync.Mutex
	b := newSerialBackend(func(string) (serialPort, error) {
		mu.Lock()
		defer mu.Unlock()
		if opened {
			return nil, errors.New("fake port already used")
		}
		opened = true
		return p, nil
	}, Config{Path: "/dev/fake", Type: typ})
	b.poll = 20 * time.Millisecond
	t.Cleanup(func() { b.Close() })
	return b, d
}

// testCtx bounds a test: nothing may hang.
func testCtx(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
