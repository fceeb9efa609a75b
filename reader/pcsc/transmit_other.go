//go:build !nopcsc && ((cgo && !linux) || windows)

package pcsc

import (
	"bytes"

	"github.com/ebfe/scard"
)

// transmit sends cmd on h and returns the response in a slice of its own
// (ebfe/scard returns a slice of a 64 KiB buffer: do not pin it). Linux
// reuses the receive buffer instead (transmit_linux.go).
func transmit(h *scard.Card, cmd []byte) ([]byte, error) {
	rsp, err := h.Transmit(cmd)
	return bytes.Clone(rsp), err
}
