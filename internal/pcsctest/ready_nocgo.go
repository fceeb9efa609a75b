//go:build !cgo || nopcsc

package pcsctest

import "errors"

var errNoPCSC = errors.New("built without PC/SC support (needs cgo and not the nopcsc tag)")

func readersAvailable() error        { return errNoPCSC }
func listReaders() ([]string, error) { return nil, errNoPCSC }
func probeDaemon() error             { return errNoPCSC }
