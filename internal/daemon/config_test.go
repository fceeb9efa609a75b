package daemon

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sscard/ssc/sscd"
)

func TestLoadConfigSample(t *testing.T) {
	c, err := LoadConfig("../../deploy/sscd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Socket != sscd.DefaultSocket || c.Group != "sscd" || time.Duration(c.OpTimeout) != 10*time.Second {
		t.Errorf("config %+v", c)
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name, yaml string
		ok         bool
	}{
		{"empty", "", true},
		{"full", "socket: /tmp/x.sock\nhsm: https://hsm.example/step\nsim: gen2\nserial: [/dev/ttyS0:GemPCPinPad]\nallow_uids: [1000]\nop_timeout: 2s\n", true},
		{"unknown key", "sockett: /tmp/x\n", false},
		{"bad duration", "op_timeout: soon\n", false},
		{"bad hsm", "hsm: ftp://x\n", false},
		{"hsm write url", "hsm: https://hsm.example/read\nhsm_write_url: https://hsm.example/write\n", true},
		{"hsm write url without http hsm", "hsm: sim\nhsm_write_url: https://hsm.example/write\n", false},
		{"bad hsm write url", "hsm: https://hsm.example/read\nhsm_write_url: file:///x\n", false},
		{"bad serial type", "serial: [/dev/ttyS0:Foo]\n", false},
		{"unknown sim profile", "sim: gen9\n", false},
		{"negative uid", "allow_uids: [-1]\n", false},
		{"log json debug", "log_format: json\nlog_level: debug\n", true},
		{"log level upper case", "log_level: WARN\n", true},
		{"bad log format", "log_format: xml\n", false},
		{"bad log level", "log_level: verbose\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "c.yaml")
			os.WriteFile(p, []byte(tt.yaml), 0o600)
			c, err := LoadConfig(p)
			if err == nil {
				err = c.Validate()
			}
			if (err == nil) != tt.ok {
				t.Errorf("err %v, want ok=%v", err, tt.ok)
			}
		})
	}
	if _, err := LoadConfig("/nonexistent/sscd.yaml"); err == nil {
		t.Error("missing file accepted")
	}
}
