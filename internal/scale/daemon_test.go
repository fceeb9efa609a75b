//go:build cgo && !nopcsc

package scale

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sscard/ssc/internal/daemon"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/reader/pcsc"
	"github.com/sscard/ssc/sscd"
)

// startDaemon runs sscd in the test process on the shared pcscd (PC/SC
// backend) with the SIM HSM, on a Unix socket of its own, until cleanup.
func startDaemon(tb testing.TB) (sock string, c *sscd.Client) {
	tb.Helper()
	dir, err := os.MkdirTemp("", "sscd-scale")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	cfg := daemon.Config{
		Socket:    filepath.Join(dir, "sscd.sock"),
		HSM:       "sim",
		OpTimeout: daemon.Duration(time.Minute),
		Logger:    slog.New(slog.NewTextHandler(logOut(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	d, err := daemon.New(cfg, reader.Open(pcsc.New()))
	if err != nil {
		tb.Fatal(err)
	}
	l, err := daemon.Listen(cfg.Socket, "")
	if err != nil {
		tb.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- d.Serve(l) }()
	c = sscd.Dial(cfg.Socket)
	tb.Cleanup(func() {
		c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.Shutdown(ctx); err != nil {
			tb.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			tb.Errorf("serve: %v", err)
		}
	})
	return cfg.Socket, c
}

// waitDaemon polls /v1/readers until cond holds for every reader named.
func waitDaemon(tb testing.TB, c *sscd.Client, names []string, cond func(sscd.Reader) bool) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		rs, err := c.Readers(context.Background())
		if err != nil {
			tb.Fatal(err)
		}
		ok := 0
		for _, r := range rs {
			for _, n := range names {
				if r.Name == n && cond(r) {
					ok++
				}
			}
		}
		if ok == len(names) {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the daemon's readers did not reach the wanted state within 20 s: %+v", rs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logOut is where the daemon logs: nowhere, unless SSC_SCALE_LOG=1.
func logOut() io.Writer {
	if os.Getenv("SSC_SCALE_LOG") == "1" {
		return os.Stderr
	}
	return io.Discard
}
