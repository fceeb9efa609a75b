package daemon

import (
	"fmt"
	"os"

	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sim"
)

// Backends returns the reader backends of c: PC/SC always, the serial
// readers, and the software card when c.Sim is set.
func (c Config) Backends() ([]reader.Backend, error) {
	bs := []reader.Backend{reader.NewPCSC()}
	var serial []reader.SerialConfig
	for _, s := range c.Serial {
		sc, err := reader.ParseSerialSpec(s)
		if err != nil {
			return nil, fmt.Errorf("serial %q: %w", s, err)
		}
		serial = append(serial, sc)
	}
	if len(serial) > 0 {
		bs = append(bs, reader.NewSerial(serial...))
	}
	if c.Sim != "" {
		card, err := loadSimCard(c.Sim)
		if err != nil {
			return nil, fmt.Errorf("sim: %w", err)
		}
		sb := reader.NewSimBackend(reader.SimReaderName)
		if err := sb.Insert(reader.SimReaderName, card); err != nil {
			return nil, err
		}
		bs = append(bs, sb)
	}
	return bs, nil
}

// loadSimCard makes a contact software card from a built-in profile name
// or a profile file.
func loadSimCard(spec string) (*sim.Card, error) {
	p, err := sim.Builtin(spec)
	if err != nil {
		if _, serr := os.Stat(spec); serr != nil {
			return nil, err
		}
		if p, err = sim.LoadProfile(spec); err != nil {
			return nil, err
		}
	}
	return sim.New(p, sim.Options{Mode: sim.Contact})
}
