package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/sscard/ssc/sm"
)

// loadCAKeys reads a terminal CA public key table: one key per line,
// "RID INDEX PUBLICKEY" in hex (the SM2 key as X||Y or 04||X||Y); blank
// lines and lines starting with # are skipped.
func loadCAKeys(path string) (*sm.CAKeyTable, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t := sm.NewCAKeyTable()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 3 {
			return nil, fmt.Errorf("%s:%d: want RID INDEX PUBLICKEY", path, n)
		}
		rid, err := parseHex(fields[0])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: RID: %w", path, n, err)
		}
		idx, err := strconv.ParseUint(fields[1], 16, 8)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: index %q: want one hex byte", path, n, fields[1])
		}
		key, err := parseHex(fields[2])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: public key: %w", path, n, err)
		}
		if len(key) == 65 && key[0] == 0x04 {
			key = key[1:]
		}
		if err := t.Add(rid, byte(idx), key); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if t.Len() == 0 {
		return nil, fmt.Errorf("%s: no CA keys", path)
	}
	return t, nil
}
