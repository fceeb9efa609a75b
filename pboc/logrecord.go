package pboc

import (
	"bytes"

	"github.com/sscard/ssc/apdu"
)

// LogRecord is one decoded transaction log record. Fields not in the log
// format are empty; every value is also in Fields (by tag, raw bytes).
type LogRecord struct {
	Date        string        `json:"date,omitempty"` // 9A as YYYY-MM-DD
	Time        string        `json:"time,omitempty"` // 9F21 as HH:MM:SS
	Amount      uint64        `json:"amount"`         // 9F02, minor units
	OtherAmount uint64        `json:"other_amount,omitempty"`
	Country     string        `json:"country,omitempty"`  // 9F1A numeric
	Currency    string        `json:"currency,omitempty"` // 5F2A numeric
	Merchant    string        `json:"merchant,omitempty"` // 9F4E, GBK decoded, padding trimmed
	Type        byte          `json:"type"`               // 9C
	ATC         uint16        `json:"atc"`                // 9F36
	Fields      []LogField    `json:"fields"`
	Raw         apdu.HexBytes `json:"raw"`
}

// LogField is one value of a log record, as the format laid it out.
type LogField struct {
	Tag   apdu.Tag      `json:"-"`
	Name  string        `json:"name"`
	Value apdu.HexBytes `json:"value"`
}

// ParseLogRecord splits a log record by its format (GET DATA 9F4F). The
// record must be exactly format.DataLen() bytes; BCD fields must be BCD.
// Errors wrap ErrMalformed.
func ParseLogRecord(format DOL, rec []byte) (*LogRecord, error) {
	const what = "log record"
	if len(rec) != format.DataLen() {
		return nil, malformed(what, "%d bytes, the log format %s asks for %d", len(rec), format, format.DataLen())
	}
	raw := bytes.Clone(rec)
	r := &LogRecord{Raw: raw, Fields: make([]LogField, 0, len(format))}
	seen := make(map[apdu.Tag]bool, len(format))
	off := 0
	for _, e := range format {
		v := raw[off : off+e.Len : off+e.Len]
		off += e.Len
		r.Fields = append(r.Fields, LogField{Tag: e.Tag, Name: TagName(e.Tag), Value: v})
		if formatOf(e.Tag) == FormatNumeric {
			if _, ok := bcdDigits(v); !ok {
				return nil, malformed(what, "%s (%s) %X is not BCD", TagName(e.Tag), e.Tag, v)
			}
		}
		// A tag twice in the format: the typed fields keep the first.
		if seen[e.Tag] {
			continue
		}
		seen[e.Tag] = true
		if err := r.set(e.Tag, v); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// set fills the typed field of tag from v (already checked to be BCD for
// numeric tags).
func (r *LogRecord) set(tag apdu.Tag, v []byte) error {
	const what = "log record"
	switch tag {
	case 0x9A, 0x9F21:
		if len(v) != 3 {
			return malformed(what, "%s (%s) of %d bytes, want 3", TagName(tag), tag, len(v))
		}
		// No calendar check: unused log slots are zero-filled on some
		// cards and must still split.
		d, _ := bcdDigits(v)
		if tag == 0x9A {
			r.Date = "20" + d[0:2] + "-" + d[2:4] + "-" + d[4:6]
		} else {
			r.Time = d[0:2] + ":" + d[2:4] + ":" + d[4:6]
		}
	case 0x9F02, 0x9F03:
		a, ok := bcdUint(v)
		if !ok {
			return malformed(what, "%s (%s) %X does not fit", TagName(tag), tag, v)
		}
		if tag == 0x9F02 {
			r.Amount = a
		} else {
			r.OtherAmount = a
		}
	case 0x9F1A, 0x5F2A:
		c, err := n3Code(v)
		if err != nil {
			return malformed(what, "%s (%s): %v", TagName(tag), tag, err)
		}
		if tag == 0x9F1A {
			r.Country = c
		} else {
			r.Currency = c
		}
	case 0x9F4E:
		m, err := decodeMerchant(v)
		if err != nil {
			return &FormatError{What: what + " merchant (9F4E)", Err: err}
		}
		r.Merchant = m
	case 0x9C:
		if len(v) != 1 {
			return malformed(what, "transaction type (9C) of %d bytes", len(v))
		}
		r.Type = v[0]
	case 0x9F36:
		if len(v) > 2 {
			return malformed(what, "ATC (9F36) of %d bytes", len(v))
		}
		for _, c := range v {
			r.ATC = r.ATC<<8 | uint16(c)
		}
	}
	return nil
}

// decodeMerchant decodes 9F4E: GBK padded on the right with 00 or
// spaces. GBK always (not DecodeText's UTF-8 guess): the log is written
// by Chinese terminals, and some GBK byte strings are valid UTF-8 too.
func decodeMerchant(v []byte) (string, error) {
	return decodeGBK(bytes.TrimRight(v, "\x00 "))
}
