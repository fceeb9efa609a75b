package redisnonce_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sscard/ssc/internal/redistest"
	"github.com/sscard/ssc/internal/simtest"
	"github.com/sscard/ssc/link"
	"github.com/sscard/ssc/link/cardlink"
	"github.com/sscard/ssc/link/redisnonce"
	"github.com/sscard/ssc/pboc"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/keysystem"
)

const origin = "https://ecard.example.gov.cn"

// instance is one platform instance: its own client (connection pool) on
// the shared Redis.
func instance(t testing.TB, url string, timeout time.Duration) *redisnonce.Store {
	t.Helper()
	s, err := redisnonce.New(redisnonce.Config{URL: url, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// cardBundle is the bundle the software card makes for nonce (what the
// daemon sends the platform): SSSE identity read with the SIM HSM, level 2
// bank account, signed by the card's PKI application after the PIN.
func cardBundle(t testing.TB, level int, nonce []byte) *link.Bundle {
	t.Helper()
	ctx := context.Background()
	card := simtest.Connect(t, simtest.Card(t, "gen3", nil))
	sess, err := sscard.Open(ctx, card, sscard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := cardlink.Create(ctx, card, sess, cardlink.Request{Level: level, Origin: origin, Nonce: nonce, PIN: "123456"},
		cardlink.Options{HSM: keysystem.SIM{}, PBOC: pboc.Options{CAKeys: simkeys.CAKeyTable()}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newResigner makes bundles like the card's for other nonces, with the card's
// own SIM signing key (for benchmarks, where asking the card b.N times
// would measure the card).
func newResigner(t testing.TB) func(nonce []byte) *link.Bundle {
	t.Helper()
	base := cardBundle(t, link.Level2, bytes.Repeat([]byte{1}, link.NonceSize))
	id, err := hex.DecodeString(base.Card.CardID)
	if err != nil {
		t.Fatal(err)
	}
	key, err := simkeys.CardSigningKey(id)
	if err != nil {
		t.Fatal(err)
	}
	return func(nonce []byte) *link.Bundle {
		b := *base
		bank := *base.Bank
		b.Bank = &bank
		b.Nonce = bytes.Clone(nonce)
		msg, err := link.SignedMessage(&b)
		if err != nil {
			t.Fatal(err)
		}
		b.Proof.Signature, err = sm.Sign(key, nil, msg)
		if err != nil {
			t.Fatal(err)
		}
		return &b
	}
}

func roots(t testing.TB) *sm.CertPool {
	t.Helper()
	p, err := simkeys.RootPool()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func verify(ctx context.Context, t testing.TB, store link.NonceStore, b *link.Bundle) error {
	_, err := link.VerifyContext(ctx, b, link.Options{Roots: roots(t), Origin: origin, Nonces: store, MinLevel: link.Level1})
	return err
}

// A nonce issued by instance A and consumed at B cannot be used again at A,
// at B, nor at an instance started afterwards: a replayed bundle is refused
// everywhere.
func TestAcrossInstances(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	a := instance(t, srv.URL, 0)
	b := instance(t, srv.URL, 0)
	n, err := a.IssueNonce(ctx, origin, link.Level2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Value) != link.NonceSize || time.Until(n.Expires) < 4*time.Minute || time.Until(n.Expires) > 6*time.Minute {
		t.Fatalf("nonce %X expires %v", n.Value, n.Expires)
	}
	bundle := cardBundle(t, link.Level2, n.Value)
	if err := verify(ctx, t, b, bundle); err != nil {
		t.Fatalf("first verification at B: %v", err)
	}
	c := instance(t, srv.URL, 0)
	for name, s := range map[string]*redisnonce.Store{"A": a, "B": b, "C (started later)": c} {
		if err := verify(ctx, t, s, bundle); !errors.Is(err, link.ErrNonceReplayed) {
			t.Errorf("replay at %s: %v, want ErrNonceReplayed", name, err)
		}
	}
	// A nonce the store never issued, and one issued for another origin.
	other, err := a.IssueNonce(ctx, "https://other.example", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, nonce := range [][]byte{bytes.Repeat([]byte{9}, 32), other.Value} {
		if err := verify(ctx, t, b, cardBundle(t, link.Level1, nonce)); !errors.Is(err, link.ErrNonce) {
			t.Errorf("nonce %X: %v, want ErrNonce", nonce[:4], err)
		}
	}
}

// The level asked for at issue is kept by the store: another instance
// refuses a lower-level bundle without using up the nonce.
func TestLevelAcrossInstances(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	a, b := instance(t, srv.URL, 0), instance(t, srv.URL, 0)
	n, err := a.IssueNonce(ctx, origin, link.Level2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := verify(ctx, t, b, cardBundle(t, link.Level1, n.Value)); !errors.Is(err, link.ErrLevel) {
		t.Fatalf("level 1 bundle for a level 2 nonce: %v", err)
	}
	if err := verify(ctx, t, b, cardBundle(t, link.Level2, n.Value)); err != nil {
		t.Fatalf("level 2 bundle after the refused level 1: %v", err)
	}
}

// The store expires nonces: expired while it remembers them, unknown after.
func TestExpiry(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	s := instance(t, srv.URL, 0)
	n, err := s.IssueNonce(ctx, origin, 0, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	bundle := cardBundle(t, link.Level1, n.Value)
	time.Sleep(time.Until(n.Expires) + 50*time.Millisecond)
	if err := verify(ctx, t, s, bundle); !errors.Is(err, link.ErrNonceExpired) {
		t.Fatalf("after expiry: %v, want ErrNonceExpired", err)
	}
	time.Sleep(400 * time.Millisecond) // the key lives 2 ttl
	if err := verify(ctx, t, s, bundle); !errors.Is(err, link.ErrNonce) {
		t.Fatalf("long after expiry: %v, want ErrNonce", err)
	}
	// Nothing is left behind.
	raw := redis.NewClient(&redis.Options{Addr: srv.Addr, DisableIdentity: true})
	defer raw.Close()
	if keys, err := raw.Keys(ctx, "*").Result(); err != nil || len(keys) != 0 {
		t.Fatalf("keys left: %v %v", keys, err)
	}
}

// Keys are namespaced and hashed: no key carries the nonce, every key has
// the prefix and a time to live of twice the nonce's.
func TestKeys(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	s := instance(t, srv.URL, 0)
	n, err := s.IssueNonce(ctx, origin, 0, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	raw := redis.NewClient(&redis.Options{Addr: srv.Addr, DisableIdentity: true})
	defer raw.Close()
	keys, err := raw.Keys(ctx, "*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys %v %v", keys, err)
	}
	k := keys[0]
	if !strings.HasPrefix(k, redisnonce.DefaultPrefix) || len(k) != len(redisnonce.DefaultPrefix)+64 ||
		strings.Contains(strings.ToUpper(k), hex.EncodeToString(n.Value)[:16]) || strings.Contains(strings.ToLower(k), hex.EncodeToString(n.Value)[:16]) {
		t.Fatalf("key %q", k)
	}
	v, _ := raw.Get(ctx, k).Result()
	if strings.Contains(strings.ToLower(v), hex.EncodeToString(n.Value)[:16]) {
		t.Fatalf("value %q carries the nonce", v)
	}
	if ttl, err := raw.PTTL(ctx, k).Result(); err != nil || ttl <= time.Minute || ttl > 2*time.Minute {
		t.Fatalf("PTTL %v %v", ttl, err)
	}
}

// Redis unreachable: verification fails closed with ErrNonceStore within
// the timeout (plus a generous margin), for a killed server (refused
// connections) and a stopped one (nobody answers).
func TestUnreachable(t *testing.T) {
	ctx := context.Background()
	const timeout = 500 * time.Millisecond
	bound := timeout + 5*time.Second

	t.Run("paused", func(t *testing.T) {
		srv := redistest.Start(t)
		s := instance(t, srv.URL, timeout)
		n, err := s.IssueNonce(ctx, origin, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		bundle := cardBundle(t, link.Level1, n.Value)
		srv.Pause()
		start := time.Now()
		err = verify(ctx, t, s, bundle)
		if !errors.Is(err, link.ErrNonceStore) {
			t.Fatalf("paused Redis: %v, want ErrNonceStore", err)
		}
		if d := time.Since(start); d > bound {
			t.Fatalf("refused after %v, want within %v", d, bound)
		}
		if _, err := s.IssueNonce(ctx, origin, 0, 0); !errors.Is(err, link.ErrNonceStore) {
			t.Fatalf("issue on paused Redis: %v", err)
		}
		srv.Resume()
		// The nonce was not consumed (the script never ran): back to normal.
		if err := verify(ctx, t, s, bundle); err != nil {
			t.Fatalf("after resume: %v", err)
		}
	})

	t.Run("killed", func(t *testing.T) {
		srv := redistest.Start(t)
		s := instance(t, srv.URL, timeout)
		n, err := s.IssueNonce(ctx, origin, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		bundle := cardBundle(t, link.Level1, n.Value)
		srv.Kill()
		start := time.Now()
		if err := verify(ctx, t, s, bundle); !errors.Is(err, link.ErrNonceStore) {
			t.Fatalf("killed Redis: %v, want ErrNonceStore", err)
		}
		if d := time.Since(start); d > bound {
			t.Fatalf("refused after %v, want within %v", d, bound)
		}
		if err := s.Ping(ctx); !errors.Is(err, link.ErrNonceStore) {
			t.Fatalf("Ping: %v", err)
		}
	})

	t.Run("caller's context", func(t *testing.T) {
		srv := redistest.Start(t)
		s := instance(t, srv.URL, 0)
		n, err := s.IssueNonce(ctx, origin, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := verify(cctx, t, s, cardBundle(t, link.Level1, n.Value)); !errors.Is(err, link.ErrNonceStore) {
			t.Fatalf("cancelled context: %v", err)
		}
	})
}

// Many instances and goroutines verify the same bundle at once: exactly
// one is accepted, every other is a replay.
func TestConcurrentConsume(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	const instances, goroutines = 8, 8
	var stores []*redisnonce.Store
	for range instances {
		stores = append(stores, instance(t, srv.URL, 0))
	}
	for round := range 5 {
		n, err := stores[round].IssueNonce(ctx, origin, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		bundle := cardBundle(t, link.Level2, n.Value)
		var ok atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, s := range stores {
			for range goroutines {
				wg.Go(func() {
					<-start
					if err := verify(ctx, t, s, bundle); err == nil {
						ok.Add(1)
					} else if !errors.Is(err, link.ErrNonceReplayed) {
						t.Error(err)
					}
				})
			}
		}
		close(start)
		wg.Wait()
		if ok.Load() != 1 {
			t.Fatalf("round %d: %d verifications accepted, want 1", round, ok.Load())
		}
	}
}

// Configuration errors are reported without the URL's password.
func TestConfig(t *testing.T) {
	if _, err := redisnonce.New(redisnonce.Config{}); err == nil {
		t.Fatal("no URL accepted")
	}
	_, err := redisnonce.New(redisnonce.Config{URL: "http://user:s3cret@host:1/0"})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("bad scheme: %v", err)
	}
	s, err := redisnonce.New(redisnonce.Config{URL: "redis://127.0.0.1:1/0"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.IssueNonce(context.Background(), "", 0, 0); !errors.Is(err, link.ErrNonceStore) {
		t.Fatalf("empty origin: %v", err)
	}
}

// Verifications per second with each book: b.N nonces are issued and as
// many bundles signed with the card's key before the clock starts; the
// loop is link.VerifyContext (parse excluded: bundles are in memory),
// including the nonce consumption.
func BenchmarkVerifyMemory(b *testing.B) {
	benchVerify(b, link.NewNonceBook(0), false)
}

func BenchmarkVerifyRedis(b *testing.B) {
	srv := redistest.Start(b)
	benchVerify(b, instance(b, srv.URL, 0), false)
}

func BenchmarkVerifyMemoryParallel(b *testing.B) {
	benchVerify(b, link.NewNonceBook(0), true)
}

func BenchmarkVerifyRedisParallel(b *testing.B) {
	srv := redistest.Start(b)
	benchVerify(b, instance(b, srv.URL, 0), true)
}

// BenchmarkConsumeRedis is the store alone: one ConsumeNonce round trip.
func BenchmarkConsumeRedis(b *testing.B) {
	srv := redistest.Start(b)
	s := instance(b, srv.URL, 0)
	ctx := context.Background()
	nonces := make([][]byte, b.N)
	for i := range nonces {
		n, err := s.IssueNonce(ctx, origin, 0, 0)
		if err != nil {
			b.Fatal(err)
		}
		nonces[i] = n.Value
	}
	b.ResetTimer()
	for i := range b.N {
		if err := s.ConsumeNonce(ctx, origin, nonces[i], link.Level2); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "consume/s")
}

func benchVerify(b *testing.B, store link.NonceStore, parallel bool) {
	ctx := context.Background()
	sign := newResigner(b)
	bundles := make([]*link.Bundle, b.N)
	for i := range bundles {
		n, err := store.IssueNonce(ctx, origin, 0, 0)
		if err != nil {
			b.Fatal(err)
		}
		bundles[i] = sign(n.Value)
	}
	opts := link.Options{Roots: roots(b), Origin: origin, Nonces: store}
	b.ResetTimer()
	if parallel {
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := next.Add(1) - 1
				if _, err := link.VerifyContext(ctx, bundles[i], opts); err != nil {
					b.Error(err)
					return
				}
			}
		})
	} else {
		for i := range b.N {
			if _, err := link.VerifyContext(ctx, bundles[i], opts); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verify/s")
}
