package ccid

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// Bytes of the serial framing.
const (
	SYNC byte = 0x03
	ACK  byte = 0x06
	NAK  byte = 0x15
)

// NAKFrame returns what a reader sends for a frame it could not read, as
// a new slice on each call (a shared one could be overwritten).
func NAKFrame() []byte { return []byte{SYNC, NAK, SYNC ^ NAK} }

// Line settings of the serial GemPC readers (libccidtwin): 115200 baud, 8
// data bits, no parity, 2 stop bits, no flow control.
const SerialBaud = 115200

// AppendFrame appends 03 06 msg LRC. msg is an encoded CCID message.
func AppendFrame(dst, msg []byte) []byte {
	dst = append(dst, SYNC, ACK)
	dst = append(dst, msg...)
	return append(dst, SYNC^ACK^LRC(msg))
}

// LRC is the XOR of b.
func LRC(b []byte) byte {
	var x byte
	for _, c := range b {
		x ^= c
	}
	return x
}

// FrameKind says what Decoder.Next found on the line.
type FrameKind int

const (
	FrameMessage     FrameKind = iota + 1 // 03 06 <message> LRC
	FrameNAK                              // 03 15 16
	FrameTimeRequest                      // one byte 80..FF: the card asks for more time
	FrameNotify                           // 50 02 (card removed) / 50 03 (inserted)
)

// Frame is one unit read from the line.
type Frame struct {
	Kind FrameKind
	// Message is the raw CCID message of a FrameMessage (LRC checked,
	// framing removed); use ParseMessage to decode it. It is valid until
	// the next call to Next.
	Message []byte
	// Present is the card state of a FrameNotify.
	Present bool
}

// Decoder errors. A timeout leaves the decoder usable; ErrFraming and
// ErrLRC mean the line is out of step (the caller NAKs or resets).
var (
	ErrTimeout = errors.New("ccid: serial read timed out")
	ErrFraming = errors.New("ccid: serial framing error")
	ErrLRC     = errors.New("ccid: serial frame checksum (LRC) wrong")
)

// Decoder reads frames from a serial line. The reader's Read may return
// (0, nil) when its read timeout expires (go.bug.st/serial does); the
// decoder then checks the deadline, so no call blocks past it by more than
// one read timeout. It buffers what it has read beyond a frame.
type Decoder struct {
	r   io.Reader
	buf []byte
	// used counts the bytes at the front of buf that the last frame took;
	// they are dropped on the next call, so Frame.Message stays valid
	// until then.
	used int
	// rerr is a reader error that came with data; it is returned once the
	// buffered bytes no longer make a frame.
	rerr error
	// MaxMessage caps dwLength + 10; 0 means MaxSerialMessage.
	MaxMessage int
}

// NewDecoder returns a decoder reading from r.
func NewDecoder(r io.Reader) *Decoder { return &Decoder{r: r} }

// Next returns the next frame, or ErrTimeout when none is complete by the
// deadline (zero: wait forever), ErrFraming for a byte that cannot start a
// frame or a dwLength over MaxMessage (the offending bytes are dropped),
// ErrLRC for a checksum mismatch (the frame is dropped), or the reader's
// error (io.EOF, a closed port).
//
// Decoding errors also wrap ErrMalformed, and a too-long dwLength wraps
// ErrTooLong as well. On ErrFraming only the bytes up to the one that did
// not fit are dropped (for 03 XX just the 03, for a too-long message the
// SYNC, ACK, type and dwLength), so the next call resynchronises on what
// follows; call Discard to drop everything buffered instead.
func (d *Decoder) Next(deadline time.Time) (Frame, error) {
	if d.used > 0 {
		d.buf = d.buf[:copy(d.buf, d.buf[d.used:])]
		d.used = 0
	}
	empty := 0 // consecutive reads that returned nothing
	for {
		f, n, err := d.scan()
		if n > 0 || err != nil {
			if err != nil {
				// Drop the offending bytes now: no Frame refers to them.
				d.buf = d.buf[:copy(d.buf, d.buf[n:])]
			} else {
				d.used = n
			}
			return f, err
		}
		if d.rerr != nil {
			err, d.rerr = d.rerr, nil
			return Frame{}, err
		}
		if d.r == nil {
			return Frame{}, fmt.Errorf("ccid: decoder has no reader: %w", io.ErrClosedPipe)
		}
		if cap(d.buf)-len(d.buf) < readChunk {
			d.buf = append(d.buf[:cap(d.buf)], make([]byte, readChunk)...)[:len(d.buf)]
		}
		k, err := d.r.Read(d.buf[len(d.buf):cap(d.buf)])
		k = max(0, min(k, cap(d.buf)-len(d.buf))) // distrust a broken reader
		d.buf = d.buf[:len(d.buf)+k]
		if err != nil {
			if k == 0 {
				return Frame{}, err
			}
			d.rerr = err // serve the data first, as io.Reader asks
			continue
		}
		if k > 0 {
			empty = 0
			continue
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return Frame{}, ErrTimeout
		}
		// A reader that keeps returning (0, nil) without waiting would make
		// this loop burn a core until the deadline: back off a little.
		if empty++; empty > 8 {
			pause := time.Millisecond
			if !deadline.IsZero() {
				pause = min(pause, time.Until(deadline))
			}
			time.Sleep(pause)
		}
	}
}

// readChunk is the least free space offered to each Read: two maximal
// serial frames, so one Read usually takes an echo and its answer.
const readChunk = 2 * (MaxSerialMessage + 3)

// scan looks for one frame at the start of d.buf. It returns the frame and
// the bytes it took; n == 0 with a nil error means more bytes are needed.
// On an error n bytes are to be dropped.
func (d *Decoder) scan() (f Frame, n int, err error) {
	b := d.buf
	if len(b) == 0 {
		return Frame{}, 0, nil
	}
	switch c := b[0]; {
	case c >= 0x80:
		return Frame{Kind: FrameTimeRequest}, 1, nil
	case c == byte(NotifySlotChange):
		if len(b) < 2 {
			return Frame{}, 0, nil
		}
		switch b[1] {
		case 0x02, 0x03:
			return Frame{Kind: FrameNotify, Present: b[1] == 0x03}, 2, nil
		}
		// Drop only the 50: the next byte may start a real frame.
		return Frame{}, 1, framingError("card-movement notice 50 %02X", b[1])
	case c != SYNC:
		return Frame{}, 1, framingError("byte %02X cannot start a frame", c)
	}
	if len(b) < 2 {
		return Frame{}, 0, nil
	}
	switch b[1] {
	case ACK:
	case NAK:
		if len(b) < 3 {
			return Frame{}, 0, nil
		}
		if b[2] != SYNC^NAK {
			return Frame{}, 2, framingError("NAK frame ends in %02X", b[2])
		}
		return Frame{Kind: FrameNAK}, 3, nil
	default:
		// Drop only the 03: it may have been a stray byte before a frame.
		return Frame{}, 1, framingError("control byte %02X after SYNC", b[1])
	}
	if len(b) < 2+5 {
		return Frame{}, 0, nil
	}
	limit := d.MaxMessage
	if limit <= 0 {
		limit = MaxSerialMessage
	}
	size := uint64(HeaderSize) + uint64(binary.LittleEndian.Uint32(b[3:7]))
	if size > uint64(limit) {
		return Frame{}, 2 + 5, &lineError{
			fmt.Sprintf("%v: message too long: dwLength %d, limit %d bytes in all",
				ErrFraming, size-HeaderSize, limit),
			[]error{ErrFraming, ErrTooLong, ErrMalformed}}
	}
	total := 2 + int(size) + 1
	if len(b) < total {
		return Frame{}, 0, nil
	}
	if x := LRC(b[:total]); x != 0 {
		return Frame{}, total, &lineError{
			fmt.Sprintf("%v: frame XORs to %02X", ErrLRC, x),
			[]error{ErrLRC, ErrMalformed}}
	}
	return Frame{Kind: FrameMessage, Message: b[2 : total-1 : total-1]}, total, nil
}

func framingError(format string, args ...any) error {
	return &lineError{fmt.Sprintf("%v: "+format, append([]any{ErrFraming}, args...)...),
		[]error{ErrFraming, ErrMalformed}}
}

// lineError is a decoding error of the serial line. It matches its kind
// (ErrFraming, ErrLRC, ErrTooLong) and ErrMalformed, as the package
// promises for every decoding error, without repeating both in the text.
type lineError struct {
	msg  string
	errs []error
}

func (e *lineError) Error() string   { return e.msg }
func (e *lineError) Unwrap() []error { return e.errs }

// Discard drops buffered bytes (after a framing error, before a resend).
func (d *Decoder) Discard() { d.buf, d.used = d.buf[:0], 0 }
