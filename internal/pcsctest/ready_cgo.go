//go:build cgo && !nopcsc

package pcsctest

import "github.com/ebfe/scard"

func readersAvailable() error { return nil }

// listReaders lists the readers of the daemon libpcsclite reaches.
func listReaders() ([]string, error) {
	ctx, err := scard.EstablishContext()
	if err != nil {
		return nil, err
	}
	defer ctx.Release()
	return ctx.ListReaders()
}

// probeDaemon returns nil if libpcsclite reaches a daemon.
func probeDaemon() error {
	ctx, err := scard.EstablishContext()
	if err != nil {
		return err
	}
	return ctx.Release()
}
