package stack

import (
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
)

// CAKeys loads the PBOC CA public-key table a setting names: "sim" is the
// SIM CA of the software card (no file needed), anything else a file that
// sm.LoadCAKeyTable reads.
func CAKeys(spec string) (*sm.CAKeyTable, error) {
	if spec == "sim" {
		return simkeys.CAKeyTable(), nil
	}
	return sm.LoadCAKeyTable(spec)
}
