package pboc

import (
	"bytes"
	"context"
	"fmt"

	"github.com/sscard/ssc/apdu"
)

// Read selects the application, runs GPO, reads the AFL records and builds
// the account view (and ODA if asked). When the records were read but the
// account view cannot be built, or ODA fails, the Reading is returned
// together with the error.
func (s *Session) Read(ctx context.Context, opts ReadOptions) (*Reading, error) {
	var r *Reading
	err := s.do(ctx, func() error {
		c, err := s.prepare(ctx, opts.AID, true)
		if err != nil {
			return err
		}
		if r, err = s.read(ctx, c); err != nil {
			return err
		}
		if r.Account, err = NewAccount(c.FCI, r.Objects); err != nil {
			return fmt.Errorf("pboc: account: %w", err)
		}
		s.acc = r.Account
		if opts.ODA {
			r.ODA, err = s.oda(ctx, r)
		}
		return err
	})
	return r, err
}

// read runs GPO in the selected application c and reads the AFL records.
func (s *Session) read(ctx context.Context, c *Candidate) (*Reading, error) {
	r := &Reading{Interface: s.iface.String(), Application: *c}
	term := s.terminal()
	var err error
	if len(c.FCI.PDOL) > 0 {
		if r.PDOLData, err = term.DOLData(c.FCI.PDOL); err != nil {
			return nil, fmt.Errorf("pboc: GPO: PDOL data: %w", err)
		}
	}
	if r.GPO, err = s.gpoCmd(ctx, r.PDOLData); err != nil {
		return nil, err
	}
	if r.Outcome, err = outcomeOf(r.GPO); err != nil {
		return nil, fmt.Errorf("pboc: GPO: %w", err)
	}
	r.Objects = append(r.Objects, r.GPO.Data...)
	if err := s.readRecords(ctx, r); err != nil {
		return nil, err
	}
	if v, ok := findObject(r.Objects, 0x9F4A); ok && bytes.Equal(v, []byte{0x82}) {
		// SDA tag list: the AIP ends the static data (docs/pboc.md §3).
		r.StaticData = append(r.StaticData, r.GPO.AIP[:]...)
	}
	return r, nil
}

// gpoCmd sends GET PROCESSING OPTIONS with the PDOL data in tag 83.
func (s *Session) gpoCmd(ctx context.Context, pdolData []byte) (*GPOResponse, error) {
	data := apdu.AppendBER(nil, 0x83, pdolData)
	if len(data) > apdu.MaxShortLc {
		return nil, fmt.Errorf("pboc: GPO: %w", malformed("PDOL", "asks for %d bytes of data", len(pdolData)))
	}
	s.gpo = true // whatever the answer, the card may have started a transaction
	resp, err := s.exec(ctx, apdu.Command{CLA: 0x80, INS: 0xA8, Data: data, Ne: apdu.MaxShortNe})
	if err != nil {
		return nil, fmt.Errorf("pboc: GPO: %w", err)
	}
	gpo, err := ParseGPOResponse(resp)
	if err != nil {
		return nil, fmt.Errorf("pboc: GPO: %w", err)
	}
	return gpo, nil
}

// readRecords reads every record of the AFL into r: Records, Objects
// and the static data to be authenticated.
func (s *Session) readRecords(ctx context.Context, r *Reading) error {
	total := 0
	for _, e := range r.GPO.AFL {
		if e.First == 0 || e.Last < e.First {
			return fmt.Errorf("pboc: GPO: %w", malformed("AFL", "entry SFI %d records %d-%d", e.SFI, e.First, e.Last))
		}
		total += int(e.Last-e.First) + 1
	}
	if total > maxAFLRecords {
		return fmt.Errorf("pboc: GPO: %w", malformed("AFL", "%d records (at most %d)", total, maxAFLRecords))
	}
	for _, e := range r.GPO.AFL {
		for n := int(e.First); n <= int(e.Last); n++ {
			raw, err := s.exec(ctx, readRecordCmd(n, e.SFI))
			if err != nil {
				return fmt.Errorf("pboc: READ RECORD SFI %d #%d: %w", e.SFI, n, err)
			}
			rec := Record{SFI: e.SFI, Number: byte(n), ODA: n-int(e.First) < int(e.ODA), Raw: raw}
			value, objs, err := recordContent(rec)
			if err != nil {
				return fmt.Errorf("pboc: READ RECORD SFI %d #%d: %w", e.SFI, n, err)
			}
			r.Records = append(r.Records, rec)
			r.Objects = append(r.Objects, objs...)
			if rec.ODA {
				r.StaticData = append(r.StaticData, value...)
			}
		}
	}
	return nil
}

// recordContent returns what a record adds to the static data to be
// authenticated and its data objects. SFI 1–10 records must be one 70
// template (its value is authenticated); SFI 11–30 records are taken whole
// and their objects are used only when they are a 70 template.
func recordContent(rec Record) (static []byte, objs []apdu.TLV, err error) {
	if rec.SFI <= 10 {
		if objs, err = ParseRecord(rec.Raw); err != nil {
			return nil, nil, err
		}
		list, err := apdu.ParseBER(rec.Raw)
		if err != nil || len(list) != 1 || list[0].Tag != 0x70 {
			// ParseRecord accepted it: cannot happen.
			return nil, nil, malformed(fmt.Sprintf("record SFI %d #%d", rec.SFI, rec.Number), "not one 70 template")
		}
		if len(objs) == 1 && objs[0].Tag == 0x70 {
			objs = objs[0].Children
		}
		return list[0].Value, objs, nil
	}
	if list, err := apdu.ParseBER(rec.Raw); err == nil && len(list) == 1 && list[0].Tag == 0x70 {
		objs = list[0].Children
	}
	return rec.Raw, objs, nil
}
