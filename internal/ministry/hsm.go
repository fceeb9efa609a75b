package ministry

import (
	"context"
	"errors"
	"time"

	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
)

// The HSM steps belong to the process: one flow at a time, whichever
// thread calls. Step 1 keeps the reader (its lock and the card's
// transaction, or the daemon's session) until the next step or the
// timeout (hsm_timeout, default 60 s), when the flow is dropped and the
// card released.

// Flow kinds, each with the step that may follow.
const (
	flowBas     = "iReadCardBas_HSM"
	flowCard    = "iReadCard_HSM"
	flowReload  = "iReloadPIN_HSM"
	flowUnblock = "iUnblockPIN_HSM"
	flowWrite   = "iWriteCard_HSM"
)

// pending is the flow waiting for its next step.
type pending struct {
	kind  string
	step  int // the step that may come next
	timer *time.Timer

	// direct
	conn *conn
	req  *sscard.HSMRequest
	addr Address
	// write is the write session (iWriteCard_HSM, iReloadPIN_HSM,
	// iUnblockPIN_HSM) on conn.
	write *writeFlow

	// through sscd: the daemon's HSM session, or its write session
	session      string
	writeSession bool
}

func (p *pending) abort(l *Lib) {
	switch {
	case p.session != "":
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if p.writeSession {
			_ = l.daemon.IssueAbort(ctx, p.session)
		} else {
			_ = l.daemon.HSMAbort(ctx, p.session)
		}
		cancel()
	default:
		if p.req != nil {
			p.req.Abort()
		}
		if p.write != nil && p.write.ws != nil {
			p.write.ws.Abort()
		}
		if p.conn != nil {
			p.conn.close(true)
		}
	}
}

// put installs p as the pending flow with the configured timeout. The
// caller holds pendMu and has checked that nothing is pending.
func (l *Lib) put(p *pending) {
	l.pend = p
	p.timer = time.AfterFunc(l.cfg.HSMTimeout, func() {
		l.pendMu.Lock()
		mine := l.pend == p
		if mine {
			l.pend = nil
		}
		l.pendMu.Unlock()
		if mine {
			p.abort(l)
		}
	})
}

// stepOne runs f, step 1 of a flow, under pendMu with no flow pending and
// within the operation timeout; name is the daemon's reader of iType, ""
// when the library uses the readers directly. f installs the flow (put).
func (l *Lib) stepOne(iType int, f func(ctx context.Context, name string) Result) Result {
	l.pendMu.Lock()
	defer l.pendMu.Unlock()
	if r, busy := l.busy(); busy {
		return r
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.OpTimeout)
	defer cancel()
	name := ""
	if l.daemon != nil {
		var err error
		if name, err = l.daemonReader(ctx, iType); err != nil {
			return errorResult(err)
		}
	}
	return f(ctx, name)
}

// busy reports a pending flow for a new step 1 (caller holds pendMu).
func (l *Lib) busy() (Result, bool) {
	if l.pend != nil {
		return fail(ErrBusy, "an HSM flow is pending ("+l.pend.kind+")"), true
	}
	return Result{}, false
}

// take removes the pending flow for step `step` of kind; it fails with
// ErrNoStep1 when there is none (or it just expired) and
// ErrStepOutOfOrder when another flow or step is pending (which stays).
func (l *Lib) take(kind string, step int) (*pending, Result, bool) {
	l.pendMu.Lock()
	defer l.pendMu.Unlock()
	p := l.pend
	if p == nil {
		return nil, fail(ErrNoStep1, ""), false
	}
	if p.kind != kind || p.step != step {
		return nil, fail(ErrStepOutOfOrder, p.kind), false
	}
	l.pend = nil
	if !p.timer.Stop() {
		// The timeout fired and waits for pendMu: the flow is over.
		go p.abort(l)
		return nil, fail(ErrNoStep1, "timed out"), false
	}
	return p, Result{}, true
}

// hsmError maps an error of a step 2: a 63Cx here is the card refusing the
// key system's cryptogram, not a PIN.
func hsmError(err error) Result {
	if c := codeOf(err); c == ErrWrongPIN {
		return fail(ErrExternalAuth, "")
	}
	// Through sscd: the card's refusal of the write key's cryptogram comes
	// as hsm_error of the step "auth" with the card's status word.
	var de *sscd.Error
	if errors.As(err, &de) && de.Code == sscd.CodeHSMError && de.Step == sscard.StepAuth && de.SW != "" {
		return fail(ErrExternalAuth, "")
	}
	return errorResult(err)
}

// parseKey parses a pKey RESULT1|RESULT2| strictly (length first).
func parseKey(s string) (sscard.Step2Input, error) {
	if len(s) > MaxKeyIn {
		return sscard.Step2Input{}, errArg
	}
	return sscard.ParseStep2Input(s)
}
