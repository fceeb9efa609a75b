package sscard

import (
	"context"
	"fmt"

	"github.com/sscard/ssc/reader"
)

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
		return s.presentPIN(ctx, pinAttempt{ref: pinRefSSSE, cmd: pinVerify, op: "verify PIN on the PIN pad", force: opts.Force, pad: pad})
	})
}

// ChangePINPad changes the SSSE PIN on the reader's own keypad (current PIN,
// then the new one twice); no PIN reaches the host. As VerifyPINPad, it
// reads the try counter first and refuses the last try without opts.Force
// (a wrong current PIN spends a try). Errors as VerifyPINPad;
// the reader must support PIN modification (reader.ErrNoPINPad otherwise).
func (s *Session) ChangePINPad(ctx context.Context, opts PINOptions) error {
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
		return s.presentPIN(ctx, pinAttempt{ref: pinRefSSSE, cmd: pinChange, op: "change PIN on the PIN pad", force: opts.Force, pad: pad})
	})
}
