// Package gempc emulates a Gemalto GemPC Twin or GemPC PinPad serial smart
// card reader hosting a software card (sim.Chip), on one end of a serial
// line — in tests, one end of a socat pty pair whose other end pcscd's
// libccidtwin driver (or the serial backend of package reader) opens as if
// it were /dev/ttyS0.
//
// It speaks the serial CCID framing of docs/serial-ccid.md (package ccid):
// every command frame 03 06 <CCID message> LRC is answered by a short echo
// (the command's header with dwLength 0) and then the answer; a frame with
// a bad checksum or garbage on the line gets a NAK (03 15 16). The card is
// a T=0 card at the TPDU level: an XfrBlock carries the TPDU to
// chip.Transmit unchanged and the chip's response (data and SW, or the T=0
// 61xx / 6Cxx procedure answers of a contact sim.Card) comes back in a
// DataBlock. The PinPad personality also answers PC_to_RDR_Secure (PIN
// verification and change on the keypad), taking the digits from a Keypad.
//
// The reader must be serving before pcscd starts: libccidtwin gives up on
// a reader that does not answer its initialisation and pcscd never retries.
package gempc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sscard/ssc/ccid"
	"github.com/sscard/ssc/sim"
)

// Type is the reader personality, named as in libccidtwin's DEVICENAME
// (/dev/ttyS0:GemPCPinPad).
type Type string

// Reader personalities.
const (
	GemPCTwin   Type = "GemPCTwin"   // no keypad
	GemPCPinPad Type = "GemPCPinPad" // keypad: PC_to_RDR_Secure
)

// Default firmware strings (answers to Escape 02; the driver only logs them).
const (
	DefaultTwinFirmware   = "GemTwRC2-V2.00-GL04 (sscard emulator)"
	DefaultPinPadFirmware = "GemPPRC2-V1.10-GL03 (sscard emulator)"
)

// Options tune a Reader.
type Options struct {
	// Firmware is the answer to Escape 02 (default by type).
	Firmware string
	// Keypad supplies the PINs of Secure commands (PinPad only); nil
	// answers every entry with a timeout. See also SetKeypad.
	Keypad Keypad
	// CardDelay makes every card command (XfrBlock, the APDU of a Secure)
	// take this long; meanwhile the reader sends a T=0 time request (one
	// byte 80) every TimeRequestInterval, as a real reader does for a slow
	// card. See also SetCardDelay.
	CardDelay time.Duration
	// TimeRequestInterval defaults to 500 ms.
	TimeRequestInterval time.Duration
	// Logf, if set, receives a line per event worth noting (card moves,
	// NAKs, unknown commands, PIN entries); not every frame.
	Logf func(format string, args ...any)
}

// Reader is an emulated serial GemPC reader with one slot. Insert, Remove,
// SetKeypad and SetCardDelay may be called from any goroutine while Serve
// runs.
type Reader struct {
	typ  Type
	opts Options

	mu      sync.Mutex
	chip    sim.Chip
	powered bool
	keypad  Keypad
	delay   time.Duration

	serving atomic.Bool
	stats   statsCounters
}

// New returns a reader of the given type with an empty slot. An unknown
// type behaves as GemPCTwin, as in libccidtwin.
func New(typ Type, opts Options) *Reader {
	if typ != GemPCPinPad {
		typ = GemPCTwin
	}
	if opts.Firmware == "" {
		opts.Firmware = DefaultTwinFirmware
		if typ == GemPCPinPad {
			opts.Firmware = DefaultPinPadFirmware
		}
	}
	if opts.TimeRequestInterval <= 0 {
		opts.TimeRequestInterval = 500 * time.Millisecond
	}
	return &Reader{typ: typ, opts: opts, keypad: opts.Keypad, delay: opts.CardDelay}
}

// Type returns the personality.
func (r *Reader) Type() Type { return r.typ }

// Insert puts chip in the slot (replacing any card), unpowered: the host
// sees a present, inactive card at its next GetSlotStatus.
func (r *Reader) Insert(chip sim.Chip) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.chip = chip
	r.powered = false
	r.logf("gempc: card inserted")
}

// Remove takes the card out of the slot.
func (r *Reader) Remove() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.chip != nil && r.powered {
		r.chip.PowerOff()
	}
	r.chip = nil
	r.powered = false
	r.logf("gempc: card removed")
}

// SetKeypad replaces the keypad used by the next Secure command.
func (r *Reader) SetKeypad(k Keypad) {
	r.mu.Lock()
	r.keypad = k
	r.mu.Unlock()
}

// SetCardDelay sets Options.CardDelay for the next card commands.
func (r *Reader) SetCardDelay(d time.Duration) {
	r.mu.Lock()
	r.delay = d
	r.mu.Unlock()
}

// Stats counts what the reader has seen since New.
type Stats struct {
	Commands     int // frames decoded and answered
	NAKs         int // NAKs sent (bad checksum, garbage)
	TimeRequests int // 80 bytes sent
	Secure       int // Secure commands (PIN entries)
}

type statsCounters struct {
	commands, naks, timeRequests, secure atomic.Int64
}

// Stats returns the counters.
func (r *Reader) Stats() Stats {
	return Stats{
		Commands:     int(r.stats.commands.Load()),
		NAKs:         int(r.stats.naks.Load()),
		TimeRequests: int(r.stats.timeRequests.Load()),
		Secure:       int(r.stats.secure.Load()),
	}
}

func (r *Reader) logf(format string, args ...any) {
	if r.opts.Logf != nil {
		r.opts.Logf(format, args...)
	}
}

// ErrServing is returned by Serve when the reader already serves a line.
var ErrServing = errors.New("gempc: reader already serving a line")

// Serve answers the host on port until ctx is done (it returns nil then,
// within about 50 ms, unless a keypad entry is in progress: the keypad gets
// ctx too) or the line fails (a read or write error, e.g. the other end
// of a pty pair gone: an error wrapping it). It does not close port. One
// Serve at a time per Reader.
//
// port may be a serial.Port (OpenPort; its read timeout is set), something
// with read deadlines (net.Conn), or any io.ReadWriter (read in a
// goroutine that stays blocked until the port returns from Read).
func (r *Reader) Serve(ctx context.Context, port io.ReadWriter) error {
	if !r.serving.CompareAndSwap(false, true) {
		return ErrServing
	}
	defer r.serving.Store(false)
	src, stop, err := pollingReader(port)
	if err != nil {
		return err
	}
	defer stop()
	lr := &lastReadReader{r: src}
	s := &session{r: r, w: port, dec: ccid.NewDecoder(lr)}
	// One NAK per burst of garbage, not one per byte: the burst ends with
	// a good frame or a quiet line.
	nakked := false
	garbage := func(why string, err error) error {
		s.dec.Discard()
		if nakked {
			return nil
		}
		nakked = true
		r.logf("gempc: %s (%v): NAK", why, err)
		return s.nak()
	}
	for {
		if ctx.Err() != nil {
			return nil
		}
		f, err := s.dec.Next(time.Now().Add(pollInterval))
		switch {
		case err == nil:
		case errors.Is(err, ccid.ErrTimeout):
			nakked = false
			if time.Since(lr.last) >= interByteTimeout {
				// Inter-character timeout: a frame cut short is dropped
				// (the driver writes each frame at once) so it cannot
				// swallow the start of the next one.
				s.dec.Discard()
			}
			continue
		case errors.Is(err, ccid.ErrFraming), errors.Is(err, ccid.ErrLRC):
			if err := garbage("bad frame", err); err != nil {
				return err
			}
			continue
		default:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("gempc: read: %w", err)
		}
		if f.Kind != ccid.FrameMessage {
			// The host sends only command frames: a NAK, a time request or
			// a card notice from it is noise.
			if err := garbage("not a command frame", fmt.Errorf("frame kind %d", f.Kind)); err != nil {
				return err
			}
			continue
		}
		m, err := ccid.ParseMessage(f.Message)
		if err != nil {
			if err := garbage("bad message", err); err != nil {
				return err
			}
			continue
		}
		nakked = false
		r.stats.commands.Add(1)
		if err := s.handle(ctx, m); err != nil {
			return err
		}
	}
}

// interByteTimeout is the longest pause inside a frame.
const interByteTimeout = 100 * time.Millisecond

// lastReadReader records when data last arrived.
type lastReadReader struct {
	r    io.Reader
	last time.Time
}

func (l *lastReadReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if n > 0 {
		l.last = time.Now()
	}
	return n, err
}

// session is the state of one Serve.
type session struct {
	r   *Reader
	w   io.Writer
	dec *ccid.Decoder
	out []byte
	// echoed: the echo of the command in progress is already on the line
	// (sent before time requests).
	echoed bool
}

func (s *session) write(b []byte) error {
	for len(b) > 0 {
		n, err := s.w.Write(b)
		if err != nil {
			return fmt.Errorf("gempc: write: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("gempc: write: %w", io.ErrShortWrite)
		}
		b = b[n:]
	}
	return nil
}

func (s *session) nak() error {
	s.r.stats.naks.Add(1)
	return s.write(ccid.NAKFrame())
}

// appendFrame appends the serial frame of m.
func appendFrame(dst []byte, m ccid.Message) ([]byte, error) {
	var scratch [ccid.HeaderSize + 300]byte
	msg, err := m.AppendBinary(scratch[:0])
	if err != nil {
		return dst, fmt.Errorf("gempc: encode answer: %w", err)
	}
	return ccid.AppendFrame(dst, msg), nil
}

// echo is what a GemPC sends back first: the command's header with
// dwLength 0. A full echo of a long command overflows libccidtwin's reply
// buffer (the PinPad's 165-byte l10n Escape against a 20-byte buffer).
func echo(m ccid.Message) ccid.Message {
	return ccid.Message{Type: m.Type, Slot: m.Slot, Seq: m.Seq, Param: m.Param}
}

// reply sends the echo of cmd (unless already sent) and then ans, with
// cmd's bSlot and bSeq, in one write: the driver keeps what follows the
// echo for the same read.
func (s *session) reply(cmd, ans ccid.Message) error {
	ans.Slot, ans.Seq = cmd.Slot, cmd.Seq
	var err error
	out := s.out[:0]
	if !s.echoed {
		if out, err = appendFrame(out, echo(cmd)); err != nil {
			return err
		}
	}
	s.echoed = false
	if out, err = appendFrame(out, ans); err != nil {
		return err
	}
	s.out = out
	return s.write(out)
}

// status is bStatus: bmICCStatus | bmCommandStatus << 6.
func status(icc, cmd int) byte { return byte(icc) | byte(cmd)<<6 }

// iccStatusLocked is bmICCStatus of the slot.
func (r *Reader) iccStatusLocked() int {
	switch {
	case r.chip == nil:
		return ccid.ICCAbsent
	case r.powered:
		return ccid.ICCActive
	}
	return ccid.ICCInactive
}

func (r *Reader) iccStatus() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.iccStatusLocked()
}

// failed is an answer of type t with bmCommandStatus "failed" and bError code.
func failed(t ccid.MessageType, icc int, code byte) ccid.Message {
	return ccid.Message{Type: t, Param: [3]byte{status(icc, ccid.CommandFailed), code, 0}}
}

// answerType is the RDR_to_PC type answering a command (SlotStatus for
// unknown commands, as readers do).
func answerType(t ccid.MessageType) ccid.MessageType {
	switch t {
	case ccid.IccPowerOn, ccid.XfrBlock, ccid.Secure:
		return ccid.DataBlock
	case ccid.SetParameters, ccid.GetParameters:
		return ccid.Parameters
	case ccid.Escape:
		return ccid.EscapeResponse
	}
	return ccid.SlotStatus
}

// errCodeBadSlot is bError 5: the offending field is bSlot.
const errCodeBadSlot = 0x05

func (s *session) handle(ctx context.Context, m ccid.Message) error {
	r := s.r
	if m.Slot != 0 {
		// A Twin or PinPad has one slot.
		return s.reply(m, failed(answerType(m.Type), ccid.ICCAbsent, errCodeBadSlot))
	}
	switch m.Type {
	case ccid.GetSlotStatus:
		// Polled every 400 ms with a 100 ms timeout during init: nothing
		// slow here.
		r.mu.Lock()
		icc := r.iccStatusLocked()
		r.mu.Unlock()
		return s.reply(m, ccid.Message{Type: ccid.SlotStatus, Param: [3]byte{status(icc, ccid.CommandOK), 0, 0}})

	case ccid.IccPowerOn:
		// bPowerSelect is ignored: the software card runs at any voltage.
		r.mu.Lock()
		chip := r.chip
		if chip == nil {
			r.mu.Unlock()
			return s.reply(m, failed(ccid.DataBlock, ccid.ICCAbsent, ccid.ErrCodeICCMute))
		}
		chip.PowerOn()
		r.powered = true
		atr := chip.ATR()
		r.mu.Unlock()
		return s.reply(m, ccid.Message{Type: ccid.DataBlock, Data: atr})

	case ccid.IccPowerOff:
		// libccidtwin sends two in a row for one power down: both answered.
		r.mu.Lock()
		if r.chip != nil && r.powered {
			r.chip.PowerOff()
		}
		r.powered = false
		icc := r.iccStatusLocked()
		r.mu.Unlock()
		return s.reply(m, ccid.Message{Type: ccid.SlotStatus, Param: [3]byte{status(icc, ccid.CommandOK), 0, 0}})

	case ccid.SetParameters:
		icc := r.iccStatus()
		if icc == ccid.ICCAbsent {
			return s.reply(m, failed(ccid.Parameters, icc, ccid.ErrCodeICCMute))
		}
		// Any parameters are fine for a software card: echo them, with
		// bProtocolNum in byte 9.
		return s.reply(m, ccid.Message{Type: ccid.Parameters, Param: [3]byte{status(icc, ccid.CommandOK), 0, m.Param[0]},
			Data: m.Data})

	case ccid.GetParameters:
		icc := r.iccStatus()
		if icc == ccid.ICCAbsent {
			return s.reply(m, failed(ccid.Parameters, icc, ccid.ErrCodeICCMute))
		}
		// T=0 defaults: Fi/Di 11, direct convention, TC1 0, WI 0A, clock
		// stop not allowed.
		return s.reply(m, ccid.Message{Type: ccid.Parameters, Param: [3]byte{status(icc, ccid.CommandOK), 0, 0},
			Data: []byte{0x11, 0x00, 0x00, 0x0A, 0x00}})

	case ccid.XfrBlock:
		return s.xfrBlock(ctx, m)

	case ccid.Escape:
		return s.escape(m)

	case ccid.Secure:
		if r.typ != GemPCPinPad {
			return s.reply(m, failed(ccid.DataBlock, r.iccStatus(), ccid.ErrCodeCommandNotSupported))
		}
		return s.secure(ctx, m)

	case ccid.Abort:
		return s.reply(m, ccid.Message{Type: ccid.SlotStatus, Param: [3]byte{status(r.iccStatus(), ccid.CommandOK), 0, 0}})
	}
	// Unknown command: "command not supported" (CCID §6.1).
	r.logf("gempc: unsupported command 0x%02X", byte(m.Type))
	return s.reply(m, failed(answerType(m.Type), r.iccStatus(), ccid.ErrCodeCommandNotSupported))
}

// Escape commands of libccidtwin (docs/serial-ccid.md §3).
const (
	escFirmware         = 0x02 // get firmware string
	escFirmwareSEC1210  = 0x06
	escNotify           = 0x01 // 01 01 01: card movement notification mode
	escL10n             = 0xB2 // B2 A0 00 4D 4C + prompts: load l10n strings (PinPad)
	escFirmwareFeatures = 0x6A // GET_FIRMWARE_FEATURES: optional
	escShortAPDU        = 0x1F // 1F 02: switch to short APDU mode (Twin, optional)
	escPINRetries       = 0xB5 // B5 00: disable PIN retries (PinPad, optional)
)

func (s *session) escape(m ccid.Message) error {
	ok := ccid.Message{Type: ccid.EscapeResponse, Param: [3]byte{status(s.r.iccStatus(), ccid.CommandOK), 0, 0}}
	notSupported := failed(ccid.EscapeResponse, s.r.iccStatus(), ccid.ErrCodeCommandNotSupported)
	if len(m.Data) == 0 {
		return s.reply(m, notSupported)
	}
	switch m.Data[0] {
	case escFirmware, escFirmwareSEC1210:
		ok.Data = []byte(s.r.opts.Firmware)
		return s.reply(m, ok)
	case escNotify, escShortAPDU:
		return s.reply(m, ok)
	case escL10n, escPINRetries:
		if s.r.typ == GemPCPinPad {
			return s.reply(m, ok)
		}
	case escFirmwareFeatures:
		// Optional (the driver "may fail" it): not offering the 21-byte
		// features keeps the driver's defaults.
	}
	s.r.logf("gempc: escape % X: not supported", m.Data[:min(len(m.Data), 8)])
	return s.reply(m, notSupported)
}

// xfrBlock passes a T=0 TPDU to the card.
func (s *session) xfrBlock(ctx context.Context, m ccid.Message) error {
	r := s.r
	r.mu.Lock()
	chip, icc, delay := r.chip, r.iccStatusLocked(), r.delay
	r.mu.Unlock()
	switch {
	case icc == ccid.ICCAbsent:
		return s.reply(m, failed(ccid.DataBlock, icc, ccid.ErrCodeICCMute))
	case icc == ccid.ICCInactive:
		return s.reply(m, failed(ccid.DataBlock, icc, ccid.ErrCodeICCMute))
	case len(m.Data) < 4:
		// bError 1: the offending field is dwLength.
		return s.reply(m, failed(ccid.DataBlock, icc, 0x01))
	case m.Data[0] == 0xFF:
		// A PPS request (ISO 7816-3 §9): the card accepts what is asked
		// by echoing it.
		return s.reply(m, ccid.Message{Type: ccid.DataBlock, Data: m.Data})
	}
	resp, err := s.toCard(ctx, m, chip, delay, m.Data)
	if err != nil {
		return err
	}
	return s.reply(m, ccid.Message{Type: ccid.DataBlock, Data: resp})
}

// toCard sends cmd to chip. With a card delay it first writes the echo of
// m and then time requests while the card "works" (reply then sends only
// the answer).
func (s *session) toCard(ctx context.Context, m ccid.Message, chip sim.Chip, delay time.Duration, cmd []byte) ([]byte, error) {
	resp := chip.Transmit(cmd)
	if delay <= 0 {
		return resp, nil
	}
	if !s.echoed {
		out, err := appendFrame(s.out[:0], echo(m))
		if err != nil {
			return nil, err
		}
		s.out = out
		if err := s.write(out); err != nil {
			return nil, err
		}
		s.echoed = true
	}
	t := time.NewTicker(s.r.opts.TimeRequestInterval)
	defer t.Stop()
	end := time.NewTimer(delay)
	defer end.Stop()
	for {
		select {
		case <-end.C:
			return resp, nil
		case <-ctx.Done():
			return resp, nil
		case <-t.C:
			s.r.stats.timeRequests.Add(1)
			if err := s.write([]byte{0x80}); err != nil {
				return nil, err
			}
		}
	}
}
