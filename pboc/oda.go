package pboc

import (
	"bytes"
	"context"
	"fmt"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/sm"
)

// ODA methods (ODAResult.Method).
const (
	ODASDA  = "SDA"
	ODADDA  = "DDA"
	ODAFDDA = "fDDA"
)

// defaultDDOL is used when the card has no 9F49: the unpredictable number.
var defaultDDOL = DOL{{Tag: 0x9F37, Len: 4}}

// ODA performs offline data authentication on a Reading of this session
// (DDA sends INTERNAL AUTHENTICATE, so the application must still be
// selected). The result is also stored in r.ODA; it is returned, with
// Error set, when authentication fails.
func (s *Session) ODA(ctx context.Context, r *Reading) (*ODAResult, error) {
	if r == nil || r.GPO == nil || r.Application.FCI == nil {
		return nil, fmt.Errorf("pboc: ODA: %w (no reading)", ErrNotSelected)
	}
	var res *ODAResult
	err := s.do(ctx, func() error {
		var err error
		res, err = s.oda(ctx, r)
		return err
	})
	if res != nil {
		r.ODA = res
	}
	return res, err
}

// oda runs ODA and always returns a result describing how far it got.
func (s *Session) oda(ctx context.Context, r *Reading) (*ODAResult, error) {
	res := &ODAResult{}
	err := s.runODA(ctx, r, res)
	if err != nil {
		res.Error = err.Error()
	} else {
		res.OK = true
	}
	return res, err
}

// odaMethod chooses the method (docs/pboc.md §6): contactless with a 9F4B
// in the GPO answer is fDDA; otherwise DDA if the AIP allows it, else SDA.
func odaMethod(r *Reading) (string, error) {
	if _, ok := findObject(r.GPO.Data, 0x9F4B); ok && r.Interface == Contactless.String() {
		return ODAFDDA, nil
	}
	switch {
	case r.GPO.AIP.DDA():
		return ODADDA, nil
	case r.GPO.AIP.SDA():
		return ODASDA, nil
	}
	return "", fmt.Errorf("pboc: ODA: %w (AIP %X)", ErrODANotSupported, r.GPO.AIP[:])
}

func odaMissing(method string, tag apdu.Tag) error {
	return fmt.Errorf("pboc: ODA %s: %w: %s (%s) missing", method, ErrODAData, tag, TagName(tag))
}

func odaBad(method, what string, err error) error {
	return fmt.Errorf("pboc: ODA %s: %w: %s: %w", method, ErrODAData, what, err)
}

func (s *Session) runODA(ctx context.Context, r *Reading, res *ODAResult) error {
	method, err := odaMethod(r)
	if err != nil {
		return err
	}
	res.Method = method
	obj := func(tag apdu.Tag) ([]byte, error) {
		v, ok := findObject(r.Objects, tag)
		if !ok {
			return nil, odaMissing(method, tag)
		}
		return v, nil
	}
	aid := r.Application.AID
	if len(aid) < 5 {
		return odaBad(method, "AID", fmt.Errorf("%X has no RID", []byte(aid)))
	}
	res.RID = bytes.Clone(aid[:5])
	idx, err := obj(0x8F)
	if err != nil {
		return err
	}
	if len(idx) != 1 {
		return odaBad(method, "8F", fmt.Errorf("%d bytes, want 1", len(idx)))
	}
	res.CAIndex = idx[0]
	pan, err := obj(0x5A)
	if err != nil {
		return err
	}
	cert, err := obj(0x90)
	if err != nil {
		return err
	}
	if v, ok := findObject(r.Objects, 0x9F4A); ok && !bytes.Equal(v, []byte{0x82}) {
		// EMV Book 3 §10.3: any other SDA tag list fails ODA.
		return odaBad(method, "SDA tag list 9F4A", fmt.Errorf("%X, want 82", v))
	}
	v := sm.ODAVerifier{CAKeys: s.opts.CAKeys, Time: s.opts.ODATime}
	if res.IssuerCert, err = v.VerifyIssuerCert(res.RID, res.CAIndex, cert, pan); err != nil {
		return fmt.Errorf("pboc: ODA %s: issuer certificate: %w", method, err)
	}
	if method == ODASDA {
		ssad, err := obj(0x93)
		if err != nil {
			return err
		}
		if _, err := v.VerifySignedStaticData(res.IssuerCert, ssad, r.StaticData); err != nil {
			return fmt.Errorf("pboc: ODA SDA: signed static data: %w", err)
		}
		return nil
	}
	if cert, err = obj(0x9F46); err != nil {
		return err
	}
	if res.ICCCert, err = v.VerifyICCCert(res.IssuerCert, cert, r.StaticData, pan); err != nil {
		return fmt.Errorf("pboc: ODA %s: ICC certificate: %w", method, err)
	}
	var sdad, termData []byte
	format := sm.ODAFormatFDDA
	if method == ODADDA {
		format = sm.ODAFormatDDA
		if sdad, termData, err = s.internalAuthenticate(ctx, r); err != nil {
			return err
		}
	} else {
		sdad, _ = findObject(r.GPO.Data, 0x9F4B)
		if termData, err = fddaData(r); err != nil {
			return err
		}
	}
	if len(sdad) > 0 && sdad[0] != format {
		return fmt.Errorf("pboc: ODA %s: dynamic signature: %w: format %02X, want %02X", method, sm.ErrDDA, sdad[0], format)
	}
	sig, err := v.VerifyDynamicSignature(res.ICCCert, sdad, termData)
	if err != nil {
		return fmt.Errorf("pboc: ODA %s: dynamic signature: %w", method, err)
	}
	dn, err := sig.ICCDynamicNumber()
	if err != nil {
		return fmt.Errorf("pboc: ODA %s: dynamic signature: %w: %w", method, sm.ErrDDA, err)
	}
	res.DynamicNumber = bytes.Clone(dn)
	return nil
}

// internalAuthenticate sends INTERNAL AUTHENTICATE with the DDOL data and
// returns the signed dynamic application data and the DDOL data it covers.
func (s *Session) internalAuthenticate(ctx context.Context, r *Reading) (sdad, ddolData []byte, err error) {
	// The application of the reading must be the selected one (again, if
	// this runs in a later transaction than the reading).
	if _, err := s.prepare(ctx, r.Application.AID, false); err != nil {
		return nil, nil, fmt.Errorf("pboc: ODA DDA: %w (INTERNAL AUTHENTICATE needs %X selected): %w", ErrNotSelected, []byte(r.Application.AID), err)
	}
	ddol := defaultDDOL
	if v, ok := findObject(r.Objects, 0x9F49); ok {
		if ddol, err = ParseDOL(v); err != nil {
			return nil, nil, odaBad(ODADDA, "DDOL 9F49", err)
		}
	}
	term := s.terminal()
	if ddolData, err = term.DOLData(ddol); err != nil {
		return nil, nil, fmt.Errorf("pboc: ODA DDA: DDOL data: %w", err)
	}
	data, err := s.exec(ctx, apdu.Command{CLA: 0x00, INS: 0x88, Data: ddolData, Ne: apdu.MaxShortNe})
	if err != nil {
		return nil, nil, fmt.Errorf("pboc: ODA DDA: INTERNAL AUTHENTICATE: %w", err)
	}
	// Format 1: 80 <SDAD>; format 2: 77{9F4B <SDAD>, ...}.
	list, err := apdu.ParseBER(data)
	if err == nil && len(list) == 1 {
		switch list[0].Tag {
		case 0x80:
			return list[0].Value, ddolData, nil
		case 0x77:
			if t, ok := apdu.FindBER(list[0].Children, 0x9F4B); ok {
				return t.Value, ddolData, nil
			}
		}
	}
	return nil, nil, odaBad(ODADDA, "INTERNAL AUTHENTICATE answer", fmt.Errorf("%X is neither 80 nor 77{9F4B}", data))
}
