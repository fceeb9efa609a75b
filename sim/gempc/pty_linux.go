package gempc

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// OpenPTY allocates a pseudo-terminal in raw mode. The emulator keeps the
// host side open too, so the line does not hang up (and the raw settings
// stay) while no host has it open: a host that closes and reopens the
// port finds the reader still there, as on a real serial line.
func OpenPTY() (*PTY, error) {
	// Non-blocking, so os.NewFile registers it with the runtime poller and
	// read deadlines work (Serve notices its context).
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("gempc: open /dev/ptmx: %w", err)
	}
	m := os.NewFile(uintptr(fd), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		return nil, fmt.Errorf("gempc: unlock pty: %w", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("gempc: pty number: %w", err)
	}
	path := fmt.Sprintf("/dev/pts/%d", n)
	s, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("gempc: open %s: %w", path, err)
	}
	for _, rfd := range []int{int(s.Fd()), fd} {
		if err := makeRaw(rfd); err != nil {
			s.Close()
			m.Close()
			return nil, fmt.Errorf("gempc: raw mode on %s: %w", path, err)
		}
	}
	return &PTY{Master: m, Path: path, slave: s}, nil
}

// makeRaw sets the termios of fd as cfmakeraw does (no echo, no line
// editing, 8 bits), without flushing pending input (TCSETS, not TCSETSF).
func makeRaw(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}
