package pcsctest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/reader/pcsc"
	"github.com/sscard/ssc/sim"
)

// Software cards in the vpcd slots of a test pcscd: in the test process
// (Insert), or in a process of their own (StartCardProcess), which the
// benchmarks use so the card does not share the measuring process.

// cardProcessEnv, set to "<spec>|<vpcd address>", makes a test binary
// built with MainWithCards serve newChip(spec) to vpcd instead of testing.
const cardProcessEnv = "SSC_PCSCTEST_CARD_PROCESS"

// NewChip makes the software card a spec names (a profile, a mode...: the
// test package decides).
type NewChip func(spec string) (sim.Chip, error)

var (
	cardsMu      sync.Mutex
	newChipFunc  NewChip
	cardProcs    = map[string]*sync.Once{}
	cardProcErrs = map[string]error{}
)

// MainWithCards is Main for a test binary that also serves as the card
// process of StartCardProcess: re-executed with the card variable set, it
// serves newChip(spec) to vpcd until SIGTERM and runs no tests.
func MainWithCards(m *testing.M, newChip NewChip, opts ...Option) {
	if v := os.Getenv(cardProcessEnv); v != "" {
		os.Exit(serveCard(v, newChip))
	}
	cardsMu.Lock()
	newChipFunc = newChip
	cardsMu.Unlock()
	Main(m, opts...)
}

func serveCard(v string, newChip NewChip) int {
	spec, addr, ok := strings.Cut(v, "|")
	if !ok {
		fmt.Fprintf(os.Stderr, "%s=%q: want <spec>|<vpcd address>\n", cardProcessEnv, v)
		return 2
	}
	chip, err := newChip(spec)
	if err != nil {
		fmt.Fprintf(os.Stderr, "card process %q: %v\n", spec, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	(&sim.VPCD{Addr: addr, Card: chip}).Serve(ctx)
	return 0
}

// StartCardProcess starts, once per test binary, slot and spec, this test
// binary as a separate card process serving newChip(spec) (see
// MainWithCards) in vpcd slot, and waits until pcscd reports the card. The
// card stays in until the test binary exits: re-inserting it for every
// benchmark run would race pcscd's 400 ms presence poll. It returns the
// reader name.
func (e *Env) StartCardProcess(tb testing.TB, slot int, spec string) string {
	tb.Helper()
	name := e.ReaderName(slot)
	key := fmt.Sprintf("%d|%s", slot, spec)
	cardsMu.Lock()
	if newChipFunc == nil {
		cardsMu.Unlock()
		tb.Fatal("pcsctest: StartCardProcess needs TestMain to call pcsctest.MainWithCards")
	}
	once := cardProcs[key]
	if once == nil {
		once = new(sync.Once)
		cardProcs[key] = once
	}
	cardsMu.Unlock()
	once.Do(func() {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), cardProcessEnv+"="+spec+"|"+e.VPCDAddr(slot))
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		// The card process dies with the test process.
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
		err := cmd.Start()
		cardsMu.Lock()
		cardProcErrs[key] = err
		cardsMu.Unlock()
	})
	cardsMu.Lock()
	err := cardProcErrs[key]
	cardsMu.Unlock()
	if err != nil {
		tb.Fatalf("card process %q: %v", spec, err)
	}
	WaitCard(tb, name, true)
	return name
}

// Insert puts chip into vpcd slot, served from this process until the test
// ends: it waits until the slot is empty (the previous test's card gone),
// connects the card to vpcd and waits until pcscd reports it. It returns
// the reader name and remove, which takes the card out and waits until
// pcscd has noticed (so the next test starts with an empty slot); remove
// runs at cleanup too and may be called more than once.
func (e *Env) Insert(tb testing.TB, slot int, chip sim.Chip) (name string, remove func()) {
	tb.Helper()
	name = e.ReaderName(slot)
	WaitCard(tb, name, false)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	v := &sim.VPCD{Addr: e.VPCDAddr(slot), Card: chip, RetryInterval: 50 * time.Millisecond}
	go func() {
		defer close(served)
		v.Serve(ctx)
	}()
	var once sync.Once
	remove = func() {
		once.Do(func() {
			cancel()
			<-served
			WaitCard(tb, name, false)
		})
	}
	tb.Cleanup(remove)
	select {
	case <-v.Connected():
	case <-time.After(5 * time.Second):
		tb.Fatal("pcsctest: the software card did not connect to vpcd within 5 s")
	}
	WaitCard(tb, name, true)
	return name, remove
}

// Connect connects to the card in the named reader through a PC/SC backend
// of its own, checks the protocol (T=0 for a contact software card, T=1
// contactless) and closes both at cleanup.
func Connect(tb testing.TB, name string, want reader.Protocol) reader.Card {
	tb.Helper()
	backend := pcsc.New()
	tb.Cleanup(func() { backend.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	card, err := backend.Connect(ctx, name, reader.ConnectOptions{})
	if err != nil {
		tb.Fatalf("connect %q: %v", name, err)
	}
	tb.Cleanup(func() { card.Close() })
	if want != reader.ProtocolUndefined && card.Protocol() != want {
		tb.Fatalf("reader %q: protocol %v, want %v", name, card.Protocol(), want)
	}
	return card
}

// Protocol is the protocol pcscd negotiates with a software card in mode.
func Protocol(mode sim.Mode) reader.Protocol {
	if mode == sim.Contactless {
		return reader.T1
	}
	return reader.T0
}

// BuiltinCard is a NewChip for card processes: the built-in profile named
// by spec, contact mode.
func BuiltinCard(spec string) (sim.Chip, error) {
	p, err := sim.Builtin(spec)
	if err != nil {
		return nil, err
	}
	return sim.New(p, sim.Options{Mode: sim.Contact})
}
