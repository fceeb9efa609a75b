package sscard

import (
	"context"
	"errors"
	"fmt"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/ccid"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sm"
)

// The PIN guard. Every command that presents a PIN to the card — SSSE
// VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER, the PIN-pad
// versions of the first two, the PKI user and admin VERIFY — is sent by
// presentPIN and nowhere else (TestPINCommandsOnlyInGuard checks the
// source), so no path can spend the last try of a PIN by accident:
//
//   - the PIN's format is checked by the public method before any APDU;
//   - the try counter is read first, with VERIFY without data (no try is
//     spent): a blocked PIN gives ErrPINBlocked and the PIN is not sent;
//     one try left gives ErrPINLastTry unless the request sets Force;
//   - only then is the PIN sent, once; the card's answer is returned as
//     is (a wrong PIN wraps *apdu.AuthError with the tries left), never
//     retried.

// pinRef names a PIN of the card by the P1 P2 of its VERIFY.
type pinRef struct {
	name   string // in errors
	p1, p2 byte
}

var (
	pinRefSSSE     = pinRef{"PIN", 0x00, 0x00}
	pinRefPKIUser  = pinRef{"PKI PIN", 0x01, 0x81}
	pinRefPKIAdmin = pinRef{"PKI admin PIN", 0x01, 0x00}
)

// pinTries reads the try counter of ref with VERIFY without data (ISO
// 7816-4: no try is used). It returns the tries left, or -1 when the PIN
// is already verified in this card session (the card then does not say
// the count). A blocked PIN gives ErrPINBlocked. The caller holds the
// transaction with ref's application selected.
func (s *Session) pinTries(ctx context.Context, ref pinRef) (int, error) {
	_, err := s.tx.Do(ctx, apdu.Command{INS: 0x20, P1: ref.p1, P2: ref.p2})
	var ae *apdu.AuthError
	switch {
	case err == nil:
		return -1, nil
	case errors.As(err, &ae) && ae.Retries > 0:
		return ae.Retries, nil
	}
	return 0, pinError(ref.name+" status", err)
}

// pinCommand is what a pinAttempt sends.
type pinCommand int

const (
	pinVerify pinCommand = iota // VERIFY: SSSE BCD, or the PKI challenge answer
	pinChange                   // CHANGE REFERENCE DATA old || new (SSSE)
	pinReset                    // RESET RETRY COUNTER new (SSSE; after EXTERNAL AUTHENTICATE)
)

// pinAttempt is one presentation of a PIN to the card.
type pinAttempt struct {
	ref   pinRef
	cmd   pinCommand
	op    string // in errors: "verify PIN"
	force bool   // PINOptions.Force: the last try may be used
	// data is the PIN block of an SSSE command (BCD: the PIN, old || new,
	// or the new PIN); presentPIN clears it.
	data []byte
	// pkiKey is the key whose answer to a fresh 16-byte challenge is the
	// data of a PKI VERIFY (sm.PKIPINKey of the PIN); presentPIN clears it.
	pkiKey *[16]byte
	// pad, when set, has the reader's keypad collect the PIN (SSSE verify
	// or change): no PIN reaches the host.
	pad reader.PINPad
}

// presentPIN is the one function that sends a PIN to the card (see the
// comment at the top of this file). The caller holds the transaction with
// the PIN's application selected and has checked the PIN's format.
func (s *Session) presentPIN(ctx context.Context, a pinAttempt) error {
	defer clear(a.data)
	if a.pkiKey != nil {
		defer clear(a.pkiKey[:])
	}
	// RESET RETRY COUNTER spends no try (it is the way out of a blocked
	// PIN, after the terminal's EXTERNAL AUTHENTICATE): nothing to guard.
	if a.cmd != pinReset {
		tries, err := s.pinTries(ctx, a.ref)
		if err != nil {
			return err
		}
		if tries == 1 && !a.force {
			return fmt.Errorf("sscard: %s: %w", a.op, ErrPINLastTry)
		}
	}
	if a.pad != nil {
		var rsp []byte
		var err error
		switch a.cmd {
		case pinVerify:
			rsp, err = a.pad.VerifyPINPad(ctx, ssseVerifyPad)
		case pinChange:
			rsp, err = a.pad.ModifyPINPad(ctx, ssseChangePad)
		default:
			return fmt.Errorf("sscard: %s: %w", a.op, reader.ErrNotSupported)
		}
		if err != nil {
			return fmt.Errorf("sscard: %s: %w", a.op, err)
		}
		r, err := apdu.ParseResponse(rsp)
		if err != nil {
			return fmt.Errorf("sscard: %s: %w", a.op, err)
		}
		if err := r.Err(); err != nil {
			return pinError(a.op, err)
		}
		return nil
	}
	var cmd apdu.Command
	switch {
	case a.pkiKey != nil && a.cmd == pinVerify:
		chal, err := s.tx.Do(ctx, apdu.Command{INS: 0x84, Ne: sm.PKIChallengeSize})
		if err != nil {
			return fmt.Errorf("sscard: PKI get challenge: %w", err)
		}
		if len(chal) != sm.PKIChallengeSize {
			return fmt.Errorf("sscard: PKI get challenge: %d bytes, want %d", len(chal), sm.PKIChallengeSize)
		}
		c, err := sm.PKIChallengeResponse(a.pkiKey[:], chal)
		if err != nil {
			return err
		}
		cmd = apdu.Command{INS: 0x20, P1: a.ref.p1, P2: a.ref.p2, Data: c[:]}
	case a.pkiKey == nil && a.cmd == pinVerify:
		cmd = apdu.Command{INS: 0x20, P1: a.ref.p1, P2: a.ref.p2, Data: a.data}
	case a.pkiKey == nil && a.cmd == pinChange:
		cmd = apdu.Command{INS: 0x24, Data: a.data}
	case a.pkiKey == nil && a.cmd == pinReset:
		cmd = apdu.Command{INS: 0x2C, Data: a.data}
	default:
		return fmt.Errorf("sscard: %s: %w", a.op, reader.ErrNotSupported)
	}
	defer clear(cmd.Data)
	if _, err := s.tx.Do(ctx, cmd); err != nil {
		return pinError(a.op, err)
	}
	return nil
}

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
