package sscard

import (
	"context"
	"fmt"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/ccid"
	"github.com/sscard/ssc/reader"
)

// ssseVerifyPad is the SSSE VERIFY 00 20 00 00 03 <PIN> as a PIN-pad
// template: six digits, BCD, packed from the first data byte, no length
// field; the FF bytes are overwritten by the reader.
var ssseVerifyPad = ccid.PINVerify{
	TimeOut:         30,
	FormatString:    0x81, // units bytes, position 0, left justified, BCD
	PINBlockString:  0x03, // no length bits, 3-byte PIN block
	PINLengthFormat: 0x00,
	MinDigits:       6,
	MaxDigits:       6,
	EntryValidation: 0x02, // the OK key
	NumberMessage:   1,
	LangID:          0x0804, // zh-CN
	APDU:            []byte{0x00, 0x20, 0x00, 0x00, 0x03, 0xFF, 0xFF, 0xFF},
}

// VerifyPINPad verifies the SSSE PIN on the reader's own keypad: the PIN
// never reaches the host. The card must be in a reader whose Card
// implements reader.PINPad (else reader.ErrNoPINPad). As VerifyPIN, it
// first reads the try counter and refuses the last try without opts.Force;
// a wrong PIN returns an error wrapping *apdu.AuthError, a cancelled or
// timed-out entry reader.ErrPINPadCancelled / ErrPINPadTimeout.
func (s *Session) VerifyPINPad(ctx context.Context, opts PINOptions) error {
	pad, ok := s.card.(reader.PINPad)
	if !ok {
		return fmt.Errorf("sscard: verify PIN on the PIN pad: %w", reader.ErrNoPINPad)
	}
	return s.doSSSE(ctx, func() error {
		f, err := pad.PINPadFeatures(ctx)
		if err != nil {
			return fmt.Errorf("sscard: verify PIN on the PIN pad: %w", err)
		}
		if !f.Verify {
			return fmt.Errorf("sscard: verify PIN on the PIN pad: %w", reader.ErrNoPINPad)
		}
		tries, err := s.pinStatus(ctx)
		if err != nil {
			return err
		}
		if tries == 1 && !opts.Force {
			return ErrPINLastTry
		}
		rsp, err := pad.VerifyPINPad(ctx, ssseVerifyPad)
		if err != nil {
			return fmt.Errorf("sscard: verify PIN on the PIN pad: %w", err)
		}
		r, err := apdu.ParseResponse(rsp)
		if err != nil {
			return fmt.Errorf("sscard: verify PIN on the PIN pad: %w", err)
		}
		if err := r.Err(); err != nil {
			return pinError("verify PIN on the PIN pad", err)
		}
		return nil
	})
}

// ssseChangePad is the SSSE CHANGE REFERENCE DATA 00 24 00 00 06
// <old || new> as a PIN-pad template: the keypad asks for the current PIN
// and the new one twice, BCD, old at offset 0, new at offset 3.
var ssseChangePad = ccid.PINModify{
	TimeOut:            30,
	FormatString:       0x81,
	PINBlockString:     0x03,
	PINLengthFormat:    0x00,
	InsertionOffsetOld: 0,
	InsertionOffsetNew: 3,
	MinDigits:          6,
	MaxDigits:          6,
	ConfirmPIN:         0x03, // current PIN entered, new PIN twice
	EntryValidation:    0x02,
	NumberMessage:      3,
	LangID:             0x0804,
	APDU:               []byte{0x00, 0x24, 0x00, 0x00, 0x06, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF},
}

// ChangePINPad changes the SSSE PIN on the reader's own keypad (current PIN,
// then the new one twice); no PIN reaches the host. Errors as VerifyPINPad;
// the reader must support PIN modification (reader.ErrNoPINPad otherwise).
func (s *Session) ChangePINPad(ctx context.Context) error {
	pad, ok := s.card.(reader.PINPad)
	if !ok {
		return fmt.Errorf("sscard: change PIN on the PIN pad: %w", reader.ErrNoPINPad)
	}
	return s.doSSSE(ctx, func() error {
		f, err := pad.PINPadFeatures(ctx)
		if err != nil {
			return fmt.Errorf("sscard: change PIN on the PIN pad: %w", err)
		}
		if !f.Modify {
			return fmt.Errorf("sscard: change PIN on the PIN pad: %w", reader.ErrNoPINPad)
		}
		rsp, err := pad.ModifyPINPad(ctx, ssseChangePad)
		if err != nil {
			return fmt.Errorf("sscard: change PIN on the PIN pad: %w", err)
		}
		r, err := apdu.ParseResponse(rsp)
		if err != nil {
			return fmt.Errorf("sscard: change PIN on the PIN pad: %w", err)
		}
		if err := r.Err(); err != nil {
			return pinError("change PIN on the PIN pad", err)
		}
		return nil
	})
}
