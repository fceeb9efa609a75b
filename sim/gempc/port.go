package gempc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"go.bug.st/serial"
)

// pollInterval bounds how long Serve waits on the line before it looks at
// its context again.
const pollInterval = 50 * time.Millisecond

// OpenPort opens the emulator's end of a serial line (a pty made by socat,
// a real serial device) with go.bug.st/serial: raw, 115200 baud, 8 data
// bits, no parity, 2 stop bits, the settings of a GemPC Twin.
//
// Why go.bug.st/serial rather than os.OpenFile + termios: it sets raw mode
// with TCSETS (TCSANOW), so nothing the host already wrote is flushed (a
// flushing open lost the driver's first command in the experiments of
// docs/serial-ccid.md), and its Read honours a read timeout and a
// concurrent Close, which lets Serve notice its context. The modem lines
// are left alone (InitialStatusBits nil) because the modem ioctls fail on a
// pty. Its exclusive-access ioctl (TIOCEXCL) does not stop root, and pcscd
// opens the other end of the pair anyway.
func OpenPort(path string) (serial.Port, error) {
	p, err := serial.Open(path, &serial.Mode{
		BaudRate: 115200,
		DataBits: 8,
		Parity:   serial.NoParity,
		StopBits: serial.TwoStopBits,
	})
	if err != nil {
		return nil, fmt.Errorf("gempc: open %s: %w", path, err)
	}
	return p, nil
}

// ServePath opens path with OpenPort and serves it until ctx is done or
// the line fails; the port is closed on return.
func (r *Reader) ServePath(ctx context.Context, path string) error {
	p, err := OpenPort(path)
	if err != nil {
		return err
	}
	defer p.Close()
	return r.Serve(ctx, p)
}

// pollingReader returns a reader on port whose Read returns (0, nil) after
// about pollInterval without data, as go.bug.st/serial does on a read
// timeout, so that ccid.Decoder's deadlines (and so ctx) are honoured:
//   - a port with SetReadTimeout (go.bug.st/serial) gets the timeout set;
//   - a port with working read deadlines (net.Conn, a pollable *os.File)
//     gets a deadline before every Read;
//   - anything else is read by a goroutine; stop leaves it blocked in Read
//     until the port returns (the caller closes it).
func pollingReader(port io.Reader) (r io.Reader, stop func(), err error) {
	if p, ok := port.(interface {
		SetReadTimeout(time.Duration) error
	}); ok {
		if err := p.SetReadTimeout(pollInterval); err != nil {
			return nil, nil, fmt.Errorf("gempc: set read timeout: %w", err)
		}
		return port, func() {}, nil
	}
	if p, ok := port.(interface {
		SetReadDeadline(time.Time) error
	}); ok && p.SetReadDeadline(time.Now().Add(time.Hour)) == nil {
		// (A zero deadline is accepted even by files the poller does not
		// handle, whose reads then block: test with a real one.)
		return &deadlineReader{r: port, set: p.SetReadDeadline}, func() { p.SetReadDeadline(time.Time{}) }, nil
	}
	pr := &pumpReader{data: make(chan []byte), errc: make(chan error, 1), done: make(chan struct{})}
	go pr.pump(port)
	return pr, func() { close(pr.done) }, nil
}

type deadlineReader struct {
	r   io.Reader
	set func(time.Time) error
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	if err := d.set(time.Now().Add(pollInterval)); err != nil {
		return 0, err
	}
	n, err := d.r.Read(p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return n, nil
	}
	return n, err
}

// pumpReader reads a blocking reader in a goroutine.
type pumpReader struct {
	data chan []byte
	errc chan error
	done chan struct{}
	mu   sync.Mutex
	rest []byte
}

func (pr *pumpReader) pump(r io.Reader) {
	for {
		buf := make([]byte, 512)
		n, err := r.Read(buf)
		if n > 0 {
			select {
			case pr.data <- buf[:n]:
			case <-pr.done:
				return
			}
		}
		if err != nil {
			pr.errc <- err
			return
		}
	}
}

func (pr *pumpReader) Read(p []byte) (int, error) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if len(pr.rest) == 0 {
		t := time.NewTimer(pollInterval)
		defer t.Stop()
		select {
		case b := <-pr.data:
			pr.rest = b
		case err := <-pr.errc:
			pr.errc <- err // sticky
			return 0, err
		case <-t.C:
			return 0, nil
		}
	}
	n := copy(p, pr.rest)
	pr.rest = pr.rest[n:]
	return n, nil
}
