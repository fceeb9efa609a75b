//go:build cgo && !nopcsc

package pcsctest

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebfe/scard"
	"github.com/sscard/ssc/sim"
)

type atrChip struct{}

func (atrChip) ATR() []byte                { return []byte{0x3B, 0x02, 0x14, 0x50} }
func (atrChip) PowerOn()                   {}
func (atrChip) PowerOff()                  {}
func (atrChip) Reset()                     {}
func (atrChip) Transmit(cmd []byte) []byte { return []byte{0x90, 0x00} }

func pidAlive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func TestEnvLifecycle(t *testing.T) {
	e := Start(t)
	if got := os.Getenv(SocketEnv); got != e.Socket {
		t.Fatalf("%s = %q, want %q", SocketEnv, got, e.Socket)
	}
	if len(e.Socket) >= 108 {
		t.Fatalf("socket path too long: %q", e.Socket)
	}
	names, err := listReaders()
	if err != nil {
		t.Fatal(err)
	}
	for slot := range 2 {
		if !slices.Contains(names, e.ReaderName(slot)) {
			t.Fatalf("readers %q lack %q", names, e.ReaderName(slot))
		}
	}
	if e.VPCDAddr(1) == e.VPCDAddr(0) {
		t.Fatal("slots share an address")
	}

	// A second Env while one runs is refused.
	if _, err := start(nil); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second start: %v", err)
	}

	// A card on slot 0 shows up through PC/SC.
	ctx, cancel := context.WithCancel(context.Background())
	v := &sim.VPCD{Addr: e.VPCDAddr(0), Card: atrChip{}, RetryInterval: 50 * time.Millisecond}
	served := make(chan struct{})
	go func() { v.Serve(ctx); close(served) }()
	defer func() { cancel(); <-served }()
	waitPresent(t, e.ReaderName(0), true)

	e.mu.Lock()
	oldPid := e.proc.cmd.Process.Pid
	e.mu.Unlock()
	e.Restart(t)
	if pidAlive(oldPid) {
		t.Fatal("old pcscd still alive after Restart")
	}
	e.mu.Lock()
	newPid := e.proc.cmd.Process.Pid
	e.mu.Unlock()
	// The card comes back after the restart (the VPCD reconnects).
	waitPresent(t, e.ReaderName(0), true)
	if !strings.Contains(e.Log(), "restarting pcscd") {
		t.Error("log lacks the restart marker")
	}

	cancel()
	<-served
	e.Stop()
	e.Stop() // idempotent
	if pidAlive(newPid) {
		t.Fatal("pcscd still alive after Stop")
	}
	if _, err := os.Stat(e.Dir); !os.IsNotExist(err) {
		t.Fatalf("dir not removed: %v", err)
	}

	// A new Env after Stop works and uses the same socket path.
	e2 := Start(t)
	if e2.Socket != e.Socket {
		t.Fatalf("socket path changed: %q -> %q", e.Socket, e2.Socket)
	}
	if _, err := listReaders(); err != nil {
		t.Fatal(err)
	}
}

func waitPresent(t *testing.T, reader string, present bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		ctx, err := scard.EstablishContext()
		if err == nil {
			rs := []scard.ReaderState{{Reader: reader, CurrentState: scard.StateUnaware}}
			err = ctx.GetStatusChange(rs, 0)
			ctx.Release()
			if err == nil && (rs[0].EventState&scard.StatePresent != 0) == present {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("reader %q: present != %v after 5s", reader, present)
}

func TestNoOrphanAfterProcessDeath(t *testing.T) {
	if os.Getenv("PCSCTEST_CHILD") == "1" {
		e := Start(t)
		e.mu.Lock()
		pid := e.proc.cmd.Process.Pid
		e.mu.Unlock()
		os.Stdout.WriteString("PID " + strconv.Itoa(pid) + "\nDIR " + e.Dir + "\n")
		os.Stdout.Sync()
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	if testing.Short() {
		t.Skip("short")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoOrphanAfterProcessDeath$")
	cmd.Env = append(os.Environ(), "PCSCTEST_CHILD=1")
	cmd.Env = slices.DeleteFunc(cmd.Env, func(s string) bool { return strings.HasPrefix(s, SocketEnv+"=") })
	out, _ := cmd.Output()
	var pid int
	for _, line := range strings.Split(string(out), "\n") {
		if s, ok := strings.CutPrefix(line, "PID "); ok {
			pid, _ = strconv.Atoi(s)
		}
		if s, ok := strings.CutPrefix(line, "DIR "); ok && strings.Contains(s, "pcsctest-") {
			defer os.RemoveAll(s)
		}
	}
	if pid == 0 {
		if strings.Contains(string(out), "SKIP") {
			t.Skip("child skipped: " + string(out))
		}
		t.Fatalf("child did not report a pid: %s", out)
	}
	deadline := time.Now().Add(6 * time.Second)
	for pidAlive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("pcscd %d outlived its test process", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestManyReaders: WithReaders(16) gives 16 distinct readers on 16
// addresses, and a card in the last one shows up there only.
func TestManyReaders(t *testing.T) {
	e := Start(t, WithReaders(MaxReaders))
	if e.Readers() != MaxReaders {
		t.Fatalf("Readers() = %d", e.Readers())
	}
	names, err := listReaders()
	if err != nil {
		t.Fatal(err)
	}
	addrs := map[string]bool{}
	for slot := range MaxReaders {
		if !slices.Contains(names, e.ReaderName(slot)) {
			t.Fatalf("readers %q lack %q", names, e.ReaderName(slot))
		}
		addrs[e.VPCDAddr(slot)] = true
	}
	if len(names) != MaxReaders || len(addrs) != MaxReaders {
		t.Fatalf("%d readers, %d addresses, want %d distinct", len(names), len(addrs), MaxReaders)
	}
	ctx, cancel := context.WithCancel(context.Background())
	last := MaxReaders - 1
	v := &sim.VPCD{Addr: e.VPCDAddr(last), Card: atrChip{}, RetryInterval: 50 * time.Millisecond}
	served := make(chan struct{})
	go func() { v.Serve(ctx); close(served) }()
	defer func() { cancel(); <-served }()
	waitPresent(t, e.ReaderName(last), true)
	waitPresent(t, e.ReaderName(last-1), false)
}
