package stack

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/reader/serial"
	"github.com/sscard/ssc/sim"
)

func closeAll(t *testing.T, bs []reader.Backend) {
	t.Cleanup(func() {
		for _, b := range bs {
			b.Close()
		}
	})
}

func names(bs []reader.Backend) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Name())
	}
	return out
}

func TestBackends(t *testing.T) {
	bs, err := Backends(BackendConfig{})
	if err != nil {
		t.Fatal(err)
	}
	closeAll(t, bs)
	if got := names(bs); !slices.Equal(got, []string{"pcsc"}) {
		t.Errorf("no config: backends %v, want PC/SC only", got)
	}

	bs, err = Backends(BackendConfig{Serial: []string{"/dev/ttyS9:GemPCPinPad"}, SimProfile: "gen3", SimMode: sim.Contactless})
	if err != nil {
		t.Fatal(err)
	}
	closeAll(t, bs)
	if got := names(bs); !slices.Equal(got, []string{"pcsc", "serial", "sim"}) {
		t.Fatalf("backends %v, want pcsc, serial, sim", got)
	}
	card, err := bs[2].Connect(context.Background(), reader.SimReaderName, reader.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer card.Close()
	if card.Protocol() != reader.T1 {
		t.Errorf("contactless software card speaks %v, want T=1", card.Protocol())
	}

	for _, c := range []BackendConfig{{Serial: []string{":GemPCTwin"}}, {SimProfile: "gen9"}} {
		var ce *ConfigError
		if _, err := Backends(c); !errors.As(err, &ce) {
			t.Errorf("%+v: %v, want a ConfigError", c, err)
		}
	}
}

func TestSerialConfigs(t *testing.T) {
	got, err := SerialConfigs([]string{"/dev/ttyS0:gempcpinpad", "serial:/dev/ttyS1", "serial:/dev/ttyS0:GemPCTwin"})
	if err != nil {
		t.Fatal(err)
	}
	want := []serial.Config{{Path: "/dev/ttyS0", Type: serial.GemPCPinPad}, {Path: "/dev/ttyS1", Type: serial.GemPCTwin}}
	if !slices.Equal(got, want) {
		t.Errorf("configs %+v, want %+v (one reader per path, the first type)", got, want)
	}
	_, err = SerialConfigs([]string{"", "/dev/ttyS0:Unknown", "/dev/ttyS1"})
	var ce *ConfigError
	if !errors.As(err, &ce) || !errors.Is(err, reader.ErrReaderNotFound) || !errors.Is(err, reader.ErrNotSupported) {
		t.Errorf("bad specs: %v, want both reported as ConfigErrors", err)
	}
}

func TestSimProfile(t *testing.T) {
	if _, err := SimProfile("gen3"); err != nil {
		t.Errorf("built-in: %v", err)
	}
	data, err := os.ReadFile("../../sim/profiles/gen3.yaml")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "mine.yaml")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := SimProfile(file); err != nil {
		t.Errorf("file: %v", err)
	}
	var ce *ConfigError
	if _, err := SimProfile("gen9"); !errors.As(err, &ce) {
		t.Errorf("unknown name: %v, want a ConfigError", err)
	}
	// A missing file is not a misuse of the name: it is reported as is.
	if _, err := SimProfile(filepath.Join(t.TempDir(), "gone.yaml")); err == nil || errors.As(err, &ce) {
		t.Errorf("missing file: %v, want a plain error", err)
	}
}

func TestDefaultSimBackend(t *testing.T) {
	b, err := DefaultSimBackend()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ris, err := b.ListReaders(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ris) != 1 || ris[0].Name != reader.SimReaderName || !ris[0].CardPresent {
		t.Errorf("readers %+v, want %q with a card", ris, reader.SimReaderName)
	}
}
