package daemon

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func shortDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "sscd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestListen(t *testing.T) {
	dir := shortDir(t)
	sock := filepath.Join(dir, "run", "sscd.sock")
	l, err := Listen(sock, "0")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("mode %v, want socket 0660", fi.Mode())
	}
	// A live socket is not taken over.
	if _, err := Listen(sock, ""); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second listen: %v", err)
	}
	l.Close()
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left after close: %v", err)
	}

	// A stale socket (its daemon died) is replaced.
	ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ul.SetUnlinkOnClose(false)
	ul.Close()
	l, err = Listen(sock, "")
	if err != nil {
		t.Fatalf("stale socket: %v", err)
	}
	l.Close()

	// Anything else at the path is left alone.
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := Listen(file, ""); err == nil {
		t.Error("listen over a regular file succeeded")
	}
	if _, err := Listen(filepath.Join(dir, "g.sock"), "no-such-group-sscd"); err == nil {
		t.Error("unknown group accepted")
	}
}

func TestPeerAllowlist(t *testing.T) {
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"no allowlist", Config{}, true},
		{"uid listed", Config{AllowUIDs: []uint32{12345, uid}}, true},
		{"gid listed", Config{AllowGIDs: []uint32{gid}}, true},
		{"uid not listed", Config{AllowUIDs: []uint32{uid + 1}}, false},
		{"gid not listed", Config{AllowUIDs: []uint32{uid + 1}, AllowGIDs: []uint32{gid + 1}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c, _ := testDaemon(t, tt.cfg, simBackend(t))
			_, err := c.Health(ctxT(t))
			if tt.ok && err != nil {
				t.Fatal(err)
			}
			if !tt.ok {
				wantCode(t, err, "forbidden")
			}
		})
	}
}

func TestQueueFIFO(t *testing.T) {
	var q queues
	ctx := ctxT(t)
	first, err := q.lock(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	order := make(chan int, 5)
	queued := make(chan struct{})
	// A waiter that gives up leaves the line.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := q.lock(cctx, "r"); err == nil || q.waiters("r") != 0 {
		t.Fatalf("cancelled lock: %v, %d waiting", err, q.waiters("r"))
	}
	for i := range 5 {
		go func() {
			queued <- struct{}{}
			rel, err := q.lock(ctx, "r")
			if err != nil {
				t.Error(err)
				return
			}
			order <- i
			rel()
		}()
		<-queued
		// Goroutine i is in line before i+1 starts.
		for q.waiters("r") != i+1 {
			runtime.Gosched()
		}
	}
	first()
	for want := range 5 {
		if got := <-order; got != want {
			t.Fatalf("turn %d went to %d", want, got)
		}
	}
}
