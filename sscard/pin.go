package sscard

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/sscard/ssc/apdu"
)

// PIN errors.
var (
	// ErrPINFormat: a PIN is not exactly 6 decimal digits (checked before
	// any APDU is sent).
	ErrPINFormat = errors.New("sscard: PIN must be 6 digits")
	// ErrPINLastTry: only one try is left and PINOptions.Force is not set.
	ErrPINLastTry = errors.New("sscard: only one PIN try left; refusing without Force")
	// ErrPINBlocked: the PIN is blocked (6983). Wraps apdu.ErrBlocked.
	ErrPINBlocked = fmt.Errorf("sscard: PIN blocked: %w", apdu.ErrBlocked)
)

// PINOptions tune every call that presents a PIN to the card (VerifyPIN,
// ChangePIN, their PIN-pad versions, the PKI PINs).
type PINOptions struct {
	// Force allows using the last remaining try (refused with
	// ErrPINLastTry otherwise).
	Force bool
}

// encodePIN validates a 6-digit PIN and packs it as 3 BCD bytes.
func encodePIN(pin string) ([3]byte, error) {
	var out [3]byte
	if len(pin) != 6 {
		return out, ErrPINFormat
	}
	for i := 0; i < 6; i++ {
		if pin[i] < '0' || pin[i] > '9' {
			return [3]byte{}, ErrPINFormat
		}
		out[i/2] |= (pin[i] - '0') << (4 * (1 - i%2))
	}
	return out, nil
}

func pinError(op string, err error) error {
	switch {
	case errors.Is(err, apdu.ErrBlocked):
		return fmt.Errorf("%w (%s: %w)", ErrPINBlocked, op, err)
	}
	return fmt.Errorf("sscard: %s: %w", op, err)
}

// PINStatus asks the card for the SSSE PIN state with VERIFY without data
// (no try is used). It returns the tries left, or -1 when the PIN is already
// verified in this card session (the card then does not say the count).
// A blocked PIN gives ErrPINBlocked.
func (s *Session) PINStatus(ctx context.Context) (int, error) {
	var tries int
	err := s.doSSSE(ctx, func() error {
		var err error
		tries, err = s.pinTries(ctx, pinRefSSSE)
		return err
	})
	return tries, err
}

// CheckPIN reports ErrPINFormat unless pin is exactly 6 decimal digits,
// the format of the SSSE PIN and of the PKI user PIN. Callers that reach
// the card only after other work (the HSM, the bank application) check
// it first, so a malformed PIN costs nothing.
func CheckPIN(pin string) error {
	b, err := encodePIN(pin)
	clear(b[:])
	return err
}

// VerifyPIN verifies the SSSE PIN (00 20 00 00 03 <BCD>). It first queries
// the try counter and refuses with ErrPINLastTry when one try is left unless
// opts.Force is set (ErrPINBlocked, without sending the PIN, when it is
// blocked). A wrong PIN returns an error wrapping *apdu.AuthError
// (Retries = tries left); it never retries by itself. The PIN is not logged
// (the transmitter's trace redacts VERIFY).
func (s *Session) VerifyPIN(ctx context.Context, pin string, opts PINOptions) error {
	bcd, err := encodePIN(pin)
	defer clear(bcd[:]) // also when the card is never reached
	if err != nil {
		return err
	}
	return s.doSSSE(ctx, func() error {
		return s.presentPIN(ctx, pinAttempt{ref: pinRefSSSE, cmd: pinVerify, op: "verify PIN", force: opts.Force, data: bcd[:]})
	})
}

// ChangePIN changes the SSSE PIN: CHANGE REFERENCE DATA
// 00 24 00 00 06 <old BCD3 || new BCD3>. As VerifyPIN, it first queries
// the try counter (a wrong old PIN spends a try): ErrPINLastTry with one
// try left unless opts.Force, ErrPINBlocked without sending the PINs. A
// wrong old PIN returns an error wrapping *apdu.AuthError.
func (s *Session) ChangePIN(ctx context.Context, oldPIN, newPIN string, opts PINOptions) error {
	o, err := encodePIN(oldPIN)
	defer clear(o[:])
	if err != nil {
		return err
	}
	n, err := encodePIN(newPIN)
	defer clear(n[:])
	if err != nil {
		return err
	}
	data := append(o[:], n[:]...)
	defer clear(data)
	return s.doSSSE(ctx, func() error {
		return s.presentPIN(ctx, pinAttempt{ref: pinRefSSSE, cmd: pinChange, op: "change PIN", force: opts.Force, data: data})
	})
}

// Authorizer computes an EXTERNAL AUTHENTICATE cryptogram for a key id:
// C = cryptogram(K(kid) of the card, factor = the card's challenge, orig).
// It stands for the PSAM/HSM holding the update keys.
type Authorizer interface {
	ExternalAuthCryptogram(ctx context.Context, kid byte, cardID, factor, orig []byte) ([8]byte, error)
}

// ResetPIN sets a new SSSE PIN and resets the try counter: EXTERNAL
// AUTHENTICATE with kid 04 (cryptogram from auth over a fresh card
// challenge), then RESET RETRY COUNTER 00 2C 00 00 03 <new BCD3>.
func (s *Session) ResetPIN(ctx context.Context, auth Authorizer, newPIN string) error {
	n, err := encodePIN(newPIN)
	defer clear(n[:])
	if err != nil {
		return err
	}
	return s.doSSSE(ctx, func() error {
		var info BasicInfo
		if err := s.readRecord(ctx, &info, &records[0]); err != nil {
			return err
		}
		if err := s.authenticateWrite(ctx, auth, info.CardID); err != nil {
			return err
		}
		return s.presentPIN(ctx, pinAttempt{ref: pinRefSSSE, cmd: pinReset, op: "reset PIN", data: n[:]})
	})
}

// authenticateWrite runs EXTERNAL AUTHENTICATE with the write key (kid 04)
// over a fresh card challenge; the caller holds the transaction.
func (s *Session) authenticateWrite(ctx context.Context, auth Authorizer, cardID []byte) error {
	ch, err := s.challenges(ctx, 1)
	if err != nil {
		return err
	}
	f := ch[0]
	var orig [8]byte
	if _, err := rand.Read(orig[:]); err != nil {
		return err
	}
	c, err := auth.ExternalAuthCryptogram(ctx, KidUpdate, cardID, f, orig[:])
	if err != nil {
		return fmt.Errorf("%w: %w", ErrHSM, err)
	}
	if _, err := s.tx.Do(ctx, apdu.Command{CLA: 0x00, INS: 0x82, P2: KidUpdate, Data: append(c[:], orig[:]...)}); err != nil {
		return fmt.Errorf("sscard: external authenticate (kid 04): %w", err)
	}
	return nil
}
