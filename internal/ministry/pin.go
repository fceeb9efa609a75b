package ministry

import (
	"bytes"
	"context"
	"errors"
	"fmt"

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
	if l.daemon != nil {
		return fail(ErrNotSupported, "not available through sscd (set SSC_DIRECT=1)")
	}
	wk, ok := l.hsm.(sscard.WriteKeyHSM)
	if l.hsm == nil || !ok {
		return fail(ErrHSM, "no key system with the update key configured (SSC_HSM)")
	}
	err = l.withCard(iType, l.cfg.OpTimeout, true, func(ctx context.Context, c *conn) error {
		if err := checkCard(ctx, c.sess, cardID); err != nil {
			return err
		}
		auth := &writeKeyAuthorizer{hsm: wk, atrHist: c.sess.ATRHistorical()}
		return c.sess.ResetPIN(ctx, auth, l.cfg.InitialPIN)
	})
	if err != nil {
		return hsmError(err)
	}
	return Result{Out: "OK|"}
}

// writeKeyAuthorizer asks a key system holding the update key (kid 04)
// for the EXTERNAL AUTHENTICATE cryptogram, in the write-key request
// format of issuance (sscard.WriteKeyRequest, SIM layout).
type writeKeyAuthorizer struct {
	hsm     sscard.WriteKeyHSM
	atrHist []byte
}

func (a *writeKeyAuthorizer) ExternalAuthCryptogram(ctx context.Context, kid byte, cardID, factor, orig []byte) ([8]byte, error) {
	if kid != sscard.KidUpdate {
		return [8]byte{}, fmt.Errorf("ministry: key %02X is not the update key", kid)
	}
	ans, err := a.hsm.AuthorizeWrite(ctx, keyRequest(cardID, a.atrHist, factor, orig))
	if err != nil {
		return [8]byte{}, err
	}
	if !bytes.Equal(ans.Result[8:], orig) {
		return [8]byte{}, sscard.ErrHSMAnswer
	}
	var c [8]byte
	copy(c[:], ans.Result[:8])
	return c, nil
}

func keyRequest(cardID, atrHist, factor, orig []byte) sscard.WriteKeyRequest {
	return sscard.WriteKeyRequest{Region: fmt.Sprintf("%X", cardID[:3]), ATRHistorical: atrHist,
		Algorithm: sscard.AlgSM4, CardID: cardID, Factor: factor, Orig: orig}
}

// The HSM steps of iReloadPIN/iUnblockPIN. SIM choice (the strings are
// not public, ssc-facts §2.1): three steps like the ministry's names,
// built from the strings of the read and write flows:
//
//	Step1(iType, pCardInfo) → the Step-1 line of the read flow (8 fields)
//	Step2(pKey = RESULT1|RESULT2|) → the card is authenticated (internal
//	      and external, nothing read); answers the update-key request
//	      region|ATRhist|03|cardID|KEYFAC|ODATA| (sscard.WriteKeyRequest)
//	Step3(pKey = RESULT|, C||ODATA) → EXTERNAL AUTHENTICATE kid 04, RESET
//	      RETRY COUNTER with the initial PIN; answers "OK|"

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
func (l *Lib) ReloadPINStep3(key string) Result { return l.pinStep3(flowReload, key) }

// UnblockPINStep3 is iUnblockPIN_HSM_Step3.
func (l *Lib) UnblockPINStep3(key string) Result { return l.pinStep3(flowUnblock, key) }

func (l *Lib) pinStep1(kind string, iType int, cardInfo string) Result {
	if r, ok := l.start(iType); !ok {
		return r
	}
	cardID, err := parseCardInfo(cardInfo)
	if err != nil {
		return fail(ErrArgFormat, "pCardInfo")
	}
	if l.daemon != nil {
		return fail(ErrNotSupported, "not available through sscd (set SSC_DIRECT=1)")
	}
	return l.hsmStep1(kind, iType, cardID, Address{})
}

// pinReset is a ResetPIN running on the held card, waiting in its
// authorizer for the key system's answer of step 3.
type pinReset struct {
	req    chan sscard.WriteKeyRequest
	ans    chan [16]byte
	done   chan struct{}
	err    error
	cancel context.CancelFunc
}

// ExternalAuthCryptogram hands the request to step 2 and waits for step 3.
func (p *pinReset) ExternalAuthCryptogram(ctx context.Context, kid byte, cardID, factor, orig []byte) ([8]byte, error) {
	var c [8]byte
	if kid != sscard.KidUpdate {
		return c, fmt.Errorf("ministry: key %02X is not the update key", kid)
	}
	select {
	case p.req <- keyRequest(cardID, nil, factor, orig):
	case <-ctx.Done():
		return c, ctx.Err()
	}
	select {
	case r := <-p.ans:
		if !bytes.Equal(r[8:], orig) {
			return c, sscard.ErrHSMAnswer
		}
		copy(c[:], r[:8])
		return c, nil
	case <-ctx.Done():
		return c, ctx.Err()
	}
}

func (l *Lib) pinStep2(kind, key string) Result {
	if r, ok := l.start(noIType); !ok {
		return r
	}
	ans, err := parseKey(key)
	if err != nil {
		return fail(ErrKeyFormat, "")
	}
	p, r, ok := l.take(kind, 2)
	if !ok {
		return r
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.OpTimeout)
	defer cancel()
	if _, err := p.req.Complete(ctx, ans); err != nil {
		p.conn.close(true)
		return hsmError(err)
	}
	p.req = nil
	// The reset runs on the held card until step 3 or the timeout.
	rctx, rcancel := context.WithTimeout(context.Background(), l.cfg.HSMTimeout+l.cfg.OpTimeout)
	pr := &pinReset{req: make(chan sscard.WriteKeyRequest), ans: make(chan [16]byte, 1), done: make(chan struct{}), cancel: rcancel}
	atr := p.conn.sess.ATRHistorical()
	go func() {
		defer close(pr.done)
		pr.err = p.conn.sess.ResetPIN(rctx, pr, l.cfg.InitialPIN)
	}()
	var wkr sscard.WriteKeyRequest
	select {
	case wkr = <-pr.req:
	case <-pr.done:
		rcancel()
		p.conn.close(true)
		return hsmError(pr.err)
	case <-ctx.Done():
		rcancel()
		<-pr.done
		p.conn.close(true)
		return errorResult(ctx.Err())
	}
	wkr.ATRHistorical = atr
	l.pendMu.Lock()
	l.put(&pending{kind: kind, step: 3, conn: p.conn, pin: pr})
	l.pendMu.Unlock()
	return Result{Out: wkr.String()}
}

func (l *Lib) pinStep3(kind, key string) Result {
	ans, r, ok := l.writeKeyAnswer(key)
	if !ok {
		return r
	}
	p, r, ok := l.take(kind, 3)
	if !ok {
		return r
	}
	p.pin.ans <- ans.Result
	<-p.pin.done
	p.pin.cancel()
	p.conn.close(true)
	if err := p.pin.err; err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fail(ErrNoStep1, "timed out")
		}
		return hsmError(err)
	}
	return Result{Out: "OK|"}
}

// writeKeyAnswer starts a step that takes the key system's write-key answer
// (RESULT|, the last step of the PIN reload/unblock and write flows) and
// parses it; a malformed answer leaves the pending flow as it is.
func (l *Lib) writeKeyAnswer(key string) (sscard.WriteKeyAnswer, Result, bool) {
	if r, ok := l.start(noIType); !ok {
		return sscard.WriteKeyAnswer{}, r, false
	}
	if len(key) > MaxKeyIn {
		return sscard.WriteKeyAnswer{}, fail(ErrKeyFormat, ""), false
	}
	ans, err := sscard.ParseWriteKeyAnswer(key)
	if err != nil {
		return sscard.WriteKeyAnswer{}, fail(ErrKeyFormat, ""), false
	}
	return ans, Result{}, true
}
