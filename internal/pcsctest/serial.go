package pcsctest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Serial readers: pcscd's libccidtwin driver talking to a reader emulator
// (package sim/gempc) over a socat pty pair.
//
//	host, dev, stop, err := pcsctest.PTYPair(dir)   // before pcscd starts
//	go gempc.New(gempc.GemPCPinPad, opts).ServePath(ctx, dev)
//	pcsctest.Run(m, pcsctest.WithSerialReader(host, "GemPCPinPad", "GemPCPinPad serial"))
//	...
//	name := env.SerialReaderName("GemPCPinPad serial") // "GemPCPinPad serial 00 00"
//
// The emulator must be answering before pcscd starts: libccidtwin drops a
// reader whose initialisation fails and pcscd never retries readers of its
// configuration. PTYPair holds both ends open, so Env.Restart finds the
// line (and the emulator) still there.

// DefaultSerialDriver is Debian's serial CCID driver (package libccid).
const DefaultSerialDriver = "/usr/lib/pcsc/drivers/serial/libccidtwin.so"

type serialReader struct {
	device, typ, name string
}

// WithSerialReader adds a serial CCID reader to pcscd's configuration:
// FRIENDLYNAME friendlyName, DEVICENAME devicePath:readerType (readerType
// "GemPCTwin", "GemPCPinPad", ...: see docs/serial-ccid.md; empty means the
// driver's default, GemPCTwin) and LIBPATH DefaultSerialDriver. Start then
// also waits until pcscd lists the reader (SerialReaderName). devicePath
// must not contain ':' or spaces, friendlyName no '"'.
func WithSerialReader(devicePath, readerType, friendlyName string) Option {
	return func(c *config) {
		c.serial = append(c.serial, serialReader{device: devicePath, typ: readerType, name: friendlyName})
	}
}

// SerialReaderName is the PC/SC name pcscd gives the serial reader
// configured with friendlyName: the name, the reader number and the slot,
// e.g. "GemPCPinPad serial 00 00". pcscd numbers the readers of one driver
// library 00, 01, ... in the order it adds them, which is the order of the
// WithSerialReader options (one configuration file keeps that order), so
// the second serial reader is "... 01 00" whatever its name.
func (e *Env) SerialReaderName(friendlyName string) string {
	n := 0
	for i, s := range e.cfg.serial {
		if s.name == friendlyName {
			n = i
			break
		}
	}
	return fmt.Sprintf("%s %02X 00", friendlyName, n)
}

// serialConf is the reader.conf entry of s.
func (s serialReader) conf() (string, error) {
	if s.device == "" || strings.ContainsAny(s.device, ": \t\n\"") {
		return "", fmt.Errorf("serial reader device %q: want a path without ':', blanks or quotes", s.device)
	}
	if s.name == "" || strings.ContainsAny(s.name, "\"\n") {
		return "", fmt.Errorf("serial reader friendly name %q: want a non-empty name without quotes", s.name)
	}
	if strings.ContainsAny(s.typ, ": \t\n\"") {
		return "", fmt.Errorf("serial reader type %q", s.typ)
	}
	dev := s.device
	if s.typ != "" {
		dev += ":" + s.typ
	}
	return fmt.Sprintf("FRIENDLYNAME \"%s\"\nDEVICENAME   %s\nLIBPATH      %s\n", s.name, dev, DefaultSerialDriver), nil
}

// checkSerial is the preflight of serial readers.
func checkSerial(cfg *config) error {
	if len(cfg.serial) == 0 {
		return nil
	}
	if _, err := os.Stat(DefaultSerialDriver); err != nil {
		return unavailable("serial CCID driver %s missing (apt-get install libccid)", DefaultSerialDriver)
	}
	return nil
}

// writeSerialConf writes the serial readers' reader.conf entries next to
// the vpcd one, all in one file so that pcscd adds them in order.
func (e *Env) writeSerialConf() error {
	if len(e.cfg.serial) == 0 {
		return nil
	}
	var all strings.Builder
	for _, s := range e.cfg.serial {
		conf, err := s.conf()
		if err != nil {
			return err
		}
		all.WriteString(conf + "\n")
	}
	return os.WriteFile(filepath.Join(e.Dir, "conf", "serial"), []byte(all.String()), 0o644)
}

// serialNames are the PC/SC names of the configured serial readers.
func (e *Env) serialNames() []string {
	var names []string
	for _, s := range e.cfg.serial {
		names = append(names, e.SerialReaderName(s.name))
	}
	return names
}

// Require applies the package's skip-or-fail policy to err from a test
// prerequisite set up outside Start (PTYPair in a TestMain): nil does
// nothing; an unavailable tool skips t, or fails it with SSC_REQUIRE_PCSC=1
// or CI=true; any other error fails t.
func Require(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		report(t, err)
	}
}

// socatStopTimeout bounds the wait for socat after SIGTERM.
const socatStopTimeout = 3 * time.Second

// PTYPair starts socat with two connected ptys in raw mode, linked as
// dir/host-tty (for the host: pcscd's DEVICENAME, or a serial backend)
// and dir/reader-tty (for the reader emulator), and waits until both links
// exist. stop kills socat (SIGTERM, then SIGKILL), waits for it and
// removes the links; it is idempotent. socat also gets SIGTERM if the test
// process dies. A missing socat is an error Require skips on (or fails on,
// by the policy).
//
// Both ends are held open until stop, so either side may close and open
// its end again (pcscd restarted, a new emulator) without ending the pair.
// stop hangs both ends up: whoever still has one open reads EOF (an
// emulator's Serve returns an error).
func PTYPair(dir string) (hostPath, readerPath string, stop func(), err error) {
	socat, err := exec.LookPath("socat")
	if err != nil {
		return "", "", nil, unavailable("socat not found (apt-get install socat)")
	}
	hostPath = filepath.Join(dir, "host-tty")
	readerPath = filepath.Join(dir, "reader-tty")
	for _, p := range []string{hostPath, readerPath} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", "", nil, fmt.Errorf("pty pair: %w", err)
		}
	}
	var log syncBuffer
	cmd := exec.Command(socat, "-d", "-d",
		"pty,raw,echo=0,link="+hostPath, "pty,raw,echo=0,link="+readerPath)
	cmd.Stdout = &log
	cmd.Stderr = &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := spawn(cmd); err != nil {
		return "", "", nil, fmt.Errorf("pty pair: start socat: %w", err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	var once sync.Once
	var holders []*os.File
	stop = func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(socatStopTimeout):
				_ = cmd.Process.Kill()
				<-done
			}
			for _, f := range holders {
				f.Close()
			}
			os.Remove(hostPath)
			os.Remove(readerPath)
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err1 := os.Stat(hostPath) // Stat follows the link: the pty exists too
		_, err2 := os.Stat(readerPath)
		if err1 == nil && err2 == nil {
			break
		}
		select {
		case <-done:
			stop()
			return "", "", nil, fmt.Errorf("pty pair: socat exited: %s", bytes.TrimSpace(log.Bytes()))
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return "", "", nil, fmt.Errorf("pty pair: links not there after 5 s: %v, %v; socat: %s",
				err1, err2, bytes.TrimSpace(log.Bytes()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Hold both ends open. socat ends the pair (hanging up both ptys) as
	// soon as one end is closed after use, and libccidtwin spins forever
	// on a pty hung up while it waits for an answer (its read loop takes
	// the 0 of a hung-up tty for "no data yet"). Held open, the line
	// survives pcscd restarts and emulator restarts; a reader that stops
	// answering then looks like a real dead reader (timeouts).
	for _, p := range []string{hostPath, readerPath} {
		f, err := os.OpenFile(p, os.O_RDWR|syscall.O_NOCTTY, 0)
		if err != nil {
			stop()
			return "", "", nil, fmt.Errorf("pty pair: hold %s open: %w", p, err)
		}
		holders = append(holders, f)
	}
	return hostPath, readerPath, stop, nil
}

// syncBuffer collects socat's log (written by the exec copy goroutine).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 64<<10 {
		return len(p), nil // enough to explain a failure
	}
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}
