package audit

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// KeySize is the size of the key LoadOrCreateKey creates and accepts.
const KeySize = 32

// LoadOrCreateKey reads the CardHash key at path, creating it (KeySize
// random bytes, mode 0600, atomically: written to a temporary file and
// linked into place, so no reader ever sees a partial key and two daemons
// starting together agree on one key) when it is missing. It refuses a key
// file that group or others may access, that is not a regular file or
// whose size is not KeySize.
func LoadOrCreateKey(path string) ([]byte, error) {
	key, err := loadKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	key = make([]byte, KeySize)
	if _, err := io.ReadFull(rand.Reader, key); err != nil {
		return nil, fmt.Errorf("audit: key: %w", err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".audit-key-*") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("audit: key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("audit: key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("audit: key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("audit: key: %w", err)
	}
	// Link, unlike Rename, never replaces a key another process created
	// meanwhile; that key is then the one.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return loadKey(path)
		}
		return nil, fmt.Errorf("audit: key: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return key, nil
}

func loadKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audit: key: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("audit: key: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("audit: key %s: not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("audit: key %s: mode %04o, want no group or other access (0600)", path, perm)
	}
	if st.Size() != KeySize {
		return nil, fmt.Errorf("audit: key %s: %d bytes, want %d", path, st.Size(), KeySize)
	}
	key := make([]byte, KeySize)
	if _, err := io.ReadFull(f, key); err != nil {
		return nil, fmt.Errorf("audit: key %s: %w", path, err)
	}
	return key, nil
}
