package sscard

import (
	"context"
	"encoding/hex"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sim"
)

// recorder is a Transport wrapper counting and recording every raw APDU.
type recorder struct {
	inner apdu.Transport
	mu    sync.Mutex
	cmds  [][]byte
}

func (r *recorder) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	r.mu.Lock()
	r.cmds = append(r.cmds, append([]byte(nil), cmd...))
	r.mu.Unlock()
	return r.inner.Transmit(ctx, cmd)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.cmds)
}

// sent reports whether a command starting with prefix (hex) was sent.
func (r *recorder) sent(prefix string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.cmds {
		if strings.HasPrefix(strings.ToUpper(hex.EncodeToString(c)), prefix) {
			return true
		}
	}
	return false
}

type testCard struct {
	backend *reader.ChipBackend
	card    reader.Card
	rec     *recorder
	sess    *Session
	chip    *sim.Card
}

// openSim inserts the built-in profile into a sim reader and opens a session.
func openSim(t *testing.T, profile string, mode sim.Mode) *testCard {
	t.Helper()
	return openSimOpts(t, profile, mode, Options{})
}

// NewTestChip makes a software card of a built-in profile; the external
// tests (package sscard_test) use it too.
func NewTestChip(t testing.TB, profile string, mode sim.Mode) *sim.Card {
	t.Helper()
	p, err := sim.Builtin(profile)
	if err != nil {
		t.Fatal(err)
	}
	if p.Contactless == nil && mode == sim.Contactless {
		// 2nd-gen data over a T=1 (contactless) link: real 2nd-gen cards
		// are contact only, but the link behaviour is what is tested.
		p.Contactless = &sim.ContactlessProfile{UID: "01020304"}
	}
	chip, err := sim.New(p, sim.Options{Mode: mode})
	if err != nil {
		t.Fatal(err)
	}
	return chip
}

func openSimOpts(t *testing.T, profile string, mode sim.Mode, opts Options) *testCard {
	t.Helper()
	chip := NewTestChip(t, profile, mode)
	b := reader.NewChipBackend("r")
	t.Cleanup(func() { b.Close() })
	if err := b.Insert("r", chip); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	card, err := b.Connect(ctx, "r", reader.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { card.Close() })
	tc := &testCard{backend: b, card: card, chip: chip}
	opts.WrapTransport = func(in apdu.Transport) apdu.Transport {
		tc.rec = &recorder{inner: in}
		return tc.rec
	}
	sess, err := Open(ctx, card, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	tc.sess = sess
	return tc
}

var modes = []struct {
	name string
	mode sim.Mode
}{{"contact", sim.Contact}, {"contactless", sim.Contactless}}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// fakeCard is a reader.Card answering with f.
type fakeCard struct {
	f   func(cmd []byte) []byte
	err error // returned by Transmit when set
}

func (c *fakeCard) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	if c.err != nil {
		return nil, c.err
	}
	return c.f(append([]byte(nil), cmd...)), nil
}
func (c *fakeCard) Reader() string                         { return "fake" }
func (c *fakeCard) ATR() []byte                            { return mustHex("3B6D00000081008843866533010114F199") }
func (c *fakeCard) Protocol() reader.Protocol              { return reader.T1 }
func (c *fakeCard) BeginTransaction(context.Context) error { return nil }
func (c *fakeCard) EndTransaction(reader.Disposition) error {
	return nil
}
func (c *fakeCard) Reset(context.Context, bool) error { return nil }
func (c *fakeCard) Close() error                      { return nil }

// tempJournal opens a journal in a temporary directory, closed when the
// test ends (closing it earlier is fine).
func tempJournal(t *testing.T) (*FileJournal, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "journal")
	j, err := OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j, path
}
