package daemon

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Listen creates the Unix socket at path, mode 0660, owned by group when
// set (name or numeric gid). A socket file left by a daemon that died is
// removed; a live one (something answers) is an error, and so is a path
// that is not a socket. The socket file is removed when the listener closes.
func Listen(path, group string) (net.Listener, error) {
	if err := removeStale(path); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("socket directory: %w", err)
	}
	// umask 0117 while binding: the socket never exists with wider
	// permissions than 0660, not even before the chmod.
	old := syscall.Umask(0o117)
	l, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	fail := func(err error) (net.Listener, error) {
		l.Close()
		return nil, err
	}
	if err := os.Chmod(path, 0o660); err != nil {
		return fail(fmt.Errorf("socket mode: %w", err))
	}
	if group != "" {
		gid, err := lookupGroup(group)
		if err != nil {
			return fail(err)
		}
		if err := os.Chown(path, -1, gid); err != nil {
			return fail(fmt.Errorf("socket group: %w", err))
		}
	}
	return l, nil
}

func lookupGroup(group string) (int, error) {
	if gid, err := strconv.Atoi(group); err == nil {
		return gid, nil
	}
	g, err := user.LookupGroup(group)
	if err != nil {
		return 0, fmt.Errorf("socket group: %w", err)
	}
	return strconv.Atoi(g.Gid)
}

// removeStale removes a socket file nobody listens on.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("socket: %s exists and is not a socket", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("socket: %s is in use (another sscd running?)", path)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("socket: remove stale %s: %w", path, err)
	}
	return nil
}
