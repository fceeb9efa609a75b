package link_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sscard/ssc/link"
)

// clock is a settable clock for NonceBook.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newBook(ttl time.Duration) (*link.NonceBook, *clock) {
	clk := &clock{t: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	b := link.NewNonceBook(ttl)
	link.SetNonceClock(b, clk.now)
	return b, clk
}

func TestNonceBook(t *testing.T) {
	book, clk := newBook(time.Minute)
	if book.TTL() != time.Minute || link.NewNonceBook(0).TTL() != link.DefaultNonceTTL || link.NewNonceBook(-1).TTL() != 5*time.Minute {
		t.Fatal("TTL")
	}
	a, err := book.Issue()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := book.Issue()
	if link.NonceSize != 32 || len(a) != link.NonceSize || bytes.Equal(a, b) {
		t.Fatalf("nonces %X %X", a, b)
	}
	steps := []struct {
		name    string
		advance time.Duration
		nonce   []byte
		want    error
	}{
		{"first redeem", 0, a, nil},
		{"replay", 0, a, link.ErrNonceReplayed},
		{"unknown", 0, bytes.Repeat([]byte{1}, 32), link.ErrNonce},
		{"empty", 0, nil, link.ErrNonce},
		{"replay later", 59 * time.Second, a, link.ErrNonceReplayed},
		{"b just before expiry", 0, b, nil},
		{"b replayed after expiry", 2 * time.Second, b, link.ErrNonceReplayed},
	}
	for _, s := range steps {
		clk.add(s.advance)
		err := book.Redeem(s.nonce)
		if s.want == nil && err != nil || s.want != nil && !errors.Is(err, s.want) {
			t.Fatalf("%s: Redeem = %v, want %v", s.name, err, s.want)
		}
	}

	c, _ := book.Issue()
	clk.add(time.Minute)
	if err := book.Redeem(c); !errors.Is(err, link.ErrNonceExpired) {
		t.Fatalf("at expiry: %v", err)
	}
	// Expired is still reported as such for one more ttl, then forgotten.
	clk.add(59 * time.Second)
	if err := book.Redeem(c); !errors.Is(err, link.ErrNonceExpired) {
		t.Fatalf("after expiry: %v", err)
	}
	clk.add(time.Second)
	if err := book.Redeem(c); !errors.Is(err, link.ErrNonce) {
		t.Fatalf("long after expiry: %v", err)
	}
	if n := book.Len(); n != 0 {
		t.Fatalf("%d nonces remembered after pruning", n)
	}
}

// Memory stays bounded: issuing forever keeps about two ttl's worth.
func TestNonceBookPrunes(t *testing.T) {
	book, clk := newBook(10 * time.Second)
	for range 1000 {
		if _, err := book.Issue(); err != nil {
			t.Fatal(err)
		}
		clk.add(100 * time.Millisecond)
	}
	if n := book.Len(); n > 201 {
		t.Fatalf("%d nonces remembered, want at most 201", n)
	}
}

func TestNonceBookZeroValue(t *testing.T) {
	var book link.NonceBook
	n, err := book.Issue()
	if err != nil {
		t.Fatal(err)
	}
	if err := book.Redeem(n); err != nil {
		t.Fatal(err)
	}
	if err := book.Redeem(n); !errors.Is(err, link.ErrNonceReplayed) {
		t.Fatal(err)
	}
}

// Many goroutines redeem the same nonces: each is accepted exactly once.
func TestNonceBookConcurrent(t *testing.T) {
	book := link.NewNonceBook(time.Minute)
	const nonces, workers = 20, 8
	var issued [][]byte
	for range nonces {
		n, err := book.Issue()
		if err != nil {
			t.Fatal(err)
		}
		issued = append(issued, n)
	}
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for _, n := range issued {
				if err := book.Redeem(n); err == nil {
					ok.Add(1)
				} else if !errors.Is(err, link.ErrNonceReplayed) {
					t.Error(err)
				}
				if _, err := book.Issue(); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if ok.Load() != nonces {
		t.Fatalf("%d redemptions accepted, want %d", ok.Load(), nonces)
	}
}

// Concurrent verification of one bundle with a book: exactly one wins.
func TestVerifyConcurrentReplay(t *testing.T) {
	c := testCard(t)
	book := link.NewNonceBook(0)
	nonce, _ := book.Issue()
	b := c.bundle(t, link.Level2, testOrigin, nonce)
	o := link.Options{Roots: simRoots(t), Origin: testOrigin, Nonces: book, Time: verifyTime}
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := link.Verify(b, o); err == nil {
				ok.Add(1)
			} else if !errors.Is(err, link.ErrNonceReplayed) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Fatalf("%d verifications accepted, want 1", ok.Load())
	}
}

// IssueNonce binds a nonce to an origin and a level: another origin does
// not know it, a lower level is refused without using it up, a cancelled
// context fails closed.
func TestNonceBookStore(t *testing.T) {
	ctx := context.Background()
	book, clk := newBook(time.Minute)
	var store link.NonceStore = book
	n, err := store.IssueNonce(ctx, testOrigin, link.Level2, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !n.Expires.Equal(clk.now().Add(10 * time.Second)) {
		t.Fatalf("expires %v", n.Expires)
	}
	steps := []struct {
		name   string
		origin string
		level  int
		want   error
	}{
		{"other origin", "https://other.example", link.Level2, link.ErrNonce},
		{"Redeem (no origin)", "", link.Level2, link.ErrNonce},
		{"level too low", testOrigin, link.Level1, link.ErrLevel},
		{"right", testOrigin, link.Level2, nil},
		{"replay", testOrigin, link.Level2, link.ErrNonceReplayed},
	}
	for _, s := range steps {
		err := store.ConsumeNonce(ctx, s.origin, n.Value, s.level)
		if s.want == nil && err != nil || s.want != nil && !errors.Is(err, s.want) {
			t.Fatalf("%s: %v, want %v", s.name, err, s.want)
		}
	}
	m, _ := store.IssueNonce(ctx, testOrigin, 0, 10*time.Second)
	clk.add(10 * time.Second)
	if err := store.ConsumeNonce(ctx, testOrigin, m.Value, 1); !errors.Is(err, link.ErrNonceExpired) {
		t.Fatalf("own ttl: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := store.IssueNonce(cctx, testOrigin, 0, 0); !errors.Is(err, link.ErrNonceStore) {
		t.Fatal(err)
	}
	k, _ := store.IssueNonce(ctx, testOrigin, 0, 0)
	if err := store.ConsumeNonce(cctx, testOrigin, k.Value, 1); !errors.Is(err, link.ErrNonceStore) {
		t.Fatal(err)
	}
	if err := store.ConsumeNonce(ctx, testOrigin, k.Value, 1); err != nil {
		t.Fatalf("after a cancelled consume: %v", err)
	}
}
