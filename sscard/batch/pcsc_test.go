//go:build cgo && !nopcsc

package batch_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sscard/ssc/internal/hostile"
	"github.com/sscard/ssc/internal/pcsctest"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/reader/pcsc"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/batch"
	"github.com/sscard/ssc/sscard/keysystem"
)

// nReaders is the number of readers a batch test uses (of the 16 slots).
const nReaders = 8

// testChip is a software card with card id cardIDOf(i) ("gen3-blank", or
// the issued "gen3" for a card that is not blank), which can be slowed
// down at each UPDATE RECORD and pulled after the n-th one.
type testChip struct {
	*sim.Card
	delay   time.Duration
	updates atomic.Int32
	pullAt  int32       // pull after this UPDATE RECORD (0: never)
	pull    func()      // set by the test: takes the card out
	pulled  atomic.Bool // pulled: answers nothing useful any more
	once    sync.Once
}

func newChip(t testing.TB, i int, profile string) *testChip {
	t.Helper()
	p, err := sim.Builtin(profile)
	if err != nil {
		t.Fatal(err)
	}
	p.SSSE.CardID = cardIDOf(i)
	c, err := sim.New(p, sim.Options{Mode: sim.Contact})
	if err != nil {
		t.Fatal(err)
	}
	return &testChip{Card: c}
}

func (c *testChip) Transmit(cmd []byte) []byte {
	if c.pulled.Load() {
		time.Sleep(time.Second) // the connection is closing
		return []byte{0x6F, 0x00}
	}
	if len(cmd) >= 2 && cmd[1] == 0xDC {
		time.Sleep(c.delay)
		n := c.updates.Add(1)
		resp := c.Card.Transmit(cmd)
		if c.pullAt != 0 && n == c.pullAt {
			c.pulled.Store(true)
			c.once.Do(func() { go c.pull() })
		}
		return resp
	}
	return c.Card.Transmit(cmd)
}

// rig is cards in readers of the shared pcscd.
type rig struct {
	t      *testing.T
	env    *pcsctest.Env
	chips  map[int]*testChip
	remove map[int]func()
}

func newRig(t *testing.T) *rig {
	env := pcsctest.Shared(t)
	if env.Readers() < nReaders+1 {
		t.Fatalf("pcscd has %d readers, want %d", env.Readers(), nReaders+1)
	}
	return &rig{t: t, env: env, chips: map[int]*testChip{}, remove: map[int]func(){}}
}

func (r *rig) insert(slot int, c *testChip) {
	r.t.Helper()
	r.chips[slot] = c
	_, r.remove[slot] = r.env.Insert(r.t, slot, c)
	c.pull = r.remove[slot]
}

func (r *rig) names(slots ...int) []string {
	var out []string
	for _, s := range slots {
		out = append(out, r.env.ReaderName(s))
	}
	return out
}

// openCards connects to the named readers through a PC/SC backend of this
// process and returns them as batch cards journaling to j.
func openCards(t testing.TB, names []string, j sscard.Journal) []batch.Card {
	t.Helper()
	backend := pcsc.New()
	t.Cleanup(func() { backend.Close() })
	cards, err := connectCards(context.Background(), backend, names, j)
	if err != nil {
		t.Fatal(err)
	}
	return cards
}

func connectCards(ctx context.Context, backend reader.Backend, names []string, j sscard.Journal) ([]batch.Card, error) {
	var out []batch.Card
	for _, n := range names {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		card, err := backend.Connect(cctx, n, reader.ConnectOptions{})
		if err == nil {
			var s *sscard.Session
			if s, err = sscard.Open(cctx, card, sscard.Options{}); err == nil {
				out = append(out, &batch.SessionCard{Name: n, Session: s, HSM: keysystem.SIM{}, WriteKey: keysystem.SIM{}, Journal: j})
			}
		}
		cancel()
		if err != nil {
			return nil, fmt.Errorf("reader %s: %w", n, err)
		}
	}
	return out, nil
}

// runBatch runs the batch of input over the named readers with the journal
// at path, in this process.
func runBatch(t *testing.T, input, path string, names []string) (*batch.Summary, []batch.Event) {
	t.Helper()
	lines, _, err := batch.Parse(strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	prior, err := sscard.ReadJournal(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	j, err := sscard.OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var mu sync.Mutex
	var events []batch.Event
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sum, err := batch.Run(ctx, lines, openCards(t, names, j), batch.Options{Journal: j, Prior: prior,
		Events: func(e batch.Event) { mu.Lock(); events = append(events, e); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		for _, v := range []string{testInfo(e.Line % 16).Name, testInfo(e.Line % 16).SSN} {
			if strings.Contains(e.Error, v) {
				t.Errorf("event shows holder data: %+v", e)
			}
		}
	}
	return sum, events
}

// checkCards reads every card back (with the SIM key system, through
// pcscd) and checks it against the journal: each line bound to one card,
// each card to at most one line; an issued line's card holds exactly that
// line; a card with no line is blank. It returns the number of issued lines.
func checkCards(t *testing.T, r *rig, input, path string, slots ...int) int {
	t.Helper()
	lines, _, err := batch.Parse(strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := sscard.ReadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	lineCard, cardLine := map[string]string{}, map[string]string{}
	done := map[string]bool{}
	for _, e := range entries {
		switch e.Step {
		case sscard.StepBatchAssign:
			if c, ok := lineCard[e.Line]; ok {
				t.Errorf("line %s assigned twice (cards %s, %s)", e.Line, c, e.CardID)
			}
			if l, ok := cardLine[e.CardID]; ok {
				t.Errorf("card %s assigned twice (lines %s, %s)", e.CardID, l, e.Line)
			}
			lineCard[e.Line], cardLine[e.CardID] = e.CardID, e.Line
		case sscard.StepBatchIssued:
			done[e.Line] = true
		}
	}
	byHash := map[string]batch.Line{}
	for _, l := range lines {
		byHash[l.Hash] = l
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	issued := 0
	cards := openCards(t, r.names(slots...), nil)
	for i, c := range cards {
		s := c.(*batch.SessionCard).Session
		info, err := sscard.ReadWithHSM(ctx, s, keysystem.SIM{}, sscard.ReadOptions{Fields: sscard.FieldsAll})
		if err != nil {
			t.Fatalf("slot %d: %v", slots[i], err)
		}
		id := strings.ToUpper(hex.EncodeToString(info.CardID))
		h, bound := cardLine[id]
		switch {
		case !bound:
			if info.SSN != "" && r.chips[slots[i]] != nil && r.chips[slots[i]].updates.Load() > 0 {
				t.Errorf("card %s: written but bound to no line", id)
			}
		case done[h]:
			w := *byHash[h].Info
			w.CardID = info.CardID
			if err := w.Matches(info); err != nil {
				t.Errorf("card %s (line %d): %v", id, byHash[h].No, err)
			}
			issued++
		}
	}
	return issued
}

func kinds(events []batch.Event, kind string) []batch.Event {
	var out []batch.Event
	for _, e := range events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// TestPCSCBatch issues 9 lines (8 for given cards, one for any card) onto
// 8 blank cards in 8 readers, plus a card already issued (not blank) in a
// ninth reader: 8 issued, the issued card skipped and untouched, the
// any-card line left for a later card; a rerun skips everything.
func TestPCSCBatch(t *testing.T) {
	r := newRig(t)
	for i := range nReaders {
		r.insert(i, newChip(t, i, "gen3-blank"))
	}
	r.insert(nReaders, newChip(t, 15, "gen3")) // someone's issued card
	slots := []int{0, 1, 2, 3, 4, 5, 6, 7, 8}
	input := batchInput(t, nReaders, false) + testLine(9, true) + "\n"
	path := filepath.Join(t.TempDir(), "batch.journal")

	sum, events := runBatch(t, input, path, r.names(slots...))
	if len(sum.Issued) != nReaders || len(sum.Failed) != 0 || len(sum.Attention) != 0 {
		t.Fatalf("summary %+v", sum)
	}
	if len(sum.Remaining) != 1 || sum.Remaining[0] != nReaders+1 {
		t.Errorf("remaining %v, want the any-card line %d", sum.Remaining, nReaders+1)
	}
	skipped := kinds(events, batch.EventSkipped)
	if len(skipped) != 1 || skipped[0].Reason != batch.ReasonNotBlank || skipped[0].Reader != r.env.ReaderName(nReaders) {
		t.Errorf("skipped %+v, want the issued card as not_blank", skipped)
	}
	if n := r.chips[nReaders].updates.Load(); n != 0 {
		t.Errorf("the issued card took %d UPDATE RECORD", n)
	}
	if len(kinds(events, batch.EventAssigned)) != nReaders {
		t.Errorf("assigned events: %d", len(kinds(events, batch.EventAssigned)))
	}
	if got := checkCards(t, r, input, path, slots...); got != nReaders {
		t.Errorf("%d cards hold their line, want %d", got, nReaders)
	}

	// Rerun: the journal says all is done.
	sum, events = runBatch(t, input, path, r.names(slots...))
	if len(sum.Issued) != 0 || len(sum.Failed) != 0 || len(kinds(events, batch.EventAssigned)) != 0 {
		t.Fatalf("rerun: %+v", sum)
	}
	var lineDone, cardDone int
	for _, e := range sum.Skipped {
		switch e.Reason {
		case batch.ReasonLineDone:
			lineDone++
		case batch.ReasonCardDone:
			cardDone++
		}
	}
	if lineDone != nReaders || cardDone != nReaders {
		t.Errorf("rerun skipped %d lines done, %d cards done: %+v", lineDone, cardDone, sum.Skipped)
	}
	for i := range nReaders {
		if n := r.chips[i].updates.Load(); n != 13 {
			t.Errorf("card %d took %d UPDATE RECORD, want 13 (the rerun writes nothing)", i, n)
		}
	}
}

// TestPCSCBatchCardPulled pulls one card after its 3rd UPDATE RECORD while
// 8 cards are written: that card is reported failed (card_removed, the
// fields it confirmed) and set aside, the 7 others are issued; the line
// stays bound to the pulled card (attention in a run without it, not put
// on a spare blank card), and a rerun with the card put back completes it.
func TestPCSCBatchCardPulled(t *testing.T) {
	r := newRig(t)
	chips := make([]*testChip, nReaders)
	for i := range nReaders {
		chips[i] = newChip(t, i, "gen3-blank")
		chips[i].delay = 5 * time.Millisecond
	}
	chips[3].pullAt = 3
	for i := range nReaders {
		r.insert(i, chips[i])
	}
	slots := []int{0, 1, 2, 3, 4, 5, 6, 7}
	input := batchInput(t, nReaders, true) // any-card lines: the binding is what keeps a line on one card
	path := filepath.Join(t.TempDir(), "batch.journal")

	sum, _ := runBatch(t, input, path, r.names(slots...))
	if len(sum.Issued) != nReaders-1 || len(sum.Failed) != 1 {
		t.Fatalf("summary %+v", sum)
	}
	f := sum.Failed[0]
	if f.Reader != r.env.ReaderName(3) || f.CardID != cardIDOf(3) || (f.Reason != batch.ReasonCardRemoved && f.Reason != batch.ReasonUnresponsive) ||
		len(f.Written) < 2 || len(f.Written) > 3 {
		t.Errorf("failed %+v", f)
	}
	r.remove[3]()

	// Without the card, and a spare blank card in another reader: the
	// line waits for its card.
	r.insert(nReaders, newChip(t, 14, "gen3-blank"))
	sum, events := runBatch(t, input, path, r.names(0, 1, 2, 4, 5, 6, 7, nReaders))
	if len(sum.Issued) != 0 || len(sum.Attention) != 1 || sum.Attention[0].CardID != cardIDOf(3) ||
		sum.Attention[0].Line != f.Line || len(kinds(events, batch.EventAssigned)) != 0 {
		t.Fatalf("run without the pulled card: %+v", sum)
	}
	if n := r.chips[nReaders].updates.Load(); n != 0 {
		t.Errorf("the spare card took %d UPDATE RECORD", n)
	}

	// Put back: completed on the same card.
	chips[3].pulled.Store(false)
	chips[3].pullAt = 0
	r.insert(3, chips[3])
	sum, _ = runBatch(t, input, path, r.names(slots...))
	if len(sum.Issued) != 1 || !sum.Issued[0].Resumed || sum.Issued[0].CardID != cardIDOf(3) || !sum.OK() {
		t.Fatalf("rerun with the card back: %+v", sum)
	}
	if got := checkCards(t, r, input, path, append(slots, nReaders)...); got != nReaders {
		t.Errorf("%d cards hold their line, want %d", got, nReaders)
	}
	hostile.Record(t, "card", "batch issuance: a card pulled mid-write among 8 (reported, set aside, resumed only on that card)",
		map[string]int{"pulls": 1})
}

// childEnv makes the test binary the batch process of TestPCSCBatchKill:
// "<input file>|<journal>|<reader>;<reader>...".
const childEnv = "SSC_BATCH_TEST_CHILD"

func runChild(v string) int {
	f := strings.SplitN(v, "|", 3)
	if len(f) != 3 {
		return 2
	}
	data, err := os.ReadFile(f[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	lines, _, err := batch.Parse(strings.NewReader(string(data)))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	prior, _ := sscard.ReadJournal(f[1])
	j, err := sscard.OpenJournal(f[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	backend := pcsc.New()
	cards, err := connectCards(context.Background(), backend, strings.Split(f[2], ";"), j)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// As sscctl: SIGINT stops the batch, the cards being written finish.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	sum, err := batch.Run(ctx, lines, cards, batch.Options{Journal: j, Prior: prior})
	if err != nil || !sum.OK() {
		fmt.Fprintln(os.Stderr, err, sum)
		return 1
	}
	return 0
}

// TestPCSCBatchKill kills the batch process (kill -9) while it writes 8
// slow cards, then reruns the batch: every line ends on exactly one card,
// each card holds the line the journal binds to it, and nothing the killed
// process journaled is lost (its bindings are kept by the rerun).
func TestPCSCBatchKill(t *testing.T) {
	r := newRig(t)
	for i := range nReaders {
		c := newChip(t, i, "gen3-blank")
		c.delay = 40 * time.Millisecond // ~0.5 s of writes per card
		r.insert(i, c)
	}
	slots := []int{0, 1, 2, 3, 4, 5, 6, 7}
	dir := t.TempDir()
	input := batchInput(t, nReaders, true)
	inPath, path := filepath.Join(dir, "batch.txt"), filepath.Join(dir, "batch.journal")
	if err := os.WriteFile(inPath, []byte(input), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := startChild(t, r, inPath, path, slots)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait() //nolint:errcheck // killed
	before, err := sscard.ReadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	var assigned int
	for _, e := range before {
		if e.Step == sscard.StepBatchAssign {
			assigned++
		}
	}
	written := 0
	for _, s := range slots {
		if r.chips[s].updates.Load() > 0 {
			written++
		}
	}
	if assigned < written {
		t.Fatalf("%d cards written, only %d bindings journaled", written, assigned)
	}

	// Let pcscd see the killed process's transactions end, then rerun.
	time.Sleep(500 * time.Millisecond)
	sum, _ := runBatch(t, input, path, r.names(slots...))
	if !sum.OK() || len(sum.Remaining) != 0 {
		t.Fatalf("rerun: %+v", sum)
	}
	after, err := sscard.ReadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range before {
		if after[i].Step != e.Step || after[i].CardID != e.CardID || after[i].Line != e.Line {
			t.Fatalf("journal entry %d changed by the rerun", i)
		}
	}
	if got := checkCards(t, r, input, path, slots...); got != nReaders {
		t.Errorf("%d cards hold their line, want %d", got, nReaders)
	}
	hostile.Record(t, "card", "batch issuance: kill -9 of the batch process mid-write over 8 readers, then a rerun (no line on two cards, no entry lost)",
		map[string]int{"kills": 1})
}

// startChild starts the batch process over slots and returns once its
// cards have taken 3 UPDATE RECORD in all (mid-write).
func startChild(t *testing.T, r *rig, inPath, path string, slots []int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+inPath+"|"+path+"|"+strings.Join(r.names(slots...), ";"))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		n := 0
		for _, s := range slots {
			n += int(r.chips[s].updates.Load())
		}
		if n >= 3 {
			return cmd
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait() //nolint:errcheck // killed
			t.Fatal("the batch process wrote nothing within 20 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPCSCBatchInterrupt interrupts the batch process (SIGINT) while it
// writes 8 slow cards: it exits by itself, every card whose write had begun
// is finished (13 records, batch.issued journaled), no binding is left
// without its outcome, and a rerun has nothing left but the cards that
// were never started.
func TestPCSCBatchInterrupt(t *testing.T) {
	r := newRig(t)
	for i := range nReaders {
		c := newChip(t, i, "gen3-blank")
		c.delay = 40 * time.Millisecond
		r.insert(i, c)
	}
	slots := []int{0, 1, 2, 3, 4, 5, 6, 7}
	dir := t.TempDir()
	input := batchInput(t, nReaders, true)
	inPath, path := filepath.Join(dir, "batch.txt"), filepath.Join(dir, "batch.journal")
	if err := os.WriteFile(inPath, []byte(input), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := startChild(t, r, inPath, path, slots)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the interrupted batch did not exit within 30 s")
	}
	entries, err := sscard.ReadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	outcome := map[string]string{}
	var assigned []string
	for _, e := range entries {
		switch e.Step {
		case sscard.StepBatchAssign:
			assigned = append(assigned, e.Line)
		case sscard.StepBatchIssued, sscard.StepBatchFailed:
			outcome[e.Line] = e.Step
		}
	}
	for _, l := range assigned {
		if outcome[l] != sscard.StepBatchIssued {
			t.Errorf("line %s: bound, outcome %q (an interrupted batch finishes its cards)", l, outcome[l])
		}
	}
	for _, s := range slots {
		if n := r.chips[s].updates.Load(); n != 0 && n != 13 {
			t.Errorf("slot %d: %d UPDATE RECORD: a card left half written", s, n)
		}
	}
	sum, _ := runBatch(t, input, path, r.names(slots...))
	if !sum.OK() || len(sum.Remaining) != 0 {
		t.Fatalf("rerun: %+v", sum)
	}
	if got := checkCards(t, r, input, path, slots...); got != nReaders {
		t.Errorf("%d cards hold their line, want %d", got, nReaders)
	}
}

// TestPCSCBatchPCSCDRestart restarts pcscd while 8 slow cards are written
// in this process: the cards fail with typed reasons (reader, card removed
// or unresponsive), each bound line has its batch.failed entry, and a
// rerun after the restart completes every line on its own card.
func TestPCSCBatchPCSCDRestart(t *testing.T) {
	r := newRig(t)
	for i := range nReaders {
		c := newChip(t, i, "gen3-blank")
		c.delay = 40 * time.Millisecond
		r.insert(i, c)
	}
	slots := []int{0, 1, 2, 3, 4, 5, 6, 7}
	input := batchInput(t, nReaders, true)
	path := filepath.Join(t.TempDir(), "batch.journal")
	go func() {
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			n := 0
			for _, s := range slots {
				n += int(r.chips[s].updates.Load())
			}
			if n >= 3 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		r.env.Restart(t)
	}()
	sum, _ := runBatch(t, input, path, r.names(slots...))
	if len(sum.Failed) == 0 {
		t.Fatalf("no card failed across a pcscd restart: %+v", sum)
	}
	for _, f := range sum.Failed {
		switch f.Reason {
		case batch.ReasonReader, batch.ReasonCardRemoved, batch.ReasonUnresponsive:
		default:
			t.Errorf("failed %+v: want a reader, card_removed or card_unresponsive reason", f)
		}
	}
	entries, err := sscard.ReadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	outcome := map[string]bool{}
	for _, e := range entries {
		if e.Step == sscard.StepBatchIssued || e.Step == sscard.StepBatchFailed {
			outcome[e.Line] = true
		}
	}
	for _, e := range entries {
		if e.Step == sscard.StepBatchAssign && !outcome[e.Line] {
			t.Errorf("line %s bound without an outcome", e.Line)
		}
	}
	for _, s := range slots {
		pcsctest.WaitCard(t, r.env.ReaderName(s), true)
	}
	sum, _ = runBatch(t, input, path, r.names(slots...))
	if !sum.OK() || len(sum.Remaining) != 0 {
		t.Fatalf("rerun: %+v", sum)
	}
	if got := checkCards(t, r, input, path, slots...); got != nReaders {
		t.Errorf("%d cards hold their line, want %d", got, nReaders)
	}
	hostile.Record(t, "pcscd", "batch issuance: pcscd restarted while 8 cards are written (typed failures, every binding journaled with its outcome, rerun completes)",
		map[string]int{"restarts": 1})
}
