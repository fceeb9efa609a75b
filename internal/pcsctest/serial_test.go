//go:build cgo && !nopcsc

package pcsctest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sim/gempc"
)

func TestSerialConf(t *testing.T) {
	for _, c := range []struct {
		name string
		r    serialReader
		want string // substring; "" means an error
	}{
		{"pinpad", serialReader{"/tmp/x/host-tty", "GemPCPinPad", "GemPCPinPad serial"},
			"FRIENDLYNAME \"GemPCPinPad serial\"\nDEVICENAME   /tmp/x/host-tty:GemPCPinPad\nLIBPATH      " + DefaultSerialDriver + "\n"},
		{"default type", serialReader{"/dev/ttyS0", "", "Twin"}, "DEVICENAME   /dev/ttyS0\n"},
		{"colon in path", serialReader{"/tmp/a:b", "GemPCTwin", "x"}, ""},
		{"space in path", serialReader{"/tmp/a b", "GemPCTwin", "x"}, ""},
		{"quote in name", serialReader{"/tmp/a", "GemPCTwin", `x"y`}, ""},
		{"no name", serialReader{"/tmp/a", "GemPCTwin", ""}, ""},
		{"colon in type", serialReader{"/tmp/a", "Gem:PC", "x"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.r.conf()
			if c.want == "" {
				if err == nil {
					t.Fatalf("conf() = %q, want an error", got)
				}
				return
			}
			if err != nil || !strings.Contains(got, c.want) {
				t.Fatalf("conf() = %q, %v; want it to contain %q", got, err, c.want)
			}
		})
	}
	e := &Env{}
	for _, o := range []Option{WithSerialReader("/a", "GemPCPinPad", "Pad"), WithSerialReader("/b", "", "Twin")} {
		o(&e.cfg)
	}
	for name, want := range map[string]string{"Pad": "Pad 00 00", "Twin": "Twin 01 00", "Other": "Other 00 00"} {
		if got := e.SerialReaderName(name); got != want {
			t.Errorf("SerialReaderName(%q) = %q, want %q", name, got, want)
		}
	}
}

func readFull(t *testing.T, f *os.File, n int) []byte {
	t.Helper()
	f.SetReadDeadline(time.Now().Add(3 * time.Second))
	b := make([]byte, n)
	if _, err := io.ReadFull(f, b); err != nil {
		t.Fatalf("read %s: %v", f.Name(), err)
	}
	return b
}

func openRaw(t *testing.T, path string) *os.File {
	t.Helper()
	// O_NONBLOCK so that the runtime poller (and read deadlines) work.
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestPTYPair(t *testing.T) {
	host, dev, stop, err := PTYPair(t.TempDir())
	Require(t, err)
	defer stop()
	out, _ := exec.Command("pgrep", "-f", "link="+host).Output()
	pids := strings.Fields(string(out))
	if len(pids) != 1 {
		t.Fatalf("socat processes for the pair: %q", pids)
	}

	// Bytes go both ways, unchanged (raw, no echo).
	a, b := openRaw(t, host), openRaw(t, dev)
	msg := []byte{0x03, 0x06, 0x11, 0x0A, 0x0D, 0x00, 0xFF, 0x13}
	a.Write(msg)
	if got := readFull(t, b, len(msg)); !bytes.Equal(got, msg) {
		t.Fatalf("host -> reader: % X", got)
	}
	b.Write(msg)
	if got := readFull(t, a, len(msg)); !bytes.Equal(got, msg) {
		t.Fatalf("reader -> host: % X", got)
	}
	// An end closed and opened again: the pair lives on.
	b.Close()
	time.Sleep(100 * time.Millisecond)
	b = openRaw(t, dev)
	a.Write(msg)
	if got := readFull(t, b, len(msg)); !bytes.Equal(got, msg) {
		t.Fatalf("after reopening: % X", got)
	}

	// stop ends socat, hangs the ends up and removes the links.
	stop()
	stop()
	if out, _ := exec.Command("pgrep", "-f", "link="+host).Output(); len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("socat still running after stop: %s", out)
	}
	for _, p := range []string{host, dev} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after stop: %v", p, err)
		}
	}
	b.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := b.Read(make([]byte, 1)); err == nil && n > 0 {
		t.Errorf("read after stop: %d bytes", n)
	} else if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read after stop blocks")
	}
	a.Close()
	b.Close()
}

// TestSerialReader: pcscd with libccidtwin sees an emulated GemPC Twin on
// a pty pair, and its card.
func TestSerialReader(t *testing.T) {
	host, dev, stop, err := PTYPair(t.TempDir())
	Require(t, err)
	defer stop()
	p, err := sim.Builtin("gen3")
	if err != nil {
		t.Fatal(err)
	}
	chip, err := sim.New(p, sim.Options{Mode: sim.Contact})
	if err != nil {
		t.Fatal(err)
	}
	emu := gempc.New(gempc.GemPCTwin, gempc.Options{})
	emu.Insert(chip)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- emu.ServePath(ctx, dev) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("ServePath: %v", err)
		}
	}()

	e := Start(t, WithSerialReader(host, "GemPCTwin", "Test Twin"))
	defer e.Stop() // before the line goes
	name := e.SerialReaderName("Test Twin")
	if name != "Test Twin 00 00" {
		t.Errorf("SerialReaderName = %q", name)
	}
	names, err := listReaders()
	if err != nil || !slices.Contains(names, name) {
		t.Fatalf("readers %q, %v; want %q", names, err, name)
	}
	ri := WaitCard(t, name, true)
	if !bytes.Equal(ri.ATR, chip.ATR()) {
		t.Errorf("ATR % X, want % X", ri.ATR, chip.ATR())
	}
	conf, err := os.ReadFile(e.Dir + "/conf/serial")
	if err != nil || !strings.Contains(string(conf), "DEVICENAME   "+host+":GemPCTwin") {
		t.Errorf("conf %q, %v", conf, err)
	}
	// The pair outlives pcscd: after a restart the reader is back.
	e.Restart(t)
	WaitCard(t, name, true)
}
