package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/batch"
	"github.com/sscard/ssc/sscd"
)

// issueBatchCommand is `sscctl issue batch`: flags and I/O around
// batch.Run (docs/issuance.md, batch issuance).
func (a *app) issueBatchCommand() *cobra.Command {
	var input, journalPath, hsmName string
	cmd := &cobra.Command{
		Use:   "batch",
		Short: "Issue a file of write-info lines onto the blank cards of all readers in parallel",
		Long: "batch reads --input FILE (one ministry write-info string per line, or CSV with a header row naming the " +
			"write-info fields; an empty card_id means any blank card) and issues the lines onto the cards of every " +
			"reader holding one, one worker per reader. A card holding another holder is skipped, never overwritten; " +
			"a card that fails is reported and set aside. --journal FILE (required) records each line's card before " +
			"the first write: a rerun skips what is done and resumes a line only on its card. Through sscd (when it " +
			"answers) the daemon's write sessions are used, with the key system and the journal of this command. " +
			"Progress goes to stderr on a terminal; --json prints one JSON object per event and the summary. Exit 1 " +
			"when a card failed or a line waits for its card.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if input == "" || journalPath == "" {
				return usagef("give --input FILE and --journal FILE")
			}
			f, err := os.Open(input)
			if err != nil {
				return usageError{err}
			}
			lines, _, err := batch.Parse(f)
			f.Close()
			if err != nil {
				return usageError{err}
			}
			hsm, wk, err := parseWriteHSM(hsmName)
			if err != nil {
				return err
			}
			prior, err := sscard.ReadJournal(journalPath)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			j, err := sscard.OpenJournal(journalPath)
			if err != nil {
				return err
			}
			defer j.Close()
			cards, closeCards, err := a.batchCards(ctx, j, keySystemKeys(hsm, wk), hsm, wk)
			if err != nil {
				return err
			}
			defer closeCards()
			p := a.newBatchProgress(len(lines))
			// The batch's own context: SIGINT stops new cards, the cards
			// being written finish (batch.Options.WriteTimeout).
			sum, err := batch.Run(ctx, lines, cards, batch.Options{Journal: j, Prior: prior, Events: p.event})
			p.done()
			if sum != nil {
				if perr := a.printBatchSummary(sum); perr != nil && err == nil {
					err = perr
				}
			}
			if err != nil {
				return err
			}
			if !sum.OK() {
				return fmt.Errorf("batch: %d card(s) failed, %d line(s) wait for their card", len(sum.Failed), len(sum.Attention))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&input, "input", "", "the batch `FILE`: ministry write-info strings, one per line, or CSV with a header row")
	f.StringVar(&journalPath, "journal", "", "the batch journal `FILE` (JSON lines; required): the source of truth of a rerun")
	f.StringVar(&hsmName, "hsm", os.Getenv("SSC_HSM"), "key system for the read and write keys: sim or an http(s) URL (env SSC_HSM)")
	return cmd
}

// batchCards opens the card of every reader that holds one: through sscd
// when it answers, else directly (the software card of --reader sim only
// when asked for).
func (a *app) batchCards(ctx context.Context, j sscard.Journal, keys issueKeys, hsm sscard.HSM, wk sscard.WriteKeyHSM) ([]batch.Card, func(), error) {
	if c := a.daemonClient(ctx); c != nil {
		rs, err := daemonReaders(ctx, c)
		if err != nil {
			return nil, nil, err
		}
		var cards []batch.Card
		for _, r := range rs {
			if r.CardPresent && a.batchReader(r.Name, r.Backend) {
				cards = append(cards, &daemonCard{c: c, r: r, keys: keys})
			}
		}
		return cards, func() {}, nil
	}
	sys, err := a.system()
	if err != nil {
		return nil, nil, err
	}
	infos, err := sys.ListReaders(ctx)
	if err != nil {
		sys.Close()
		return nil, nil, err
	}
	var cards []batch.Card
	var closers []func()
	closeAll := func() {
		for _, c := range closers {
			c()
		}
		sys.Close()
	}
	for _, in := range infos {
		if !in.CardPresent || !a.batchReader(in.Name, in.Backend) {
			continue
		}
		card, err := sys.Connect(ctx, in.Name, reader.ConnectOptions{})
		if err != nil {
			cards = append(cards, brokenCard{in.Name, err}) // reported as a failed card
			continue
		}
		sess, err := sscard.Open(ctx, card, sscard.Options{})
		if err != nil {
			card.Close()
			cards = append(cards, brokenCard{in.Name, err})
			continue
		}
		closers = append(closers, func() { sess.Close(); card.Close() })
		cards = append(cards, &batch.SessionCard{Name: in.Name, Session: sess, HSM: hsm, WriteKey: wk, Journal: j})
	}
	return cards, closeAll, nil
}

// brokenCard is a reader whose card could not be opened: the batch reports
// it as a failed card.
type brokenCard struct {
	name string
	err  error
}

func (b brokenCard) Reader() string                         { return b.name }
func (b brokenCard) CardID(context.Context) ([]byte, error) { return nil, b.err }
func (b brokenCard) Prepare(context.Context, *sscard.WriteInfo) (batch.Prepared, error) {
	return nil, b.err
}

// batchReader says whether a batch uses the reader: with --reader, those
// whose name contains it; else every reader but the in-process software
// card.
func (a *app) batchReader(name, backend string) bool {
	if p := a.reader(); p != "" {
		return name == p || strings.Contains(name, p)
	}
	return backend != "sim"
}

// daemonCard is a batch.Card on the daemon's write session of one reader:
// the daemon holds the card between the steps, this process's key system
// answers them.
type daemonCard struct {
	c    *sscd.Client
	r    sscd.Reader
	keys issueKeys
}

func (d *daemonCard) Reader() string { return d.r.Name }

func (d *daemonCard) CardID(ctx context.Context) ([]byte, error) {
	info, err := d.c.Info(ctx, d.r.Name, sscd.InfoOptions{CardOptions: cardOpts(d.r), Fresh: true, NoHSM: true, Partial: true})
	if err != nil {
		return nil, fromDaemon(err, d.r.Name)
	}
	return info.CardID, nil
}

func (d *daemonCard) Prepare(ctx context.Context, w *sscard.WriteInfo) (batch.Prepared, error) {
	s1, err := d.c.IssueStep1(ctx, d.r.Name, sscd.IssueRequest{Data: w}, cardOpts(d.r))
	if err != nil {
		return nil, fromDaemon(err, d.r.Name)
	}
	line, err := d.keys.readKey(ctx, s1.Step1)
	if err != nil {
		abortIssue(d.c, s1.Session)
		return nil, err
	}
	s2, err := d.c.IssueStep2(ctx, s1.Session, line)
	if err != nil {
		return nil, fromDaemon(err, d.r.Name)
	}
	if line, err = d.keys.writeKey(ctx, s2.Request, nil); err != nil {
		abortIssue(d.c, s1.Session)
		return nil, err
	}
	return &daemonPrepared{d: d, session: s1.Session, key: line}, nil
}

type daemonPrepared struct {
	d       *daemonCard
	session string
	key     string
}

func (p *daemonPrepared) Write(ctx context.Context) (*sscard.IssueReport, error) {
	rep, err := p.d.c.IssueStep3(ctx, p.session, p.key)
	if err != nil {
		return nil, fromDaemon(err, p.d.r.Name)
	}
	return rep, nil
}

func (p *daemonPrepared) Abort() { abortIssue(p.d.c, p.session) }

// batchProgress shows a progress bar on a terminal (stderr) or, with
// --json, prints each event as a JSON line on stdout.
type batchProgress struct {
	a                       *app
	mu                      sync.Mutex
	total                   int
	issued, failed, skipped int
	bar                     bool
}

func (a *app) newBatchProgress(total int) *batchProgress {
	return &batchProgress{a: a, total: total, bar: !a.json && isTerminal(a.stderr)}
}

func (p *batchProgress) event(e batch.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e.Kind {
	case batch.EventIssued:
		p.issued++
	case batch.EventFailed:
		p.failed++
	case batch.EventSkipped:
		p.skipped++
	}
	if p.a.json {
		writeJSONLine(p.a.stdout, e) //nolint:errcheck // stdout gone: nothing to do
		return
	}
	if p.bar {
		const width = 30
		n := min(p.issued*width/max(p.total, 1), width)
		fmt.Fprintf(p.a.stderr, "\r[%s%s] %d/%d issued, %d failed, %d skipped ", strings.Repeat("#", n),
			strings.Repeat(".", width-n), p.issued, p.total, p.failed, p.skipped)
	}
}

func (p *batchProgress) done() {
	if p.bar {
		fmt.Fprintln(p.a.stderr)
	}
}

// printBatchSummary prints the outcome: a JSON object {"event":"summary"...}
// with --json, else lines for people.
func (a *app) printBatchSummary(s *batch.Summary) error {
	if a.json {
		return writeJSONLine(a.stdout, struct {
			Event string `json:"event"`
			*batch.Summary
		}{"summary", s})
	}
	w := a.stdout
	fmt.Fprintf(w, "batch: %d lines: %d issued, %d failed, %d skipped, %d need their card, %d wait for a blank card\n",
		s.Lines, len(s.Issued), len(s.Failed), len(s.Skipped), len(s.Attention), len(s.Remaining))
	for _, e := range s.Issued {
		fmt.Fprintf(w, "  issued  line %d on card %s (%s)%s\n", e.Line, e.CardID, e.Reader, map[bool]string{true: ", resumed"}[e.Resumed])
	}
	for _, e := range s.Failed {
		fmt.Fprintf(w, "  failed  %s (%s): %s: %s\n", describeLine(e), e.Reader, e.Reason, e.Error)
	}
	for _, e := range s.Skipped {
		fmt.Fprintf(w, "  skipped %s: %s\n", describeSkip(e), e.Reason)
	}
	for _, e := range s.Attention {
		fmt.Fprintf(w, "  waiting line %d for its card %s (last in %s): present that card again\n", e.Line, e.CardID, e.Reader)
	}
	if len(s.Remaining) > 0 {
		fmt.Fprintf(w, "  lines without a card yet: %s\n", joinInts(s.Remaining))
	}
	return nil
}

func describeLine(e batch.Event) string {
	if e.Line == 0 {
		return "card " + e.CardID
	}
	s := fmt.Sprintf("line %d", e.Line)
	if e.CardID != "" {
		s += " on card " + e.CardID
	}
	if e.Released {
		s += " (line released for another card)"
	}
	return s
}

func describeSkip(e batch.Event) string {
	if e.Reader != "" {
		return fmt.Sprintf("card %s (%s)", e.CardID, e.Reader)
	}
	return fmt.Sprintf("line %d", e.Line)
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ", ")
}
