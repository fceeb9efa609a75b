package apdu

import "fmt"

// SimpleTLV is a SIMPLE-TLV data object (ISO/IEC 7816-4 §5.2.1), the format
// of the social security card's records: tag(1) length(1 or 3) value.
type SimpleTLV struct {
	Tag   byte
	Value []byte // aliases the parsed input
}

// ParseSimpleOne decodes the first SIMPLE-TLV object of b and returns the
// bytes after it. Tags 00 and FF are invalid; a length byte FF introduces a
// two-byte length.
func ParseSimpleOne(b []byte) (t SimpleTLV, rest []byte, err error) {
	if len(b) < 2 {
		return SimpleTLV{}, nil, fmt.Errorf("%w: SIMPLE-TLV object of %d bytes", ErrMalformedTLV, len(b))
	}
	if b[0] == 0x00 || b[0] == 0xFF {
		return SimpleTLV{}, nil, fmt.Errorf("%w: invalid SIMPLE-TLV tag %02X", ErrMalformedTLV, b[0])
	}
	l, hdr := int(b[1]), 2
	if b[1] == 0xFF {
		if len(b) < 4 {
			return SimpleTLV{}, nil, fmt.Errorf("%w: truncated SIMPLE-TLV length of tag %02X", ErrMalformedTLV, b[0])
		}
		l, hdr = int(b[2])<<8|int(b[3]), 4
	}
	if l > len(b)-hdr {
		return SimpleTLV{}, nil, fmt.Errorf("%w: SIMPLE-TLV tag %02X has length %d, %d bytes remain", ErrMalformedTLV, b[0], l, len(b)-hdr)
	}
	end := hdr + l
	return SimpleTLV{Tag: b[0], Value: b[hdr:end:end]}, b[end:], nil
}

// ParseSimple decodes a sequence of SIMPLE-TLV objects filling b entirely.
func ParseSimple(b []byte) ([]SimpleTLV, error) {
	var out []SimpleTLV
	for off := 0; len(b) > 0; {
		t, rest, err := ParseSimpleOne(b)
		if err != nil {
			return nil, fmt.Errorf("%w (offset %d)", err, off)
		}
		off += len(b) - len(rest)
		out = append(out, t)
		b = rest
	}
	return out, nil
}

// AppendSimple appends one SIMPLE-TLV object to dst, using the three-byte
// length form from 255 bytes on.
func AppendSimple(dst []byte, tag byte, value []byte) ([]byte, error) {
	if tag == 0x00 || tag == 0xFF {
		return dst, fmt.Errorf("%w: invalid SIMPLE-TLV tag %02X", ErrMalformedTLV, tag)
	}
	switch n := len(value); {
	case n < 0xFF:
		dst = append(dst, tag, byte(n))
	case n <= 0xFFFF:
		dst = append(dst, tag, 0xFF, byte(n>>8), byte(n))
	default:
		return dst, fmt.Errorf("%w: SIMPLE-TLV value of %d bytes exceeds 65535", ErrMalformedTLV, n)
	}
	return append(dst, value...), nil
}
