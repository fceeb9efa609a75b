package gempc_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sscard/ssc/ccid"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sim/gempc"
	"github.com/sscard/ssc/sscard"
)

// Unit tests of the emulator's line protocol, host side written by hand
// over a socket pair (kernel-buffered both ways, with read deadlines).

func newChip(t testing.TB) *sim.Card {
	t.Helper()
	p, err := sim.Builtin("gen3")
	if err != nil {
		t.Fatal(err)
	}
	c, err := sim.New(p, sim.Options{Mode: sim.Contact})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func socketPair(t testing.TB) (a, b net.Conn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn := func(fd int) net.Conn {
		f := os.NewFile(uintptr(fd), "socketpair")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b = conn(fds[0]), conn(fds[1])
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// host is a hand-written libccidtwin.
type host struct {
	t    testing.TB
	conn net.Conn
	dec  *ccid.Decoder
	seq  byte
}

// startEmulator serves r on one end of a socket pair until the test ends.
func startEmulator(t testing.TB, r *gempc.Reader) *host {
	t.Helper()
	hc, rc := socketPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx, rc) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(2 * time.Second):
			t.Error("Serve did not return 2 s after cancel")
		}
	})
	return &host{t: t, conn: hc, dec: ccid.NewDecoder(deadlineConn{hc})}
}

// deadlineConn turns a read deadline into the (0, nil) of a serial port.
type deadlineConn struct{ net.Conn }

func (d deadlineConn) Read(p []byte) (int, error) {
	d.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	n, err := d.Conn.Read(p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return n, nil
	}
	return n, err
}

func (h *host) write(b []byte) {
	h.t.Helper()
	if _, err := h.conn.Write(b); err != nil {
		h.t.Fatal(err)
	}
}

func (h *host) send(m ccid.Message) ccid.Message {
	h.t.Helper()
	m.Seq = h.seq
	h.seq++
	msg, err := m.AppendBinary(nil)
	if err != nil {
		h.t.Fatal(err)
	}
	h.write(ccid.AppendFrame(nil, msg))
	return m
}

func (h *host) next() ccid.Frame {
	h.t.Helper()
	f, err := h.dec.Next(time.Now().Add(3 * time.Second))
	if err != nil {
		h.t.Fatalf("read: %v", err)
	}
	return f
}

func (h *host) message() ccid.Message {
	h.t.Helper()
	f := h.next()
	if f.Kind != ccid.FrameMessage {
		h.t.Fatalf("frame kind %d, want a message", f.Kind)
	}
	m, err := ccid.ParseMessage(f.Message)
	if err != nil {
		h.t.Fatal(err)
	}
	return m
}

// do sends m and checks the short echo; it returns the answer, skipping
// time requests (counted).
func (h *host) do(m ccid.Message) (ccid.Message, int) {
	h.t.Helper()
	m = h.send(m)
	e := h.message()
	if e.Type != m.Type || e.Seq != m.Seq || e.Slot != m.Slot || e.Param != m.Param || len(e.Data) != 0 {
		h.t.Fatalf("echo %+v of %+v: want the header with dwLength 0", e, m)
	}
	treq := 0
	for {
		f := h.next()
		switch f.Kind {
		case ccid.FrameTimeRequest:
			treq++
			continue
		case ccid.FrameMessage:
		default:
			h.t.Fatalf("frame kind %d after the echo", f.Kind)
		}
		a, err := ccid.ParseMessage(f.Message)
		if err != nil {
			h.t.Fatal(err)
		}
		if a.Seq != m.Seq || a.Slot != m.Slot {
			h.t.Fatalf("answer seq/slot %d/%d, want %d/%d", a.Seq, a.Slot, m.Seq, m.Slot)
		}
		return a, treq
	}
}

func (h *host) quiet(d time.Duration) {
	h.t.Helper()
	f, err := h.dec.Next(time.Now().Add(d))
	if !errors.Is(err, ccid.ErrTimeout) {
		h.t.Fatalf("unexpected frame %+v (%v)", f, err)
	}
}

type want struct {
	typ    ccid.MessageType
	status byte
	errc   byte
	p3     byte
	data   []byte // nil: not checked
}

func check(t *testing.T, name string, got ccid.Message, w want) {
	t.Helper()
	if got.Type != w.typ || got.Param[0] != w.status || got.Param[1] != w.errc || got.Param[2] != w.p3 {
		t.Errorf("%s: answer %02X %02X %02X %02X, want %02X %02X %02X %02X", name,
			byte(got.Type), got.Param[0], got.Param[1], got.Param[2], byte(w.typ), w.status, w.errc, w.p3)
	}
	if w.data != nil && !bytes.Equal(got.Data, w.data) {
		t.Errorf("%s: data % X, want % X", name, got.Data, w.data)
	}
}

func esc(data ...byte) ccid.Message { return ccid.Message{Type: ccid.Escape, Data: data} }

// TestProtocol walks libccidtwin's initialisation and a card session, one
// step at a time (the steps depend on each other).
func TestProtocol(t *testing.T) {
	chip := newChip(t)
	l10n := append([]byte{0xB2, 0xA0, 0x00, 0x4D, 0x4C}, bytes.Repeat([]byte(" "), 160)...)
	for _, typ := range []gempc.Type{gempc.GemPCTwin, gempc.GemPCPinPad} {
		t.Run(string(typ), func(t *testing.T) {
			r := gempc.New(typ, gempc.Options{Firmware: "FW 1.0"})
			h := startEmulator(t, r)
			// With no card, bStatus is 02 (absent) | 40 (failed).
			l10nWant := want{typ: ccid.EscapeResponse, status: 0x02}
			secureWant := want{typ: ccid.DataBlock, status: 0x41, errc: 0x00} // not supported
			if typ == gempc.GemPCTwin {
				l10nWant = want{typ: ccid.EscapeResponse, status: 0x42}
			} else {
				secureWant = want{typ: ccid.DataBlock, status: 0x41, errc: 0xFE} // inactive card
			}
			steps := []struct {
				name   string
				before func()
				cmd    ccid.Message
				want   want
			}{
				{"firmware", nil, esc(0x02), want{typ: ccid.EscapeResponse, status: 0x02, data: []byte("FW 1.0")}},
				{"notify mode", nil, esc(0x01, 0x01, 0x01), want{typ: ccid.EscapeResponse, status: 0x02}},
				{"status, empty", nil, ccid.Message{Type: ccid.GetSlotStatus}, want{typ: ccid.SlotStatus, status: 0x02}},
				{"l10n", nil, esc(l10n...), l10nWant},
				{"firmware features", nil, esc(0x6A), want{typ: ccid.EscapeResponse, status: 0x42}},
				{"unknown escape", nil, esc(0x99, 0x01), want{typ: ccid.EscapeResponse, status: 0x42}},
				{"empty escape", nil, esc(), want{typ: ccid.EscapeResponse, status: 0x42}},
				{"power on, empty", nil, ccid.Message{Type: ccid.IccPowerOn, Param: [3]byte{1}},
					want{typ: ccid.DataBlock, status: 0x42, errc: 0xFE, data: []byte{}}},
				{"xfr, empty", nil, ccid.Message{Type: ccid.XfrBlock, Data: []byte{0, 0x84, 0, 0, 8}},
					want{typ: ccid.DataBlock, status: 0x42, errc: 0xFE}},
				{"set parameters, empty", nil, ccid.Message{Type: ccid.SetParameters, Data: []byte{0x11, 0, 0, 0x0A, 0}},
					want{typ: ccid.Parameters, status: 0x42, errc: 0xFE}},
				{"status, inserted", func() { r.Insert(chip) }, ccid.Message{Type: ccid.GetSlotStatus},
					want{typ: ccid.SlotStatus, status: 0x01}},
				{"xfr, unpowered", nil, ccid.Message{Type: ccid.XfrBlock, Data: []byte{0, 0x84, 0, 0, 8}},
					want{typ: ccid.DataBlock, status: 0x41, errc: 0xFE}},
				{"secure, unpowered", nil, ccid.Message{Type: ccid.Secure, Data: []byte{0}}, secureWant},
				{"power on", nil, ccid.Message{Type: ccid.IccPowerOn, Param: [3]byte{1}},
					want{typ: ccid.DataBlock, status: 0x00, data: chip.ATR()}},
				{"status, active", nil, ccid.Message{Type: ccid.GetSlotStatus}, want{typ: ccid.SlotStatus, status: 0x00}},
				{"set parameters", nil, ccid.Message{Type: ccid.SetParameters, Data: []byte{0x11, 0, 0, 0x0A, 0}},
					want{typ: ccid.Parameters, status: 0x00, p3: 0, data: []byte{0x11, 0, 0, 0x0A, 0}}},
				{"get parameters", nil, ccid.Message{Type: ccid.GetParameters},
					want{typ: ccid.Parameters, status: 0x00, data: []byte{0x11, 0, 0, 0x0A, 0}}},
				{"pps", nil, ccid.Message{Type: ccid.XfrBlock, Data: []byte{0xFF, 0x10, 0x96, 0x79}},
					want{typ: ccid.DataBlock, data: []byte{0xFF, 0x10, 0x96, 0x79}}},
				{"short tpdu", nil, ccid.Message{Type: ccid.XfrBlock, Data: []byte{0, 0x84}},
					want{typ: ccid.DataBlock, status: 0x40, errc: 0x01}},
				// Case 4 on T=0: no Le, so the card announces its data.
				{"select MF", nil, ccid.Message{Type: ccid.XfrBlock, Data: []byte{0, 0xA4, 0, 0, 2, 0x3F, 0}},
					want{typ: ccid.DataBlock}},
				{"unknown command", nil, ccid.Message{Type: 0x7E}, want{typ: ccid.SlotStatus, status: 0x40}},
				{"abort", nil, ccid.Message{Type: ccid.Abort}, want{typ: ccid.SlotStatus}},
				{"slot 1", nil, ccid.Message{Type: ccid.IccPowerOn, Slot: 1}, want{typ: ccid.DataBlock, status: 0x42, errc: 0x05}},
				{"power off", nil, ccid.Message{Type: ccid.IccPowerOff}, want{typ: ccid.SlotStatus, status: 0x01}},
				{"power off again", nil, ccid.Message{Type: ccid.IccPowerOff}, want{typ: ccid.SlotStatus, status: 0x01}},
				{"removed", func() { r.Remove() }, ccid.Message{Type: ccid.GetSlotStatus}, want{typ: ccid.SlotStatus, status: 0x02}},
			}
			for _, st := range steps {
				if st.before != nil {
					st.before()
				}
				got, _ := h.do(st.cmd)
				check(t, st.name, got, st.want)
				if st.name == "select MF" && (len(got.Data) != 2 || got.Data[0] != 0x61 && got.Data[0] != 0x90) {
					t.Errorf("select MF: response % X, want 61xx or 9000", got.Data)
				}
			}
			h.quiet(100 * time.Millisecond)
		})
	}
}

func TestGetChallengeThroughEmulator(t *testing.T) {
	r := gempc.New(gempc.GemPCTwin, gempc.Options{})
	r.Insert(newChip(t))
	h := startEmulator(t, r)
	h.do(ccid.Message{Type: ccid.IccPowerOn})
	got, _ := h.do(ccid.Message{Type: ccid.XfrBlock, Data: []byte{0, 0x84, 0, 0, 8}})
	if len(got.Data) != 10 || got.Data[8] != 0x90 || got.Data[9] != 0 {
		t.Fatalf("GET CHALLENGE: % X", got.Data)
	}
}

// TestGarbage: anything that is not a good frame gets one NAK per burst,
// and the next good frame is answered.
func TestGarbage(t *testing.T) {
	good := func() []byte {
		msg, _ := ccid.Message{Type: ccid.GetSlotStatus, Seq: 7}.AppendBinary(nil)
		return ccid.AppendFrame(nil, msg)
	}
	badLRC := good()
	badLRC[len(badLRC)-1] ^= 0xFF
	tooLong := []byte{0x03, 0x06, 0x6F, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0}
	for _, c := range []struct {
		name string
		in   []byte
	}{
		{"bad LRC", badLRC},
		{"zero bytes", make([]byte, 40)},
		{"time request bytes", []byte{0x80, 0x81, 0xFF}},
		{"host NAK", ccid.NAKFrame()},
		{"bad control byte", []byte{0x03, 0x07, 0x65}},
		{"dwLength too big", tooLong},
		{"notice", []byte{0x50, 0x03}},
		{"random", func() []byte {
			b := make([]byte, 600)
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range b {
				b[i] = byte(rng.IntN(256))
			}
			return b
		}()},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := gempc.New(gempc.GemPCTwin, gempc.Options{Logf: t.Logf})
			h := startEmulator(t, r)
			h.write(c.in)
			f := h.next()
			if f.Kind != ccid.FrameNAK {
				t.Fatalf("frame kind %d, want NAK", f.Kind)
			}
			h.quiet(200 * time.Millisecond) // one NAK for the burst
			got, _ := h.do(ccid.Message{Type: ccid.GetSlotStatus})
			check(t, "after garbage", got, want{typ: ccid.SlotStatus, status: 0x02})
			if s := r.Stats(); s.NAKs != 1 {
				t.Errorf("stats %+v, want 1 NAK", s)
			}
		})
	}
}

// FuzzServe: no input makes the emulator panic, hang or stop answering.
func FuzzServe(f *testing.F) {
	for _, seed := range [][]byte{{}, {0x03, 0x06}, ccid.NAKFrame(), {0x50, 0x02}, {0x03, 0x06, 0x62, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0x67}} {
		f.Add(seed)
	}
	chip := newChip(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		r := gempc.New(gempc.GemPCPinPad, gempc.Options{})
		r.Insert(chip)
		h := startEmulator(t, r)
		h.write(in)
		// Drain whatever comes back, then the line must work.
		for {
			_, err := h.dec.Next(time.Now().Add(150 * time.Millisecond))
			if errors.Is(err, ccid.ErrTimeout) {
				break
			}
			if err != nil && !errors.Is(err, ccid.ErrMalformed) {
				t.Fatal(err)
			}
		}
		h.dec.Discard()
		// The emulator drops a partial frame after 100 ms of silence.
		time.Sleep(150 * time.Millisecond)
		got, _ := h.do(ccid.Message{Type: ccid.GetSlotStatus})
		if got.Type != ccid.SlotStatus {
			t.Fatalf("answer %+v", got)
		}
	})
}

func TestTimeRequest(t *testing.T) {
	r := gempc.New(gempc.GemPCTwin, gempc.Options{TimeRequestInterval: 50 * time.Millisecond})
	r.Insert(newChip(t))
	h := startEmulator(t, r)
	h.do(ccid.Message{Type: ccid.IccPowerOn})
	r.SetCardDelay(220 * time.Millisecond)
	got, treq := h.do(ccid.Message{Type: ccid.XfrBlock, Data: []byte{0, 0x84, 0, 0, 8}})
	if len(got.Data) != 10 || treq < 2 {
		t.Fatalf("answer % X after %d time requests, want 10 bytes after >= 2", got.Data, treq)
	}
	if s := r.Stats(); s.TimeRequests != treq {
		t.Errorf("stats %+v, host saw %d time requests", s, treq)
	}
	r.SetCardDelay(0)
	if _, treq := h.do(ccid.Message{Type: ccid.XfrBlock, Data: []byte{0, 0x84, 0, 0, 8}}); treq != 0 {
		t.Errorf("%d time requests without a delay", treq)
	}
}

// TestServeEnds: Serve returns soon after ctx ends, and with an error when
// the line goes away; a second Serve at once is refused.
func TestServeEnds(t *testing.T) {
	t.Run("cancel", func(t *testing.T) {
		r := gempc.New(gempc.GemPCTwin, gempc.Options{})
		_, rc := socketPair(t)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Serve(ctx, rc) }()
		time.Sleep(50 * time.Millisecond)
		if err := r.Serve(context.Background(), rc); !errors.Is(err, gempc.ErrServing) {
			t.Errorf("second Serve: %v, want ErrServing", err)
		}
		start := time.Now()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
			if d := time.Since(start); d > 500*time.Millisecond {
				t.Errorf("Serve returned %v after cancel", d)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("Serve did not return")
		}
	})
	t.Run("peer closed", func(t *testing.T) {
		r := gempc.New(gempc.GemPCTwin, gempc.Options{})
		hc, rc := socketPair(t)
		done := make(chan error, 1)
		go func() { done <- r.Serve(context.Background(), rc) }()
		hc.Close()
		select {
		case err := <-done:
			if err == nil {
				t.Error("Serve returned nil for a closed line")
			}
		case <-time.After(2 * time.Second):
			t.Fatal("Serve did not return")
		}
	})
	t.Run("plain reader", func(t *testing.T) {
		// An io.ReadWriter without timeouts is read by a goroutine:
		// cancellation still works.
		r := gempc.New(gempc.GemPCTwin, gempc.Options{})
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer pw.Close()
		defer pr.Close()
		rw := struct {
			readerOnly
			writerOnly
		}{readerOnly{pr}, writerOnly{&bytes.Buffer{}}}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Serve(ctx, rw) }()
		pw.Write([]byte{0x03, 0x06, 0x65, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x60})
		time.Sleep(100 * time.Millisecond)
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("Serve did not return")
		}
		if s := r.Stats(); s.Commands != 1 {
			t.Errorf("stats %+v, want 1 command", s)
		}
	})
}

type readerOnly struct{ r *os.File }

func (r readerOnly) Read(p []byte) (int, error) { return r.r.Read(p) }

type writerOnly struct{ w *bytes.Buffer }

func (w writerOnly) Write(p []byte) (int, error) { return w.w.Write(p) }

func TestScriptKeypad(t *testing.T) {
	type res struct {
		digits string
		err    error
	}
	for _, c := range []struct {
		script  string
		want    []res
		wantErr string
	}{
		{"123456 OK; CANCEL; 12 TIMEOUT", []res{{"123456", nil}, {"", gempc.ErrKeypadCancelled}, {"", gempc.ErrKeypadTimeout}}, ""},
		{"  1 ok ;; 22 Cancel ; ", []res{{"1", nil}, {"", gempc.ErrKeypadCancelled}}, ""},
		{"OK", []res{{"", nil}}, ""},
		{"", nil, ""},
		{"12a4 OK", nil, "not digits"},
		{"123456", nil, "unknown key"},
		{"1 2 OK", nil, "want [DIGITS]"},
		{"123 ENTER", nil, "unknown key"},
	} {
		t.Run(c.script, func(t *testing.T) {
			k, err := gempc.ScriptKeypad(c.script)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := k.(*gempc.Script).Remaining(); n != len(c.want) {
				t.Errorf("Remaining %d, want %d", n, len(c.want))
			}
			for i, w := range c.want {
				d, err := k.Entry(context.Background(), gempc.PromptPIN)
				if d != w.digits || !errors.Is(err, w.err) || (w.err == nil) != (err == nil) {
					t.Errorf("entry %d: %q %v, want %q %v", i, d, err, w.digits, w.err)
				}
			}
			if _, err := k.Entry(context.Background(), gempc.PromptPIN); !errors.Is(err, gempc.ErrKeypadTimeout) {
				t.Errorf("after the script: %v, want ErrKeypadTimeout", err)
			}
		})
	}
}

// TestSecure: PC_to_RDR_Secure as libccid builds it, straight to the
// emulator: the keypad outcome decides the answer.
func TestSecure(t *testing.T) {
	verify := ccid.PINVerify{
		TimeOut: 5, FormatString: 0x81, PINBlockString: 0x03, MinDigits: 6, MaxDigits: 6,
		EntryValidation: 0x02, NumberMessage: 1,
		APDU: []byte{0x00, 0x20, 0x00, 0x00, 0x03, 0xFF, 0xFF, 0xFF},
	}
	modify := ccid.PINModify{
		TimeOut: 5, FormatString: 0x81, PINBlockString: 0x03, InsertionOffsetNew: 3, MinDigits: 6, MaxDigits: 6,
		ConfirmPIN: 0x03, EntryValidation: 0x02, NumberMessage: 3,
		APDU: []byte{0x00, 0x24, 0x00, 0x00, 0x06, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF},
	}
	ok := want{typ: ccid.DataBlock, data: []byte{0x90, 0x00}}
	sw := func(b ...byte) want { return want{typ: ccid.DataBlock, data: b} }
	for _, c := range []struct {
		name   string
		script string // "" = no keypad
		data   []byte
		want   want
		left   int // script entries left
	}{
		{"verify", "123456 OK", verify.SecureData(), ok, 0},
		{"wrong PIN", "111111 OK", verify.SecureData(), sw(0x63, 0xC2), 0},
		{"cancel", "CANCEL; 123456 OK", verify.SecureData(), want{typ: ccid.DataBlock, status: 0x40, errc: 0xEF}, 1},
		{"timeout", "12 TIMEOUT", verify.SecureData(), want{typ: ccid.DataBlock, status: 0x40, errc: 0xF0}, 0},
		{"no keypad", "", verify.SecureData(), want{typ: ccid.DataBlock, status: 0x40, errc: 0xF0}, 0},
		{"script used up", ";", verify.SecureData(), want{typ: ccid.DataBlock, status: 0x40, errc: 0xF0}, 0},
		{"too short", "123 OK", verify.SecureData(), sw(0x64, 0x03), 0},
		{"too long", "1234567 OK", verify.SecureData(), sw(0x64, 0x03), 0},
		{"bad structure", "123456 OK", []byte{0x00, 0x01}, sw(0x6B, 0x80), 1},
		{"unknown operation", "123456 OK", []byte{0x09}, sw(0x6B, 0x80), 1},
		{"modify", "123456 OK; 654321 OK; 654321 OK", modify.SecureData(), ok, 0},
		{"modify mismatch", "123456 OK; 654321 OK; 654322 OK", modify.SecureData(), sw(0x64, 0x02), 0},
		{"modify cancel on confirm", "123456 OK; 654321 OK; CANCEL", modify.SecureData(),
			want{typ: ccid.DataBlock, status: 0x40, errc: 0xEF}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := gempc.New(gempc.GemPCPinPad, gempc.Options{Logf: t.Logf})
			r.Insert(newChip(t))
			var script *gempc.Script
			if c.script != "" {
				k, err := gempc.ScriptKeypad(c.script)
				if err != nil {
					t.Fatal(err)
				}
				script = k.(*gempc.Script)
				r.SetKeypad(k)
			}
			h := startEmulator(t, r)
			h.do(ccid.Message{Type: ccid.IccPowerOn})
			// The PIN belongs to SSSE: SELECT by name, P2 0C.
			sel := append([]byte{0x00, 0xA4, 0x04, 0x0C, byte(len(sscard.SSSEName))}, sscard.SSSEName...)
			if got, _ := h.do(ccid.Message{Type: ccid.XfrBlock, Data: sel}); !bytes.Equal(got.Data, []byte{0x90, 0x00}) {
				t.Fatalf("select SSSE: % X", got.Data)
			}
			got, _ := h.do(ccid.Message{Type: ccid.Secure, Data: c.data})
			check(t, c.name, got, c.want)
			if script != nil && script.Remaining() != c.left {
				t.Errorf("%d script entries left, want %d", script.Remaining(), c.left)
			}
		})
	}
}
