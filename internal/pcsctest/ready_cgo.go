//go:build cgo && !nopcsc

package pcsctest

import (
	"context"

	"github.com/sscard/ssc/reader/pcsc"
)

func readersAvailable() error { return nil }

// listReaders lists the readers of the daemon libpcsclite reaches. It goes
// through package reader, which keeps libpcsclite's context calls apart
// from the disconnects of the code under test (a libpcsclite race).
func listReaders() ([]string, error) {
	b := pcsc.New()
	defer b.Close()
	infos, err := b.ListReaders(context.Background())
	if err != nil {
		return nil, err
	}
	names := make([]string, len(infos))
	for i, in := range infos {
		names[i] = in.Name
	}
	return names, nil
}

// probeDaemon returns nil if libpcsclite reaches a daemon.
func probeDaemon() error {
	_, err := listReaders()
	return err
}
