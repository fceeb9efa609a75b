package pboc

import (
	"fmt"
	"strings"
)

// AFLEntry is one 4-byte entry of the application file locator.
type AFLEntry struct {
	SFI   byte `json:"sfi"`   // 1..30
	First byte `json:"first"` // first record number (≥ 1)
	Last  byte `json:"last"`  // last record number (≥ First)
	ODA   byte `json:"oda"`   // records from First used for offline data authentication (≤ Last-First+1)
}

// ParseAFL decodes an AFL (a multiple of 4 bytes, each entry valid).
// Errors wrap ErrMalformed.
func ParseAFL(b []byte) ([]AFLEntry, error) {
	// An empty AFL is refused: a card with nothing to read has no 94 at
	// all, and accepting it would make every truncation of an AFL to zero
	// bytes look valid.
	if len(b) == 0 || len(b)%4 != 0 {
		return nil, malformed("AFL", "%d bytes, want a non-zero multiple of 4", len(b))
	}
	out := make([]AFLEntry, 0, len(b)/4)
	for i := 0; i < len(b); i += 4 {
		e := AFLEntry{SFI: b[i] >> 3, First: b[i+1], Last: b[i+2], ODA: b[i+3]}
		switch {
		case b[i]&0x07 != 0:
			return nil, malformed("AFL", "entry %d: byte 1 %02X has low bits set", i/4+1, b[i])
		case e.SFI < 1 || e.SFI > 30:
			return nil, malformed("AFL", "entry %d: SFI %d out of 1..30", i/4+1, e.SFI)
		case e.First == 0:
			return nil, malformed("AFL", "entry %d: first record 0", i/4+1)
		case e.Last < e.First:
			return nil, malformed("AFL", "entry %d: last record %d before first %d", i/4+1, e.Last, e.First)
		case int(e.ODA) > int(e.Last)-int(e.First)+1:
			return nil, malformed("AFL", "entry %d: %d ODA records in a range of %d", i/4+1, e.ODA, int(e.Last)-int(e.First)+1)
		}
		out = append(out, e)
	}
	return out, nil
}

// EncodeAFL is the inverse of ParseAFL.
func EncodeAFL(entries []AFLEntry) []byte {
	out := make([]byte, 0, 4*len(entries))
	for _, e := range entries {
		out = append(out, e.SFI<<3, e.First, e.Last, e.ODA)
	}
	return out
}

// String is "SFI 1 records 1-2 (2 for ODA)".
func (e AFLEntry) String() string {
	return fmt.Sprintf("SFI %d records %d-%d (%d for ODA)", e.SFI, e.First, e.Last, e.ODA)
}

func aflText(entries []AFLEntry) string {
	s := make([]string, len(entries))
	for i, e := range entries {
		s[i] = e.String()
	}
	return strings.Join(s, "; ")
}
