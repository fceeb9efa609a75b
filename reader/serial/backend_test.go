package serial

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sscard/ssc/ccid"
	"github.com/sscard/ssc/reader"
)

func TestParseSpec(t *testing.T) {
	for _, c := range []struct {
		spec    string
		want    Config
		wantErr error
	}{
		{"/dev/ttyS0", Config{Path: "/dev/ttyS0", Type: GemPCTwin}, nil},
		{"serial:/dev/ttyS0", Config{Path: "/dev/ttyS0", Type: GemPCTwin}, nil},
		{"/dev/ttyUSB0:GemPCPinPad", Config{Path: "/dev/ttyUSB0", Type: GemPCPinPad}, nil},
		{"serial:/dev/ttyUSB0:gempcpinpad", Config{Path: "/dev/ttyUSB0", Type: GemPCPinPad}, nil},
		{"/dev/ttyS1:GEMPCTWIN", Config{Path: "/dev/ttyS1", Type: GemPCTwin}, nil},
		{"/dev/ttyS1:", Config{Path: "/dev/ttyS1", Type: GemPCTwin}, nil},
		{"/dev/ttyS1:GemCorePOSPro", Config{}, reader.ErrNotSupported},
		{"serial:", Config{}, reader.ErrReaderNotFound},
		{"", Config{}, reader.ErrReaderNotFound},
	} {
		got, err := ParseSpec(c.spec)
		if c.wantErr != nil {
			if !errors.Is(err, c.wantErr) {
				t.Errorf("ParseSpec(%q) err = %v, want %v", c.spec, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseSpec(%q) = %+v, %v; want %+v", c.spec, got, err, c.want)
		}
	}
}

func TestSerialTPDU(t *testing.T) {
	long := append([]byte{0x00, 0xD6, 0x00, 0x00, 0xFF}, make([]byte, 255)...)
	for _, c := range []struct {
		name    string
		cmd     []byte
		want    []byte
		wantErr bool
	}{
		{"case 1", []byte{0x00, 0xA4, 0x00, 0x00}, []byte{0x00, 0xA4, 0x00, 0x00, 0x00}, false},
		{"case 2", []byte{0x00, 0x84, 0x00, 0x00, 0x08}, []byte{0x00, 0x84, 0x00, 0x00, 0x08}, false},
		{"case 3", []byte{0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00}, []byte{0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00}, false},
		{"case 4 loses Le", []byte{0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00, 0x00}, []byte{0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00}, false},
		{"case 3 max", long, long, false},
		{"case 4 max", append(bytes.Clone(long), 0x00), long, false},
		{"short", []byte{0x00, 0xA4}, nil, true},
		{"empty", nil, nil, true},
		{"extended", []byte{0x00, 0xB0, 0x00, 0x00, 0x00, 0x01, 0x00}, nil, true},
		{"bad Lc", []byte{0x00, 0xA4, 0x04, 0x00, 0x05, 0x3F}, nil, true},
	} {
		got, err := serialTPDU(c.cmd)
		if c.wantErr {
			if !errors.Is(err, reader.ErrInvalidCommand) {
				t.Errorf("%s: err = %v, want ErrInvalidCommand", c.name, err)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, c.want) {
			t.Errorf("%s: tpdu = % X, %v; want % X", c.name, got, err, c.want)
		}
	}
}

func TestSerialConnectTransmit(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	b, d := fakeBackend(t, "")
	rs, err := b.ListReaders(ctx)
	if err != nil || len(rs) != 1 || rs[0].Name != "serial:/dev/fake" || !rs[0].CardPresent ||
		!bytes.Equal(rs[0].ATR, fakeATR) || rs[0].Backend != "serial" {
		t.Fatalf("ListReaders = %+v, %v", rs, err)
	}
	// Init like libccid, then the card powered and set up for T=0.
	cmds := d.commands()
	wantStart := []ccid.MessageType{ccid.Escape, ccid.Escape, ccid.GetSlotStatus, ccid.GetSlotStatus, ccid.IccPowerOn, ccid.SetParameters}
	for i, w := range wantStart {
		if i >= len(cmds) || cmds[i].Type != w {
			t.Fatalf("command %d: %+v, want type %02X", i, cmds, byte(w))
		}
	}
	if p := cmds[4].Param[0]; p != 0x01 {
		t.Errorf("bPowerSelect %02X, want 01 (5 V)", p)
	}
	if got := cmds[5].Data; !bytes.Equal(got, []byte{0x11, 0x00, 0x00, 0x0A, 0x00}) {
		t.Errorf("SetParameters data % X", got)
	}

	card, err := b.Connect(ctx, "serial:/dev/fake", reader.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer card.Close()
	if d.count(ccid.IccPowerOn) != 1 {
		t.Errorf("connect powered the card again")
	}
	if card.Protocol() != reader.T0 || !bytes.Equal(card.ATR(), fakeATR) {
		t.Errorf("protocol %v ATR % X", card.Protocol(), card.ATR())
	}
	rsp, err := card.Transmit(ctx, []byte{0x00, 0x84, 0x00, 0x00, 0x08})
	if err != nil || len(rsp) != 10 || rsp[8] != 0x90 {
		t.Fatalf("transmit: % X, %v", rsp, err)
	}
	if _, err := card.Transmit(ctx, []byte{0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00, 0x00}); err != nil {
		t.Fatal(err)
	}
	cmds = d.commands()
	if last := cmds[len(cmds)-1]; last.Type != ccid.XfrBlock || !bytes.Equal(last.Data, []byte{0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00}) {
		t.Errorf("case 4 sent as % X", last.Data)
	}
	if _, err := card.Transmit(ctx, []byte{0x00, 0xB0, 0x00, 0x00, 0x00, 0x01, 0x00}); !errors.Is(err, reader.ErrInvalidCommand) {
		t.Errorf("extended APDU: %v", err)
	}
	if _, err := card.Transmit(ctx, nil); !errors.Is(err, reader.ErrInvalidCommand) {
		t.Errorf("empty APDU: %v", err)
	}
	// Reset power-cycles.
	offs := d.count(ccid.IccPowerOff)
	if err := card.Reset(ctx, false); err != nil {
		t.Fatal(err)
	}
	if d.count(ccid.IccPowerOff) != offs+1 {
		t.Errorf("reset without power off")
	}
	if _, err := card.Transmit(ctx, []byte{0x00, 0x84, 0x00, 0x00, 0x08}); err != nil {
		t.Fatalf("transmit after reset: %v", err)
	}
	// Line trouble on a card command is a typed error, and the next
	// command works.
	d.setFault(faultOnce(ccid.XfrBlock, devFault{badLRC: true}))
	if _, err := card.Transmit(ctx, []byte{0x00, 0x84, 0x00, 0x00, 0x08}); !errors.Is(err, reader.ErrProtocol) {
		t.Errorf("damaged answer: %v", err)
	}
	if _, err := card.Transmit(ctx, []byte{0x00, 0x84, 0x00, 0x00, 0x08}); err != nil {
		t.Fatalf("transmit after a damaged answer: %v", err)
	}
	// Removal.
	d.setPresent(false)
	if _, err := card.Transmit(ctx, []byte{0x00, 0x84, 0x00, 0x00, 0x08}); !errors.Is(err, reader.ErrCardRemoved) {
		t.Errorf("transmit after removal: %v", err)
	}
	if _, err := b.Connect(ctx, "serial:/dev/fake", reader.ConnectOptions{}); !errors.Is(err, reader.ErrNoCard) {
		t.Errorf("connect to an empty reader: %v", err)
	}
	// Reinserted: the old connection stays gone, a new one works.
	d.setPresent(true)
	c2, err := b.Connect(ctx, "/dev/fake", reader.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := card.Transmit(ctx, []byte{0x00, 0x84, 0x00, 0x00, 0x08}); !errors.Is(err, reader.ErrCardRemoved) {
		t.Errorf("old connection after reinsertion: %v", err)
	}
	if _, err := c2.Transmit(ctx, []byte{0x00, 0x84, 0x00, 0x00, 0x08}); err != nil {
		t.Errorf("new connection: %v", err)
	}
	if _, err := b.Connect(ctx, "serial:/dev/other", reader.ConnectOptions{}); !errors.Is(err, reader.ErrReaderNotFound) {
		t.Errorf("unknown reader: %v", err)
	}
	if _, err := b.Connect(ctx, "serial:/dev/fake", reader.ConnectOptions{Protocols: []reader.Protocol{reader.T1}}); !errors.Is(err, reader.ErrNotSupported) {
		t.Errorf("T=1 only: %v", err)
	}
}

func TestSerialSharing(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	b, _ := fakeBackend(t, "")
	c1, err := b.Connect(ctx, "serial:/dev/fake", reader.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := b.Connect(ctx, "serial:/dev/fake", reader.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Connect(ctx, "serial:/dev/fake", reader.ConnectOptions{Mode: reader.Exclusive}); !errors.Is(err, reader.ErrSharingViolation) {
		t.Errorf("exclusive while shared: %v", err)
	}
	if err := c1.BeginTransaction(ctx); err != nil {
		t.Fatal(err)
	}
	// c2 waits for c1's transaction.
	wctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := c2.Transmit(wctx, []byte{0x00, 0x84, 0x00, 0x00, 0x08}); !errors.Is(err, reader.ErrTimeout) {
		t.Errorf("transmit during another transaction: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c2.Transmit(ctx, []byte{0x00, 0x84, 0x00, 0x00, 0x08})
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if _, err := c1.Transmit(ctx, []byte{0x00, 0x84, 0x00, 0x00, 0x08}); err != nil {
		t.Fatal(err)
	}
	if err := c1.EndTransaction(reader.LeaveCard); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("transmit after the transaction: %v", err)
	}
	if err := c1.EndTransaction(reader.LeaveCard); !errors.Is(err, reader.ErrNotInTransaction) {
		t.Errorf("second EndTransaction: %v", err)
	}
	// A reset by c1 is seen once by c2.
	if err := c1.BeginTransaction(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c1.EndTransaction(reader.ResetCard); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Transmit(ctx, []byte{0x00, 0x84, 0x00, 0x00, 0x08}); !errors.Is(err, reader.ErrCardReset) {
		t.Errorf("after another connection's reset: %v", err)
	}
	if _, err := c2.Transmit(ctx, []byte{0x00, 0x84, 0x00, 0x00, 0x08}); err != nil {
		t.Errorf("second transmit after reset: %v", err)
	}
	c1.Close()
	c2.Close()
	if _, err := c1.Transmit(ctx, []byte{0x00, 0x84, 0x00, 0x00, 0x08}); !errors.Is(err, reader.ErrClosed) {
		t.Errorf("transmit after close: %v", err)
	}
	ex, err := b.Connect(ctx, "serial:/dev/fake", reader.ConnectOptions{Mode: reader.Exclusive})
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	if _, err := b.Connect(ctx, "serial:/dev/fake", reader.ConnectOptions{}); !errors.Is(err, reader.ErrSharingViolation) {
		t.Errorf("shared while exclusive: %v", err)
	}
}

func TestSerialPINPad(t *testing.T) {
	verify := ccid.PINVerify{
		TimeOut: 30, FormatString: 0x81, PINBlockString: 0x03, MinDigits: 6, MaxDigits: 6,
		EntryValidation: 0x02, NumberMessage: 1, LangID: 0x0804,
		APDU: []byte{0x00, 0x20, 0x00, 0x00, 0x03, 0xFF, 0xFF, 0xFF},
	}
	t.Run("twin", func(t *testing.T) {
		ctx := testCtx(t, 10*time.Second)
		b, _ := fakeBackend(t, GemPCTwin)
		card, err := b.Connect(ctx, "serial:/dev/fake", reader.ConnectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer card.Close()
		pad := card.(reader.PINPad)
		if _, err := pad.PINPadFeatures(ctx); !errors.Is(err, reader.ErrNoPINPad) {
			t.Errorf("features: %v", err)
		}
		if _, err := pad.VerifyPINPad(ctx, verify); !errors.Is(err, reader.ErrNoPINPad) {
			t.Errorf("verify: %v", err)
		}
	})
	for _, c := range []struct {
		name    string
		code    byte
		wantErr error
	}{
		{"ok", 0, nil},
		{"cancelled", ccid.ErrCodePINCancelled, reader.ErrPINPadCancelled},
		{"timeout", ccid.ErrCodePINTimeout, reader.ErrPINPadTimeout},
		{"mute card", ccid.ErrCodeICCMute, reader.ErrCardUnresponsive},
	} {
		t.Run("pinpad "+c.name, func(t *testing.T) {
			ctx := testCtx(t, 10*time.Second)
			b, d := fakeBackend(t, GemPCPinPad)
			card, err := b.Connect(ctx, "serial:/dev/fake", reader.ConnectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer card.Close()
			pad := card.(reader.PINPad)
			if f, err := pad.PINPadFeatures(ctx); err != nil || !f.Verify || !f.Modify {
				t.Errorf("features %+v, %v", f, err)
			}
			d.setFault(faultOn(ccid.Secure, devFault{code: c.code}))
			rsp, err := pad.VerifyPINPad(ctx, verify)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("err = %v, want %v", err, c.wantErr)
				}
				return
			}
			if err != nil || !bytes.Equal(rsp, []byte{0x90, 0x00}) {
				t.Fatalf("verify: % X, %v", rsp, err)
			}
			cmds := d.commands()
			last := cmds[len(cmds)-1]
			if last.Type != ccid.Secure || !bytes.Equal(last.Data, verify.SecureData()) {
				t.Errorf("Secure data % X, want % X", last.Data, verify.SecureData())
			}
		})
	}
}

func TestSerialWatch(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	b, d := fakeBackend(t, "")
	ch, err := b.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	next := func(want reader.EventType) reader.Event {
		t.Helper()
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("stream closed, want %v", want)
			}
			if ev.Type != want || ev.Backend != "serial" {
				t.Fatalf("event %+v, want %v", ev, want)
			}
			return ev
		case <-ctx.Done():
			t.Fatalf("no %v event", want)
		}
		return reader.Event{}
	}
	if ev := next(reader.ReaderAdded); ev.Reader != "serial:/dev/fake" || !ev.Snapshot {
		t.Errorf("snapshot %+v", ev)
	}
	ins := next(reader.CardInserted)
	if !ins.Snapshot || ins.Insertion == 0 || !bytes.Equal(ins.ATR, fakeATR) {
		t.Errorf("snapshot card %+v", ins)
	}
	next(reader.SnapshotDone)
	d.setPresent(false)
	if ev := next(reader.CardRemoved); ev.Insertion != ins.Insertion {
		t.Errorf("removed %+v", ev)
	}
	d.setPresent(true)
	ins2 := next(reader.CardInserted)
	if ins2.Insertion == ins.Insertion || ins2.Snapshot || !bytes.Equal(ins2.ATR, fakeATR) {
		t.Errorf("inserted %+v", ins2)
	}
	// Swapped between two polls, announced by notices.
	d.setFault(faultOnce(ccid.GetSlotStatus, devFault{notice: []byte{0x50, 0x02, 0x50, 0x03}}))
	if ev := next(reader.CardRemoved); ev.Insertion != ins2.Insertion {
		t.Errorf("removed %+v", ev)
	}
	if ev := next(reader.CardInserted); ev.Insertion == ins2.Insertion {
		t.Errorf("inserted %+v", ev)
	}
	// The port fails: error, removal; the stream goes on.
	d.port.Close()
	next(reader.BackendError)
	next(reader.CardRemoved)
	next(reader.ReaderRemoved)
	b.Close()
	for range ch {
	}
}

func TestSerialUnavailable(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	dir := t.TempDir()
	missing := filepath.Join(dir, "nothing")
	b := New(Config{Path: missing})
	defer b.Close()
	if _, err := b.ListReaders(ctx); !errors.Is(err, reader.ErrReaderUnavailable) {
		t.Errorf("ListReaders: %v", err)
	}
	if _, err := b.Connect(ctx, Prefix+missing, reader.ConnectOptions{}); !errors.Is(err, reader.ErrReaderUnavailable) {
		t.Errorf("Connect: %v", err)
	}
	// Not a terminal: opening fails too, with the cause.
	f := filepath.Join(dir, "file")
	os.WriteFile(f, nil, 0o600)
	b2 := New(Config{Path: f})
	defer b2.Close()
	sys := reader.Open(b2, reader.NewChipBackend("sim"))
	if _, _, err := sys.Find(ctx, Prefix+f); !errors.Is(err, reader.ErrReaderNotFound) {
		t.Errorf("Find: %v", err)
	}
	ch, err := b.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var types []reader.EventType
	for ev := range ch {
		types = append(types, ev.Type)
		if ev.Type == reader.BackendError {
			if ev.Reader != Prefix+missing || ev.Err == "" {
				t.Errorf("error event %+v", ev)
			}
			b.Close()
		}
	}
	if len(types) != 2 || types[0] != reader.SnapshotDone || types[1] != reader.BackendError {
		t.Errorf("events %v", types)
	}
	if _, err := b.ListReaders(ctx); !errors.Is(err, reader.ErrClosed) {
		t.Errorf("after close: %v", err)
	}
}

func TestSerialCloseDuringExchange(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	b, d := fakeBackend(t, "")
	card, err := b.Connect(ctx, "serial:/dev/fake", reader.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.setFault(faultOn(ccid.XfrBlock, devFault{silent: true}))
	time.AfterFunc(100*time.Millisecond, func() { b.Close() })
	start := time.Now()
	_, err = card.Transmit(ctx, []byte{0x00, 0x84, 0x00, 0x00, 0x08})
	if err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("transmit during close: %v after %v", err, time.Since(start))
	}
	if _, err := card.Transmit(ctx, []byte{0x00, 0x84, 0x00, 0x00, 0x08}); !errors.Is(err, reader.ErrClosed) {
		t.Errorf("transmit after close: %v", err)
	}
}

// TestSerialWatchRecovery: a port that fails is reported, and the reader
// comes back (fresh snapshot) once the port can be opened again.
func TestSerialWatchRecovery(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	var mu sync.Mutex
	var cur *fakePort // nil: the port cannot be opened
	p1, d1 := newFakeLine(t)
	cur = p1
	b := newSerialBackend(func(string) (serialPort, error) {
		mu.Lock()
		defer mu.Unlock()
		if cur == nil {
			return nil, errors.New("no such device")
		}
		p := cur
		cur = nil // one session per line
		return p, nil
	}, Config{Path: "/dev/fake"})
	b.poll = 20 * time.Millisecond
	defer b.Close()
	ch, err := b.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []reader.EventType
	expect := func(want ...reader.EventType) {
		t.Helper()
		for _, w := range want {
			select {
			case ev := <-ch:
				got = append(got, ev.Type)
				if ev.Type != w {
					t.Fatalf("events %v, want %v last", got, w)
				}
			case <-ctx.Done():
				t.Fatalf("events %v, no %v", got, w)
			}
		}
	}
	expect(reader.ReaderAdded, reader.CardInserted, reader.SnapshotDone)
	d1.port.Close() // unplugged
	expect(reader.BackendError, reader.CardRemoved, reader.ReaderRemoved)
	p2, _ := newFakeLine(t)
	mu.Lock()
	cur = p2
	mu.Unlock()
	expect(reader.ReaderAdded, reader.CardInserted, reader.SnapshotDone)
	rs, err := b.ListReaders(ctx)
	if err != nil || len(rs) != 1 || !rs[0].CardPresent {
		t.Errorf("ListReaders after recovery: %+v, %v", rs, err)
	}
}

// TestSerialPPS: a card whose TA1 asks for a faster rate gets a PPS; a
// refused PPS resets the card and keeps the default rate.
func TestSerialPPS(t *testing.T) {
	for _, c := range []struct {
		name     string
		refuse   bool
		wantFiDi byte
		wantOffs int
	}{
		{"accepted", false, 0x96, 0},
		{"refused", true, 0x11, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := testCtx(t, 10*time.Second)
			b, d := fakeBackend(t, "")
			d.mu.Lock()
			d.atr = []byte{0x3B, 0x10, 0x96}
			d.mu.Unlock()
			if c.refuse {
				d.setFault(faultOn(ccid.XfrBlock, devFault{code: 0x01}))
			}
			card, err := b.Connect(ctx, "serial:/dev/fake", reader.ConnectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer card.Close()
			var pps, params []byte
			for _, m := range d.commands() {
				switch m.Type {
				case ccid.XfrBlock:
					pps = m.Data
				case ccid.SetParameters:
					params = m.Data
				}
			}
			if !bytes.Equal(pps, []byte{0xFF, 0x10, 0x96, 0x79}) {
				t.Errorf("PPS % X", pps)
			}
			if len(params) != 5 || params[0] != c.wantFiDi {
				t.Errorf("SetParameters % X, want Fi/Di %02X", params, c.wantFiDi)
			}
			if n := d.count(ccid.IccPowerOff); n != c.wantOffs {
				t.Errorf("%d power-offs, want %d", n, c.wantOffs)
			}
		})
	}
}
