package daemon

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sscard/ssc/internal/simtest"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sscd"
)

// testDaemon serves d on a Unix socket in a fresh short directory (socket
// paths are limited to 108 bytes, t.TempDir can be longer).
func testDaemon(t testing.TB, cfg Config, backends ...reader.Backend) (*Daemon, *sscd.Client, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "sscd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if cfg.Socket == "" {
		cfg.Socket = filepath.Join(dir, "sscd.sock")
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	d, err := New(cfg, reader.Open(backends...))
	if err != nil {
		t.Fatal(err)
	}
	l, err := Listen(cfg.Socket, cfg.Group)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- d.Serve(l) }()
	c := sscd.Dial(cfg.Socket)
	t.Cleanup(func() {
		c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return d, c, cfg.Socket
}

// testLogger logs to the test's output (shown with -v or on failure),
// debug records included.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newCard makes a contact software card of a built-in profile; edit may
// change the profile (another holder, so two cards can be told apart).
func newCard(t testing.TB, profile string, edit func(*sim.Profile)) *sim.Card {
	t.Helper()
	return simtest.Card(t, profile, edit)
}

// secondHolder makes a gen3 card of another person.
func secondHolder(p *sim.Profile) {
	p.SSSE.SSN = "110101198001010037"
	p.SSSE.Name = "李四"
	p.SSSE.CardNumber = "B87654321"
}

// simBackend returns a sim backend with readers "r0" and "r1" holding cards.
func simBackend(t testing.TB, cards ...sim.Chip) *reader.ChipBackend {
	t.Helper()
	sb := reader.NewChipBackend("r0", "r1")
	for i, c := range cards {
		if err := sb.Insert([]string{"r0", "r1"}[i], c); err != nil {
			t.Fatal(err)
		}
	}
	return sb
}

// waitReader polls the daemon (not the backend) until cond holds for the
// reader, so a test acts only once the daemon has seen a change.
func waitReader(t testing.TB, c *sscd.Client, name string, cond func(sscd.Reader, bool) bool) sscd.Reader {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rs, err := c.Readers(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var r sscd.Reader
		found := false
		for _, x := range rs {
			if x.Name == name {
				r, found = x, true
			}
		}
		if cond(r, found) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("reader %q: state %+v (found %v) did not reach the expected one in 10 s", name, r, found)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wantCode checks that err is an API error with code.
func wantCode(t testing.TB, err error, code sscd.Code) {
	t.Helper()
	var e *sscd.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error %v: want code %s", err, code)
	}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// countingChip counts the resets a card goes through (warm reset, or power
// off as a cold reset does), to check that the daemon resets the card after
// raising its security state.
type countingChip struct {
	sim.Chip
	resets atomic.Int32
}

func (c *countingChip) Reset()    { c.resets.Add(1); c.Chip.Reset() }
func (c *countingChip) PowerOff() { c.resets.Add(1); c.Chip.PowerOff() }

// stallChip holds the first READ RECORD after arm until release is closed,
// so a test can pull the card out in the middle of an operation.
type stallChip struct {
	sim.Chip
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func newStallChip(c sim.Chip) *stallChip {
	return &stallChip{Chip: c, entered: make(chan struct{}), release: make(chan struct{})}
}

func (c *stallChip) Transmit(cmd []byte) []byte {
	if len(cmd) >= 2 && cmd[1] == 0xB2 && c.armed.CompareAndSwap(true, false) {
		close(c.entered)
		<-c.release
	}
	return c.Chip.Transmit(cmd)
}

// syncBuffer is a log destination tests read while the daemon writes.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
