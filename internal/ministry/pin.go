package ministry

import (
	"context"

	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
)

// VerifyPIN is iVerifyPIN: the holder types the SSSE PIN on the reader's
// keypad (the signature carries no PIN). A reader without a keypad gives
// ErrNoPINPad; the last try is refused (ErrPINLastTry). The card is reset
// afterwards: the call proves the PIN, it leaves nothing unlocked.
func (l *Lib) VerifyPIN(iType int) Result {
	if r, ok := l.start(iType); !ok {
		return r
	}
	err := l.doPIN(iType, func(ctx context.Context, c *conn) error {
		c.reset = true
		return c.sess.VerifyPINPad(ctx, sscard.PINOptions{})
	}, func(ctx context.Context, name string) error {
		_, err := l.daemon.VerifyPIN(ctx, name, sscd.VerifyPINRequest{PINPad: true}, sscd.CardOptions{})
		return err
	})
	if err != nil {
		return errorResult(err)
	}
	return Result{Out: "OK|"}
}

// ChangePIN is iChangePIN: current PIN and the new one twice on the keypad.
func (l *Lib) ChangePIN(iType int) Result {
	if r, ok := l.start(iType); !ok {
		return r
	}
	err := l.doPIN(iType, func(ctx context.Context, c *conn) error {
		c.reset = true
		return c.sess.ChangePINPad(ctx, sscard.PINOptions{}) // never the last try: the ministry call has no way to ask for it
	}, func(ctx context.Context, name string) error {
		_, err := l.daemon.ChangePIN(ctx, name, sscd.ChangePINRequest{PINPad: true}, sscd.CardOptions{})
		return err
	})
	if err != nil {
		return errorResult(err)
	}
	return Result{Out: "OK|"}
}

// doPIN is do with the keypad's time to type.
func (l *Lib) doPIN(iType int, direct func(ctx context.Context, c *conn) error, viaDaemon func(ctx context.Context, name string) error) error {
	if l.daemon == nil {
		return l.withCard(iType, pinPadTimeout, false, direct)
	}
	ctx, cancel := context.WithTimeout(context.Background(), pinPadTimeout)
	defer cancel()
	name, err := l.daemonReader(ctx, iType)
	if err != nil {
		return err
	}
	return viaDaemon(ctx, name)
}

// ReloadPIN is iReloadPIN and UnblockPIN iUnblockPIN. SIM choice (LD/T
// 32.5's PIN reset is not public): both authenticate with the update key
// (kid 04) of the configured key system — which stands for the PSAM — and
// send RESET RETRY COUNTER with the configured initial PIN (initial_pin,
// default 123456): the holder then changes it with iChangePIN. On the
// software card the two are the same command; a real profile may differ.
// Through sscd, the daemon's key system authenticates (POST
// /v1/readers/{reader}/pin/reset, read key then update key).
func (l *Lib) ReloadPIN(iType int, cardInfo string) Result { return l.resetPIN(iType, cardInfo) }

// UnblockPIN is iUnblockPIN (see ReloadPIN).
func (l *Lib) UnblockPIN(iType int, cardInfo string) Result { return l.resetPIN(iType, cardInfo) }

func (l *Lib) resetPIN(iType int, cardInfo string) Result {
	if r, ok := l.start(iType); !ok {
		return r
	}
	cardID, err := parseCardInfo(cardInfo)
	if err != nil {
		return fail(ErrArgFormat, "pCardInfo")
	}
	wk, ok := l.hsm.(sscard.WriteKeyHSM)
	if l.daemon == nil && (l.hsm == nil || !ok) {
		return fail(ErrHSM, "no key system with the update key configured (SSC_HSM)")
	}
	err = l.do(iType, func(ctx context.Context, c *conn) error {
		c.reset = true
		if err := checkCard(ctx, c.sess, cardID); err != nil {
			return err
		}
		return c.sess.ResetPIN(ctx, sscard.WriteKeyAuthorizer{HSM: wk, ATRHistorical: c.sess.ATRHistorical()}, l.cfg.InitialPIN)
	}, func(ctx context.Context, name string) error {
		_, err := l.daemon.ResetPIN(ctx, name, sscd.PINResetRequest{CardID: cardID, NewPIN: l.cfg.InitialPIN}, sscd.CardOptions{})
		return err
	})
	if err != nil {
		return writeError(err)
	}
	return Result{Out: "OK|"}
}

// The HSM steps of iReloadPIN/iUnblockPIN. SIM choice (the strings are
// not public, ssc-facts §2.1): three steps like the ministry's names, a
// write session (sscard.BeginResetPIN) with the strings of the write flow:
//
//	Step1(iType, pCardInfo) → the Step-1 line for the read key
//	      region|ATRhist|03|cardID|F1|O1|F2|O2| (8 fields)
//	Step2(pKey = RESULT1|RESULT2|) → the card is authenticated (internal
//	      and external, nothing read); answers the update-key request
//	      region|ATRhist|03|cardID|KEYFAC|ODATA| (sscard.WriteKeyRequest)
//	Step3(pKey = RESULT|, C||ODATA) → EXTERNAL AUTHENTICATE kid 04, RESET
//	      RETRY COUNTER with the initial PIN; answers "OK|"
//
// Through sscd they are the daemon's PIN-reset session
// (/v1/readers/{reader}/pin/reset/step1, /v1/issue/{session}/step2, /step3).

// ReloadPINStep1 is iReloadPIN_HSM_Step1 (UnblockPINStep1 likewise).
func (l *Lib) ReloadPINStep1(iType int, cardInfo string) Result {
	return l.pinStep1(flowReload, iType, cardInfo)
}

// UnblockPINStep1 is iUnblockPIN_HSM_Step1.
func (l *Lib) UnblockPINStep1(iType int, cardInfo string) Result {
	return l.pinStep1(flowUnblock, iType, cardInfo)
}

// ReloadPINStep2 is iReloadPIN_HSM_Step2.
func (l *Lib) ReloadPINStep2(key string) Result { return l.pinStep2(flowReload, key) }

// UnblockPINStep2 is iUnblockPIN_HSM_Step2.
func (l *Lib) UnblockPINStep2(key string) Result { return l.pinStep2(flowUnblock, key) }

// ReloadPINStep3 is iReloadPIN_HSM_Step3.
func (l *Lib) ReloadPINStep3(key string) Result { return l.sessionStep3(flowReload, key) }

// UnblockPINStep3 is iUnblockPIN_HSM_Step3.
func (l *Lib) UnblockPINStep3(key string) Result { return l.sessionStep3(flowUnblock, key) }

func (l *Lib) pinStep1(kind string, iType int, cardInfo string) Result {
	if r, ok := l.start(iType); !ok {
		return r
	}
	cardID, err := parseCardInfo(cardInfo)
	if err != nil {
		return fail(ErrArgFormat, "pCardInfo")
	}
	return l.beginSession(kind, iType, Address{}, func(ctx context.Context, c *conn, _ *writeFlow) (*sscard.WriteSession, error) {
		return c.sess.BeginResetPIN(ctx, cardID, l.cfg.InitialPIN, sscard.WriteOptions{})
	}, func(ctx context.Context, name string) (*sscd.IssueStep1, error) {
		return l.daemon.ResetPINStep1(ctx, name, sscd.PINResetRequest{CardID: cardID, NewPIN: l.cfg.InitialPIN}, sscd.CardOptions{})
	})
}

func (l *Lib) pinStep2(kind, key string) Result {
	if r, ok := l.start(noIType); !ok {
		return r
	}
	ans, err := parseKey(key)
	if err != nil {
		return fail(ErrKeyFormat, "")
	}
	return l.sessionStep2(kind, ans, nil)
}
