package pboc

import (
	"context"
	"fmt"

	"github.com/sscard/ssc/apdu"
)

// GetData runs GET DATA 80 CA for tag in the selected application
// (selecting the first candidate if none is selected) and returns the
// value (the TLV unwrapped). 6A88 (not available) is an error matching
// apdu.ErrNotFound.
func (s *Session) GetData(ctx context.Context, tag apdu.Tag) ([]byte, error) {
	var v []byte
	err := s.doSelected(ctx, func(*Candidate) error {
		var err error
		v, err = s.getData(ctx, tag)
		return err
	})
	return v, err
}

// getData sends GET DATA and checks that the answer is the one object
// asked for.
func (s *Session) getData(ctx context.Context, tag apdu.Tag) ([]byte, error) {
	if tag == 0 || tag > 0xFFFF {
		return nil, fmt.Errorf("pboc: GET DATA %s: tag does not fit P1-P2", tag)
	}
	data, err := s.exec(ctx, apdu.Command{CLA: 0x80, INS: 0xCA, P1: byte(tag >> 8), P2: byte(tag), Ne: apdu.MaxShortNe})
	if err != nil {
		return nil, fmt.Errorf("pboc: GET DATA %s: %w", tag, err)
	}
	list, err := apdu.ParseBER(data)
	if err != nil {
		return nil, fmt.Errorf("pboc: GET DATA %s: %w", tag, malformed("GET DATA "+tag.String(), "%w", err))
	}
	if len(list) != 1 || list[0].Tag != tag {
		return nil, fmt.Errorf("pboc: GET DATA %s: %w", tag, malformed("GET DATA "+tag.String(), "answer %X is not one %s object", data, tag))
	}
	return list[0].Value, nil
}

// optionalData is getData where 6A88 means "not available": ok is false
// then and err nil.
func (s *Session) optionalData(ctx context.Context, tag apdu.Tag) (v []byte, ok bool, err error) {
	v, err = s.getData(ctx, tag)
	if isSW(err, apdu.SWReferenceNotFound) {
		return nil, false, nil
	}
	return v, err == nil, err
}

// Balance reads the e-cash balance and limits. The balance (9F79) is
// required; limits the card does not have (6A88) are nil.
func (s *Session) Balance(ctx context.Context) (*Balance, error) {
	b := &Balance{}
	err := s.doSelected(ctx, func(*Candidate) error {
		v, err := s.getData(ctx, 0x9F79)
		if err != nil {
			return err
		}
		if b.Balance, err = amount(0x9F79, v); err != nil {
			return err
		}
		for _, o := range []struct {
			tag apdu.Tag
			dst **uint64
		}{{0x9F77, &b.Limit}, {0x9F78, &b.SingleLimit}, {0x9F6D, &b.ResetThreshold}} {
			v, ok, err := s.optionalData(ctx, o.tag)
			if err != nil {
				return err
			}
			if ok {
				n, err := amount(o.tag, v)
				if err != nil {
					return err
				}
				*o.dst = &n
			}
		}
		// The e-cash currency 9F51 is optional and often not readable with
		// GET DATA: any refusal falls back to the records' 9F42.
		if v, err := s.getData(ctx, 0x9F51); err == nil {
			if b.Currency, err = numericCode(0x9F51, v); err != nil {
				return err
			}
		} else if !cardAnswer(err) {
			return err
		} else if s.acc != nil {
			b.Currency = s.acc.Currency
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Counters reads ATC, last online ATC and the PIN try counter; a counter
// the card does not give (6A88) is -1.
func (s *Session) Counters(ctx context.Context) (*Counters, error) {
	c := &Counters{}
	err := s.doSelected(ctx, func(*Candidate) error {
		for _, o := range []struct {
			tag apdu.Tag
			n   int
			dst *int
		}{{0x9F36, 2, &c.ATC}, {0x9F13, 2, &c.LastOnlineATC}, {0x9F17, 1, &c.PINTries}} {
			v, ok, err := s.optionalData(ctx, o.tag)
			if err != nil {
				return err
			}
			*o.dst = -1
			if !ok {
				continue
			}
			if len(v) != o.n {
				return fmt.Errorf("pboc: GET DATA %s: %w", o.tag, malformed(o.tag.String(), "%d bytes, want %d", len(v), o.n))
			}
			n := 0
			for _, b := range v {
				n = n<<8 | int(b)
			}
			*o.dst = n
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// amount decodes an n12 amount (6 bytes BCD) in minor units.
func amount(tag apdu.Tag, v []byte) (uint64, error) {
	n, ok := bcdUint(v)
	if len(v) != 6 || !ok {
		return 0, fmt.Errorf("pboc: GET DATA %s: %w", tag, malformed(tag.String(), "%X is not an n12 amount", v))
	}
	return n, nil
}

// numericCode decodes an n3 code (2 bytes BCD, e.g. 0156) as "156".
func numericCode(tag apdu.Tag, v []byte) (string, error) {
	d, ok := bcdDigits(v)
	if len(v) != 2 || !ok || d[0] != '0' {
		return "", fmt.Errorf("pboc: GET DATA %s: %w", tag, malformed(tag.String(), "%X is not an n3 code", v))
	}
	return d[1:], nil
}
