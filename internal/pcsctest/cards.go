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

// cardLatencyEnv, a Go duration, makes the card process answer every APDU
// that much later (CardProcessOptions.Latency).
const cardLatencyEnv = "SSC_PCSCTEST_CARD_LATENCY"

// NewChip makes the software card a spec names (a profile, a mode...: the
// test package decides).
type NewChip func(spec string) (sim.Chip, error)

// CardProcessOptions tune the card process of StartCardProcessWith.
type CardProcessOptions struct {
	// Latency delays every response APDU by this much, in the card
	// process (the host side is untouched): a real contact card takes
	// milliseconds per exchange (the bytes at ISO 7816-3 speeds plus the
	// card's own processing), the software card microseconds. Benchmarks
	// use it to measure a card-bound deployment. Zero answers at once.
	Latency time.Duration
}

// cardProc is the card process holding a vpcd slot.
type cardProc struct {
	key string // spec and options it was started with
	cmd *exec.Cmd
	err error // from starting it
}

var (
	cardsMu     sync.Mutex
	newChipFunc NewChip
	// slotMu serialises starting and stopping per slot; cardSlots is what
	// holds each slot (under cardsMu).
	slotMu    = map[int]*sync.Mutex{}
	cardSlots = map[int]*cardProc{}
)

// MainWithCards is Main for a test binary that also serves as the card
// process of StartCardProcess: re-executed with the card variable set, it
// serves newChip(spec) to vpcd until SIGTERM and runs no tests.
func MainWithCards(m *testing.M, newChip NewChip, opts ...Option) {
	if v := os.Getenv(cardProcessEnv); v != "" {
		os.Exit(serveCard(v, os.Getenv(cardLatencyEnv), newChip))
	}
	cardsMu.Lock()
	newChipFunc = newChip
	cardsMu.Unlock()
	Main(m, opts...)
}

func serveCard(v, latency string, newChip NewChip) int {
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
	if latency != "" {
		d, err := time.ParseDuration(latency)
		if err != nil || d < 0 {
			fmt.Fprintf(os.Stderr, "%s=%q: want a duration >= 0\n", cardLatencyEnv, latency)
			return 2
		}
		if d > 0 {
			chip = slowChip{Chip: chip, latency: d}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	(&sim.VPCD{Addr: addr, Card: chip}).Serve(ctx)
	return 0
}

// slowChip answers every APDU latency after the card has processed it, as
// a card on a contact link would (control messages such as reset and ATR
// are not delayed: vpcd handles them outside the APDU exchange).
type slowChip struct {
	sim.Chip
	latency time.Duration
}

func (c slowChip) Transmit(cmd []byte) []byte {
	resp := c.Chip.Transmit(cmd)
	time.Sleep(c.latency)
	return resp
}

// StartCardProcess is StartCardProcessWith without options: the card
// answers at once.
func (e *Env) StartCardProcess(tb testing.TB, slot int, spec string) string {
	tb.Helper()
	return e.StartCardProcessWith(tb, slot, spec, CardProcessOptions{})
}

// StartCardProcessWith starts, once per test binary, slot, spec and
// options, this test binary as a separate card process serving
// newChip(spec) (see MainWithCards) in vpcd slot, and waits until pcscd
// reports the card. The card stays in until the test binary exits or
// another spec or options are started in the same slot (the previous card
// process is then stopped first, see StopCardProcess): re-inserting it for
// every benchmark run would race pcscd's 400 ms presence poll. It returns
// the reader name.
func (e *Env) StartCardProcessWith(tb testing.TB, slot int, spec string, o CardProcessOptions) string {
	tb.Helper()
	name := e.ReaderName(slot)
	key := fmt.Sprintf("%s|%v", spec, o.Latency)
	cardsMu.Lock()
	if newChipFunc == nil {
		cardsMu.Unlock()
		tb.Fatal("pcsctest: StartCardProcess needs TestMain to call pcsctest.MainWithCards")
	}
	cardsMu.Unlock()
	mu := lockSlot(slot)
	defer mu.Unlock()
	cardsMu.Lock()
	p := cardSlots[slot]
	cardsMu.Unlock()
	if p != nil && p.key != key {
		e.stopCardProcess(tb, slot, p)
		p = nil
	}
	if p == nil {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(),
			cardProcessEnv+"="+spec+"|"+e.VPCDAddr(slot),
			cardLatencyEnv+"="+o.Latency.String())
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		// The card process dies with the test process.
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
		p = &cardProc{key: key, cmd: cmd, err: cmd.Start()}
		cardsMu.Lock()
		cardSlots[slot] = p
		cardsMu.Unlock()
	}
	if p.err != nil {
		tb.Fatalf("card process %q: %v", spec, p.err)
	}
	WaitCard(tb, name, true)
	return name
}

// StopCardProcess takes the card of StartCardProcessWith out of slot: it
// ends the card process (closing its vpcd connection) and waits until
// pcscd reports the slot empty. A slot without a card process is left as
// it is.
func (e *Env) StopCardProcess(tb testing.TB, slot int) {
	tb.Helper()
	mu := lockSlot(slot)
	defer mu.Unlock()
	cardsMu.Lock()
	p := cardSlots[slot]
	cardsMu.Unlock()
	if p != nil {
		e.stopCardProcess(tb, slot, p)
	}
}

// lockSlot locks and returns slot's start/stop mutex.
func lockSlot(slot int) *sync.Mutex {
	cardsMu.Lock()
	mu := slotMu[slot]
	if mu == nil {
		mu = new(sync.Mutex)
		slotMu[slot] = mu
	}
	cardsMu.Unlock()
	mu.Lock()
	return mu
}

func (e *Env) stopCardProcess(tb testing.TB, slot int, p *cardProc) {
	tb.Helper()
	cardsMu.Lock()
	delete(cardSlots, slot)
	cardsMu.Unlock()
	if p.err == nil {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		_ = p.cmd.Wait() // killed by the signal: not an error here
	}
	WaitCard(tb, e.ReaderName(slot), false)
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
