package daemon

import (
	"context"
	"crypto/rand"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"github.com/sscard/ssc/internal/pcsctest"
	"github.com/sscard/ssc/link"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/reader/pcsc"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sscd"
)

// e2e is a daemon over the shared pcscd, with cards in the vpcd slots.
type e2e struct {
	env     *pcsctest.Env
	d       *Daemon
	c       *sscd.Client
	sock    string
	names   [2]string
	removes [2]func()
}

// pcscDaemon inserts chips into vpcd slots 0 and 1 (nil: the slot is left
// as it is, for the test to manage) and serves the shared pcscd's readers once the daemon sees the cards.
func pcscDaemon(t testing.TB, cfg Config, chips ...sim.Chip) *e2e {
	t.Helper()
	e := &e2e{env: pcsctest.Shared(t)}
	for slot, chip := range chips {
		e.names[slot] = e.env.ReaderName(slot)
		if chip != nil {
			_, e.removes[slot] = e.env.Insert(t, slot, chip)
		}
	}
	e.d, e.c, e.sock = testDaemon(t, cfg, pcsc.New())
	for slot, chip := range chips {
		if chip != nil {
			waitReader(t, e.c, e.names[slot], func(r sscd.Reader, ok bool) bool { return r.CardPresent })
		}
	}
	return e
}

func TestE2EConcurrentClients(t *testing.T) {
	e := pcscDaemon(t, Config{HSM: "sim"}, newCard(t, "gen3", nil), newCard(t, "gen3", secondHolder))
	want := [2]string{"张三", "李四"}
	const clients, reads = 20, 4
	var wg sync.WaitGroup
	errs := make(chan error, clients*reads)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := sscd.Dial(e.sock) // one client (connection pool) each
			defer cl.Close()
			for j := range reads {
				slot := (i + j) % 2
				info, err := cl.Info(ctxT(t), e.names[slot], sscd.InfoOptions{})
				switch {
				case err != nil:
					errs <- fmt.Errorf("client %d read %d: %w", i, j, err)
				case info.Name != want[slot]:
					errs <- fmt.Errorf("client %d read %d on %s: holder %q, want %q", i, j, e.names[slot], info.Name, want[slot])
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestE2ECardSwap(t *testing.T) {
	e := pcscDaemon(t, Config{HSM: "sim"}, newCard(t, "gen3", nil), nil)
	ctx := ctxT(t)
	name := e.names[0]
	before := waitReader(t, e.c, name, func(r sscd.Reader, ok bool) bool { return r.CardPresent })
	st, err := e.c.HSMStep1(ctx, name, sscd.HSMStep1Options{CardOptions: sscd.CardOptions{Insertion: before.Insertion}})
	if err != nil {
		t.Fatal(err)
	}
	// Another person's card between the two steps.
	e.removes[0]()
	e.env.Insert(t, 0, newCard(t, "gen3", secondHolder))
	after := waitReader(t, e.c, name, func(r sscd.Reader, ok bool) bool { return r.CardPresent && r.Insertion != before.Insertion })
	_, err = e.c.HSMStep2(ctx, st.Session, hsmStep2(t, st.Step1))
	wantCode(t, err, sscd.CodeCardChanged)

	_, err = e.c.Info(ctx, name, sscd.InfoOptions{CardOptions: sscd.CardOptions{Insertion: before.Insertion}})
	wantCode(t, err, sscd.CodeCardChanged)
	info, err := e.c.Info(ctx, name, sscd.InfoOptions{CardOptions: sscd.CardOptions{Insertion: after.Insertion}})
	if err != nil || info.Name != "李四" {
		t.Fatalf("info after swap: %+v, %v", info, err)
	}
	// The two steps on the new card work.
	st, err = e.c.HSMStep1(ctx, name, sscd.HSMStep1Options{CardOptions: sscd.CardOptions{Insertion: after.Insertion}})
	if err != nil {
		t.Fatal(err)
	}
	if info, err = e.c.HSMStep2(ctx, st.Session, hsmStep2(t, st.Step1)); err != nil || info.SSN != "110101198001010037" {
		t.Fatalf("HSM read: %+v, %v", info, err)
	}
}

func TestE2ERemovalMidOperation(t *testing.T) {
	env := pcsctest.Shared(t)
	stall := newStallChip(newCard(t, "gen2", nil))
	// Slot 0 is served here (not by Env.Insert) so the test can pull the
	// card while the chip is inside a command.
	pcsctest.WaitCard(t, env.ReaderName(0), false)
	vctx, unplug := context.WithCancel(context.Background())
	served := make(chan struct{})
	v := &sim.VPCD{Addr: env.VPCDAddr(0), Card: stall, RetryInterval: 50 * time.Millisecond}
	go func() { defer close(served); v.Serve(vctx) }()
	t.Cleanup(func() { unplug(); <-served })
	e := pcscDaemon(t, Config{}, nil, newCard(t, "gen2", nil))
	// Slot 0 was skipped by pcscDaemon (nil chip), wait for our card, and
	// for the daemon's look at it (which reads a record too).
	waitReader(t, e.c, env.ReaderName(0), func(r sscd.Reader, ok bool) bool { return r.CardPresent && r.Kind != sscd.KindUnknown })

	stall.armed.Store(true)
	res := make(chan error, 1)
	go func() {
		_, err := e.c.Info(context.Background(), env.ReaderName(0), sscd.InfoOptions{})
		res <- err
	}()
	select {
	case <-stall.entered:
	case err := <-res:
		t.Fatalf("read ended before reaching the card: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("the read did not reach the card in 20 s")
	}
	unplug() // the vpcd connection closes: pcscd sees the card go
	close(stall.release)
	<-served
	err := <-res
	var ae *sscd.Error
	if !errors.As(err, &ae) {
		t.Fatalf("read during removal: %v, want an API error", err)
	}
	// The daemon waits for its watcher to see the removal before it
	// answers, so the caller hears what happened, not the garbled exchange.
	if ae.Code != sscd.CodeCardRemoved {
		t.Fatalf("read during removal: %v, want card_removed", err)
	}
	pcsctest.WaitCard(t, env.ReaderName(0), false)
	waitReader(t, e.c, env.ReaderName(0), func(r sscd.Reader, ok bool) bool { return !r.CardPresent })
	_, err = e.c.Info(ctxT(t), env.ReaderName(0), sscd.InfoOptions{})
	wantCode(t, err, sscd.CodeNoCard)
	// The daemon still serves the other reader.
	if _, err := e.c.Info(ctxT(t), e.names[1], sscd.InfoOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestE2ESecurityReset(t *testing.T) {
	chip := &countingChip{Chip: newCard(t, "gen3", nil)}
	e := pcscDaemon(t, Config{}, chip, nil)
	a, b := sscd.Dial(e.sock), sscd.Dial(e.sock)
	defer a.Close()
	defer b.Close()
	ctx := ctxT(t)
	before := chip.resets.Load()
	if _, err := a.VerifyPIN(ctx, e.names[0], sscd.VerifyPINRequest{PIN: "123456"}, sscd.CardOptions{}); err != nil {
		t.Fatal(err)
	}
	if chip.resets.Load() == before {
		t.Fatal("the card was not reset after client A's PIN verification")
	}
	// Client B (and any other application) finds the PIN not verified.
	st, err := b.PINStatus(ctx, e.names[0], sscd.CardOptions{})
	if err != nil || st.TriesLeft != 3 {
		t.Fatalf("client B: %+v, %v", st, err)
	}
	// Directly on PC/SC too: after a reset nothing is selected, so VERIFY
	// without data does not find a verified SSSE PIN (9000).
	card := pcsctest.Connect(t, e.names[0], reader.T0)
	resp, err := card.Transmit(ctx, []byte{0x00, 0x20, 0x00, 0x00})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(resp); n >= 2 && resp[n-2] == 0x90 && resp[n-1] == 0x00 {
		t.Errorf("VERIFY status after client A: % X (PIN still verified)", resp)
	}
}

// TestE2ELink links both cards through pcscd+vpcd (level 2 on one, level 1
// on the other, concurrently) and verifies the bundles as the platform
// would: accepted once, refused for a wrong origin, a replayed nonce, a
// field changed after signing, and a root the platform does not trust.
func TestE2ELink(t *testing.T) {
	e := pcscDaemon(t, Config{HSM: "sim", PBOCCAKeys: "sim"}, newCard(t, "gen3", nil), newCard(t, "gen3", secondHolder))
	book := link.NewNonceBook(0)
	bundles := make([]*link.Bundle, 2)
	var wg sync.WaitGroup
	for slot := range 2 {
		nonce, err := book.Issue()
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := e.c.Link(ctxT(t), e.names[slot], sscd.LinkRequest{Level: 2 - slot, Origin: testOrigin, Nonce: nonce, PIN: "123456"}, sscd.CardOptions{})
			if err != nil {
				t.Errorf("slot %d: %v", slot, err)
			}
			bundles[slot] = b
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	roots := simRoots(t)
	opts := link.Options{Roots: roots, Origin: testOrigin, Nonces: book}
	for slot, b := range bundles {
		v, err := link.Verify(b, link.Options{Roots: roots, Origin: "https://evil.example", Nonces: book})
		if !errors.Is(err, link.ErrOrigin) {
			t.Errorf("slot %d, wrong origin: %v, %v", slot, v, err)
		}
		if _, err := link.Verify(b, opts); err != nil {
			t.Fatalf("slot %d: %v", slot, err)
		}
		if _, err := link.Verify(b, opts); !errors.Is(err, link.ErrNonceReplayed) {
			t.Errorf("slot %d, replayed: %v", slot, err)
		}
	}
	if bundles[0].Bank == nil || bundles[0].Card.Name != "张三" || bundles[1].Bank != nil || bundles[1].Card.Name != "李四" {
		t.Errorf("bundles %+v / %+v", bundles[0], bundles[1])
	}
	// The same bundles checked against their own nonce (no book).
	tampered := *bundles[0]
	tampered.Card.SSN = bundles[1].Card.SSN
	bank := *bundles[0].Bank
	bank.PAN = "6217991000009999999"
	for name, tc := range map[string]struct {
		b    *link.Bundle
		opts link.Options
		want error
	}{
		"tampered SSN":   {&tampered, link.Options{Roots: roots, Origin: testOrigin, Nonce: bundles[0].Nonce}, link.ErrSignature},
		"untrusted root": {bundles[1], link.Options{Roots: otherRoot(t), Origin: testOrigin, Nonce: bundles[1].Nonce}, link.ErrUntrusted},
		"other nonce":    {bundles[1], link.Options{Roots: roots, Origin: testOrigin, Nonce: bundles[0].Nonce}, link.ErrNonce},
		"swapped PAN": {func() *link.Bundle { b := *bundles[0]; b.Bank = &bank; return &b }(),
			link.Options{Roots: roots, Origin: testOrigin, Nonce: bundles[0].Nonce}, link.ErrSignature},
		"level 1 as level 2": {bundles[1], link.Options{Roots: roots, Origin: testOrigin, Nonce: bundles[1].Nonce, MinLevel: 2}, link.ErrLevel},
	} {
		if _, err := link.Verify(tc.b, tc.opts); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}

// otherRoot is a pool with an SM2 root that did not issue the cards.
func otherRoot(t testing.TB) *sm.CertPool {
	t.Helper()
	seed := sm3.Sum([]byte("not the SSC root"))
	key, err := sm.PrivateKeyFromScalar(seed[:])
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &smx509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Other Root"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              smx509.KeyUsageCertSign,
		SignatureAlgorithm:    smx509.SM2WithSM3,
	}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := smx509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	p := sm.NewCertPool()
	p.AddCert(cert)
	return p
}

// TestE2EDaemonRestart stops the daemon and starts another on the same
// socket over the same pcscd: clients reconnect by themselves, the card is
// seen again (a new daemon numbers insertions afresh) and readable.
func TestE2EDaemonRestart(t *testing.T) {
	env := pcsctest.Shared(t)
	_, remove := env.Insert(t, 0, newCard(t, "gen3", nil))
	defer remove()
	name := env.ReaderName(0)
	sock := filepath.Join(t.TempDir(), "sscd.sock")
	start := func() (*Daemon, chan error) {
		d, err := New(Config{Socket: sock, HSM: "sim", Logger: testLogger(t)}, reader.Open(pcsc.New()))
		if err != nil {
			t.Fatal(err)
		}
		l, err := Listen(sock, "")
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- d.Serve(l); l.Close() }()
		return d, served
	}
	stop := func(d *Daemon, served chan error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		if err := <-served; err != nil {
			t.Fatal(err)
		}
	}
	c := sscd.Dial(sock)
	defer c.Close()
	d, served := start()
	waitReader(t, c, name, func(r sscd.Reader, _ bool) bool { return r.CardPresent })
	first, err := c.Info(ctxT(t), name, sscd.InfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stop(d, served)
	if _, err := c.Health(ctxT(t)); err == nil {
		t.Fatal("health answered with the daemon stopped")
	}
	d, served = start()
	defer stop(d, served)
	waitReader(t, c, name, func(r sscd.Reader, _ bool) bool { return r.CardPresent })
	again, err := c.Info(ctxT(t), name, sscd.InfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if again.SSN != first.SSN {
		t.Errorf("after restart %+v, before %+v", again, first)
	}
}

// TestE2EPCSCRestart runs last of the PC/SC tests: it stops the shared pcscd
// and starts it again.
func TestE2EPCSCRestart(t *testing.T) {
	e := pcscDaemon(t, Config{}, nil, newCard(t, "gen2", nil))
	ctx := ctxT(t)
	name := e.names[1]
	before := waitReader(t, e.c, name, func(r sscd.Reader, ok bool) bool { return r.CardPresent })
	e.env.Kill()
	waitReader(t, e.c, name, func(r sscd.Reader, ok bool) bool { return !ok })
	_, err := e.c.Info(ctx, name, sscd.InfoOptions{})
	wantCode(t, err, sscd.CodeReaderNotFound)
	if h, err := e.c.Health(ctx); err != nil || h.BackendError == "" {
		t.Errorf("health while pcscd is down: %+v, %v", h, err)
	}
	e.env.Restart(t)
	after := waitReader(t, e.c, name, func(r sscd.Reader, ok bool) bool { return r.CardPresent })
	if after.Insertion == before.Insertion {
		t.Errorf("insertion %d kept across the pcscd restart", after.Insertion)
	}
	_, err = e.c.Info(ctx, name, sscd.InfoOptions{CardOptions: sscd.CardOptions{Insertion: before.Insertion}})
	wantCode(t, err, sscd.CodeCardChanged)
	if _, err := e.c.Info(ctx, name, sscd.InfoOptions{CardOptions: sscd.CardOptions{Insertion: after.Insertion}}); err != nil {
		t.Fatal(err)
	}
}
