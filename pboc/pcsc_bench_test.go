//go:build cgo && !nopcsc

package pboc_test

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sscard/ssc/internal/pcsctest"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sim"
)

// BenchmarkReadODAPCSC measures what a terminal does with a card: a new
// Session, application selection, GPO, the AFL records and ODA (DDA with
// INTERNAL AUTHENTICATE contact, fDDA contactless), through pcscd + vpcd.
// The card runs in a process of its own (this test binary re-executed, see
// TestMain), contact in vpcd slot 0 and contactless in slot 1, inserted
// once per test binary and left in.
func BenchmarkReadODAPCSC(b *testing.B) {
	for i, m := range simModes {
		b.Run(m.name, func(b *testing.B) {
			benchReadODA(b, benchPCSCCard(b, m.mode, i), m.oda)
		})
	}
}

var benchCards sync.Map // mode -> *sync.Once

// benchPCSCCard starts (once per test binary and mode) a separate
// software-card process on vpcd slot, waits until pcscd reports the card
// and connects to it. The card stays in: re-inserting it for every
// benchmark run would race pcscd's 400 ms presence poll.
func benchPCSCCard(b *testing.B, mode sim.Mode, slot int) reader.Card {
	b.Helper()
	env := pcsctest.Shared(b)
	backend := reader.NewPCSC()
	b.Cleanup(func() { backend.Close() })
	ctx := context.Background()
	name := env.ReaderName(slot)
	once, _ := benchCards.LoadOrStore(mode, new(sync.Once))
	once.(*sync.Once).Do(func() {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), simProcessEnv+"="+mode.String()+"|"+env.VPCDAddr(slot))
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		// The card process dies with the test process.
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		for range 250 {
			rs, err := backend.ListReaders(ctx)
			if err == nil && slices.ContainsFunc(rs, func(r reader.ReaderInfo) bool {
				return r.Name == name && r.CardPresent
			}) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		b.Fatalf("card process (%v): reader %q shows no card after 5 s", mode, name)
	})
	card, err := backend.Connect(ctx, name, reader.ConnectOptions{})
	if err != nil {
		b.Fatalf("connect: %v", err)
	}
	b.Cleanup(func() { card.Close() })
	return card
}
