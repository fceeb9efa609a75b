package ministry

import (
	"context"

	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
)

// iAuthType of iReadCard. SIM choice (the ministry's values are not
// public): 0 reads without authentication (a 3rd-gen card then gives its
// free items only: protected ones are ErrNeedsHSM), 1 authenticates with
// the configured key system first, as a PSAM terminal does with its PSAM.
const (
	AuthNone      = 0
	AuthKeySystem = 1
)

// ReadCard is iReadCard: the data items of pFileAddr (see ParseAddress),
// each followed by "|".
func (l *Lib) ReadCard(iType, authType int, cardInfo, fileAddr string) Result {
	if r, ok := l.start(iType); !ok {
		return r
	}
	if authType != AuthNone && authType != AuthKeySystem {
		return fail(ErrArgFormat, "iAuthType must be 0 or 1")
	}
	cardID, err := parseCardInfo(cardInfo)
	if err != nil {
		return fail(ErrArgFormat, "pCardInfo")
	}
	addr, err := ParseAddress(fileAddr)
	if err != nil {
		return fail(ErrAddress, "")
	}
	if authType == AuthKeySystem && l.daemon == nil && l.hsm == nil {
		return fail(ErrHSM, "no key system configured (SSC_HSM)")
	}
	opts := sscard.ReadOptions{Fields: addr.Fields()}
	var info *sscard.BasicInfo
	err = l.do(iType, func(ctx context.Context, c *conn) error {
		if err := checkCard(ctx, c.sess, cardID); err != nil {
			return err
		}
		var hsm sscard.HSM
		if authType == AuthKeySystem {
			hsm = l.hsm
		}
		var err error
		info, err = sscard.ReadAuto(ctx, c.sess, hsm, opts)
		if err == nil && sscard.ReadsWithHSM(c.sess, hsm) {
			c.reset = true
		}
		return err
	}, func(ctx context.Context, name string) error {
		var err error
		info, err = l.daemon.Info(ctx, name, sscd.InfoOptions{AllFields: true, NoHSM: authType == AuthNone, Partial: authType == AuthNone, Fresh: true})
		if err != nil {
			return err
		}
		if cardID != nil && string(info.CardID) != string(cardID) {
			return errWrongCard
		}
		if info.Generation == 3 && authType == AuthNone && addr.Fields()&^sscard.FieldsFree != 0 {
			return sscard.ErrNeedsHSM
		}
		return nil
	})
	if err != nil {
		return hsmError(err)
	}
	return Result{Out: addr.Format(info)}
}

// ReadCardStep1 is iReadCard_HSM_Step1: the Step-1 line for reading the
// items of pFileAddr.
func (l *Lib) ReadCardStep1(iType int, cardInfo, fileAddr string) Result {
	if r, ok := l.start(iType); !ok {
		return r
	}
	cardID, err := parseCardInfo(cardInfo)
	if err != nil {
		return fail(ErrArgFormat, "pCardInfo")
	}
	addr, err := ParseAddress(fileAddr)
	if err != nil {
		return fail(ErrAddress, "")
	}
	return l.hsmStep1(flowCard, iType, cardID, addr)
}

// ReadCardStep2 is iReadCard_HSM_Step2: the items asked in step 1.
func (l *Lib) ReadCardStep2(key string) Result {
	l.pendMu.Lock()
	var addr Address
	if l.pend != nil {
		addr = l.pend.addr
	}
	l.pendMu.Unlock()
	info, r, ok := l.hsmStep2(flowCard, key)
	if !ok {
		return r
	}
	return Result{Out: addr.Format(info)}
}
