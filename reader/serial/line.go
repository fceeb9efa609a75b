package serial

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sscard/ssc/ccid"
	"github.com/sscard/ssc/reader"
	goserial "go.bug.st/serial"
)

// Serial line tuning (docs/serial-ccid.md). The reader answers control
// commands within milliseconds; card commands may take longer, and a card
// that needs more time makes the reader send time requests, which extend
// the wait up to the exchange's cap.
const (
	// serialReadTimeout is the port's read timeout: how often a blocked
	// read comes back ((0, nil)) so deadlines and ctx are checked.
	serialReadTimeout = 50 * time.Millisecond
	// serialControlTimeout is the wait for the answer to Escape,
	// GetSlotStatus, IccPowerOff and SetParameters (libccid: 2-3 s).
	serialControlTimeout = 2 * time.Second
	// serialPowerOnTimeout waits for the ATR.
	serialPowerOnTimeout = 5 * time.Second
	// serialXfrTimeout is the wait for a card answer between two signs of
	// life (a time request restarts it); serialXfrCap bounds the whole
	// exchange however many time requests come.
	serialXfrTimeout = 10 * time.Second
	serialXfrCap     = 2 * time.Minute
	// serialCorruptGrace is how long we keep listening after a damaged
	// frame for a good answer (the damaged one may have been the echo or
	// noise) before giving up on the exchange.
	serialCorruptGrace = 300 * time.Millisecond
	// serialStaleWait is how long, after a timed-out exchange, the next
	// one listens for the late answer before sending.
	serialStaleWait = 300 * time.Millisecond
	// serialMaxNAK is how often a NAKed command is sent again; libccid
	// resends Escape without limit, which could loop forever.
	serialMaxNAK = 3
	// serialMaxResend is how often an idempotent command is sent again
	// after its answer was damaged.
	serialMaxResend = 2
)

// serialPort is the line under the transport: go.bug.st/serial's Port or a
// fake in tests. Read must come back with (0, nil) after a short read
// timeout when nothing arrives, and Close must unblock a pending Read.
type serialPort interface {
	io.ReadWriteCloser
}

// openSerialPort opens a real port: 115200 8N2, raw, no flow control. The
// modem lines are left alone (InitialStatusBits nil) because the ioctls
// fail on a pty; libccid also only logs that failure. Input left over from
// before is flushed, as libccid's tcflush does.
func openSerialPort(path string) (serialPort, error) {
	p, err := goserial.Open(path, &goserial.Mode{
		BaudRate: ccid.SerialBaud,
		DataBits: 8,
		Parity:   goserial.NoParity,
		StopBits: goserial.TwoStopBits,
	})
	if err != nil {
		return nil, err
	}
	if err := p.SetReadTimeout(serialReadTimeout); err != nil {
		p.Close()
		return nil, err
	}
	if err := p.ResetInputBuffer(); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// lineStats counts what the line saw; tests and diagnostics read it.
type lineStats struct {
	Exchanges    int
	NAKs         int
	Resends      int
	TimeRequests int
	TimeExts     int
	Notices      int
	BadFrames    int // LRC or framing errors
	Echoes       int
	Stale        int // answers of earlier (abandoned) exchanges skipped
}

// serialLine is the framing and exchange layer over one port. It is not
// safe for concurrent use: the owner (serialReader) serialises exchanges.
type serialLine struct {
	port serialPort
	dec  *ccid.Decoder
	seq  byte
	// ctx is the context of the exchange in progress; the decoder's reads
	// fail with its error once it is done, so a wait never outlives it by
	// more than one port read timeout.
	ctx context.Context
	// stale is set when an exchange was abandoned (cancelled or timed
	// out) before its answer: the next exchange first listens until
	// staleUntil for that answer (staleSeq) so the line is back in step.
	stale      bool
	staleSeq   byte
	staleUntil time.Time
	staleWait  time.Duration // the abandoned command's answer timeout
	// notify receives the reader's 50 02 / 50 03 card movement notices.
	notify func(present bool)
	// got counts bytes read from the port and used the bytes of the
	// frames returned, since the last send: more got than used at a
	// timeout means a frame was cut short (a lost byte).
	got, used int
	// unanswered is set when a command got no answer: what we wrote may
	// still sit in the output queue (nobody reading the other end), and
	// queued frames would pile up until Write blocks, so the queue is
	// flushed before the next command.
	unanswered bool
	stats      lineStats
	wbuf       []byte
}

func newSerialLine(p serialPort) *serialLine {
	l := &serialLine{port: p}
	l.dec = ccid.NewDecoder(lineReader{l})
	return l
}

// lineReader gives the decoder the port, checking the exchange's ctx first.
type lineReader struct{ l *serialLine }

func (r lineReader) Read(p []byte) (int, error) {
	if ctx := r.l.ctx; ctx != nil && ctx.Err() != nil {
		return 0, ctx.Err()
	}
	n, err := r.l.port.Read(p)
	r.l.got += n
	return n, err
}

// frameSize is how many line bytes f took.
func frameSize(f ccid.Frame) int {
	switch f.Kind {
	case ccid.FrameMessage:
		return len(f.Message) + 3
	case ccid.FrameNAK:
		return 3
	case ccid.FrameNotify:
		return 2
	}
	return 1
}

// exchangeOpts describe one command's wait.
type exchangeOpts struct {
	timeout time.Duration // wait for an answer (restarted by time requests)
	cap     time.Duration // overall bound, however many time requests come
	// idempotent commands are sent again when their answer was damaged;
	// others (a card command, power-on, PIN entry) are not, as the reader
	// may have executed them.
	idempotent bool
}

// errLine classifies line failures for the reader level.
type lineError struct {
	kind error // ErrTimeout, ErrProtocol, ErrReaderUnavailable or a ctx error
	err  error
}

func (e *lineError) Error() string {
	if e.err == nil {
		return e.kind.Error()
	}
	return e.err.Error()
}
func (e *lineError) Unwrap() []error { return []error{e.kind, e.err} }

func lineErr(kind error, format string, args ...any) error {
	return &lineError{kind: kind, err: fmt.Errorf(format, args...)}
}

// portFailed reports whether err means the port itself failed (the reader
// unplugged, the pty peer gone): the line must be reopened.
func portFailed(err error) bool {
	var le *lineError
	return errors.As(err, &le) && le.kind == reader.ErrReaderUnavailable
}

// answerType is the RDR_to_PC type that answers a PC_to_RDR type.
func answerType(t ccid.MessageType) ccid.MessageType {
	switch t {
	case ccid.IccPowerOn, ccid.XfrBlock, ccid.Secure:
		return ccid.DataBlock
	case ccid.IccPowerOff, ccid.GetSlotStatus, ccid.Abort:
		return ccid.SlotStatus
	case ccid.GetParameters, ccid.SetParameters:
		return ccid.Parameters
	case ccid.Escape:
		return ccid.EscapeResponse
	}
	return 0
}

// isCommandType reports a PC_to_RDR message type: on the line that is the
// reader's echo of our command (Twin and PinPad echo every command, real
// ones in full, emulators often as a bare header).
func isCommandType(t byte) bool { return t >= 0x60 && t < 0x80 }

// exchange sends m (its Seq is set here) and returns the reader's answer.
// Echoes, time requests, notices and answers of abandoned exchanges are
// skipped; a NAK makes it send again (serialMaxNAK times). Errors are
// *lineError; a failed command status in the answer is not an error here
// (see ccid.Message.Err).
func (l *serialLine) exchange(ctx context.Context, m ccid.Message, o exchangeOpts) (ccid.Message, error) {
	if ctx.Err() != nil {
		// Not sent: nothing to wait for.
		return ccid.Message{}, &lineError{kind: ctx.Err(), err: ctx.Err()}
	}
	l.ctx = ctx
	defer func() { l.ctx = nil }()
	if err := l.settle(ctx); err != nil {
		return ccid.Message{}, err
	}
	want := answerType(m.Type)
	m.Seq = l.seq
	l.seq++
	raw, err := m.AppendBinary(nil)
	if err != nil {
		return ccid.Message{}, lineErr(reader.ErrInvalidCommand, "encode %02X: %w", byte(m.Type), err)
	}
	if len(raw) > ccid.MaxSerialMessage {
		return ccid.Message{}, lineErr(reader.ErrInvalidCommand, "message of %d bytes exceeds the reader's %d", len(raw), ccid.MaxSerialMessage)
	}
	l.wbuf = ccid.AppendFrame(l.wbuf[:0], raw)
	l.stats.Exchanges++
	naks, resends := 0, 0
send:
	if err := l.write(l.wbuf); err != nil {
		return ccid.Message{}, err
	}
	l.got, l.used = 0, 0
	start := time.Now()
	deadline, hardCap := start.Add(o.timeout), start.Add(max(o.cap, o.timeout))
	corrupted := false
	for {
		f, err := l.dec.Next(deadline)
		now := time.Now()
		switch {
		case err == nil:
		case ctx.Err() != nil:
			// The reader may still answer: skip that answer before the
			// next command.
			l.abandon(m.Seq, now.Add(o.timeout), o.timeout)
			return ccid.Message{}, &lineError{kind: ctx.Err(), err: ctx.Err()}
		case errors.Is(err, ccid.ErrTimeout):
			if corrupted || l.got > l.used {
				l.dec.Discard()
				if o.idempotent && resends < serialMaxResend {
					resends++
					l.stats.Resends++
					goto send
				}
				l.abandon(m.Seq, now.Add(serialStaleWait), o.timeout)
				return ccid.Message{}, lineErr(reader.ErrProtocol, "answer to %02X damaged on the line", byte(m.Type))
			}
			l.abandon(m.Seq, now.Add(serialStaleWait), o.timeout)
			l.unanswered = true
			return ccid.Message{}, lineErr(reader.ErrTimeout, "no answer to %02X within %v: %w", byte(m.Type), now.Sub(start).Round(time.Millisecond), err)
		case errors.Is(err, ccid.ErrLRC), errors.Is(err, ccid.ErrFraming), errors.Is(err, ccid.ErrMalformed):
			l.stats.BadFrames++
			corrupted = true
			deadline = serialEarlier(deadline, now.Add(serialCorruptGrace))
			continue
		default:
			return ccid.Message{}, lineErr(reader.ErrReaderUnavailable, "read: %w", err)
		}
		l.used += frameSize(f)
		switch f.Kind {
		case ccid.FrameTimeRequest:
			l.stats.TimeRequests++
			deadline = serialEarlier(serialLater(deadline, now.Add(o.timeout)), hardCap)
		case ccid.FrameNotify:
			l.stats.Notices++
			if l.notify != nil {
				l.notify(f.Present)
			}
		case ccid.FrameNAK:
			l.stats.NAKs++
			naks++
			if naks > serialMaxNAK {
				return ccid.Message{}, lineErr(reader.ErrProtocol, "command %02X refused (NAK) %d times", byte(m.Type), naks)
			}
			l.dec.Discard()
			goto send
		case ccid.FrameMessage:
			if len(f.Message) == 0 {
				continue
			}
			if isCommandType(f.Message[0]) {
				l.stats.Echoes++
				continue
			}
			a, err := ccid.ParseMessage(f.Message)
			if err != nil {
				l.stats.BadFrames++
				corrupted = true
				deadline = serialEarlier(deadline, now.Add(serialCorruptGrace))
				continue
			}
			if a.Seq != m.Seq || a.Type != want {
				l.stats.Stale++
				continue
			}
			if a.CommandStatus() == ccid.CommandTimeExtension {
				l.stats.TimeExts++
				mult := time.Duration(max(a.ErrorCode(), 1))
				deadline = serialEarlier(serialLater(deadline, now.Add(o.timeout*mult)), hardCap)
				continue
			}
			return a, nil
		}
	}
}

// abandon notes that the answer to seq may still come: until then, or
// longer while the reader sends time requests for it.
func (l *serialLine) abandon(seq byte, until time.Time, wait time.Duration) {
	l.stale, l.staleSeq, l.staleUntil, l.staleWait = true, seq, until, wait
}

// settle waits (bounded by staleUntil and ctx) for the answer of an
// abandoned exchange, dropping everything until then, so the next answer
// read is ours. Without it a late answer would be taken for the next one
// (libccid has exactly that problem: "Got 0x00" after a failure).
func (l *serialLine) settle(ctx context.Context) error {
	for l.stale {
		f, err := l.dec.Next(l.staleUntil)
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return &lineError{kind: ctx.Err(), err: ctx.Err()}
		case errors.Is(err, ccid.ErrTimeout):
			l.stale = false
		case errors.Is(err, ccid.ErrLRC), errors.Is(err, ccid.ErrFraming), errors.Is(err, ccid.ErrMalformed):
			l.stats.BadFrames++
			continue
		default:
			return lineErr(reader.ErrReaderUnavailable, "read: %w", err)
		}
		if !l.stale {
			break
		}
		switch f.Kind {
		case ccid.FrameTimeRequest:
			// The abandoned command is still running; bounded by the
			// caller's ctx.
			l.staleUntil = serialLater(l.staleUntil, time.Now().Add(l.staleWait))
		case ccid.FrameNotify:
			if l.notify != nil {
				l.notify(f.Present)
			}
		case ccid.FrameMessage:
			if len(f.Message) > ccid.HeaderSize-1 && !isCommandType(f.Message[0]) {
				l.stats.Stale++
				a, err := ccid.ParseMessage(f.Message)
				if err == nil && a.Seq == l.staleSeq && a.CommandStatus() != ccid.CommandTimeExtension {
					l.stale = false
				}
			}
		}
	}
	l.dec.Discard()
	return nil
}

// write sends b whole; a port that accepts nothing is an error, not a spin.
func (l *serialLine) write(b []byte) error {
	if l.unanswered {
		l.unanswered = false
		if f, ok := l.port.(interface{ ResetOutputBuffer() error }); ok {
			// Best effort: a port that cannot flush still works.
			_ = f.ResetOutputBuffer()
		}
	}
	for len(b) > 0 {
		n, err := l.port.Write(b)
		if err != nil {
			return lineErr(reader.ErrReaderUnavailable, "write: %w", err)
		}
		if n <= 0 {
			return lineErr(reader.ErrReaderUnavailable, "write: %w", io.ErrShortWrite)
		}
		b = b[n:]
	}
	return nil
}

func (l *serialLine) close() error { return l.port.Close() }

func serialEarlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func serialLater(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
