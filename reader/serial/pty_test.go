package serial_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/ccid"
	"github.com/sscard/ssc/internal/pcsctest"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/reader/serial"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sim/gempc"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/keysystem"
)

// The serial backend against the reader emulator (sim/gempc) over a socat
// pty pair: the same bytes as on a real RS-232 line. A missing socat skips
// these tests, or fails them with SSC_REQUIRE_PCSC=1 or CI=true.

type serialRig struct {
	dir     string // of the pty links
	host    string // the host end: reader name "serial:" + host
	emu     *gempc.Reader
	chip    *sim.Card
	backend reader.Backend
	stopPTY func()          // kills socat
	stopEmu func()          // stops the emulator (closing its end)
	served  chan error      // the emulator's Serve result
	ctx     context.Context // bounds the whole test
}

func newSerialRig(t testing.TB, typ gempc.Type, keypad gempc.Keypad) *serialRig {
	t.Helper()
	dir := t.TempDir()
	host, dev, stop, err := pcsctest.PTYPair(dir)
	pcsctest.Require(t, err)
	t.Cleanup(stop)
	emu := gempc.New(typ, gempc.Options{Keypad: keypad})
	chip := newCard(t)
	emu.Insert(chip)
	ectx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- emu.ServePath(ectx, dev) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-served:
		case <-time.After(5 * time.Second):
			t.Errorf("emulator did not stop")
		}
	})
	b := serial.New(serial.Config{Path: host, Type: string(typ)})
	t.Cleanup(func() { b.Close() })
	ctx, cancelCtx := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancelCtx)
	return &serialRig{dir: dir, host: host, emu: emu, chip: chip, backend: b, stopPTY: stop, stopEmu: cancel, served: served, ctx: ctx}
}

func (r *serialRig) name() string { return serial.Prefix + r.host }

func (r *serialRig) connect(t testing.TB) reader.Card {
	t.Helper()
	card, err := r.backend.Connect(r.ctx, r.name(), reader.ConnectOptions{})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { card.Close() })
	return card
}

// TestSerialPTYBasicInfo reads the gen3 software card through System, as
// sscctl --reader serial:PATH does.
func TestSerialPTYBasicInfo(t *testing.T) {
	rig := newSerialRig(t, gempc.GemPCPinPad, nil)
	sys := reader.Open(rig.backend, reader.NewChipBackend("sim"))
	b, ri, err := sys.Find(rig.ctx, rig.name())
	if err != nil || b.Name() != "serial" || !ri.CardPresent || !bytes.Equal(ri.ATR, rig.chip.ATR()) {
		t.Fatalf("Find: %+v, %v", ri, err)
	}
	card, err := sys.Connect(rig.ctx, rig.name(), reader.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer card.Close()
	if card.Protocol() != reader.T0 || !bytes.Equal(card.ATR(), rig.chip.ATR()) {
		t.Errorf("protocol %v ATR % X", card.Protocol(), card.ATR())
	}
	s, err := sscard.Open(rig.ctx, card, sscard.Options{})
	if err != nil {
		t.Fatalf("sscard.Open: %v", err)
	}
	defer s.Close()
	info, err := sscard.ReadWithHSM(rig.ctx, s, keysystem.SIM{}, sscard.ReadOptions{})
	if err != nil {
		t.Fatalf("ReadWithHSM: %v", err)
	}
	if info.Name != "张三" || info.SSN != "411602199001011232" || info.CardNumber != "A12345678" ||
		info.Generation != 3 || info.CardID.String() != "411600D156000005005A3C9E17B2D40F" {
		t.Errorf("info %+v", info)
	}
	// An empty pattern finds the serial reader before the sim.
	if b, _, err := sys.Find(rig.ctx, ""); err != nil || b.Name() != "serial" {
		t.Errorf("Find(\"\") = %v, %v", b, err)
	}
}

func TestSerialPTYWatch(t *testing.T) {
	rig := newSerialRig(t, gempc.GemPCTwin, nil)
	ch, err := rig.backend.Watch(rig.ctx)
	if err != nil {
		t.Fatal(err)
	}
	next := func(want reader.EventType) reader.Event {
		t.Helper()
		select {
		case ev := <-ch:
			if ev.Type != want {
				t.Fatalf("event %+v, want %v", ev, want)
			}
			return ev
		case <-time.After(10 * time.Second):
			t.Fatalf("no %v event", want)
		}
		return reader.Event{}
	}
	if ev := next(reader.ReaderAdded); ev.Reader != rig.name() {
		t.Errorf("reader %+v", ev)
	}
	first := next(reader.CardInserted)
	if !first.Snapshot || !bytes.Equal(first.ATR, rig.chip.ATR()) {
		t.Errorf("snapshot card %+v", first)
	}
	next(reader.SnapshotDone)
	start := time.Now()
	rig.emu.Remove()
	if ev := next(reader.CardRemoved); ev.Insertion != first.Insertion {
		t.Errorf("removed %+v", ev)
	}
	rig.emu.Insert(rig.chip)
	ev := next(reader.CardInserted)
	if ev.Insertion == first.Insertion || !bytes.Equal(ev.ATR, rig.chip.ATR()) {
		t.Errorf("inserted %+v", ev)
	}
	t.Logf("removal and insertion seen in %v", time.Since(start))
	// The card works after reinsertion, the watcher polling alongside.
	card := rig.connect(t)
	if rsp, err := card.Transmit(rig.ctx, getChalleng); err != nil || len(rsp) != 10 {
		t.Errorf("GET CHALLENGE: % X, %v", rsp, err)
	}
	card.Close()
	// The line goes away (unplugged): an error, then removal ...
	rig.stopPTY()
	next(reader.BackendError)
	next(reader.CardRemoved)
	next(reader.ReaderRemoved)
	// ... and it comes back: a new pair at the same path, another reader.
	host, dev, stop, err := pcsctest.PTYPair(rig.dir)
	if err != nil || host != rig.host {
		t.Fatalf("new pty pair: %s, %v", host, err)
	}
	defer stop()
	emu := gempc.New(gempc.GemPCTwin, gempc.Options{})
	emu.Insert(rig.chip)
	ectx, cancel := context.WithCancel(rig.ctx)
	served := make(chan error, 1)
	go func() { served <- emu.ServePath(ectx, dev) }()
	defer func() { cancel(); <-served }()
	if ev := next(reader.ReaderAdded); !ev.Snapshot {
		t.Errorf("recovered reader %+v", ev)
	}
	if ev := next(reader.CardInserted); ev.Insertion == first.Insertion || !bytes.Equal(ev.ATR, rig.chip.ATR()) {
		t.Errorf("recovered card %+v", ev)
	}
	next(reader.SnapshotDone)
}

func TestSerialPTYPINPad(t *testing.T) {
	kp, err := gempc.ScriptKeypad("123456 OK; 111111 OK; CANCEL; TIMEOUT; 123456 OK")
	if err != nil {
		t.Fatal(err)
	}
	rig := newSerialRig(t, gempc.GemPCPinPad, kp)
	card := rig.connect(t)
	s, err := sscard.Open(rig.ctx, card, sscard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var auth *apdu.AuthError
	for _, c := range []struct {
		name  string
		check func(error) bool
	}{
		{"right PIN", func(err error) bool { return err == nil }},
		{"wrong PIN", func(err error) bool { return errors.As(err, &auth) }},
		{"cancelled", func(err error) bool { return errors.Is(err, reader.ErrPINPadCancelled) }},
		{"timed out", func(err error) bool { return errors.Is(err, reader.ErrPINPadTimeout) }},
		{"right PIN again", func(err error) bool { return err == nil }},
	} {
		if err := s.VerifyPINPad(rig.ctx, sscard.PINOptions{}); !c.check(err) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// A change on the keypad: current PIN, new PIN, confirmation.
	kp, err = gempc.ScriptKeypad("123456 OK; 654321 OK; 654321 OK; 654321 OK")
	if err != nil {
		t.Fatal(err)
	}
	rig.emu.SetKeypad(kp)
	change := ccid.PINModify{
		TimeOut: 30, FormatString: 0x81, PINBlockString: 0x03, InsertionOffsetNew: 3,
		MinDigits: 6, MaxDigits: 6, ConfirmPIN: 0x03, EntryValidation: 0x02, NumberMessage: 3, LangID: 0x0804,
		APDU: []byte{0x00, 0x24, 0x00, 0x00, 0x06, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF},
	}
	pad := card.(reader.PINPad)
	if rsp, err := pad.ModifyPINPad(rig.ctx, change); err != nil || !bytes.Equal(rsp, []byte{0x90, 0x00}) {
		t.Errorf("modify: % X, %v", rsp, err)
	}
	if err := s.VerifyPINPad(rig.ctx, sscard.PINOptions{}); err != nil {
		t.Errorf("verify the new PIN: %v", err)
	}
	twin := newSerialRig(t, gempc.GemPCTwin, nil)
	tc := twin.connect(t)
	ts, err := sscard.Open(twin.ctx, tc, sscard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	if err := ts.VerifyPINPad(twin.ctx, sscard.PINOptions{}); !errors.Is(err, reader.ErrNoPINPad) {
		t.Errorf("Twin: %v", err)
	}
}

// TestSerialPTYReaderGone: the line dies in the middle of a slow card
// command (socat killed: the port fails), or the emulator stops and the
// line goes silent: a typed error within a bounded time, no hang.
func TestSerialPTYReaderGone(t *testing.T) {
	t.Run("socat killed mid-command", func(t *testing.T) {
		rig := newSerialRig(t, gempc.GemPCTwin, nil)
		card := rig.connect(t)
		rig.emu.SetCardDelay(20 * time.Second)
		time.AfterFunc(300*time.Millisecond, rig.stopPTY)
		start := time.Now()
		_, err := card.Transmit(rig.ctx, getChalleng)
		if el := time.Since(start); !errors.Is(err, reader.ErrReaderUnavailable) || el > 3*time.Second {
			t.Errorf("err = %v after %v, want ErrReaderUnavailable", err, el)
		}
		// Later calls fail at once too.
		start = time.Now()
		if _, err := card.Transmit(rig.ctx, getChalleng); !errors.Is(err, reader.ErrReaderUnavailable) || time.Since(start) > time.Second {
			t.Errorf("second transmit: %v after %v", err, time.Since(start))
		}
		if _, err := rig.backend.ListReaders(rig.ctx); !errors.Is(err, reader.ErrReaderUnavailable) {
			t.Errorf("ListReaders: %v", err)
		}
	})
	t.Run("emulator stopped", func(t *testing.T) {
		rig := newSerialRig(t, gempc.GemPCTwin, nil)
		card := rig.connect(t)
		rig.stopEmu()
		<-rig.served
		rig.served <- nil // for the cleanup
		ctx, cancel := context.WithTimeout(rig.ctx, time.Second)
		defer cancel()
		start := time.Now()
		_, err := card.Transmit(ctx, getChalleng)
		if el := time.Since(start); !errors.Is(err, reader.ErrTimeout) || el > 2*time.Second {
			t.Errorf("err = %v after %v, want ErrTimeout", err, el)
		}
	})
}

// TestSerialPTYCancelInStep: a command abandoned while the card works
// (its ctx ends; the reader sends time requests, then the late answer) does
// not put the line out of step: the next command gets its own answer.
func TestSerialPTYCancelInStep(t *testing.T) {
	rig := newSerialRig(t, gempc.GemPCTwin, nil)
	card := rig.connect(t)
	rig.emu.SetCardDelay(1200 * time.Millisecond)
	ctx, cancel := context.WithTimeout(rig.ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := card.Transmit(ctx, getChalleng)
	if el := time.Since(start); !errors.Is(err, reader.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) || el > time.Second {
		t.Fatalf("err = %v after %v, want a ctx timeout", err, el)
	}
	rig.emu.SetCardDelay(0)
	rsp, err := card.Transmit(rig.ctx, selectMF)
	if err != nil || !bytes.Equal(rsp[len(rsp)-2:], []byte{0x90, 0x00}) || len(rsp) == 10 {
		t.Fatalf("SELECT MF after an abandoned GET CHALLENGE: % X, %v", rsp, err)
	}
	rsp, err = card.Transmit(rig.ctx, getChalleng)
	if err != nil || len(rsp) != 10 {
		t.Fatalf("GET CHALLENGE: % X, %v", rsp, err)
	}
}

// BenchmarkTransmitSerial is reader/pcsc's BenchmarkTransmit APDU (GET
// CHALLENGE, 8 bytes) through the serial backend and a pty pair to the
// emulator, to compare with the same emulator behind pcscd + libccidtwin.
func BenchmarkTransmitSerial(b *testing.B) {
	rig := newSerialRig(b, gempc.GemPCTwin, nil)
	card := rig.connect(b)
	tx := &apdu.Transmitter{Transport: card}
	cmd := apdu.Command{CLA: 0x00, INS: 0x84, Ne: 8}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		resp, err := tx.Transmit(context.Background(), cmd)
		if err != nil || resp.SW != apdu.SWOK || len(resp.Data) != 8 {
			b.Fatalf("transmit: %v %v", resp, err)
		}
	}
}
