package batch

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sscard/ssc/sscard"
)

// Event kinds.
const (
	EventAssigned = "assigned" // a line is bound to a card (journaled), the write begins
	EventIssued   = "issued"   // the card is written, read back and verified
	EventFailed   = "failed"   // a card failed: set aside
	EventSkipped  = "skipped"  // a card or a line not issued, by rule (Reason)
)

// Event is one thing that happened in a batch. It never holds the holder's
// values: the line is named by its number and hash, errors name fields.
type Event struct {
	Kind      string   `json:"event"`
	Line      int      `json:"line,omitempty"`      // line number in the input (0: a card without a line)
	LineHash  string   `json:"line_hash,omitempty"` // Line.Hash
	Reader    string   `json:"reader,omitempty"`
	CardID    string   `json:"card_id,omitempty"`
	Reason    string   `json:"reason,omitempty"` // Reason* code (failed, skipped)
	Error     string   `json:"error,omitempty"`
	Written   []string `json:"written,omitempty"` // fields the card confirmed writing (issued, failed)
	Resumed   bool     `json:"resumed,omitempty"` // the journal had the line bound to this card already
	Rewritten bool     `json:"rewritten,omitempty"`
	// Released: a card failed before the line was bound to it; the line
	// stays free for another card.
	Released bool `json:"released,omitempty"`
}

// Summary is the outcome of a run.
type Summary struct {
	Lines   int     `json:"lines"`
	Issued  []Event `json:"issued"`  // issued in this run
	Failed  []Event `json:"failed"`  // cards that failed in this run
	Skipped []Event `json:"skipped"` // cards and lines skipped (Reason)
	// Attention: lines bound to a card by the journal and not issued on
	// it, whose card was not presented in this run: present that card
	// again (the line never goes onto another card).
	Attention []Event `json:"attention"`
	// Remaining: the numbers of lines not bound to any card yet (more
	// blank cards needed).
	Remaining []int `json:"remaining"`
}

// OK says whether no card failed and no line needs attention.
func (s *Summary) OK() bool { return len(s.Failed) == 0 && len(s.Attention) == 0 }

// Options of Run.
type Options struct {
	// Journal receives the batch steps and every card's write-session
	// steps; required. With the cards of this process (SessionCard), give
	// them the same journal.
	Journal sscard.Journal
	// Prior are the journal's entries before this run (sscard.ReadJournal
	// of the same file): the source of truth of what is done and bound.
	Prior []sscard.JournalEntry
	// Events, when set, receives every event, one call at a time.
	Events func(Event)
	// WriteTimeout bounds the write of a card that had begun when ctx
	// ended: an interrupted batch finishes its in-flight cards rather than
	// leave them half written. Default 60 s.
	WriteTimeout time.Duration
}

// ErrJournal is the fatal error of Run when the journal cannot be written:
// nothing is written to a card whose binding is not journaled.
var ErrJournal = errors.New("batch: journal")

// Run issues lines onto cards, one worker per card, in parallel. For each
// card it reads the card id, picks the line (the one the journal binds to
// this card; else the line for this card id; else the next any-card line),
// prepares the write session — steps 1 and 2: a card holding another holder
// is skipped (ReasonNotBlank), never overwritten —, journals the binding
// (batch.assign), writes, and journals batch.issued or batch.failed. A card
// that fails is reported and set aside; the others go on. When ctx ends no
// new card is prepared; cards already writing finish (WriteTimeout).
// Run returns an error only when the journal fails (ErrJournal), after
// the workers have stopped.
func Run(ctx context.Context, lines []Line, cards []Card, opts Options) (*Summary, error) {
	if opts.Journal == nil {
		return nil, fmt.Errorf("%w: a batch needs a journal", ErrJournal)
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 60 * time.Second
	}
	bound, boundCards := replay(opts.Prior)
	r := &run{opts: opts, bound: bound, boundCards: boundCards,
		sum:    &Summary{Lines: len(lines), Issued: []Event{}, Failed: []Event{}, Skipped: []Event{}, Attention: []Event{}, Remaining: []int{}},
		byHash: map[string]*Line{}, busy: map[string]bool{}}
	for i := range lines {
		l := &lines[i]
		r.byHash[l.Hash] = l
		if b := bound[l.Hash]; b != nil && b.done {
			r.emit(Event{Kind: EventSkipped, Line: l.No, LineHash: l.Hash, CardID: b.card, Reason: ReasonLineDone})
			continue
		}
		r.free = append(r.free, l)
	}
	jctx, stop := context.WithCancel(ctx) // a journal failure stops every worker
	defer stop()
	r.stop = stop
	var wg sync.WaitGroup
	for _, c := range cards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.card(jctx, c)
		}()
	}
	wg.Wait()
	r.finish(lines)
	if r.journalErr != nil {
		return r.sum, r.journalErr
	}
	return r.sum, nil
}

type run struct {
	opts       Options
	mu         sync.Mutex
	bound      map[string]*binding // line hash → card (journal)
	boundCards map[string]string   // card id → line hash
	byHash     map[string]*Line
	free       []*Line         // lines not done, in input order; bound ones included
	busy       map[string]bool // line hashes taken by a worker now
	sum        *Summary
	journalErr error
	stop       func()
	evMu       sync.Mutex
}

func (r *run) emit(e Event) {
	r.evMu.Lock()
	defer r.evMu.Unlock()
	switch e.Kind {
	case EventIssued:
		r.sum.Issued = append(r.sum.Issued, e)
	case EventFailed:
		r.sum.Failed = append(r.sum.Failed, e)
	case EventSkipped:
		r.sum.Skipped = append(r.sum.Skipped, e)
	}
	if r.opts.Events != nil {
		r.opts.Events(e)
	}
}

func (r *run) record(e sscard.JournalEntry) error {
	e.Time = time.Now().UTC()
	if err := r.opts.Journal.Record(e); err != nil {
		err = fmt.Errorf("%w: %w", ErrJournal, err)
		r.mu.Lock()
		if r.journalErr == nil {
			r.journalErr = err
		}
		r.mu.Unlock()
		r.stop()
		return err
	}
	return nil
}

// pick chooses the line for card id (uppercase hex) and marks it busy.
// resumed: the journal binds it to this card already.
func (r *run) pick(id string) (l *Line, resumed bool, skip string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if h, ok := r.boundCards[id]; ok {
		l := r.byHash[h]
		switch {
		case l == nil:
			return nil, false, ReasonCardBound
		case r.bound[h].done:
			return l, false, ReasonCardDone
		}
		r.busy[h] = true
		return l, true, ""
	}
	var anyCard *Line
	for _, l := range r.free {
		if r.busy[l.Hash] || r.bound[l.Hash] != nil {
			continue
		}
		if !l.AnyCard && strings.EqualFold(hex.EncodeToString(l.Info.CardID), id) {
			r.busy[l.Hash] = true
			return l, false, ""
		}
		if l.AnyCard && anyCard == nil {
			anyCard = l
		}
	}
	if anyCard == nil {
		return nil, false, ReasonNoLine
	}
	r.busy[anyCard.Hash] = true
	return anyCard, false, ""
}

func (r *run) release(l *Line) {
	r.mu.Lock()
	delete(r.busy, l.Hash)
	r.mu.Unlock()
}

// bind records the binding in memory once it is journaled.
func (r *run) bind(l *Line, id, readerName string) {
	r.mu.Lock()
	r.bound[l.Hash] = &binding{card: id, reader: readerName}
	r.boundCards[id] = l.Hash
	r.mu.Unlock()
}

func (r *run) setDone(l *Line, failed string) {
	r.mu.Lock()
	b := r.bound[l.Hash]
	if failed == "" {
		b.done = true
	} else {
		b.failed = failed
	}
	delete(r.busy, l.Hash)
	r.mu.Unlock()
}

// card issues one card.
func (r *run) card(ctx context.Context, c Card) {
	name := c.Reader()
	if ctx.Err() != nil {
		r.emit(Event{Kind: EventSkipped, Reader: name, Reason: ReasonInterrupted})
		return
	}
	raw, err := c.CardID(ctx)
	if err != nil {
		r.emit(Event{Kind: EventFailed, Reader: name, Reason: reasonOf(err), Error: err.Error()})
		return
	}
	id := strings.ToUpper(hex.EncodeToString(raw))
	l, resumed, skip := r.pick(id)
	if skip != "" {
		e := Event{Kind: EventSkipped, Reader: name, CardID: id, Reason: skip}
		if l != nil {
			e.Line, e.LineHash = l.No, l.Hash
		}
		r.emit(e)
		return
	}
	base := Event{Line: l.No, LineHash: l.Hash, Reader: name, CardID: id, Resumed: resumed}
	w := *l.Info
	if l.AnyCard {
		w.CardID = bytes.Clone(raw)
	}
	p, err := c.Prepare(ctx, &w)
	if err != nil {
		e := base
		e.Reason, e.Error = reasonOf(err), err.Error()
		if !resumed {
			r.release(l)
			e.Released = true
			if e.Reason == ReasonNotBlank {
				e.Kind = EventSkipped
				r.emit(e)
				return
			}
		} else {
			r.setDone(l, e.Error)
		}
		e.Kind = EventFailed
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			e.Kind = EventSkipped // interrupted before anything was written
		}
		r.emit(e)
		return
	}
	if ctx.Err() != nil {
		// Interrupted while the session was prepared: nothing written.
		p.Abort()
		e := base
		e.Kind, e.Reason, e.Error = EventSkipped, ReasonInterrupted, ctx.Err().Error()
		if resumed {
			r.setDone(l, e.Error)
		} else {
			r.release(l)
			e.Released = true
		}
		r.emit(e)
		return
	}
	if !resumed {
		// The binding is durable before the first UPDATE RECORD.
		if err := r.record(sscard.JournalEntry{CardID: id, Step: sscard.StepBatchAssign, Line: l.Hash, Reader: name}); err != nil {
			p.Abort()
			r.release(l)
			e := base
			e.Kind, e.Reason, e.Error, e.Released = EventFailed, ReasonJournal, err.Error(), true
			r.emit(e)
			return
		}
		r.bind(l, id, name)
	}
	e := base
	e.Kind = EventAssigned
	r.emit(e)
	// A write that has begun finishes even when the batch is interrupted.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.WriteTimeout)
	rep, err := p.Write(wctx)
	cancel()
	if err != nil {
		e := base
		e.Kind, e.Reason, e.Error = EventFailed, reasonOf(err), err.Error()
		var ie *sscard.IssueError
		if errors.As(err, &ie) {
			e.Written = ie.Written
		}
		r.setDone(l, e.Error)
		r.record(sscard.JournalEntry{CardID: id, Step: sscard.StepBatchFailed, Line: l.Hash, Reader: name, //nolint:errcheck // a journal failure is r.journalErr
			Written: e.Written, Error: e.Error})
		r.emit(e)
		return
	}
	r.record(sscard.JournalEntry{CardID: id, Step: sscard.StepBatchIssued, Line: l.Hash, Reader: name, Written: rep.Written}) //nolint:errcheck // as above
	r.setDone(l, "")
	e = base
	e.Kind, e.Written, e.Rewritten = EventIssued, rep.Written, rep.Rewritten
	r.emit(e)
}

// finish lists the lines bound but not issued whose card was not seen, and
// the lines without a card.
func (r *run) finish(lines []Line) {
	failed := map[string]bool{}
	for _, e := range r.sum.Failed {
		failed[e.LineHash] = true
	}
	for _, l := range lines {
		b := r.bound[l.Hash]
		switch {
		case b == nil:
			r.sum.Remaining = append(r.sum.Remaining, l.No)
		case b.done || failed[l.Hash]:
		default:
			r.sum.Attention = append(r.sum.Attention, Event{Kind: EventFailed, Line: l.No, LineHash: l.Hash,
				CardID: b.card, Reader: b.reader, Reason: ReasonNotPresented, Error: b.failed})
		}
	}
	sort.Ints(r.sum.Remaining)
	for _, s := range []*[]Event{&r.sum.Issued, &r.sum.Failed, &r.sum.Skipped} {
		sort.SliceStable(*s, func(i, j int) bool { return (*s)[i].Line < (*s)[j].Line })
	}
}
