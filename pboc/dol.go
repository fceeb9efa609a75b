package pboc

import (
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"github.com/sscard/ssc/apdu"
)

// DOLEntry is one tag/length pair of a data object list (PDOL, CDOL, DDOL,
// log format).
type DOLEntry struct {
	Tag apdu.Tag `json:"tag"`
	Len int      `json:"len"`
}

// DOL is a data object list.
type DOL []DOLEntry

// ParseDOL decodes a DOL (tag, length byte, ...). Errors wrap ErrMalformed.
func ParseDOL(b []byte) (DOL, error) {
	var d DOL
	for i := 0; i < len(b); {
		tag, n, err := readTag(b[i:])
		if err != nil {
			return nil, malformed("DOL", "offset %d: %v", i, err)
		}
		i += n
		// EMV Book 3 §5.4: the length in a DOL is always one byte.
		if i >= len(b) {
			return nil, malformed("DOL", "tag %s at offset %d has no length", tag, i-n)
		}
		d = append(d, DOLEntry{Tag: tag, Len: int(b[i])})
		i++
	}
	return d, nil
}

// readTag decodes one BER tag of at most 4 bytes. 00 and FF are refused:
// they are padding in TLV data and never valid in a DOL.
func readTag(b []byte) (apdu.Tag, int, error) {
	if b[0] == 0x00 || b[0] == 0xFF {
		return 0, 0, fmt.Errorf("invalid tag byte %02X", b[0])
	}
	t := apdu.Tag(b[0])
	if b[0]&0x1F != 0x1F {
		return t, 1, nil
	}
	for i := 1; i < 4; i++ {
		if i >= len(b) {
			return 0, 0, fmt.Errorf("truncated tag %X", b)
		}
		if i == 1 && b[1]&0x7F == 0 { // X.690 8.1.2.4.2 c: no leading zero
			return 0, 0, fmt.Errorf("tag %02X%02X has a leading zero tag number byte", b[0], b[1])
		}
		t = t<<8 | apdu.Tag(b[i])
		if b[i]&0x80 == 0 {
			return t, i + 1, nil
		}
	}
	return 0, 0, fmt.Errorf("tag %X... longer than 4 bytes", b[:4])
}

// DataLen returns the number of bytes the DOL asks for.
func (d DOL) DataLen() int {
	sum := 0
	for _, e := range d {
		sum += e.Len
	}
	return sum
}

// Bytes encodes the DOL (the inverse of ParseDOL for lengths 0..255).
func (d DOL) Bytes() []byte {
	out := make([]byte, 0, 3*len(d))
	for _, e := range d {
		for i := e.Tag.Len() - 1; i >= 0; i-- {
			out = append(out, byte(e.Tag>>(8*i)))
		}
		out = append(out, byte(e.Len))
	}
	return out
}

// String lists the entries as "9F66(4) 9F02(6) ...".
func (d DOL) String() string {
	var s strings.Builder
	for i, e := range d {
		if i > 0 {
			s.WriteByte(' ')
		}
		fmt.Fprintf(&s, "%s(%d)", e.Tag, e.Len)
	}
	return s.String()
}

// Terminal is the terminal data the DOLs draw from. The zero value is a
// contact terminal in China (country and currency 156) on today's date
// with a random unpredictable number.
type Terminal struct {
	Amount      uint64 // 9F02, minor units (fen)
	OtherAmount uint64 // 9F03
	// CountryCode (9F1A) and CurrencyCode (5F2A), ISO 3166 / ISO 4217
	// numeric; 0 means 156 (China, CNY).
	CountryCode, CurrencyCode uint16
	// Date and time of the transaction (9A, 9F21); zero means now.
	Date            time.Time
	TransactionType byte    // 9C, 00 = goods and services
	TTQ             [4]byte // 9F66 terminal transaction qualifiers (qPBOC)
	TVR             [5]byte // 95
	// UnpredictableNumber is 9F37 (4 bytes); nil means a fresh random one
	// per DOL built (the value used is returned by DOLData's callers).
	UnpredictableNumber []byte
	// SMSupported sets DF69 (SM algorithm support indicator) to 01.
	SMSupported bool
	// ECashSupported sets 9F7A (e-cash terminal support indicator) to 01.
	ECashSupported bool
	// Extra supplies any other tag (raw value, resized to the DOL length).
	Extra map[apdu.Tag][]byte
}

// codeChina is the default country and currency code (ISO 3166 / ISO 4217).
const codeChina = 156

// DOLData builds the data a DOL asks for from t (EMV Book 3 §5.4: numeric
// values right-justified and left-truncated, others left-justified and
// right-padded with zeros; unknown tags zero-filled). Fields resolved from
// time or randomness (9A, 9F21, 9F37) are taken once per call, so the
// bytes returned are consistent with themselves.
func (t *Terminal) DOLData(dol DOL) ([]byte, error) {
	snap := *t
	if snap.Date.IsZero() {
		snap.Date = time.Now()
	}
	if snap.UnpredictableNumber == nil {
		un := make([]byte, 4)
		if _, err := rand.Read(un); err != nil {
			return nil, fmt.Errorf("pboc: unpredictable number: %w", err)
		}
		snap.UnpredictableNumber = un
	}
	out := make([]byte, 0, dol.DataLen())
	for _, e := range dol {
		v, _ := snap.Value(e.Tag, e.Len)
		out = append(out, v...)
	}
	return out, nil
}

// Value returns the value of tag t would put in a DOL, len bytes long; ok
// is false for tags the terminal has no value for (zero-filled then).
func (t *Terminal) Value(tag apdu.Tag, n int) (v []byte, ok bool) {
	raw, ok := t.native(tag)
	if !ok {
		return resize(FormatBinary, nil, n), false
	}
	return resize(formatOf(tag), raw, n), true
}

// native is tag's value in its own EMV length, before resizing.
func (t *Terminal) native(tag apdu.Tag) ([]byte, bool) {
	if v, ok := t.Extra[tag]; ok {
		return v, true
	}
	switch tag {
	case 0x9F02:
		return appendBCD(nil, t.Amount, 6), true
	case 0x9F03:
		return appendBCD(nil, t.OtherAmount, 6), true
	case 0x9F1A:
		return appendBCD(nil, uint64(orChina(t.CountryCode)), 2), true
	case 0x5F2A:
		return appendBCD(nil, uint64(orChina(t.CurrencyCode)), 2), true
	case 0x9A:
		d := t.when()
		v := appendBCD(nil, uint64(d.Year()%100), 1)
		v = appendBCD(v, uint64(d.Month()), 1)
		return appendBCD(v, uint64(d.Day()), 1), true
	case 0x9F21:
		d := t.when()
		v := appendBCD(nil, uint64(d.Hour()), 1)
		v = appendBCD(v, uint64(d.Minute()), 1)
		return appendBCD(v, uint64(d.Second()), 1), true
	case 0x9C:
		return []byte{t.TransactionType}, true
	case 0x9F66:
		return t.TTQ[:], true
	case 0x95:
		return t.TVR[:], true
	case 0x9F37:
		if t.UnpredictableNumber != nil {
			return t.UnpredictableNumber, true
		}
		un := make([]byte, 4)
		if _, err := rand.Read(un); err != nil {
			return nil, false
		}
		return un, true
	case 0xDF69:
		return flagByte(t.SMSupported), true
	case 0x9F7A:
		return flagByte(t.ECashSupported), true
	}
	return nil, false
}

func (t *Terminal) when() time.Time {
	if t.Date.IsZero() {
		return time.Now()
	}
	return t.Date
}

func orChina(code uint16) uint16 {
	if code == 0 {
		return codeChina
	}
	return code
}

func flagByte(on bool) []byte {
	if on {
		return []byte{0x01}
	}
	return []byte{0x00}
}
