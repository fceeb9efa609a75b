//go:build !linux

package gempc

import (
	"errors"
	"fmt"
	"runtime"
)

// OpenPTY fails: the emulator's pseudo-terminal uses Linux ioctls, and the
// serial tests it serves (libccidtwin in pcscd) are Linux-only too.
func OpenPTY() (*PTY, error) {
	return nil, fmt.Errorf("gempc: %w on %s", errors.ErrUnsupported, runtime.GOOS)
}
