package ministry

import (
	"context"

	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
)

// The three-step flows of iWriteCard_HSM and iReloadPIN_HSM/iUnblockPIN_HSM
// are one write session each (sscard.WriteSession): step 1 the Step-1 line
// for the read key, step 2 the read-key answer (and, for a write, the
// values) giving the write-key request, step 3 the write-key answer. They
// run on the held card, or through sscd as the daemon's write sessions
// (/v1/issue/{session}/step2, /step3).

// beginSession is step 1 of a write-session flow of kind: direct begins
// the session on the card of iType, viaDaemon on the daemon's reader.
func (l *Lib) beginSession(kind string, iType int, addr Address,
	direct func(ctx context.Context, c *conn, wf *writeFlow) (*sscard.WriteSession, error),
	viaDaemon func(ctx context.Context, name string) (*sscd.IssueStep1, error)) Result {
	return l.stepOne(iType, func(ctx context.Context, name string) Result {
		if name != "" {
			st, err := viaDaemon(ctx, name)
			if err != nil {
				return writeError(err)
			}
			l.put(&pending{kind: kind, step: 2, session: st.Session, writeSession: true, addr: addr})
			return Result{Out: st.Step1}
		}
		c, err := l.open(ctx, iType)
		if err != nil {
			return errorResult(err)
		}
		wf := &writeFlow{}
		if wf.ws, err = direct(ctx, c, wf); err != nil {
			c.close(false)
			return writeError(err)
		}
		l.put(&pending{kind: kind, step: 2, conn: c, addr: addr, write: wf})
		return Result{Out: wf.ws.Step1().String()}
	})
}

// sessionStep2 is step 2 of a write-session flow: the card authenticated
// with the read key's answer (values: a write's new values), the
// write-key request answered. A failure ends the flow.
func (l *Lib) sessionStep2(kind string, ans sscard.Step2Input, values map[string]string) Result {
	p, r, ok := l.take(kind, 2)
	if !ok {
		return r
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.OpTimeout)
	defer cancel()
	var out string
	if p.session != "" {
		st, err := l.daemon.UpdateStep2(ctx, p.session, ans.String(), values)
		if err != nil {
			// Only malformed values leave the daemon's session, and they
			// were checked here: end it whatever the daemon kept.
			p.abort(l)
			return writeError(err)
		}
		out = st.Request
	} else {
		p.write.values = values
		req, err := p.write.ws.Authorize(ctx, ans)
		if err != nil {
			p.conn.close(true)
			return writeError(err)
		}
		out = req.String()
	}
	l.pendMu.Lock()
	l.put(&pending{kind: kind, step: 3, conn: p.conn, write: p.write, session: p.session, writeSession: p.writeSession})
	l.pendMu.Unlock()
	return Result{Out: out}
}

// sessionStep3 is step 3 of a write-session flow: the write-key answer
// RESULT|; "OK|" once the card is written (and read back) or its PIN
// reset.
func (l *Lib) sessionStep3(kind, key string) Result {
	ans, r, ok := l.writeKeyAnswer(key)
	if !ok {
		return r
	}
	p, r, ok := l.take(kind, 3)
	if !ok {
		return r
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.OpTimeout)
	defer cancel()
	var err error
	if p.session != "" {
		_, err = l.daemon.IssueStep3(ctx, p.session, ans.String())
	} else {
		_, err = p.write.ws.Write(ctx, ans)
		p.conn.close(true)
	}
	if err != nil {
		return writeError(err)
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
