package daemon

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/sscard/ssc/internal/hostile"
	"github.com/sscard/ssc/internal/pcsctest"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sscd"
)

// The fault suite: real faults under the daemon through pcscd + vpcd —
// pcscd frozen (SIGSTOP) and killed (SIGKILL) during an operation, cards
// pulled (the vpcd connection closed) during operations, fast card swaps.
// Each test records what it did (hostile.Record) for the table of hostile
// tests in docs/reliability.md; the "fault counts:" log lines add what
// varies from run to run.

// faultOpTimeout is the op_timeout of the fault tests: short, so that the
// bound "answers before op_timeout + 5 s" keeps the suite quick.
const faultOpTimeout = 3 * time.Second

// timed runs f and fails the test if it took longer than bound.
func timed(t *testing.T, what string, bound time.Duration, f func() error) error {
	t.Helper()
	start := time.Now()
	err := f()
	if took := time.Since(start); took > bound {
		t.Errorf("%s answered after %v, want before %v", what, took.Round(time.Millisecond), bound)
	}
	return err
}

// apiCode is the API code of err ("" when it is not an API error).
func apiCode(err error) sscd.Code {
	var e *sscd.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// waitHealth polls /v1/health until cond holds (within 20 s).
func waitHealth(t *testing.T, c *sscd.Client, what string, cond func(*sscd.Health) bool) *sscd.Health {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		h, err := c.Health(ctx)
		cancel()
		if err != nil {
			t.Fatalf("health: %v", err)
		}
		if cond(h) {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("health %+v: not %s within 20 s", h, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestFaultPcscdFrozen: pcscd stopped (SIGSTOP) while the daemon waits for
// an APDU's answer. The operation answers reader_unavailable before
// op_timeout + 5 s (it answered only when pcscd resumed before), health
// says degraded with the stuck backend (it said ok), and after SIGCONT the
// daemon recovers: health ok and the card read again.
func TestFaultPcscdFrozen(t *testing.T) {
	chip := newStallChip(newCard(t, "gen3", nil))
	e := pcscDaemon(t, Config{HSM: "sim", OpTimeout: Duration(faultOpTimeout)}, chip)
	name := e.names[0]
	if _, err := e.c.Info(ctxT(t), name, sscd.InfoOptions{}); err != nil {
		t.Fatal(err)
	}
	const freezes = 1
	chip.armed.Store(true)
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := e.c.Info(context.Background(), name, sscd.InfoOptions{Fresh: true})
		done <- err
	}()
	<-chip.entered
	if err := e.env.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	thawed := false
	thaw := func() {
		if !thawed {
			thawed = true
			e.env.Signal(syscall.SIGCONT)
		}
	}
	defer thaw()
	close(chip.release) // the card answers; pcscd, stopped, does not pass it on
	var err error
	select {
	case err = <-done:
	case <-time.After(faultOpTimeout + 5*time.Second):
		t.Fatalf("no answer within op_timeout + 5 s with pcscd stopped")
	}
	took := time.Since(start)
	if apiCode(err) != sscd.CodeReaderUnavailable {
		t.Errorf("frozen pcscd: %v, want reader_unavailable", err)
	}
	h := waitHealth(t, e.c, "degraded", func(h *sscd.Health) bool { return h.Status == "degraded" })
	if h.BackendStuck == "" && h.BackendError == "" {
		t.Errorf("health %+v: no backend problem reported", h)
	}
	thaw()
	waitHealth(t, e.c, "ok again", func(h *sscd.Health) bool { return h.Status == "ok" && h.Cards == 1 })
	r := waitReader(t, e.c, name, func(r sscd.Reader, ok bool) bool { return r.Kind == sscd.KindSSC })
	info, err := e.c.Info(ctxT(t), name, sscd.InfoOptions{Fresh: true, CardOptions: sscd.CardOptions{Insertion: r.Insertion}})
	if err != nil || info.Name != "张三" {
		t.Fatalf("after SIGCONT: %v, %v", info, err)
	}
	t.Logf("fault counts: pcscd freezes=%d, answer after %v (op_timeout %v), health %q", freezes, took.Round(time.Millisecond), faultOpTimeout, h.Status)
	hostile.Record(t, "pcscd", "pcscd frozen (SIGSTOP) with an APDU in flight: reader_unavailable before op_timeout + 5 s, health degraded, recovery after SIGCONT", map[string]int{"freezes": freezes})
}

// TestFaultPcscdKilled: pcscd killed (SIGKILL) during operations answers
// them with a typed error (reader_unavailable or card_removed) in bounded
// time, health reports the backend error, and the daemon recovers once
// pcscd is started again.
func TestFaultPcscdKilled(t *testing.T) {
	chip := newStallChip(newCard(t, "gen3", nil))
	e := pcscDaemon(t, Config{HSM: "sim", OpTimeout: Duration(faultOpTimeout)}, chip)
	name := e.names[0]
	const kills = 2
	for i := range kills {
		r := waitReader(t, e.c, name, func(r sscd.Reader, ok bool) bool { return r.Kind == sscd.KindSSC })
		chip.entered, chip.release = make(chan struct{}), make(chan struct{})
		chip.armed.Store(true)
		done := make(chan error, 1)
		go func() {
			_, err := e.c.Info(context.Background(), name, sscd.InfoOptions{Fresh: true, CardOptions: sscd.CardOptions{Insertion: r.Insertion}})
			done <- err
		}()
		<-chip.entered
		if err := e.env.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		close(chip.release)
		var err error
		select {
		case err = <-done:
		case <-time.After(faultOpTimeout + 5*time.Second):
			t.Fatalf("kill %d: no answer within op_timeout + 5 s", i)
		}
		switch apiCode(err) {
		case sscd.CodeReaderUnavailable, sscd.CodeCardRemoved:
		default:
			t.Errorf("kill %d: %v, want reader_unavailable or card_removed", i, err)
		}
		waitHealth(t, e.c, "degraded", func(h *sscd.Health) bool { return h.Status == "degraded" && h.BackendError != "" })
		e.env.Restart(t)
		waitHealth(t, e.c, "ok again", func(h *sscd.Health) bool { return h.Status == "ok" })
		r = waitReader(t, e.c, name, func(r sscd.Reader, ok bool) bool { return r.Kind == sscd.KindSSC })
		if info, err := e.c.Info(ctxT(t), name, sscd.InfoOptions{Fresh: true}); err != nil || info.Name != "张三" {
			t.Fatalf("kill %d: after restart: %v, %v", i, info, err)
		}
	}
	t.Logf("fault counts: pcscd kills=%d", kills)
	hostile.Record(t, "pcscd", "pcscd killed (SIGKILL) during reads: typed error in bounded time, health degraded, recovery after restart", map[string]int{"kills": kills})
}

// TestFaultHSMPull: a card pulled between HSM step 1 and step 2 ends the
// session at once (the reader is free for the next card without waiting
// for hsm_session_timeout) and step 2 answers card_changed; a card pulled
// during step 2 answers card_changed too (it answered card_error).
func TestFaultHSMPull(t *testing.T) {
	e := pcscDaemon(t, Config{HSM: "sim", OpTimeout: Duration(faultOpTimeout), HSMSessionTimeout: Duration(time.Minute)}, nil)
	name := e.env.ReaderName(0)
	pulls := 0

	// Between the steps.
	_, remove := e.env.Insert(t, 0, newCard(t, "gen3", nil))
	r := waitReader(t, e.c, name, func(r sscd.Reader, ok bool) bool { return r.Kind == sscd.KindSSC })
	st, err := e.c.HSMStep1(ctxT(t), name, sscd.HSMStep1Options{CardOptions: sscd.CardOptions{Insertion: r.Insertion}})
	if err != nil {
		t.Fatal(err)
	}
	remove()
	pulls++
	_, remove = e.env.Insert(t, 0, newCard(t, "gen3", secondHolder))
	r = waitReader(t, e.c, name, func(r sscd.Reader, ok bool) bool { return r.CardPresent && r.Insertion != st.Insertion })
	// The session held the reader: with it ended at the removal, the new
	// card is read at once, not after the session's minute.
	err = timed(t, "read of the next card", faultOpTimeout+5*time.Second, func() error {
		info, err := e.c.Info(ctxT(t), name, sscd.InfoOptions{CardOptions: sscd.CardOptions{Insertion: r.Insertion}})
		if err == nil && info.Name != "李四" {
			err = fmt.Errorf("holder %q, want 李四", info.Name)
		}
		return err
	})
	if err != nil {
		t.Fatalf("next card: %v", err)
	}
	_, err = e.c.HSMStep2(ctxT(t), st.Session, hsmStep2(t, st.Step1))
	if apiCode(err) != sscd.CodeCardChanged {
		t.Errorf("step 2 after the card was pulled: %v, want card_changed", err)
	}
	remove()
	pulls++

	// During step 2: the card stalls in its first READ RECORD of step 2
	// and is pulled then.
	chip := newStallChip(newCard(t, "gen3", nil))
	_, remove = e.env.Insert(t, 0, chip)
	r = waitReader(t, e.c, name, func(r sscd.Reader, ok bool) bool { return r.Kind == sscd.KindSSC })
	st, err = e.c.HSMStep1(ctxT(t), name, sscd.HSMStep1Options{CardOptions: sscd.CardOptions{Insertion: r.Insertion}})
	if err != nil {
		t.Fatal(err)
	}
	chip.armed.Store(true)
	done := make(chan error, 1)
	go func() {
		_, err := e.c.HSMStep2(context.Background(), st.Session, hsmStep2(t, st.Step1))
		done <- err
	}()
	<-chip.entered
	pulled := make(chan struct{})
	go func() { defer close(pulled); remove() }()
	time.Sleep(100 * time.Millisecond)
	close(chip.release)
	pulls++
	select {
	case err = <-done:
	case <-time.After(faultOpTimeout + 5*time.Second):
		t.Fatal("step 2 with the card pulled: no answer within op_timeout + 5 s")
	}
	if c := apiCode(err); c != sscd.CodeCardChanged {
		t.Errorf("step 2 with the card pulled during it: %v, want card_changed", err)
	}
	<-pulled
	t.Logf("fault counts: HSM card pulls=%d", pulls)
	hostile.Record(t, "card", "card pulled between and during the HSM steps: card_changed, reader freed at once", map[string]int{"pulls": pulls})
}

// TestFaultFastSwaps: two cards of different holders swapped in one vpcd
// slot, often faster than pcscd's 400 ms poll, with reads naming the
// insertion in between. Whatever pcscd misses, an insertion never answers
// the data of two holders: every answer for ?insertion=N is the holder
// first read for N, or card_changed / card_removed / no_card.
func TestFaultFastSwaps(t *testing.T) {
	env := pcsctest.Shared(t)
	e := pcscDaemon(t, Config{HSM: "sim", OpTimeout: Duration(faultOpTimeout)}, nil)
	name := env.ReaderName(0)
	pcsctest.WaitCard(t, name, false)
	// Two physical cards: another holder and another card id (the chip's
	// identity, which the daemon checks against the insertion).
	cards := [2]sim.Chip{newCard(t, "gen3", nil), newCard(t, "gen3", func(p *sim.Profile) {
		secondHolder(p)
		p.SSSE.CardID = "411600D156000005005A3C9E17B2D4FF"
	})}
	var stop func()
	put := func(i int) {
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan struct{})
		v := &sim.VPCD{Addr: env.VPCDAddr(0), Card: cards[i], RetryInterval: 10 * time.Millisecond}
		go func() { defer close(served); v.Serve(ctx) }()
		stop = func() { cancel(); <-served }
		select {
		case <-v.Connected():
		case <-time.After(5 * time.Second):
			t.Fatal("the software card did not connect to vpcd")
		}
	}
	defer func() {
		if stop != nil {
			stop()
		}
		pcsctest.WaitCard(t, name, false)
	}()
	const swaps = 30
	holder := map[uint64]string{} // insertion -> the holder first answered
	answers, changed, failed := 0, 0, 0
	rng := rand.New(rand.NewPCG(18, 6))
	put(0)
	for i := range swaps {
		// A few reads of what the daemon thinks is in the reader.
		for range 2 {
			rs, err := e.c.Readers(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			var ins uint64
			for _, r := range rs {
				if r.Name == name && r.CardPresent {
					ins = r.Insertion
				}
			}
			if ins == 0 {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			info, err := e.c.Info(ctxT(t), name, sscd.InfoOptions{Fresh: rng.IntN(2) == 0, CardOptions: sscd.CardOptions{Insertion: ins}})
			switch c := apiCode(err); {
			case err == nil:
				answers++
				if h, ok := holder[ins]; ok && h != info.Name {
					t.Errorf("swap %d: insertion %d answered holder %q, earlier %q", i, ins, info.Name, h)
				}
				holder[ins] = info.Name
			case c == sscd.CodeCardChanged || c == sscd.CodeCardRemoved || c == sscd.CodeNoCard:
				changed++
			case c == sscd.CodeCardError:
				failed++ // the card went away under an APDU and pcscd did not see it go
			default:
				t.Errorf("swap %d: %v", i, err)
			}
		}
		stop()
		put((i + 1) % 2)
		// Mostly faster than pcscd's poll, sometimes not.
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
	}
	t.Logf("fault counts: card swaps=%d, answers=%d, card_changed/removed/no_card=%d, card_error=%d, insertions seen=%d",
		swaps, answers, changed, failed, len(holder))
	hostile.Record(t, "card", "fast card swaps between two holders (often inside pcscd's 400 ms poll) with ?insertion reads: never another holder's data", map[string]int{"swaps": swaps})
}
