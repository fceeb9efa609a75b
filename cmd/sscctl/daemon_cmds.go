package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
)

// viaDaemon returns the daemon and the reader of a card command, or ok false
// to go direct (no daemon, or direct mode would use the in-process software
// card).
func (a *app) viaDaemon(ctx context.Context) (c *sscd.Client, r sscd.Reader, ok bool, err error) {
	if c = a.daemonClient(ctx); c == nil {
		return nil, r, false, nil
	}
	r, ok, err = a.daemonReader(ctx, c)
	return c, r, ok, err
}

func cardOpts(r sscd.Reader) sscd.CardOptions { return sscd.CardOptions{Insertion: r.Insertion} }

// readersViaDaemon lists the daemon's readers as direct mode does, with the
// in-process software card sscctl always has when the daemon has none.
func (a *app) readersViaDaemon(ctx context.Context, c *sscd.Client) ([]reader.Info, error) {
	rs, err := daemonReaders(ctx, c)
	if err != nil {
		return nil, err
	}
	out := make([]reader.Info, 0, len(rs)+1)
	hasSim := false
	for _, r := range rs {
		hasSim = hasSim || r.Name == reader.SimReaderName
		out = append(out, reader.Info{Name: r.Name, Backend: r.Backend, CardPresent: r.CardPresent, ATR: r.ATR})
	}
	if !hasSim {
		card, err := a.simCard()
		if err != nil {
			return nil, err
		}
		out = append(out, reader.Info{Name: reader.SimReaderName, Backend: "sim", CardPresent: true, ATR: card.ATR()})
	}
	return out, nil
}

// infoViaDaemon reads the basic information through the daemon. Without
// --hsm the daemon is told not to use its own HSM, so a 3rd-gen card gives
// the same needs-HSM error (or with --partial the same free fields) as
// direct mode; with --hsm the daemon uses the HSM of its configuration.
func (a *app) infoViaDaemon(ctx context.Context, c *sscd.Client, format string, withHSM, partial, all bool, term sscard.TerminalInfo) (done bool, err error) {
	_, r, ok, err := a.viaDaemon(ctx)
	if err != nil || !ok {
		return err != nil, err
	}
	info, err := c.Info(ctx, r.Name, sscd.InfoOptions{CardOptions: cardOpts(r), Partial: partial && !withHSM, AllFields: all, NoHSM: !withHSM})
	if err != nil {
		err = fromDaemon(err, r.Name)
		if errors.Is(err, sscard.ErrNeedsHSM) {
			if withHSM {
				return true, fmt.Errorf("%w (sscd has no HSM configured; use --direct to use --hsm here)", err)
			}
			return true, needsHSMHint(err)
		}
		return true, err
	}
	switch format {
	case "json":
		return true, writeJSON(a.stdout, info)
	case "bas":
		_, err := fmt.Fprintln(a.stdout, sscard.FormatReadCardBas(info, term))
		return true, err
	}
	return true, printInfo(a, info, r.Name, readerProtocol(r))
}

// readerProtocol is the protocol the daemon reports for the reader's card,
// or while it has not identified the card yet the ATR's default one (T=0
// for an ATR that does not parse).
func readerProtocol(r sscd.Reader) reader.Protocol {
	switch r.Protocol {
	case "T=0":
		return reader.T0
	case "T=1":
		return reader.T1
	}
	if a, err := apdu.ParseATR(r.ATR); err == nil && a.DefaultProtocol() == 1 {
		return reader.T1
	}
	return reader.T0
}

// hsmViaDaemon runs the two-step read with the daemon holding the card
// between the steps; answer gets the Step-1 and returns the HSM's answer.
func (a *app) hsmViaDaemon(ctx context.Context, all bool, answer func(context.Context, sscard.Step1) (sscard.Step2Input, error)) (done bool, err error) {
	c, r, ok, err := a.viaDaemon(ctx)
	if err != nil || !ok {
		return err != nil, err
	}
	s1, err := c.HSMStep1(ctx, r.Name, sscd.HSMStep1Options{CardOptions: cardOpts(r), AllFields: all})
	if err != nil {
		return true, fromDaemon(err, r.Name)
	}
	st, err := sscard.ParseStep1(s1.Step1)
	if err != nil {
		abortHSM(c, s1.Session)
		return true, err
	}
	ans, err := answer(ctx, st)
	if err != nil {
		abortHSM(c, s1.Session)
		return true, err
	}
	info, err := c.HSMStep2(ctx, s1.Session, ans.String())
	if err != nil {
		return true, fromDaemon(err, r.Name)
	}
	if a.json {
		return true, writeJSON(a.stdout, struct {
			Reader     string            `json:"reader"`
			Step1      string            `json:"step1"`
			Step2Input string            `json:"step2_input"`
			Info       *sscard.BasicInfo `json:"info"`
		}{r.Name, st.String(), ans.String(), info})
	}
	fmt.Fprintln(a.stdout)
	return true, printInfo(a, info, r.Name, readerProtocol(r))
}

// abortHSM ends an HSM session early so the daemon releases the reader now
// rather than when the session expires (best effort: it expires anyway).
func abortHSM(c *sscd.Client, session string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.HSMAbort(ctx, session) //nolint:errcheck // best effort
}

// watchViaDaemon turns the daemon's event stream into the events of direct
// mode: a snapshot becomes reader-added/card-inserted events marked
// snapshot, then one snapshot-done per backend.
func (a *app) watchViaDaemon(ctx context.Context, c *sscd.Client, emit func(reader.Event) bool) error {
	h, err := c.Health(ctx)
	if err != nil {
		return fromDaemon(err, "")
	}
	es, err := c.Events(ctx)
	if err != nil {
		return fromDaemon(err, "")
	}
	defer es.Close()
	stop := context.AfterFunc(ctx, func() { es.Close() })
	defer stop()
	first := true
	for {
		ev, err := es.Next()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		var out []reader.Event
		switch ev.Type {
		case sscd.EventSnapshot:
			if first && h.BackendError != "" {
				b, msg, _ := strings.Cut(h.BackendError, ": ")
				out = append(out, reader.Event{Type: reader.BackendError, Time: ev.Time, Backend: b, Err: msg})
			}
			out = append(out, a.snapshotEvents(ev, first)...)
			first = false
		case sscd.EventReaderAdded:
			out = append(out, reader.Event{Type: reader.ReaderAdded, Time: ev.Time, Backend: ev.Backend, Reader: ev.Reader})
		case sscd.EventReaderRemoved:
			out = append(out, reader.Event{Type: reader.ReaderRemoved, Time: ev.Time, Backend: ev.Backend, Reader: ev.Reader})
		case sscd.EventCardInserted:
			out = append(out, reader.Event{Type: reader.CardInserted, Time: ev.Time, Backend: ev.Backend, Reader: ev.Reader, ATR: ev.ATR, Insertion: ev.Insertion})
		case sscd.EventCardRemoved:
			out = append(out, reader.Event{Type: reader.CardRemoved, Time: ev.Time, Backend: ev.Backend, Reader: ev.Reader})
		case sscd.EventBackendError:
			out = append(out, reader.Event{Type: reader.BackendError, Time: ev.Time, Backend: ev.Backend, Err: ev.Error})
		}
		for _, e := range out {
			if !emit(e) {
				return nil
			}
		}
	}
}

// snapshotEvents expands a daemon snapshot, grouped by backend in the order
// of direct mode, each group ending with snapshot-done; the first one adds
// the in-process software card when the daemon has none.
func (a *app) snapshotEvents(ev *sscd.Event, first bool) []reader.Event {
	rs := append([]sscd.Reader(nil), ev.Readers...)
	hasSim := false
	for _, r := range rs {
		hasSim = hasSim || r.Name == reader.SimReaderName
	}
	if first && !hasSim {
		if card, err := a.simCard(); err == nil {
			rs = append(rs, sscd.Reader{Name: reader.SimReaderName, Backend: "sim", CardPresent: true, ATR: card.ATR(), Insertion: reader.NextInsertion()})
		}
	}
	sortReaders(rs)
	var out []reader.Event
	for i, r := range rs {
		out = append(out, reader.Event{Type: reader.ReaderAdded, Time: ev.Time, Backend: r.Backend, Reader: r.Name, Snapshot: true})
		if r.CardPresent {
			out = append(out, reader.Event{Type: reader.CardInserted, Time: ev.Time, Backend: r.Backend, Reader: r.Name, ATR: r.ATR, Insertion: r.Insertion, Snapshot: true})
		}
		if i == len(rs)-1 || rs[i+1].Backend != r.Backend {
			out = append(out, reader.Event{Type: reader.SnapshotDone, Time: ev.Time, Backend: r.Backend, Snapshot: true})
		}
	}
	return out
}
