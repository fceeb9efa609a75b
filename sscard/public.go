package sscard

import (
	"context"
	"errors"
	"fmt"

	"github.com/sscard/ssc/apdu"
)

// DF01AID is the AID of DF01 公共应用 (public data) under SSSE: RID
// D156000005 + 01 (ssc-facts §1.1, §1.6).
const DF01AID = "\xD1\x56\x00\x00\x05\x01"

// ErrNeedsPIN: DF01 was read without the SSSE PIN verified in this card
// session (the card answered 6982). It wraps apdu.ErrSecurityStatus.
var ErrNeedsPIN = fmt.Errorf("sscard: public data needs the SSSE PIN verified first: %w", apdu.ErrSecurityStatus)

// PublicInfo is DF01 公共应用: 户籍 (EF05) and 常住地 (EF06).
type PublicInfo struct {
	HukouType        string `json:"hukouType"`        // 户口性质, EF05 tag 20 (AN 2)
	HukouAddress     string `json:"hukouAddress"`     // 户籍所在地址, EF05 tag 21 (GBK 80, trimmed)
	HukouRegion      string `json:"hukouRegion"`      // 户籍所在地行政区划代码, EF05 tag 0E (BCD 3)
	ResidenceAddress string `json:"residenceAddress"` // 常住所在地址, EF06 tag 23 (GBK 80, trimmed)
	ResidenceRegion  string `json:"residenceRegion"`  // 常住所在地行政区划代码, EF06 tag 24 (BCD 3)
}

type publicDef struct {
	name     string
	sfi, rec byte
	tag      byte
	size     int
	decode   func(*PublicInfo, []byte) (string, bool)
}

var publicRecords = []publicDef{
	{name: "HukouType", sfi: 5, rec: 1, tag: 0x20, size: 2, decode: func(p *PublicInfo, v []byte) (string, bool) { return an(&p.HukouType, v) }},
	{name: "HukouAddress", sfi: 5, rec: 2, tag: 0x21, size: 80, decode: func(p *PublicInfo, v []byte) (string, bool) { return gbk(&p.HukouAddress, v) }},
	{name: "HukouRegion", sfi: 5, rec: 3, tag: 0x0E, size: 3, decode: func(p *PublicInfo, v []byte) (string, bool) { return bcd(&p.HukouRegion, v, false) }},
	{name: "ResidenceAddress", sfi: 6, rec: 1, tag: 0x23, size: 80, decode: func(p *PublicInfo, v []byte) (string, bool) { return gbk(&p.ResidenceAddress, v) }},
	{name: "ResidenceRegion", sfi: 6, rec: 2, tag: 0x24, size: 3, decode: func(p *PublicInfo, v []byte) (string, bool) { return bcd(&p.ResidenceRegion, v, false) }},
}

func (d *publicDef) decodeTLV(p *PublicInfo, record []byte) error {
	t, rest, err := apdu.ParseSimpleOne(record)
	if err != nil {
		return &RecordError{Field: d.name, Tag: d.tag, Reason: "not a SIMPLE-TLV object", Err: err}
	}
	switch {
	case t.Tag != d.tag:
		return &RecordError{Field: d.name, Tag: d.tag, Reason: fmt.Sprintf("tag %02X", t.Tag)}
	case len(rest) != 0:
		return &RecordError{Field: d.name, Tag: d.tag, Reason: fmt.Sprintf("%d bytes after the object", len(rest))}
	case len(t.Value) != d.size:
		return &RecordError{Field: d.name, Tag: d.tag, Reason: fmt.Sprintf("length %d, want %d", len(t.Value), d.size)}
	}
	if reason, ok := d.decode(p, t.Value); !ok {
		return &RecordError{Field: d.name, Tag: d.tag, Reason: reason}
	}
	return nil
}

// ReadPublic reads DF01 公共应用 (ssc-facts §1.6): EF05 records 1–3
// (tags 20, 21, 0E) and EF06 records 1–2 (tags 23, 24), by SFI with the
// exact record length as Le. The card requires the SSSE PIN verified in
// this card session (VerifyPIN first); otherwise ReadPublic fails with
// ErrNeedsPIN (which matches apdu.ErrSecurityStatus).
//
// DF01 is selected by AID (DF01AID) in every call. That keeps the PIN state:
// DF01 is inside the SSSE application, whereas selecting SSSE again clears
// it, so ReadPublic does not re-select SSSE afterwards. It leaves DF01
// selected and marks SSSE as not selected, so the next SSSE command of the
// session selects SSSE again (one extra SELECT, and the PIN must be
// verified again before the next ReadPublic).
func (s *Session) ReadPublic(ctx context.Context) (*PublicInfo, error) {
	info := &PublicInfo{}
	err := s.do(ctx, func() error {
		// From here on the current DF is no longer SSSE (whatever the
		// outcome of the SELECT).
		s.selected, s.pkiSelected = false, false
		if err := s.doSelect(ctx, apdu.Command{CLA: 0x00, INS: 0xA4, P1: 0x04, P2: 0x0C, Data: []byte(DF01AID)}); err != nil {
			return fmt.Errorf("sscard: select DF01: %w", err)
		}
		for i := range publicRecords {
			d := &publicRecords[i]
			cmd := apdu.Command{CLA: 0x00, INS: 0xB2, P1: d.rec, P2: d.sfi<<3 | 4, Ne: 2 + d.size}
			data, err := s.tx.Do(ctx, cmd)
			if err != nil {
				if errors.Is(err, apdu.ErrSecurityStatus) {
					return fmt.Errorf("%w (DF01 %s: %w)", ErrNeedsPIN, d.name, err)
				}
				return fmt.Errorf("sscard: read DF01 %s (SFI %d record %d): %w", d.name, d.sfi, d.rec, err)
			}
			if err := d.decodeTLV(info, data); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return info, nil
}
