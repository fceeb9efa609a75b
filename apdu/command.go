// Package apdu implements ISO/IEC 7816-4 command and response APDUs, status
// words as typed errors, the TLV encodings smart cards use, ATR parsing and a
// transmitter that hides T=0 link details (GET RESPONSE, 6Cxx, chaining).
package apdu

import (
	"errors"
	"fmt"
)

// Limits of the APDU encodings (ISO/IEC 7816-4 §5.1).
const (
	MaxShortLc    = 255
	MaxShortNe    = 256
	MaxExtendedLc = 65535
	MaxExtendedNe = 65536
)

// ErrMalformedCommand is wrapped by every command encoding or parsing error.
var ErrMalformedCommand = errors.New("apdu: malformed command")

// Command is a command APDU. Ne is the maximum number of response data bytes
// expected: 0 means no Le field, 256 (short) or 65536 (extended) mean "as many
// as available". The encoding is extended only when Data or Ne do not fit the
// short form, or when Extended is set.
type Command struct {
	CLA, INS, P1, P2 byte
	Data             []byte
	Ne               int
	Extended         bool
}

// IsExtended reports whether the command needs (or asks for) the extended
// length encoding.
func (c Command) IsExtended() bool {
	return c.Extended || len(c.Data) > MaxShortLc || c.Ne > MaxShortNe
}

// Case returns the ISO 7816-3 case number (1–4) of the command.
func (c Command) Case() int {
	switch {
	case len(c.Data) == 0 && c.Ne == 0:
		return 1
	case len(c.Data) == 0:
		return 2
	case c.Ne == 0:
		return 3
	default:
		return 4
	}
}

// Validate checks the field bounds without encoding.
func (c Command) Validate() error {
	if len(c.Data) > MaxExtendedLc {
		return fmt.Errorf("%w: %d data bytes exceed %d", ErrMalformedCommand, len(c.Data), MaxExtendedLc)
	}
	if c.Ne < 0 || c.Ne > MaxExtendedNe {
		return fmt.Errorf("%w: Ne %d out of range 0..%d", ErrMalformedCommand, c.Ne, MaxExtendedNe)
	}
	return nil
}

// EncodedLen is the length of the encoding of c (valid commands only).
func (c Command) EncodedLen() int {
	n := 4
	ext := c.IsExtended()
	if len(c.Data) > 0 {
		if ext {
			n += 3
		} else {
			n++
		}
		n += len(c.Data)
	}
	if c.Ne > 0 {
		switch {
		case !ext:
			n++
		case len(c.Data) > 0:
			n += 2
		default:
			n += 3
		}
	}
	return n
}

// Bytes encodes the command.
func (c Command) Bytes() ([]byte, error) {
	return c.AppendTo(make([]byte, 0, c.EncodedLen()))
}

// AppendTo appends the encoding of c to dst.
func (c Command) AppendTo(dst []byte) ([]byte, error) {
	if err := c.Validate(); err != nil {
		return dst, err
	}
	dst = append(dst, c.CLA, c.INS, c.P1, c.P2)
	ext := c.IsExtended()
	if len(c.Data) > 0 {
		if ext {
			dst = append(dst, 0, byte(len(c.Data)>>8), byte(len(c.Data)))
		} else {
			dst = append(dst, byte(len(c.Data)))
		}
		dst = append(dst, c.Data...)
	}
	if c.Ne > 0 {
		ne := c.Ne
		if ext {
			if ne == MaxExtendedNe {
				ne = 0
			}
			if len(c.Data) == 0 {
				dst = append(dst, 0)
			}
			dst = append(dst, byte(ne>>8), byte(ne))
		} else {
			dst = append(dst, byte(ne)) // 256 encodes as 00
		}
	}
	return dst, nil
}

// String formats the command as uppercase hex.
func (c Command) String() string {
	b, err := c.Bytes()
	if err != nil {
		return fmt.Sprintf("invalid command (%v)", err)
	}
	return fmt.Sprintf("%X", b)
}

// ParseCommand decodes a command APDU in any of the cases 1, 2S, 3S, 4S, 2E,
// 3E, 4E. The returned Data aliases b.
func ParseCommand(b []byte) (Command, error) {
	if len(b) < 4 {
		return Command{}, fmt.Errorf("%w: %d bytes, need at least a 4-byte header", ErrMalformedCommand, len(b))
	}
	c := Command{CLA: b[0], INS: b[1], P1: b[2], P2: b[3]}
	body := b[4:]
	switch {
	case len(body) == 0: // case 1
		return c, nil
	case len(body) == 1: // case 2S
		c.Ne = int(body[0])
		if c.Ne == 0 {
			c.Ne = MaxShortNe
		}
		return c, nil
	case body[0] != 0: // case 3S or 4S
		lc := int(body[0])
		switch len(body) {
		case 1 + lc:
			c.Data = body[1:]
		case 2 + lc:
			c.Data = body[1 : 1+lc]
			c.Ne = int(body[1+lc])
			if c.Ne == 0 {
				c.Ne = MaxShortNe
			}
		default:
			return Command{}, fmt.Errorf("%w: Lc %d does not match %d body bytes", ErrMalformedCommand, lc, len(body))
		}
		return c, nil
	}
	// Extended: body starts with 00 and has at least 3 bytes.
	c.Extended = true
	if len(body) < 3 {
		return Command{}, fmt.Errorf("%w: truncated extended length field", ErrMalformedCommand)
	}
	n := int(body[1])<<8 | int(body[2])
	if len(body) == 3 { // case 2E
		c.Ne = n
		if c.Ne == 0 {
			c.Ne = MaxExtendedNe
		}
		return c, nil
	}
	if n == 0 {
		return Command{}, fmt.Errorf("%w: extended Lc of zero", ErrMalformedCommand)
	}
	switch len(body) {
	case 3 + n: // case 3E
		c.Data = body[3:]
	case 5 + n: // case 4E
		c.Data = body[3 : 3+n]
		c.Ne = int(body[3+n])<<8 | int(body[4+n])
		if c.Ne == 0 {
			c.Ne = MaxExtendedNe
		}
	default:
		return Command{}, fmt.Errorf("%w: extended Lc %d does not match %d body bytes", ErrMalformedCommand, n, len(body))
	}
	return c, nil
}
