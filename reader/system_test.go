package reader_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sscard/ssc/reader"
)

// hwBackend makes a ChipBackend pose as a hardware backend for the selection
// rules, which prefer real readers over the software card.
type hwBackend struct{ *reader.ChipBackend }

func (hwBackend) Name() string { return "pcsc" }

// downBackend is a backend whose service is not running.
type downBackend struct{ reader.Backend }

func (downBackend) Name() string { return "pcsc" }
func (downBackend) ListReaders(context.Context) ([]reader.Info, error) {
	return nil, &reader.Error{Op: "list readers", Err: reader.ErrServiceUnavailable}
}
func (downBackend) Close() error { return nil }

func TestSystemFind(t *testing.T) {
	ctx := context.Background()
	withCards := func(b *reader.ChipBackend, names ...string) *reader.ChipBackend {
		for _, n := range names {
			if err := b.Insert(n, newCard(t)); err != nil {
				t.Fatal(err)
			}
		}
		return b
	}
	simOnly := withCards(newChipBackend(t, "sim"), "sim")
	hw := hwBackend{withCards(newChipBackend(t, "ACS ACR39U 00 00", "ACS ACR1252 PICC 01 00", "Virtual PCD 00 00"), "ACS ACR1252 PICC 01 00")}
	hwEmpty := hwBackend{newChipBackend(t, "Virtual PCD 00 00")}

	tests := []struct {
		name     string
		backends []reader.Backend
		pattern  string
		want     string
		err      error
	}{
		{"exact name", []reader.Backend{hw, simOnly}, "Virtual PCD 00 00", "Virtual PCD 00 00", nil},
		{"unique substring, any case", []reader.Backend{hw, simOnly}, "acr39", "ACS ACR39U 00 00", nil},
		{"ambiguous substring", []reader.Backend{hw, simOnly}, "ACS", "", reader.ErrAmbiguousReader},
		{"no match", []reader.Backend{hw, simOnly}, "Gemalto", "", reader.ErrReaderNotFound},
		{"sim by name", []reader.Backend{hw, simOnly}, "sim", "sim", nil},
		{"default: first hardware reader with a card", []reader.Backend{hw, simOnly}, "", "ACS ACR1252 PICC 01 00", nil},
		{"default: hardware present but empty is an error, not the sim", []reader.Backend{hwEmpty, simOnly}, "", "", reader.ErrNoCard},
		{"default: the sim when there is no other reader", []reader.Backend{downBackend{}, simOnly}, "", "sim", nil},
		{"no readers at all", []reader.Backend{downBackend{}}, "", "", reader.ErrNoReaders},
		{"no readers keeps the cause", []reader.Backend{downBackend{}}, "x", "", reader.ErrServiceUnavailable},
		{"not found says a backend is down", []reader.Backend{downBackend{}, simOnly}, "Virtual", "", reader.ErrServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sys := reader.Open(tt.backends...)
			_, ri, err := sys.Find(ctx, tt.pattern)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ri.Name != tt.want {
				t.Fatalf("found %q, want %q", ri.Name, tt.want)
			}
		})
	}
}

func TestSystemListToleratesDownBackend(t *testing.T) {
	simOnly := newChipBackend(t, "sim")
	sys := reader.Open(downBackend{}, simOnly)
	rs, err := sys.ListReaders(context.Background())
	if err != nil || len(rs) != 1 || rs[0].Name != "sim" {
		t.Fatalf("got %v, %v", rs, err)
	}
}

func TestSystemWatchMerges(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	a, b := newChipBackend(t, "a"), newChipBackend(t, "b")
	sys := reader.Open(a, b)
	events, err := sys.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	dones := 0
	for dones < 2 {
		ev := <-events
		if ev.Type == reader.SnapshotDone {
			dones++
		} else {
			seen[ev.Reader] = true
		}
	}
	if !seen["a"] || !seen["b"] {
		t.Fatalf("snapshot readers %v", seen)
	}
	a.Insert("a", newCard(t))
	if ev := <-events; ev.Type != reader.CardInserted || ev.Reader != "a" {
		t.Fatalf("event %+v", ev)
	}
	cancel()
	for range events {
	}
}

func TestPick(t *testing.T) {
	rs := []reader.Info{
		{Name: "ACS ACR39U 00 00", Backend: "pcsc"},
		{Name: "ACS ACR1281 PICC 00 01", Backend: "pcsc", CardPresent: true},
		{Name: "serial:/dev/ttyS0", Backend: "serial"},
		{Name: "sim", Backend: "sim", CardPresent: true},
	}
	for _, tc := range []struct {
		pattern string
		want    int
		err     error
	}{
		{"", 1, nil},                              // first hardware reader with a card, not the sim
		{"sim", 3, nil},                           // exact name
		{"picc", 1, nil},                          // unique substring, any case
		{"acs", -1, reader.ErrAmbiguousReader},    // two matches
		{"gemalto", -1, reader.ErrReaderNotFound}, // none
		{"ACS ACR39U 00 00", 0, nil},              // exact, even without a card
	} {
		i, err := reader.Pick(rs, tc.pattern)
		if i != tc.want || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("reader.Pick(%q) = %d, %v; want %d, %v", tc.pattern, i, err, tc.want, tc.err)
		}
	}
	if _, err := reader.Pick(rs[:1], ""); !errors.Is(err, reader.ErrNoCard) {
		t.Errorf("no card anywhere: %v, want reader.ErrNoCard", err)
	}
	if i, err := reader.Pick(rs[3:], ""); i != 0 || err != nil {
		t.Errorf("only the software card: %d, %v", i, err)
	}
	if _, err := reader.Pick(nil, "x"); !errors.Is(err, reader.ErrNoReaders) {
		t.Errorf("no readers: %v, want reader.ErrNoReaders", err)
	}
}

// unlistable is a backend that must not be listed: ConnectIn goes to its
// Connect directly.
type unlistable struct{ hwBackend }

func (unlistable) ListReaders(context.Context) ([]reader.Info, error) {
	return nil, errors.New("listed")
}

func TestSystemConnectIn(t *testing.T) {
	ctx := context.Background()
	hw := newChipBackend(t, "R1", "R2")
	if err := hw.Insert("R2", newCard(t)); err != nil {
		t.Fatal(err)
	}
	sb := newChipBackend(t, "sim")
	if err := sb.Insert("sim", newCard(t)); err != nil {
		t.Fatal(err)
	}
	sys := reader.Open(unlistable{hwBackend{hw}}, sb)
	c, err := sys.ConnectIn(ctx, "pcsc", "R2", reader.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Reader() != "R2" {
		t.Errorf("connected to %q", c.Reader())
	}
	c.Close()
	if _, err := sys.ConnectIn(ctx, "pcsc", "R1", reader.ConnectOptions{}); !errors.Is(err, reader.ErrNoCard) {
		t.Errorf("empty reader: %v", err)
	}
	// A backend name nobody has: the listing of Connect, which fails here.
	if _, err := sys.ConnectIn(ctx, "serial", "R2", reader.ConnectOptions{}); err == nil {
		t.Error("an unknown backend connected")
	}
	if c, err := sys.ConnectIn(ctx, "sim", "sim", reader.ConnectOptions{}); err != nil {
		t.Fatal(err)
	} else {
		c.Close()
	}
}
