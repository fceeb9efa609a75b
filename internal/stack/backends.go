package stack

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/reader/pcsc"
	"github.com/sscard/ssc/reader/serial"
	"github.com/sscard/ssc/sim"
)

// BackendConfig says which reader backends a run has. PC/SC is always one
// of them: creating it contacts nobody, and a missing pcscd only shows as
// no PC/SC readers.
type BackendConfig struct {
	// Serial readers as "PATH[:TYPE]", the "serial:" prefix allowed
	// (serial.ParseSpec).
	Serial []string
	// SimProfile, when set, adds the software card reader "sim" holding a
	// card of this profile: a built-in name such as "gen3", or a profile
	// file.
	SimProfile string
	// SimMode is the interface of that card; the zero value is contact.
	SimMode sim.Mode
}

// ConfigError marks a configuration that cannot work as written (a
// malformed serial spec, an unknown profile name), as opposed to a file or
// device that failed, so that a command line can report it as misuse. Its
// message is the wrapped error's.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Backends returns the backends of c in search order: PC/SC, the serial
// readers, then the software card.
func Backends(c BackendConfig) ([]reader.Backend, error) {
	configs, err := SerialConfigs(c.Serial)
	if err != nil {
		return nil, err
	}
	bs := []reader.Backend{pcsc.New()}
	if len(configs) > 0 {
		bs = append(bs, serial.New(configs...))
	}
	if c.SimProfile != "" {
		card, err := SimCard(c.SimProfile, c.SimMode)
		if err != nil {
			return nil, fmt.Errorf("sim: %w", err)
		}
		sb, err := SimBackend(card)
		if err != nil {
			return nil, err
		}
		bs = append(bs, sb)
	}
	return bs, nil
}

// SerialConfigs parses serial reader specs. A device path named twice is
// one reader (the first spec's type wins): two backends on one port would
// steal each other's answers. Every bad spec is reported.
func SerialConfigs(specs []string) ([]serial.Config, error) {
	var out []serial.Config
	var errs []error
	for _, spec := range specs {
		c, err := serial.ParseSpec(spec)
		if err != nil {
			errs = append(errs, &ConfigError{err})
			continue
		}
		if !slices.ContainsFunc(out, func(o serial.Config) bool { return o.Path == c.Path }) {
			out = append(out, c)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// SimProfile loads a software card profile: a built-in name, else a file
// (anything that looks like a path; profile files need an extension).
func SimProfile(nameOrPath string) (*sim.Profile, error) {
	if p, err := sim.Builtin(nameOrPath); err == nil {
		return p, nil
	}
	if strings.ContainsAny(nameOrPath, "./") {
		return sim.LoadProfile(nameOrPath)
	}
	return nil, &ConfigError{fmt.Errorf("unknown profile %q (built-in: %s; or give a .json/.yaml file)",
		nameOrPath, strings.Join(sim.BuiltinNames(), ", "))}
}

// SimCard makes a software card of a profile (see SimProfile).
func SimCard(nameOrPath string, mode sim.Mode) (*sim.Card, error) {
	p, err := SimProfile(nameOrPath)
	if err != nil {
		return nil, err
	}
	return sim.New(p, sim.Options{Mode: mode})
}

// SimBackend returns the in-process reader "sim" (reader.SimReaderName)
// holding chip.
func SimBackend(chip reader.Chip) (*reader.ChipBackend, error) {
	b := reader.NewChipBackend(reader.SimReaderName)
	if err := b.Insert(reader.SimReaderName, chip); err != nil {
		return nil, err
	}
	return b, nil
}

// DefaultSimBackend returns the reader "sim" holding the default
// personalisation of the software card in contact mode.
func DefaultSimBackend() (*reader.ChipBackend, error) {
	card, err := SimCard(sim.DefaultProfile, sim.Contact)
	if err != nil {
		return nil, err
	}
	return SimBackend(card)
}

// ParseSimMode parses the software card's interface: contact (the default,
// also for "") or contactless ("cl").
func ParseSimMode(s string) (sim.Mode, error) {
	switch strings.ToLower(s) {
	case "contact", "":
		return sim.Contact, nil
	case "contactless", "cl":
		return sim.Contactless, nil
	}
	return 0, &ConfigError{fmt.Errorf("unknown card mode %q (want contact or contactless)", s)}
}
