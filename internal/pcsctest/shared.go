package pcsctest

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

var (
	sharedMu   sync.Mutex
	mainActive bool
	mainOpts   []Option
	sharedEnv  *Env
	sharedErr  error // why the shared Env could not start (reported to every caller)
)

// Main is a TestMain for packages whose tests share one daemon via Shared:
//
//	func TestMain(m *testing.M) { pcsctest.Main(m) }
//
// It runs the tests, prints the daemon log if they failed, stops the daemon
// and exits with the tests' status. opts apply to the shared Env.
func Main(m *testing.M, opts ...Option) {
	os.Exit(Run(m, opts...))
}

// Run is Main without the os.Exit, for a TestMain that does more.
func Run(m *testing.M, opts ...Option) int {
	sharedMu.Lock()
	mainActive = true
	mainOpts = opts
	sharedMu.Unlock()

	code := m.Run()

	sharedMu.Lock()
	e := sharedEnv
	sharedEnv, sharedErr, mainActive = nil, nil, false
	sharedMu.Unlock()
	if e != nil {
		if code != 0 {
			fmt.Fprintf(os.Stderr, "pcsctest: pcscd log (%s):\n%s\n", e.LogPath, tail(e.Log(), logTailBytes))
		}
		e.Stop()
	}
	return code
}

// Shared returns the daemon shared by the tests of this test binary,
// starting it on first use. It needs Main (or Run) in TestMain, which stops
// the daemon after the tests. It skips or fails t like Start. If t fails,
// the part of the daemon log written during t is printed.
func Shared(t testing.TB) *Env {
	t.Helper()
	sharedMu.Lock()
	if !mainActive {
		sharedMu.Unlock()
		t.Fatal("pcsctest: Shared needs func TestMain(m *testing.M) { pcsctest.Main(m) } in the test package")
		return nil
	}
	if sharedEnv == nil && sharedErr == nil {
		sharedEnv, sharedErr = start(mainOpts)
	}
	e, err := sharedEnv, sharedErr
	sharedMu.Unlock()
	if err != nil {
		report(t, err)
		return nil
	}
	from := e.logSize()
	t.Cleanup(func() {
		if t.Failed() {
			e.dumpLog(t, from)
		}
	})
	return e
}
