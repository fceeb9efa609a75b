package pboc

import (
	"fmt"

	"bytes"

	"github.com/sscard/ssc/apdu"
)

// AIP is the application interchange profile (tag 82).
type AIP [2]byte

// Bits of AIP byte 1.
func (a AIP) SDA() bool        { return a[0]&0x40 != 0 }
func (a AIP) DDA() bool        { return a[0]&0x20 != 0 }
func (a AIP) CVM() bool        { return a[0]&0x10 != 0 }
func (a AIP) TRM() bool        { return a[0]&0x08 != 0 }
func (a AIP) IssuerAuth() bool { return a[0]&0x04 != 0 }
func (a AIP) CDA() bool        { return a[0]&0x01 != 0 }

// GPOResponse is a decoded GET PROCESSING OPTIONS answer.
type GPOResponse struct {
	Format int        `json:"format"` // 1 (tag 80) or 2 (tag 77)
	AIP    AIP        `json:"aip"`
	AFL    []AFLEntry `json:"afl"`
	// Data holds the other objects of a format 2 answer (qPBOC: 9F36,
	// 9F26, 9F27, 9F10, 9F4B, 57, ...), in card order.
	Data []apdu.TLV    `json:"-"`
	Raw  apdu.HexBytes `json:"raw"`
}

// ParseGPOResponse decodes a format 1 (80: AIP || AFL) or format 2 (77
// with 82 and 94) answer. Errors wrap ErrMalformed.
//
// An answer without AFL (format 1 with only the AIP, format 2 without 94
// or with an empty one) is accepted with AFL nil: qPBOC cards answering an
// online-only transaction have no records to read.
func ParseGPOResponse(b []byte) (*GPOResponse, error) {
	const what = "GPO response"
	raw := bytes.Clone(b)
	list, err := apdu.ParseBER(raw)
	if err != nil {
		return nil, &FormatError{What: what, Err: err}
	}
	if len(list) != 1 {
		return nil, malformed(what, "want one 80 or 77 object, got %s", tagList(list))
	}
	r := &GPOResponse{Raw: raw}
	var aip, afl []byte
	hasAFL := false
	switch t := list[0]; t.Tag {
	case 0x80:
		r.Format = 1
		if len(t.Value) < 2 {
			return nil, malformed(what, "format 1 of %d bytes has no AIP", len(t.Value))
		}
		aip, afl, hasAFL = t.Value[:2], t.Value[2:], len(t.Value) > 2
	case 0x77:
		r.Format = 2
		var ok bool
		if aip, ok = objValue(t.Children, 0x82); !ok {
			return nil, malformed(what, "format 2 without AIP (82)")
		}
		afl, hasAFL = objValue(t.Children, 0x94)
		hasAFL = hasAFL && len(afl) > 0
		for _, c := range t.Children {
			if c.Tag != 0x82 && c.Tag != 0x94 {
				r.Data = append(r.Data, c)
			}
		}
	default:
		return nil, malformed(what, "tag %s, want 80 or 77", t.Tag)
	}
	if len(aip) != 2 {
		return nil, malformed(what, "AIP of %d bytes", len(aip))
	}
	r.AIP = AIP{aip[0], aip[1]}
	if hasAFL {
		if r.AFL, err = ParseAFL(afl); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// MarshalText writes the AIP as hex ("7C00").
func (a AIP) MarshalText() ([]byte, error) { return []byte(fmt.Sprintf("%02X%02X", a[0], a[1])), nil }
