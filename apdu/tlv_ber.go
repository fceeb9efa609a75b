package apdu

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrMalformedTLV is wrapped by every TLV decoding error (BER, SIMPLE and
// COMPACT).
var ErrMalformedTLV = errors.New("apdu: malformed TLV")

// ErrTLVLimit is wrapped when a BER-TLV input exceeds a BERParser limit. It
// wraps ErrMalformedTLV: data that large or deep is not accepted from a card.
var ErrTLVLimit = fmt.Errorf("%w: limit exceeded", ErrMalformedTLV)

// Default BERParser limits.
const (
	DefaultBERMaxDepth   = 16
	DefaultBERMaxObjects = 4096
	DefaultBERMaxInput   = 1 << 20
)

// Tag is a BER-TLV tag of 1 to 4 bytes held as a big-endian number, e.g.
// 0x6F, 0x9F36, 0xBF0C.
type Tag uint32

// Len is the encoded length of the tag in bytes.
func (t Tag) Len() int {
	switch {
	case t > 0xFFFFFF:
		return 4
	case t > 0xFFFF:
		return 3
	case t > 0xFF:
		return 2
	}
	return 1
}

// Constructed reports whether the tag's first byte has the constructed bit
// (0x20) set.
func (t Tag) Constructed() bool { return byte(t>>(8*(t.Len()-1)))&0x20 != 0 }

// String is the tag in hex, e.g. "9F36".
func (t Tag) String() string { return fmt.Sprintf("%0*X", 2*t.Len(), uint32(t)) }

// MarshalText writes the tag as hex ("9F66"), so JSON shows tags as on paper.
func (t Tag) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads a tag written as hex (1 to 4 bytes).
func (t *Tag) UnmarshalText(b []byte) error {
	if len(b) == 0 || len(b) > 8 || len(b)%2 != 0 {
		return fmt.Errorf("apdu: tag %q: want 1 to 4 bytes of hex", b)
	}
	v, err := strconv.ParseUint(string(b), 16, 32)
	if err != nil {
		return fmt.Errorf("apdu: tag %q: %w", b, err)
	}
	*t = Tag(v)
	return nil
}

func (t Tag) appendTo(dst []byte) []byte {
	for i := t.Len() - 1; i >= 0; i-- {
		dst = append(dst, byte(t>>(8*i)))
	}
	return dst
}

// TLV is a BER-TLV data object. Value is the raw value field and aliases the
// parsed input; for constructed tags Children holds the parsed value.
type TLV struct {
	Tag      Tag
	Value    []byte
	Children []TLV
}

// BERParser decodes BER-TLV with bounds on untrusted input. Zero fields take
// the defaults.
type BERParser struct {
	MaxDepth   int // nesting levels of constructed objects
	MaxObjects int // objects in total, at all levels
	MaxInput   int // input bytes
}

// ParseBER decodes a sequence of BER-TLV objects with the default limits.
// Padding bytes 00 and FF between objects are skipped (EMV). Constructed
// objects are decoded recursively.
func ParseBER(b []byte) ([]TLV, error) { return BERParser{}.Parse(b) }

// Parse decodes a sequence of BER-TLV objects (see ParseBER).
func (p BERParser) Parse(b []byte) ([]TLV, error) {
	s := berState{
		maxDepth:   orDefault(p.MaxDepth, DefaultBERMaxDepth),
		maxObjects: orDefault(p.MaxObjects, DefaultBERMaxObjects),
	}
	if maxIn := orDefault(p.MaxInput, DefaultBERMaxInput); len(b) > maxIn {
		return nil, fmt.Errorf("%w: %d input bytes (limit %d)", ErrTLVLimit, len(b), maxIn)
	}
	return s.list(b, 0, 1)
}

func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

type berState struct {
	maxDepth, maxObjects, objects int
}

// list decodes the objects in b, which starts at offset off of the input.
func (s *berState) list(b []byte, off, depth int) ([]TLV, error) {
	var out []TLV
	for i := 0; i < len(b); {
		if b[i] == 0x00 || b[i] == 0xFF { // padding, not a tag
			i++
			continue
		}
		if depth > s.maxDepth {
			return nil, fmt.Errorf("%w: nesting deeper than %d at offset %d", ErrTLVLimit, s.maxDepth, off+i)
		}
		if s.objects++; s.objects > s.maxObjects {
			return nil, fmt.Errorf("%w: more than %d objects", ErrTLVLimit, s.maxObjects)
		}
		start := i
		tag, n, err := parseTag(b[i:])
		if err != nil {
			return nil, fmt.Errorf("%w at offset %d", err, off+start)
		}
		i += n
		l, n, err := parseBERLength(b[i:])
		if err != nil {
			return nil, fmt.Errorf("%w of tag %s at offset %d", err, tag, off+start)
		}
		i += n
		if l > uint64(len(b)-i) {
			return nil, fmt.Errorf("%w: tag %s at offset %d has length %d, %d bytes remain", ErrMalformedTLV, tag, off+start, l, len(b)-i)
		}
		end := i + int(l)
		t := TLV{Tag: tag, Value: b[i:end:end]}
		if tag.Constructed() {
			if t.Children, err = s.list(t.Value, off+i, depth+1); err != nil {
				return nil, err
			}
		}
		out = append(out, t)
		i = end
	}
	return out, nil
}

func parseTag(b []byte) (Tag, int, error) {
	t := Tag(b[0])
	if b[0]&0x1F != 0x1F {
		return t, 1, nil
	}
	for i := 1; i < 4; i++ {
		if i >= len(b) {
			return 0, 0, fmt.Errorf("%w: truncated tag", ErrMalformedTLV)
		}
		if i == 1 && b[1]&0x7F == 0 { // X.690 8.1.2.4.2 c
			return 0, 0, fmt.Errorf("%w: tag %02X%02X has a leading zero tag number byte", ErrMalformedTLV, b[0], b[1])
		}
		t = t<<8 | Tag(b[i])
		if b[i]&0x80 == 0 {
			return t, i + 1, nil
		}
	}
	return 0, 0, fmt.Errorf("%w: tag longer than 4 bytes", ErrMalformedTLV)
}

// parseBERLength accepts the short form and the long forms 81 to 84,
// non-minimal ones included.
func parseBERLength(b []byte) (uint64, int, error) {
	if len(b) == 0 {
		return 0, 0, fmt.Errorf("%w: missing length", ErrMalformedTLV)
	}
	switch {
	case b[0] < 0x80:
		return uint64(b[0]), 1, nil
	case b[0] == 0x80:
		return 0, 0, fmt.Errorf("%w: indefinite length", ErrMalformedTLV)
	case b[0] > 0x84:
		return 0, 0, fmt.Errorf("%w: length form %02X", ErrMalformedTLV, b[0])
	}
	n := int(b[0] & 0x7F)
	if len(b) < 1+n {
		return 0, 0, fmt.Errorf("%w: truncated length", ErrMalformedTLV)
	}
	var l uint64
	for _, c := range b[1 : 1+n] {
		l = l<<8 | uint64(c)
	}
	return l, 1 + n, nil
}

// Find searches t's descendants depth-first for tag. To search a whole list,
// use TLV{Children: list}.Find(tag).
func (t TLV) Find(tag Tag) (TLV, bool) {
	for _, c := range t.Children {
		if c.Tag == tag {
			return c, true
		}
		if f, ok := c.Find(tag); ok {
			return f, true
		}
	}
	return TLV{}, false
}

// FindBER follows an exact path of tags: path[0] among list, path[1] among
// its children, and so on. For example FindBER(fci, 0x6F, 0xA5, 0x88) finds
// the SFI of a directory file.
func FindBER(list []TLV, path ...Tag) (TLV, bool) {
	if len(path) == 0 {
		return TLV{}, false
	}
	for _, t := range list {
		if t.Tag != path[0] {
			continue
		}
		if len(path) == 1 {
			return t, true
		}
		return FindBER(t.Children, path[1:]...)
	}
	return TLV{}, false
}

// AppendBER appends the encoding of one primitive object (or a constructed
// one whose value is already encoded). Values must be shorter than 4 GiB.
func AppendBER(dst []byte, tag Tag, value []byte) []byte {
	dst = tag.appendTo(dst)
	dst = appendBERLength(dst, len(value))
	return append(dst, value...)
}

func appendBERLength(dst []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(dst, byte(n))
	case n <= 0xFF:
		return append(dst, 0x81, byte(n))
	case n <= 0xFFFF:
		return append(dst, 0x82, byte(n>>8), byte(n))
	case n <= 0xFFFFFF:
		return append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func berLengthLen(n int) int {
	switch {
	case n < 0x80:
		return 1
	case n <= 0xFF:
		return 2
	case n <= 0xFFFF:
		return 3
	case n <= 0xFFFFFF:
		return 4
	}
	return 5
}

// valueLen is the length of t's value field as encoded by AppendTo.
func (t TLV) valueLen() int {
	if t.Children == nil {
		return len(t.Value)
	}
	n := 0
	for _, c := range t.Children {
		n += c.encodedLen()
	}
	return n
}

func (t TLV) encodedLen() int {
	v := t.valueLen()
	return t.Tag.Len() + berLengthLen(v) + v
}

// AppendTo appends the encoding of t. When Children is non-nil the value is
// re-encoded from it, otherwise Value is used as is.
func (t TLV) AppendTo(dst []byte) []byte {
	if t.Children == nil {
		return AppendBER(dst, t.Tag, t.Value)
	}
	dst = t.Tag.appendTo(dst)
	dst = appendBERLength(dst, t.valueLen())
	for _, c := range t.Children {
		dst = c.AppendTo(dst)
	}
	return dst
}

// Bytes encodes t (see AppendTo).
func (t TLV) Bytes() []byte { return t.AppendTo(make([]byte, 0, t.encodedLen())) }

// EncodeBER encodes a sequence of objects.
func EncodeBER(list []TLV) []byte {
	n := 0
	for _, t := range list {
		n += t.encodedLen()
	}
	dst := make([]byte, 0, n)
	for _, t := range list {
		dst = t.AppendTo(dst)
	}
	return dst
}
