//go:build cgo && !nopcsc

package pcsctest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sim"
)

// TestCardProcessLatency: a card process started with a latency answers no
// APDU sooner than that (the delay is in the card process, seen through
// pcscd + vpcd); starting other options in the same slot replaces the
// process, and StopCardProcess empties the slot.
func TestCardProcessLatency(t *testing.T) {
	e := Start(t)
	t.Cleanup(func() { e.StopCardProcess(t, 0) }) // before the Env stops
	const latency = 40 * time.Millisecond
	getChallenge := []byte{0x00, 0x84, 0x00, 0x00, 0x08}
	ctx := context.Background()

	name := e.StartCardProcessWith(t, 0, sim.DefaultProfile, CardProcessOptions{Latency: latency})
	card := Connect(t, name, reader.T0)
	for range 3 {
		t0 := time.Now()
		resp, err := card.Transmit(ctx, getChallenge)
		took := time.Since(t0)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp) != 10 || !bytes.Equal(resp[8:], []byte{0x90, 0x00}) {
			t.Fatalf("GET CHALLENGE: % X, want 8 bytes + 9000", resp)
		}
		if took < latency {
			t.Fatalf("the card answered after %v, before its latency of %v", took, latency)
		}
	}
	card.Close()

	old := slotPid(t, 0)
	if again := e.StartCardProcessWith(t, 0, sim.DefaultProfile, CardProcessOptions{Latency: latency}); again != name || slotPid(t, 0) != old {
		t.Fatalf("same spec and options: a new card process (pid %d → %d)", old, slotPid(t, 0))
	}
	e.StartCardProcess(t, 0, sim.DefaultProfile)
	if pid := slotPid(t, 0); pid == old || pidAlive(old) {
		t.Fatalf("other options in slot 0: card process %d still there (now %d)", old, pid)
	}
	card = Connect(t, name, reader.T0)
	if resp, err := card.Transmit(ctx, getChallenge); err != nil || len(resp) != 10 {
		t.Fatalf("replaced card: % X, %v", resp, err)
	}
	card.Close()

	pid := slotPid(t, 0)
	e.StopCardProcess(t, 0) // waits until pcscd reports the slot empty
	if pidAlive(pid) {
		t.Fatalf("card process %d alive after StopCardProcess", pid)
	}
}

func slotPid(t *testing.T, slot int) int {
	t.Helper()
	cardsMu.Lock()
	defer cardsMu.Unlock()
	p := cardSlots[slot]
	if p == nil || p.cmd.Process == nil {
		t.Fatalf("no card process in slot %d", slot)
	}
	return p.cmd.Process.Pid
}
