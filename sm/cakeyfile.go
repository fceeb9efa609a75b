package sm

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// ParseCAKeyTable reads a terminal CA public key table: one key per line,
// "RID INDEX PUBLICKEY" in hex (the SM2 key as X||Y or 04||X||Y); blank
// lines and lines starting with # are skipped. name prefixes the errors.
func ParseCAKeyTable(r io.Reader, name string) (*CAKeyTable, error) {
	t := NewCAKeyTable()
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 3 {
			return nil, fmt.Errorf("%s:%d: want RID INDEX PUBLICKEY", name, n)
		}
		rid, err := hex.DecodeString(fields[0])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: RID: %w", name, n, err)
		}
		idx, err := strconv.ParseUint(fields[1], 16, 8)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: index %q: want one hex byte", name, n, fields[1])
		}
		key, err := hex.DecodeString(fields[2])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: public key: %w", name, n, err)
		}
		if len(key) == 65 && key[0] == 0x04 {
			key = key[1:]
		}
		if err := t.Add(rid, byte(idx), key); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if t.Len() == 0 {
		return nil, fmt.Errorf("%s: no CA keys", name)
	}
	return t, nil
}

// LoadCAKeyTable reads a CA key table file (ParseCAKeyTable).
// stack.CAKeys also accepts "sim" for the SIM CA.
func LoadCAKeyTable(path string) (*CAKeyTable, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseCAKeyTable(f, path)
}
