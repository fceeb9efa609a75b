package ministry

import (
	"context"

	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
)

// ReadCardBas is iReadCardBas: the 11-field string (9 without the terminal
// numbers). A 3rd-gen card gives the free fields and leaves SSN, card
// number and name empty (ssc-facts §2.3): that needs the HSM steps.
func (l *Lib) ReadCardBas(iType int) Result {
	if r, ok := l.start(iType); !ok {
		return r
	}
	var info *sscard.BasicInfo
	err := l.do(iType, func(ctx context.Context, c *conn) error {
		var err error
		info, err = c.sess.Read(ctx, sscard.ReadOptions{AllowPartial: true})
		return err
	}, func(ctx context.Context, name string) error {
		var err error
		info, err = l.daemon.Info(ctx, name, sscd.InfoOptions{NoHSM: true, Partial: true})
		return err
	})
	if err != nil {
		return errorResult(err)
	}
	return Result{Out: sscard.FormatReadCardBas(info, l.term())}
}

// do runs a card operation of iType directly (direct) or through sscd
// (viaDaemon, with the daemon's reader name), within the operation timeout.
func (l *Lib) do(iType int, direct func(ctx context.Context, c *conn) error, viaDaemon func(ctx context.Context, name string) error) error {
	if l.daemon == nil {
		return l.withCard(iType, l.cfg.OpTimeout, false, direct)
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.OpTimeout)
	defer cancel()
	name, err := l.daemonReader(ctx, iType)
	if err != nil {
		return err
	}
	return viaDaemon(ctx, name)
}

// ReadCardBasHSM is the extension ssc_ReadCardBas_HSM: iReadCardBas with
// the whole HSM round trip made with the configured key system (SSC_HSM),
// or through sscd with the daemon's.
func (l *Lib) ReadCardBasHSM(iType int) Result {
	if r, ok := l.start(iType); !ok {
		return r
	}
	if l.daemon == nil && l.hsm == nil {
		return fail(ErrHSM, "no key system configured (SSC_HSM)")
	}
	var info *sscard.BasicInfo
	err := l.do(iType, func(ctx context.Context, c *conn) error {
		var err error
		info, err = sscard.ReadAuto(ctx, c.sess, l.hsm, sscard.ReadOptions{})
		if err == nil && sscard.ReadsWithHSM(c.sess, l.hsm) {
			c.reset = true
		}
		return err
	}, func(ctx context.Context, name string) error {
		var err error
		info, err = l.daemon.Info(ctx, name, sscd.InfoOptions{Fresh: true})
		return err
	})
	if err != nil {
		return hsmError(err)
	}
	return Result{Out: sscard.FormatReadCardBas(info, l.term())}
}

// ReadCardBasStep1 is iReadCardBas_HSM_Step1: the 8-field Step-1 line
// (ssc-facts §2.4). The card is held (no reset, no other command) until
// step 2 or the timeout.
func (l *Lib) ReadCardBasStep1(iType int) Result {
	return l.hsmStep1(flowBas, iType, nil, Address{})
}

// ReadCardBasStep2 is iReadCardBas_HSM_Step2: with the key system's answer
// RESULT1|RESULT2|, the 11-field string with every field. A wrong answer
// gives ErrNotGenuine (internal authentication) or ErrExternalAuth and
// nothing is read.
func (l *Lib) ReadCardBasStep2(key string) Result {
	info, r, ok := l.hsmStep2(flowBas, key)
	if !ok {
		return r
	}
	return Result{Out: sscard.FormatReadCardBas(info, l.term())}
}

// hsmStep1 begins an HSM read flow of kind for fields (addr; empty = the
// iReadCardBas set) on the card of iType, checked against cardID.
func (l *Lib) hsmStep1(kind string, iType int, cardID []byte, addr Address) Result {
	if r, ok := l.start(iType); !ok {
		return r
	}
	return l.stepOne(iType, func(ctx context.Context, name string) Result {
		if name != "" {
			if cardID != nil {
				info, err := l.daemon.Info(ctx, name, sscd.InfoOptions{NoHSM: true, Partial: true})
				if err != nil {
					return errorResult(err)
				}
				if string(info.CardID) != string(cardID) {
					return fail(ErrWrongCard, "")
				}
			}
			st, err := l.daemon.HSMStep1(ctx, name, sscd.HSMStep1Options{AllFields: kind == flowCard})
			if err != nil {
				return errorResult(err)
			}
			l.put(&pending{kind: kind, step: 2, session: st.Session, addr: addr})
			return Result{Out: st.Step1}
		}
		c, err := l.open(ctx, iType)
		if err != nil {
			return errorResult(err)
		}
		if err := checkCard(ctx, c.sess, cardID); err != nil {
			c.close(false)
			return errorResult(err)
		}
		req, err := c.sess.BeginHSM(ctx, sscard.ReadOptions{Fields: addr.Fields()})
		if err != nil {
			c.close(false)
			return errorResult(err)
		}
		l.put(&pending{kind: kind, step: 2, conn: c, req: req, addr: addr})
		return Result{Out: req.Step1().String()}
	})
}

// hsmStep2 completes an HSM read flow of kind with the key system's answer.
func (l *Lib) hsmStep2(kind, key string) (*sscard.BasicInfo, Result, bool) {
	if r, ok := l.start(noIType); !ok {
		return nil, r, false
	}
	ans, err := parseKey(key)
	if err != nil {
		// A malformed key leaves the flow pending: the caller may retry.
		return nil, fail(ErrKeyFormat, ""), false
	}
	p, r, ok := l.take(kind, 2)
	if !ok {
		return nil, r, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.OpTimeout)
	defer cancel()
	if p.session != "" {
		info, err := l.daemon.HSMStep2(ctx, p.session, ans.String())
		if err != nil {
			return nil, hsmError(err), false
		}
		return info, Result{}, true
	}
	info, err := p.req.Complete(ctx, ans)
	p.conn.close(true)
	if err != nil {
		return nil, hsmError(err), false
	}
	return info, Result{}, true
}
