package gempc_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sscard/ssc/ccid"
	"github.com/sscard/ssc/internal/pcsctest"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/reader/pcsc"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sim/gempc"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/keysystem"
)

// Cross-check of the emulator against the real thing: pcscd with Debian's
// libccidtwin driver opens the host end of a socat pty pair, the emulator
// serves the other end. Two readers: a GemPC PinPad with a gen3 card for
// most tests, and a GemPC Twin whose emulator TestPCSCEmulatorGone stops.
// The emulators start in TestMain, before pcscd (libccidtwin gives up on a
// reader that does not answer its initialisation).

const (
	pinPadFriendly = "GemPCPinPad serial"
	twinFriendly   = "GemPCTwin serial"
)

// line is one emulated reader on its pty pair.
type line struct {
	reader *gempc.Reader
	chip   *sim.Card
	cancel context.CancelFunc
	done   chan error // Serve's result
	stop   func()     // socat
	host   string     // pcscd's end
}

var (
	setupErr error // why the serial readers could not be set up
	pinPad   *line
	twin     *line
	twinGone bool // TestPCSCReaderGone ended the Twin's line
)

// needTwin skips tests of the Twin once its line is gone (go test -count 2).
func needTwin(t testing.TB) {
	t.Helper()
	if twinGone {
		t.Skip("the Twin's line was ended by TestPCSCReaderGone")
	}
}

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "gempc-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	var opts []pcsctest.Option
	pinPad, setupErr = startLine(filepath.Join(dir, "pinpad"), gempc.GemPCPinPad)
	if setupErr == nil {
		twin, setupErr = startLine(filepath.Join(dir, "twin"), gempc.GemPCTwin)
	}
	if setupErr == nil {
		opts = append(opts,
			pcsctest.WithSerialReader(pinPad.host, string(gempc.GemPCPinPad), pinPadFriendly),
			pcsctest.WithSerialReader(twin.host, string(gempc.GemPCTwin), twinFriendly))
	}
	code := pcsctest.Run(m, opts...) // stops pcscd before the lines go
	for _, l := range []*line{pinPad, twin} {
		if l != nil {
			l.close()
		}
	}
	return code
}

// startLine makes a pty pair in dir and serves a reader of typ with a gen3
// card on it.
func startLine(dir string, typ gempc.Type) (*line, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	host, dev, stop, err := pcsctest.PTYPair(dir)
	if err != nil {
		return nil, err
	}
	p, err := sim.Builtin("gen3")
	if err != nil {
		stop()
		return nil, err
	}
	chip, err := sim.New(p, sim.Options{Mode: sim.Contact})
	if err != nil {
		stop()
		return nil, err
	}
	port, err := gempc.OpenPort(dev)
	if err != nil {
		stop()
		return nil, err
	}
	r := gempc.New(typ, gempc.Options{})
	r.Insert(chip)
	ctx, cancel := context.WithCancel(context.Background())
	l := &line{reader: r, chip: chip, cancel: cancel, done: make(chan error, 1), stop: stop, host: host}
	go func() {
		err := r.Serve(ctx, port)
		port.Close()
		l.done <- err
	}()
	return l, nil
}

// close stops serving (closing the port) and socat.
func (l *line) close() {
	l.cancel()
	l.done <- <-l.done // (put back for another close)
	l.stop()
}

// env returns the shared pcscd with the serial readers, or skips/fails.
func env(t testing.TB) *pcsctest.Env {
	t.Helper()
	pcsctest.Require(t, setupErr)
	return pcsctest.Shared(t)
}

func tctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func findReader(t testing.TB, name string) reader.Info {
	t.Helper()
	b := pcsc.New()
	defer b.Close()
	ris, err := b.ListReaders(tctx(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, ri := range ris {
		if ri.Name == name {
			return ri
		}
	}
	t.Fatalf("reader %q not listed: %+v", name, ris)
	return reader.Info{}
}

func TestPCSCListsSerialReaders(t *testing.T) {
	e := env(t)
	needTwin(t)
	for _, c := range []struct {
		name string
		l    *line
	}{{e.SerialReaderName(pinPadFriendly), pinPad}, {e.SerialReaderName(twinFriendly), twin}} {
		ri := pcsctest.WaitCard(t, c.name, true)
		if !bytes.Equal(ri.ATR, c.l.chip.ATR()) {
			t.Errorf("%s: ATR % X, want % X", c.name, ri.ATR, c.l.chip.ATR())
		}
		_ = findReader(t, c.name)
	}
}

// connect connects to the card in the named reader through PC/SC.
func connect(t testing.TB, name string) reader.Card {
	t.Helper()
	pcsctest.WaitCard(t, name, true)
	return pcsctest.Connect(t, name, reader.T0)
}

func TestPCSCBasicInfo(t *testing.T) {
	e := env(t)
	card := connect(t, e.SerialReaderName(pinPadFriendly))
	ctx := tctx(t)
	s, err := sscard.Open(ctx, card, sscard.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	info, err := sscard.ReadWithHSM(ctx, s, keysystem.SIM{}, sscard.ReadOptions{})
	if err != nil {
		t.Fatalf("ReadWithHSM: %v", err)
	}
	// The gen3 personalisation (sscard/pcsc_test.go).
	if info.Name != "张三" || info.SSN != "411602199001011232" || info.CardNumber != "A12345678" ||
		info.Region != "411600" || info.Version != "3.00" || info.Generation != 3 ||
		info.IssueDate != "20240101" || info.ExpiryDate != "20340101" ||
		info.CardID.String() != "411600D156000005005A3C9E17B2D40F" {
		t.Errorf("info %+v", info)
	}
}

// TestPCSCRemoveInsert: pcscd sees the emulator's card movements (it polls
// GetSlotStatus about every 400 ms).
func TestPCSCRemoveInsert(t *testing.T) {
	e := env(t)
	name := e.SerialReaderName(pinPadFriendly)
	pcsctest.WaitCard(t, name, true)
	pinPad.reader.Remove()
	inserted := false
	t.Cleanup(func() {
		if !inserted { // the test failed half-way: leave the card in for the others
			pinPad.reader.Insert(pinPad.chip)
			pcsctest.WaitCard(t, name, true)
		}
	})
	pcsctest.WaitCard(t, name, false)
	pinPad.reader.Insert(pinPad.chip)
	inserted = true
	ri := pcsctest.WaitCard(t, name, true)
	if !bytes.Equal(ri.ATR, pinPad.chip.ATR()) {
		t.Errorf("ATR % X after insertion", ri.ATR)
	}
	// And the card works again.
	card := connect(t, name)
	rsp, err := card.Transmit(tctx(t), []byte{0x00, 0x84, 0x00, 0x00, 0x08})
	if err != nil || len(rsp) != 10 {
		t.Fatalf("GET CHALLENGE after reinsertion: % X, %v", rsp, err)
	}
}

// ssseVerify is the SSSE VERIFY template of sscard: six BCD digits packed
// into the 3-byte block of 00 20 00 00 03.
var ssseVerify = ccid.PINVerify{
	TimeOut:         30,
	FormatString:    0x81, // bytes, position 0, left justified, BCD
	PINBlockString:  0x03, // 3-byte block, no length field
	PINLengthFormat: 0x00,
	MinDigits:       6,
	MaxDigits:       6,
	EntryValidation: 0x02,
	NumberMessage:   1,
	LangID:          0x0804,
	APDU:            []byte{0x00, 0x20, 0x00, 0x00, 0x03, 0xFF, 0xFF, 0xFF},
}

// ssseChange is CHANGE REFERENCE DATA 00 24 00 00 06 old(3) new(3), the
// current PIN entered, the new one confirmed.
var ssseChange = ccid.PINModify{
	TimeOut:            30,
	FormatString:       0x81,
	PINBlockString:     0x03,
	PINLengthFormat:    0x00,
	InsertionOffsetOld: 0,
	InsertionOffsetNew: 3,
	MinDigits:          6,
	MaxDigits:          6,
	ConfirmPIN:         0x03,
	EntryValidation:    0x02,
	NumberMessage:      3,
	LangID:             0x0804,
	APDU:               []byte{0x00, 0x24, 0x00, 0x00, 0x06, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF},
}

func setScript(t testing.TB, r *gempc.Reader, script string) *gempc.Script {
	t.Helper()
	k, err := gempc.ScriptKeypad(script)
	if err != nil {
		t.Fatal(err)
	}
	r.SetKeypad(k)
	t.Cleanup(func() { r.SetKeypad(nil) })
	return k.(*gempc.Script)
}

// TestPCSCPINPad: PC/SC part 10 secure PIN entry through libccidtwin:
// SCardControl(FEATURE_VERIFY_PIN_DIRECT / MODIFY_PIN_DIRECT) → CCID
// Secure → the emulator's keypad → the card.
func TestPCSCPINPad(t *testing.T) {
	e := env(t)
	card := connect(t, e.SerialReaderName(pinPadFriendly))
	ctx := tctx(t)
	pad, ok := card.(reader.PINPad)
	if !ok {
		t.Fatalf("%T does not implement reader.PINPad", card)
	}
	f, err := pad.PINPadFeatures(ctx)
	if err != nil || !f.Verify || !f.Modify {
		t.Fatalf("PINPadFeatures = %+v, %v; want verify and modify", f, err)
	}
	s, err := sscard.Open(ctx, card, sscard.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	tries := func() int {
		t.Helper()
		n, err := s.PINStatus(ctx)
		if err != nil {
			t.Fatalf("PINStatus: %v", err)
		}
		return n
	}
	if n := tries(); n != 3 {
		t.Fatalf("tries %d before the test", n)
	}
	script := setScript(t, pinPad.reader, "123456 OK; 000000 OK; CANCEL; 12 TIMEOUT; 123 OK; 123456 OK")
	secure0 := pinPad.reader.Stats().Secure
	steps := []struct {
		name    string
		wantSW  []byte
		wantErr error
		tries   int
	}{
		{"right PIN", []byte{0x90, 0x00}, nil, -1}, // -1: verified
		{"wrong PIN", []byte{0x63, 0xC2}, nil, 2},
		{"cancel", nil, reader.ErrPINPadCancelled, 2},
		{"timeout", nil, reader.ErrPINPadTimeout, 2},
		{"too short", []byte{0x64, 0x03}, nil, 2}, // the pad refuses a 3-digit PIN
		{"right PIN again", []byte{0x90, 0x00}, nil, -1},
	}
	for _, st := range steps {
		rsp, err := pad.VerifyPINPad(ctx, ssseVerify)
		switch {
		case st.wantErr != nil:
			var re *reader.Error
			if !errors.Is(err, st.wantErr) || !errors.As(err, &re) {
				t.Errorf("%s: % X, %v; want *reader.Error matching %v", st.name, rsp, err, st.wantErr)
			}
		case err != nil || !bytes.Equal(rsp, st.wantSW):
			t.Errorf("%s: % X, %v; want % X", st.name, rsp, err, st.wantSW)
		}
		if n := tries(); n != st.tries {
			t.Errorf("%s: %d tries left, want %d", st.name, n, st.tries)
		}
	}
	if n := script.Remaining(); n != 0 {
		t.Errorf("%d script entries left", n)
	}
	if n := pinPad.reader.Stats().Secure - secure0; n != len(steps) {
		t.Errorf("%d Secure commands, want %d", n, len(steps))
	}

	// Through sscard (its own VerifyPINPad on top of reader.PINPad).
	setScript(t, pinPad.reader, "123456 OK; CANCEL")
	if err := s.VerifyPINPad(ctx, sscard.PINOptions{}); err != nil {
		t.Errorf("sscard VerifyPINPad: %v", err)
	}
	if err := s.VerifyPINPad(ctx, sscard.PINOptions{}); !errors.Is(err, reader.ErrPINPadCancelled) {
		t.Errorf("sscard VerifyPINPad, cancelled: %v", err)
	}

	// Change the PIN on the pad and back.
	setScript(t, pinPad.reader, "123456 OK; 654321 OK; 654321 OK; 654321 OK; 111111 OK; 222222 OK; 654321 OK; 123456 OK; 123456 OK")
	for _, c := range []struct {
		name string
		want []byte
	}{
		{"change", []byte{0x90, 0x00}},
		{"mismatch", []byte{0x64, 0x02}},
	} {
		rsp, err := pad.ModifyPINPad(ctx, ssseChange)
		if err != nil || !bytes.Equal(rsp, c.want) {
			t.Errorf("%s: % X, %v; want % X", c.name, rsp, err, c.want)
		}
	}
	// Change back through sscard (its own template on top of reader.PINPad).
	if err := s.ChangePINPad(ctx, sscard.PINOptions{}); err != nil {
		t.Errorf("sscard ChangePINPad: %v", err)
	}
	if err := s.VerifyPIN(ctx, "123456", sscard.PINOptions{}); err != nil {
		t.Errorf("PIN 123456 after changing back: %v", err)
	}
}

// TestPCSCNoPINPad: the Twin has no keypad; vpcd no SCardControl at all.
func TestPCSCNoPINPad(t *testing.T) {
	e := env(t)
	needTwin(t)
	card := connect(t, e.SerialReaderName(twinFriendly))
	ctx := tctx(t)
	pad := card.(reader.PINPad)
	if f, err := pad.PINPadFeatures(ctx); err != nil || f.Verify || f.Modify {
		t.Errorf("Twin PINPadFeatures = %+v, %v; want none", f, err)
	}
	if _, err := pad.VerifyPINPad(ctx, ssseVerify); !errors.Is(err, reader.ErrNoPINPad) {
		t.Errorf("Twin VerifyPINPad: %v, want ErrNoPINPad", err)
	}

	name, _ := e.Insert(t, 0, newChip(t))
	vcard := pcsctest.Connect(t, name, reader.T0)
	vpad := vcard.(reader.PINPad)
	if f, err := vpad.PINPadFeatures(ctx); err != nil || f.Verify || f.Modify {
		t.Errorf("vpcd PINPadFeatures = %+v, %v; want none", f, err)
	}
	if _, err := vpad.ModifyPINPad(ctx, ssseChange); !errors.Is(err, reader.ErrNoPINPad) {
		t.Errorf("vpcd ModifyPINPad: %v, want ErrNoPINPad", err)
	}
}

// TestPCSCTimeRequest: a slow card answer preceded by T=0 time requests
// (single 80 bytes) is accepted by libccidtwin.
func TestPCSCTimeRequest(t *testing.T) {
	e := env(t)
	card := connect(t, e.SerialReaderName(pinPadFriendly))
	before := pinPad.reader.Stats().TimeRequests
	pinPad.reader.SetCardDelay(1200 * time.Millisecond)
	defer pinPad.reader.SetCardDelay(0)
	rsp, err := card.Transmit(tctx(t), []byte{0x00, 0x84, 0x00, 0x00, 0x08})
	if err != nil || len(rsp) != 10 {
		t.Fatalf("slow GET CHALLENGE: % X, %v", rsp, err)
	}
	if n := pinPad.reader.Stats().TimeRequests - before; n < 2 {
		t.Errorf("%d time requests sent", n)
	}
}

// TestPCSCReaderGone: the reader goes away mid-session (the line hangs up,
// as when a USB serial adapter is pulled): the emulator's Serve returns an
// error and the application gets a typed reader error at once, no hang.
// It ends the Twin's line for good.
//
// Why not just stop serving and keep the line: libccidtwin then waits for
// the answer to an XfrBlock as long as the card's T=0 timeout, 232 s with
// this ATR (WI 10), and holds the reader meanwhile.
func TestPCSCReaderGone(t *testing.T) {
	e := env(t)
	needTwin(t)
	name := e.SerialReaderName(twinFriendly)
	card := connect(t, name)
	ctx := tctx(t)
	if _, err := card.Transmit(ctx, []byte{0x00, 0x84, 0x00, 0x00, 0x08}); err != nil {
		t.Fatalf("GET CHALLENGE: %v", err)
	}
	twinGone = true
	twin.stop() // socat: both ends hang up
	select {
	case err := <-twin.done:
		twin.done <- err
		if err == nil {
			t.Error("Serve returned nil on a hung-up line")
		}
		t.Logf("Serve: %v", err)
	case <-time.After(2 * time.Second):
		t.Fatal("Serve did not return 2 s after the line went")
	}
	start := time.Now()
	res := make(chan error, 1)
	go func() {
		_, err := card.Transmit(ctx, []byte{0x00, 0x84, 0x00, 0x00, 0x08})
		res <- err
	}()
	select {
	case err := <-res:
		var re *reader.Error
		if !errors.As(err, &re) {
			t.Fatalf("GET CHALLENGE without a reader: %v; want a *reader.Error", err)
		}
		t.Logf("after %v: %v", time.Since(start).Round(time.Millisecond), err)
	case <-time.After(10 * time.Second):
		t.Fatal("GET CHALLENGE still waiting 10 s after the reader went")
	}
	// pcscd's next presence poll fails too: no card any more.
	deadline := time.Now().Add(3 * time.Second)
	for ri := findReader(t, name); ri.CardPresent; ri = findReader(t, name) {
		if time.Now().After(deadline) {
			t.Fatalf("pcscd still reports a card 3 s after the reader went: %+v", ri)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// BenchmarkTransmitSerialPCSC: one APDU round trip (GET CHALLENGE with
// the exact Le: 8 bytes + 9000, as reader's BenchmarkTransmit) through
// libpcsclite → pcscd → libccidtwin → pty → the emulator → the sim card.
func BenchmarkTransmitSerialPCSC(b *testing.B) {
	e := env(b)
	card := connect(b, e.SerialReaderName(pinPadFriendly))
	cmd := []byte{0x00, 0x84, 0x00, 0x00, 0x08}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		rsp, err := card.Transmit(ctx, cmd)
		if err != nil || len(rsp) != 10 {
			b.Fatalf("% X, %v", rsp, err)
		}
	}
}
