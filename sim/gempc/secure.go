package gempc

import (
	"context"
	"errors"
	"time"

	"github.com/sscard/ssc/ccid"
)

// PC/SC part 10 status words a PIN pad answers itself (in a DataBlock, so
// they reach the application as the "card" response).
var (
	swPINMismatch   = []byte{0x64, 0x02} // the new PIN and its confirmation differ
	swPINLength     = []byte{0x64, 0x03} // entered PIN too short or too long
	swBadParameters = []byte{0x6B, 0x80} // the PIN structure is invalid
)

// defaultEntryTimeout applies when the structure's bTimerOut is 0.
const defaultEntryTimeout = 30 * time.Second

// secure serves PC_to_RDR_Secure: PIN verification (bPINOperation 00) or
// change (01) with the CCID-side layout libccid builds (docs/serial-ccid.md
// §5). A cancelled entry answers bError EF and a timed-out one F0, which
// libccid turns into SW 64 01 / 64 00.
func (s *session) secure(ctx context.Context, m ccid.Message) error {
	r := s.r
	r.stats.secure.Add(1)
	r.mu.Lock()
	chip, icc, delay, kp := r.chip, r.iccStatusLocked(), r.delay, r.keypad
	r.mu.Unlock()
	if icc != ccid.ICCActive {
		return s.reply(m, failed(ccid.DataBlock, icc, ccid.ErrCodeICCMute))
	}
	verify, modify, err := ccid.ParseSecureData(m.Data)
	if err != nil {
		r.logf("gempc: secure: %v", err)
		return s.reply(m, ccid.Message{Type: ccid.DataBlock, Data: swBadParameters})
	}
	timeout := defaultEntryTimeout
	var t byte
	if verify != nil {
		t = verify.TimeOut
	} else {
		t = modify.TimeOut
	}
	if t != 0 {
		timeout = time.Duration(t) * time.Second
	}
	// One timer for the whole entry, as on the reader.
	ectx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	enter := func(prompt string) (string, *ccid.Message) {
		if kp == nil {
			r.logf("gempc: PIN entry %q: no keypad: timeout", prompt)
			a := failed(ccid.DataBlock, icc, ccid.ErrCodePINTimeout)
			return "", &a
		}
		digits, err := kp.Entry(ectx, prompt)
		switch {
		case err == nil:
			r.logf("gempc: PIN entry %q: %d digits, OK", prompt, len(digits))
			return digits, nil
		case errors.Is(err, ErrKeypadCancelled):
			r.logf("gempc: PIN entry %q: cancelled", prompt)
			a := failed(ccid.DataBlock, icc, ccid.ErrCodePINCancelled)
			return "", &a
		}
		r.logf("gempc: PIN entry %q: timeout (%v)", prompt, err)
		a := failed(ccid.DataBlock, icc, ccid.ErrCodePINTimeout)
		return "", &a
	}

	var apdu []byte
	if verify != nil {
		pin, fail := enter(PromptPIN)
		if fail != nil {
			return s.reply(m, *fail)
		}
		apdu, err = verify.Fill(pin)
	} else {
		var oldPIN string
		// bConfirmPIN bit 1: the current PIN is entered too; bit 0: the
		// new PIN is entered twice.
		if modify.ConfirmPIN&0x02 != 0 {
			p, fail := enter(PromptPIN)
			if fail != nil {
				return s.reply(m, *fail)
			}
			oldPIN = p
		}
		newPIN, fail := enter(PromptNewPIN)
		if fail != nil {
			return s.reply(m, *fail)
		}
		if modify.ConfirmPIN&0x01 != 0 {
			again, fail := enter(PromptConfirmPIN)
			if fail != nil {
				return s.reply(m, *fail)
			}
			if again != newPIN {
				return s.reply(m, ccid.Message{Type: ccid.DataBlock, Data: swPINMismatch})
			}
		}
		apdu, err = modify.Fill(oldPIN, newPIN)
	}
	switch {
	case errors.Is(err, ccid.ErrPINLength):
		r.logf("gempc: secure: %v", err)
		return s.reply(m, ccid.Message{Type: ccid.DataBlock, Data: swPINLength})
	case err != nil:
		r.logf("gempc: secure: %v", err)
		return s.reply(m, ccid.Message{Type: ccid.DataBlock, Data: swBadParameters})
	}
	resp, err := s.toCard(ctx, m, chip, delay, apdu)
	if err != nil {
		return err
	}
	return s.reply(m, ccid.Message{Type: ccid.DataBlock, Data: resp})
}
