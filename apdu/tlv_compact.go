package apdu

import "fmt"

// CompactTLV is a COMPACT-TLV data object of the ATR historical bytes
// (ISO/IEC 7816-4 §8.1.1): one byte tag<<4|length, then length bytes.
type CompactTLV struct {
	Tag   byte   // 0x0-0xF
	Value []byte // 0-15 bytes, aliases the parsed input
}

// ParseCompact decodes a sequence of COMPACT-TLV objects filling b entirely.
func ParseCompact(b []byte) ([]CompactTLV, error) {
	var out []CompactTLV
	for i := 0; i < len(b); {
		tag, l := b[i]>>4, int(b[i]&0x0F)
		if l > len(b)-i-1 {
			return nil, fmt.Errorf("%w: COMPACT-TLV tag %X at offset %d has length %d, %d bytes remain", ErrMalformedTLV, tag, i, l, len(b)-i-1)
		}
		end := i + 1 + l
		out = append(out, CompactTLV{Tag: tag, Value: b[i+1 : end : end]})
		i = end
	}
	return out, nil
}

// AppendCompact appends one COMPACT-TLV object to dst.
func AppendCompact(dst []byte, tag byte, value []byte) ([]byte, error) {
	if tag > 0x0F || len(value) > 0x0F {
		return dst, fmt.Errorf("%w: COMPACT-TLV tag %X with %d bytes", ErrMalformedTLV, tag, len(value))
	}
	dst = append(dst, tag<<4|byte(len(value)))
	return append(dst, value...), nil
}
