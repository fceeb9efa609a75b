package apdu

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"time"
)

// TraceEvent describes one exchange with the card.
type TraceEvent struct {
	Command  []byte        // as sent, after Redact; a copy the tracer may keep
	Response []byte        // raw answer (data || SW), nil on transport error; do not modify
	Err      error         // transport or framing error of this exchange
	Duration time.Duration // time spent in the Transport
	Redacted bool          // Command's data field was blanked out
}

// Tracer receives exchanges from a Transmitter. It is called synchronously,
// so it should be quick.
type Tracer func(TraceEvent)

// Redact returns a copy of the encoded command cmd in which the data field of
// PIN-carrying commands is replaced by FF bytes of the same length; header,
// Lc and Le are kept. redacted reports whether anything was blanked out.
//
// Secret-carrying commands are VERIFY (20/21), CHANGE REFERENCE DATA (24/25)
// and RESET RETRY COUNTER (2C/2D) in any class, and in proprietary classes
// the SSC PKI commands that carry PINs or keys: PIN hash (C4), PIN change
// (5E), key update (D4), key import (C2, 4E) and session-key load (4A). A
// trace above secure messaging sees these before encryption, so they are
// hidden whatever the class's SM bits say.
func Redact(cmd []byte) (out []byte, redacted bool) {
	out = bytes.Clone(cmd)
	if len(cmd) <= 4 || !carriesPIN(cmd[0], cmd[1]) {
		return out, false
	}
	c, err := ParseCommand(cmd)
	if err != nil {
		// The data field cannot be located: hide everything after the header.
		fillFF(out[4:])
		return out, true
	}
	if len(c.Data) == 0 {
		return out, false
	}
	off := dataOffset(c)
	fillFF(out[off : off+len(c.Data)])
	return out, true
}

func carriesPIN(cla, ins byte) bool {
	switch ins {
	case 0x20, 0x21, 0x24, 0x25, 0x2C, 0x2D:
		return true
	case 0xC4, 0x5E, 0xD4, 0xC2, 0x4E, 0x4A:
		return cla&0x80 != 0
	}
	return false
}

func fillFF(b []byte) {
	for i := range b {
		b[i] = 0xFF
	}
}

// NewTextTracer returns a Tracer that writes one line per command and one per
// answer to w, for example:
//
//	> 00A4040002 3F00
//	< 6F10...A5 9000  (0.12 ms)
//
// Redacted data bytes are printed as "**". It is safe for concurrent use.
func NewTextTracer(w io.Writer) Tracer {
	var mu sync.Mutex
	return func(ev TraceEvent) {
		cmd, redacted := ev.Command, ev.Redacted
		if !redacted && len(cmd) > 4 && carriesPIN(cmd[0], cmd[1]) { // events not from a Transmitter
			cmd, redacted = Redact(cmd)
		}
		line := appendCommandTrace(make([]byte, 0, 2*len(cmd)+2*len(ev.Response)+48), cmd, redacted)
		line = append(line, '\n', '<', ' ')
		if ev.Err != nil {
			line = fmt.Appendf(line, "error: %v", ev.Err)
		} else {
			if n := len(ev.Response) - 2; n > 0 {
				line = appendHex(line, ev.Response[:n])
				line = append(line, ' ')
			}
			line = appendHex(line, ev.Response[max(len(ev.Response)-2, 0):])
		}
		line = fmt.Appendf(line, "  (%.2f ms)\n", float64(ev.Duration)/float64(time.Millisecond))
		mu.Lock()
		defer mu.Unlock()
		_, _ = w.Write(line) // tracing must not fail the exchange
	}
}

// appendCommandTrace formats "> header+Lc data Le".
func appendCommandTrace(dst, cmd []byte, redacted bool) []byte {
	dst = append(dst, '>', ' ')
	c, err := ParseCommand(cmd)
	if err != nil {
		if !redacted {
			return appendHex(dst, cmd)
		}
		dst = append(appendHex(dst, cmd[:min(len(cmd), 4)]), ' ')
		return appendStars(dst, max(len(cmd)-4, 0))
	}
	if len(c.Data) == 0 {
		dst = appendHex(dst, cmd[:4])
	} else {
		dst = append(appendHex(dst, cmd[:dataOffset(c)]), ' ')
		if redacted {
			dst = appendStars(dst, len(c.Data))
		} else {
			dst = appendHex(dst, c.Data)
		}
	}
	if n := leLen(c); n > 0 {
		dst = append(dst, ' ')
		dst = appendHex(dst, cmd[len(cmd)-n:])
	}
	return dst
}

// dataOffset is where the data field starts in the encoding of a parsed
// command (ParseCommand sets Extended for every extended encoding).
func dataOffset(c Command) int {
	if c.Extended {
		return 7
	}
	return 5
}

// leLen is the size of the Le field in the encoding of c.
func leLen(c Command) int {
	switch {
	case c.Ne == 0:
		return 0
	case !c.Extended:
		return 1
	case len(c.Data) > 0:
		return 2
	default:
		return 3
	}
}

func appendStars(dst []byte, n int) []byte {
	for range n {
		dst = append(dst, '*', '*')
	}
	return dst
}

func appendHex(dst, b []byte) []byte {
	const digits = "0123456789ABCDEF"
	for _, c := range b {
		dst = append(dst, digits[c>>4], digits[c&0x0F])
	}
	return dst
}
