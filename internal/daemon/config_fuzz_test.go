package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoadConfig feeds the daemon configuration loader any YAML: never a
// panic (LoadConfig, WithDefaults, Validate); errors name the file.
func FuzzLoadConfig(f *testing.F) {
	f.Add([]byte("socket: /run/sscd/sscd.sock\ngroup: sscd\nop_timeout: 20s\nhsm: sim\naudit:\n  path: /var/log/sscd/audit.log\n  max_size: 1000000\n  keep: 5\nbridge:\n  port: 24789\n  origins: [\"https://ecard.example.cn\"]\n"))
	f.Add([]byte("op_timeout: -1\n"))
	f.Add([]byte("unknown_key: 1\n"))
	f.Add([]byte("bridge: [1, 2\n"))
	f.Add([]byte("serial:\n  - device: /dev/ttyS0\n    baud: 9600\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "sscd.yaml")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := LoadConfig(p)
		if err != nil {
			if !strings.Contains(err.Error(), "config") {
				t.Fatalf("error without context: %v", err)
			}
			return
		}
		_ = c.WithDefaults().Validate()
	})
}
