package gempc

import "os"

// PTY is a pseudo-terminal for the emulator: the reader serves the master
// side, a host (the serial backend, pcscd with libccidtwin) opens the
// device at Path as its serial port. It needs no socat.
type PTY struct {
	Master *os.File
	// Path is the host's device, /dev/pts/N.
	Path  string
	slave *os.File
}

// Close releases both sides; a host still using Path sees the line hang up.
func (p *PTY) Close() error {
	err := p.Master.Close()
	if serr := p.slave.Close(); err == nil {
		err = serr
	}
	return err
}
