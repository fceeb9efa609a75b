package pboc

import (
	"bytes"

	"fmt"

	"github.com/sscard/ssc/apdu"
)

// DefaultContactlessTTQ returns the terminal transaction qualifiers (9F66) a
// contactless session sends when Options.Terminal.TTQ is zero: byte 1 =
// 26 (b6 qPBOC supported, b3 online PIN, b2 signature), the rest 00 (no
// online cryptogram or CVM required by the terminal). The qPBOC bit is what
// makes the card answer the qPBOC GPO with fDDA.
func DefaultContactlessTTQ() [4]byte { return [4]byte{0x26, 0x00, 0x00, 0x00} }

// terminal returns the terminal data of this session: Options.Terminal
// with the contactless defaults.
func (s *Session) terminal() Terminal {
	t := s.opts.Terminal
	if s.iface == Contactless && t.TTQ == [4]byte{} {
		t.TTQ = DefaultContactlessTTQ()
	}
	return t
}

// interfaceOf tells a contactless card by its PC/SC part 3 ATR (3B 8n 80 01 ...).
func interfaceOf(atr []byte) Interface {
	if len(atr) >= 4 && atr[0] == 0x3B && atr[1]&0xF0 == 0x80 && atr[2] == 0x80 && atr[3] == 0x01 {
		return Contactless
	}
	return Contact
}

// fddaTags are the terminal data an fDDA signature covers, in order
// (docs/pboc.md §6, a SIM choice: the qPBOC text was not available).
var fddaTags = []apdu.Tag{0x9F37, 0x9F02, 0x5F2A}

// fddaData returns 9F37 || 9F02 || 5F2A as the terminal sent them in the
// PDOL data of the GPO.
func fddaData(r *Reading) ([]byte, error) {
	sent := make(map[apdu.Tag][]byte)
	data := []byte(r.PDOLData)
	for _, e := range r.Application.FCI.PDOL {
		if e.Len > len(data) {
			return nil, odaBad(ODAFDDA, "PDOL data", fmt.Errorf("%d bytes, shorter than the PDOL", len(r.PDOLData)))
		}
		if _, dup := sent[e.Tag]; !dup {
			sent[e.Tag] = data[:e.Len]
		}
		data = data[e.Len:]
	}
	var out []byte
	for _, tag := range fddaTags {
		v, ok := sent[tag]
		if !ok {
			return nil, odaBad(ODAFDDA, "PDOL", fmt.Errorf("%s (%s) not asked for, the card cannot have signed it", tag, TagName(tag)))
		}
		out = append(out, v...)
	}
	return out, nil
}

// Cryptogram information data (9F27) bits 8-7: the type of the
// application cryptogram.
const (
	cidAAC  = 0x00
	cidTC   = 0x40
	cidARQC = 0x80
)

// Outcome is the card's decision carried in a format 2 GPO answer (the
// qPBOC flow, where GPO is the whole card transaction).
type Outcome struct {
	// Decision is "offline approved" (TC), "online" (ARQC) or "declined"
	// (AAC).
	Decision   string        `json:"decision"`
	CID        apdu.HexBytes `json:"cid"`        // 9F27
	ATC        int           `json:"atc"`        // 9F36
	Cryptogram apdu.HexBytes `json:"cryptogram"` // 9F26
	IAD        apdu.HexBytes `json:"iad,omitempty"`
	// AvailableOffline is 9F5D (available offline spending amount, minor
	// units) when the card sent it.
	AvailableOffline *uint64 `json:"available_offline,omitempty"`
}

// outcomeOf decodes the card's decision from the objects of a format 2
// GPO answer; nil when the answer carries no cryptogram (contact GPO).
func outcomeOf(gpo *GPOResponse) (*Outcome, error) {
	ac, hasAC := findObject(gpo.Data, 0x9F26)
	cid, hasCID := findObject(gpo.Data, 0x9F27)
	if !hasAC && !hasCID {
		return nil, nil
	}
	atc, hasATC := findObject(gpo.Data, 0x9F36)
	switch {
	case !hasAC || len(ac) != 8:
		return nil, malformed("GPO answer", "cryptogram 9F26 %X: want 8 bytes", ac)
	case !hasCID || len(cid) != 1:
		return nil, malformed("GPO answer", "cryptogram information data 9F27 %X: want 1 byte", cid)
	case !hasATC || len(atc) != 2:
		return nil, malformed("GPO answer", "ATC 9F36 %X: want 2 bytes", atc)
	}
	o := &Outcome{CID: bytes.Clone(cid), ATC: int(atc[0])<<8 | int(atc[1]), Cryptogram: bytes.Clone(ac)}
	switch cid[0] & 0xC0 {
	case cidTC:
		o.Decision = "offline approved"
	case cidARQC:
		o.Decision = "online"
	case cidAAC:
		o.Decision = "declined"
	default:
		return nil, malformed("GPO answer", "cryptogram information data 9F27 %02X: RFU cryptogram type", cid[0])
	}
	if v, ok := findObject(gpo.Data, 0x9F10); ok {
		o.IAD = bytes.Clone(v)
	}
	if v, ok := findObject(gpo.Data, 0x9F5D); ok {
		n, okN := bcdUint(v)
		if len(v) != 6 || !okN {
			return nil, malformed("GPO answer", "available offline spending amount 9F5D %X: not n12", v)
		}
		o.AvailableOffline = &n
	}
	return o, nil
}
