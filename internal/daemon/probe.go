package daemon

import (
	"context"
	"errors"
	"time"

	"github.com/sscard/ssc/internal/metrics"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
)

// onEvent runs on the watch goroutine for every state change.
func (d *Daemon) onEvent(ev sscd.Event) {
	d.cache.observe(ev)
	switch ev.Type {
	case sscd.EventCardRemoved, sscd.EventCardInserted, sscd.EventReaderRemoved:
		// A session's card is gone: end it now, not at its expiry, so
		// the reader (its queue) is free at once.
		timeout := time.Duration(d.conf().cfg.HSMSessionTimeout)
		d.hsmSess.endReader(ev.Reader, timeout)
		d.issueSess.endReader(ev.Reader, timeout)
	}
	if ev.Type == sscd.EventCardInserted {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.probe(ev.Reader, ev.Insertion)
		}()
	}
}

// probe looks at a newly inserted card — is it a social security card,
// which generation — the way every operation opens it (queued, exclusive,
// SELECT SSSE and the version record), and records the answer in the
// reader's state. A card that cannot be read stays KindUnknown.
func (d *Daemon) probe(name string, insertion uint64) {
	if _, err := d.state.find(name); err != nil {
		return // hidden by the configuration: never touched
	}
	ctx, cancel := context.WithTimeout(d.ctx, d.opTimeout())
	defer cancel()
	op, err := d.begin(ctx, name, insertion)
	switch {
	case err == nil:
		gen, ver, proto := op.sess.Generation(), op.sess.Version(), op.card.Protocol().String()
		op.done()
		d.state.identify(name, insertion, sscd.Reader{Kind: sscd.KindSSC, Generation: gen, SpecVersion: ver, Protocol: proto})
	case errors.Is(err, sscard.ErrNotSSC):
		d.state.identify(name, insertion, sscd.Reader{Kind: sscd.KindOther})
	case errors.Is(err, sscard.ErrApplicationBlocked):
		d.state.identify(name, insertion, sscd.Reader{Kind: sscd.KindSSC})
	default:
		if d.ctx.Err() == nil && !sscd.IsCode(apiError(err), sscd.CodeCardChanged) && !sscd.IsCode(apiError(err), sscd.CodeNoCard) {
			d.log.Warn("cannot identify the card", "reader", name, errAttr(err))
		}
	}
}

// readerStates feeds the reader gauges of the metrics.
func (d *Daemon) readerStates() []metrics.ReaderState {
	rs, _, _ := d.state.snapshot()
	out := make([]metrics.ReaderState, len(rs))
	for i, r := range rs {
		out[i] = metrics.ReaderState{Name: r.Name, Backend: r.Backend, CardPresent: r.CardPresent, Kind: r.Kind}
	}
	return out
}
