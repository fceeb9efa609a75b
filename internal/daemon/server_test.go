package daemon

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/keysystem"
	"github.com/sscard/ssc/sscd"
)

func TestVersionHealthReaders(t *testing.T) {
	_, c, _ := testDaemon(t, Config{}, simBackend(t, newCard(t, "gen3", nil)))
	ctx := ctxT(t)
	v, err := c.Version(ctx)
	if err != nil || v.API != "v1" {
		t.Fatalf("version %+v, %v", v, err)
	}
	h, err := c.Health(ctx)
	if err != nil || h.Status != "ok" || h.Readers != 2 || h.Cards != 1 {
		t.Fatalf("health %+v, %v", h, err)
	}
	rs, err := c.Readers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Name != "r0" || !rs[0].CardPresent || rs[0].Insertion == 0 || len(rs[0].ATR) == 0 || rs[1].CardPresent {
		t.Fatalf("readers %+v", rs)
	}
}

func TestInfo(t *testing.T) {
	gen3 := newCard(t, "gen3", nil)
	gen2 := newCard(t, "gen2", nil)
	tests := []struct {
		name    string
		hsm     string
		reader  string
		opts    sscd.InfoOptions
		want    string // holder name
		wantErr sscd.Code
		partial bool
	}{
		{name: "gen3 with HSM", hsm: "sim", reader: "r0", want: "张三"},
		{name: "gen3 without HSM", reader: "r0", wantErr: sscd.CodeNeedsHSM},
		{name: "gen3 partial", reader: "r0", opts: sscd.InfoOptions{Partial: true}, partial: true},
		{name: "gen2", reader: "r1"},
		{name: "unknown reader", reader: "nope", wantErr: sscd.CodeReaderNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c, _ := testDaemon(t, Config{HSM: tt.hsm}, simBackend(t, gen3, gen2))
			info, err := c.Info(ctxT(t), tt.reader, tt.opts)
			if tt.wantErr != "" {
				wantCode(t, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != "" && info.Name != tt.want {
				t.Errorf("name %q, want %q", info.Name, tt.want)
			}
			if tt.partial != (len(info.Unavailable) > 0) || len(info.CardID) != 16 {
				t.Errorf("info %+v", info)
			}
		})
	}
}

func TestInfoBas(t *testing.T) {
	_, c, _ := testDaemon(t, Config{HSM: "sim", TerminalNo: "T0001", DeviceNo: "D0001"}, simBackend(t, newCard(t, "gen3", nil)))
	s, err := c.InfoBas(ctxT(t), "r0", sscd.InfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	info, term, err := sscard.ParseReadCardBas(s)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	if info.Name != "张三" || term.TerminalNo != "T0001" || term.DeviceNo != "D0001" {
		t.Errorf("bas %q", s)
	}
}

// hsmStep2 runs the HSM side of the two-step flow with the SIM HSM.
func hsmStep2(t testing.TB, step1 string) string {
	t.Helper()
	st, err := sscard.ParseStep1(step1)
	if err != nil {
		t.Fatal(err)
	}
	ans, err := keysystem.SIM{}.Authenticate(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	return ans.String()
}

func TestHSMTwoStep(t *testing.T) {
	_, c, _ := testDaemon(t, Config{}, simBackend(t, newCard(t, "gen3", nil)))
	ctx := ctxT(t)
	st, err := c.HSMStep1(ctx, "r0", sscd.HSMStep1Options{CardOptions: sscd.CardOptions{}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Session == "" || st.Insertion == 0 || !strings.HasSuffix(st.Step1, "|") {
		t.Fatalf("step1 %+v", st)
	}
	info, err := c.HSMStep2(ctx, st.Session, hsmStep2(t, st.Step1))
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "张三" || info.SSN == "" {
		t.Errorf("info %+v", info)
	}
	// A session is used once.
	_, err = c.HSMStep2(ctx, st.Session, hsmStep2(t, st.Step1))
	wantCode(t, err, sscd.CodeSessionNotFound)
	// The reader is free again.
	if _, err := c.PINStatus(ctx, "r0", sscd.CardOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestHSMWrongAnswer(t *testing.T) {
	_, c, _ := testDaemon(t, Config{}, simBackend(t, newCard(t, "gen3", nil)))
	ctx := ctxT(t)
	st, err := c.HSMStep1(ctx, "r0", sscd.HSMStep1Options{CardOptions: sscd.CardOptions{}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.HSMStep2(ctx, st.Session, strings.Repeat("0", 32)+"|"+strings.Repeat("0", 32)+"|")
	wantCode(t, err, sscd.CodeHSMAnswer) // not the answer to this step 1
	_, err = c.HSMStep2(ctx, "no-such-session", strings.Repeat("0", 32)+"|"+strings.Repeat("0", 32)+"|")
	wantCode(t, err, sscd.CodeSessionNotFound)
}

func TestHSMSessionExpires(t *testing.T) {
	cfg := Config{HSMSessionTimeout: Duration(1)} // expires at once
	_, c, _ := testDaemon(t, cfg, simBackend(t, newCard(t, "gen3", nil)))
	ctx := ctxT(t)
	st, err := c.HSMStep1(ctx, "r0", sscd.HSMStep1Options{CardOptions: sscd.CardOptions{}})
	if err != nil {
		t.Fatal(err)
	}
	// The expiry released the reader: this waits for it, then succeeds.
	if _, err := c.PINStatus(ctx, "r0", sscd.CardOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = c.HSMStep2(ctx, st.Session, hsmStep2(t, st.Step1))
	wantCode(t, err, sscd.CodeSessionNotFound)
}

func TestCardSwap(t *testing.T) {
	sb := simBackend(t, newCard(t, "gen3", nil))
	_, c, _ := testDaemon(t, Config{HSM: "sim"}, sb)
	ctx := ctxT(t)
	before := waitReader(t, c, "r0", func(r sscd.Reader, ok bool) bool { return r.CardPresent })
	st, err := c.HSMStep1(ctx, "r0", sscd.HSMStep1Options{CardOptions: sscd.CardOptions{Insertion: before.Insertion}})
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.Remove("r0"); err != nil {
		t.Fatal(err)
	}
	if err := sb.Insert("r0", newCard(t, "gen3", secondHolder)); err != nil {
		t.Fatal(err)
	}
	after := waitReader(t, c, "r0", func(r sscd.Reader, ok bool) bool { return r.CardPresent && r.Insertion != before.Insertion })
	_, err = c.HSMStep2(ctx, st.Session, hsmStep2(t, st.Step1))
	wantCode(t, err, sscd.CodeCardChanged)
	if !errors.Is(err, sscd.ErrCardChanged) {
		t.Errorf("%v does not match ErrCardChanged", err)
	}
	// A stale insertion id is refused; the current one works.
	_, err = c.Info(ctx, "r0", sscd.InfoOptions{CardOptions: sscd.CardOptions{Insertion: before.Insertion}})
	wantCode(t, err, sscd.CodeCardChanged)
	info, err := c.Info(ctx, "r0", sscd.InfoOptions{CardOptions: sscd.CardOptions{Insertion: after.Insertion}})
	if err != nil || info.Name != "李四" {
		t.Fatalf("info %+v, %v", info, err)
	}
	if err := sb.Remove("r0"); err != nil {
		t.Fatal(err)
	}
	waitReader(t, c, "r0", func(r sscd.Reader, ok bool) bool { return !r.CardPresent })
	_, err = c.Info(ctx, "r0", sscd.InfoOptions{})
	wantCode(t, err, sscd.CodeNoCard)
}

func TestPINResetAfterVerify(t *testing.T) {
	chip := &countingChip{Chip: newCard(t, "gen3", nil)}
	_, c, _ := testDaemon(t, Config{}, simBackend(t, chip))
	ctx := ctxT(t)
	before := chip.resets.Load()
	if _, err := c.VerifyPIN(ctx, "r0", sscd.VerifyPINRequest{PIN: "123456"}, sscd.CardOptions{}); err != nil {
		t.Fatal(err)
	}
	if chip.resets.Load() == before {
		t.Error("the card was not reset after the PIN verification")
	}
	// Another client: the card was reset, the PIN is not verified any more
	// (a verified PIN would report -1).
	st, err := c.PINStatus(ctx, "r0", sscd.CardOptions{})
	if err != nil || st.TriesLeft != 3 {
		t.Fatalf("after verify: %+v, %v", st, err)
	}
	_, err = c.VerifyPIN(ctx, "r0", sscd.VerifyPINRequest{PIN: "000000"}, sscd.CardOptions{})
	wantCode(t, err, sscd.CodeWrongPIN)
	var e *sscd.Error
	if errors.As(err, &e); e.SW != "63C2" {
		t.Errorf("wrong PIN: SW %q, want 63C2", e.SW)
	}
	_, err = c.VerifyPIN(ctx, "r0", sscd.VerifyPINRequest{PIN: "12"}, sscd.CardOptions{})
	wantCode(t, err, sscd.CodePINFormat)
	_, err = c.VerifyPIN(ctx, "r0", sscd.VerifyPINRequest{PINPad: true}, sscd.CardOptions{})
	wantCode(t, err, sscd.CodePINPadUnsupported) // the sim reader has no keypad
	if _, err := c.VerifyPIN(ctx, "r0", sscd.VerifyPINRequest{PIN: "123456"}, sscd.CardOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestEvents(t *testing.T) {
	sb := simBackend(t, newCard(t, "gen3", nil))
	_, c, _ := testDaemon(t, Config{}, sb)
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	es, err := c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer es.Close()
	snap, err := es.Next()
	if err != nil {
		t.Fatal(err)
	}
	if snap.Type != sscd.EventSnapshot || len(snap.Readers) != 2 || !snap.Readers[0].CardPresent {
		t.Fatalf("snapshot %+v", snap)
	}
	if err := sb.Remove("r0"); err != nil {
		t.Fatal(err)
	}
	if err := sb.Insert("r1", newCard(t, "gen2", nil)); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		typ, reader string
	}{{sscd.EventCardRemoved, "r0"}, {sscd.EventCardInserted, "r1"}, {sscd.EventCardIdentified, "r1"}}
	for i, w := range want {
		ev, err := es.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type != w.typ || ev.Reader != w.reader || ev.Seq != snap.Seq+uint64(i)+1 {
			t.Errorf("event %d: %+v, want %s on %s, seq %d", i, ev, w.typ, w.reader, snap.Seq+uint64(i)+1)
		}
	}
	cancel()
	if _, err := es.Next(); err == nil {
		t.Error("stream still open after cancel")
	}
}

func TestEventsShutdown(t *testing.T) {
	d, c, _ := testDaemon(t, Config{}, simBackend(t))
	es, err := c.Events(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	defer es.Close()
	if _, err := es.Next(); err != nil {
		t.Fatal(err)
	}
	// Shutdown must not wait for the stream: it ends it.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := es.Next(); !errors.Is(err, io.EOF) && err == nil {
		t.Errorf("stream after shutdown: %v", err)
	}
}

func TestBusyWhileHSMSessionOpen(t *testing.T) {
	cfg := Config{OpTimeout: Duration(300 * time.Millisecond), HSMSessionTimeout: Duration(time.Minute)}
	d, c, _ := testDaemon(t, cfg, simBackend(t, newCard(t, "gen3", nil), newCard(t, "gen2", nil)))
	ctx := ctxT(t)
	if _, err := c.HSMStep1(ctx, "r0", sscd.HSMStep1Options{CardOptions: sscd.CardOptions{}}); err != nil {
		t.Fatal(err)
	}
	_, err := c.PINStatus(ctx, "r0", sscd.CardOptions{})
	wantCode(t, err, sscd.CodeBusy)
	// The other reader has its own queue.
	if _, err := c.Info(ctx, "r1", sscd.InfoOptions{}); err != nil {
		t.Fatal(err)
	}
	// Shutdown does not wait for the session (nor the minute it has left).
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := d.Shutdown(sctx); err != nil || time.Since(start) > 4*time.Second {
		t.Fatalf("shutdown: %v after %v", err, time.Since(start))
	}
}
