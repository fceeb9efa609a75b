package stack

import (
	"errors"
	"testing"

	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sm/simkeys"
)

func TestCAKeys(t *testing.T) {
	got, err := CAKeys("sim")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := got.Lookup(simkeys.PBOCRID(), simkeys.PBOCCAIndex); err != nil {
		t.Errorf("sim table lacks the SIM CA key: %v", err)
	}
	if _, err := CAKeys(t.TempDir() + "/missing.json"); err == nil {
		t.Error("a missing file loaded")
	}
}

func TestParseSimMode(t *testing.T) {
	for in, want := range map[string]sim.Mode{"": sim.Contact, "contact": sim.Contact, "CL": sim.Contactless, "contactless": sim.Contactless} {
		if m, err := ParseSimMode(in); err != nil || m != want {
			t.Errorf("ParseSimMode(%q) = %v, %v", in, m, err)
		}
	}
	var ce *ConfigError
	if _, err := ParseSimMode("nfc"); !errors.As(err, &ce) {
		t.Errorf("ParseSimMode(nfc) = %v, want a *ConfigError", err)
	}
}
