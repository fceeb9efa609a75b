// Package pcsctest runs a private pcscd with the vpcd virtual reader driver
// for integration tests of PC/SC code.
//
// The daemon runs in its own mount namespace (unshare -m) with a per-run
// directory bind-mounted over /run/pcscd, so it never touches the system
// pcscd. The test process reaches it through PCSCLITE_CSOCK_NAME, which Start
// sets with os.Setenv. vpcd listens on a free TCP port pair: slot 0 on
// VPCDAddr(0), slot 1 on VPCDAddr(1); a virtual card (sim.VPCD) connecting
// there is a card inserted in ReaderName(slot). WithReaders(16) gives 16
// slots on consecutive ports (a 16-slot build of the same vpcd driver), for
// tests and benchmarks of many readers.
//
// # One Env per test process
//
// libpcsclite reads PCSCLITE_CSOCK_NAME once, on first use, and caches it for
// the life of the process. Therefore at most one Env runs at a time in a test
// process, and every Env of a process uses the same socket path (a second
// Start after Stop is fine; a second Start while one runs fails the test).
// Do not use PC/SC in the test process before the first Start.
//
// Tests of a package share one daemon like this:
//
//	func TestMain(m *testing.M) { pcsctest.Main(m) }
//
//	func TestX(t *testing.T) {
//		env := pcsctest.Shared(t) // started on first use, stopped by Main
//		...
//	}
//
// A test that restarts the shared daemon (Env.Restart) affects the tests that
// run after it, and tests using a shared Env must not run in parallel with a
// test that restarts it.
//
// # Serial readers
//
// WithSerialReader adds a serial CCID reader (Debian's libccidtwin driver)
// on a device path, in practice the host end of a PTYPair whose other end
// an emulated GemPC reader (package sim/gempc) serves; it must be serving
// before the daemon starts. SerialReaderName gives its PC/SC name. See
// serial.go.
//
// # Skip or fail
//
// When pcscd, unshare or the vpcd driver are missing, or mount namespaces
// are not permitted, Start and Shared skip the test — unless SSC_REQUIRE_PCSC=1
// or CI=true is set, in which case they fail it: CI never silently skips PC/SC
// tests. A daemon that is present but does not come up always fails the test.
//
// # Cleanup
//
// Start registers t.Cleanup to stop the daemon; Main stops the shared one.
// The daemon also gets SIGTERM if the test process dies (PR_SET_PDEATHSIG),
// so no pcscd is left behind, and directories left by dead test processes
// are removed by the next Start. The daemon log is written to Env.LogPath
// and printed when a test using the Env fails.
//
// # Environment
//
//   - SSC_REQUIRE_PCSC=1 or CI=true: fail instead of skipping.
//   - SSC_PCSCD_DEBUG=1: run pcscd with -d (see also WithDebug, WithAPDULog).
//   - SSC_PCSCD_KEEP=1: keep the directory (config, log) after Stop.
//
// The harness needs Linux, root (for the mount namespace), pcscd, unshare,
// the vpcd driver (package vsmartcard-vpcd) and a cgo build without the
// nopcsc tag; otherwise it skips (or fails, see above). Note that vpcd
// listens on all interfaces, not only on loopback.
package pcsctest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Defaults; see the options.
const (
	DefaultFriendlyName = "Virtual PCD"
	DefaultDriver       = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
	// Driver16 is Debian's vpcd built with 16 slots (VPCDSLOTS=16, the
	// upstream configure option), by scripts/lib.sh's ssc_build_vpcd16.
	// Debian builds vpcd with 2 slots, and a second vpcd instance in one
	// pcscd shares the first one's per-slot state (the driver keeps it in a
	// static array indexed by slot), so more readers need more slots in one
	// instance. SSC_VPCD16 overrides the path.
	Driver16 = "/var/cache/ssc/vpcd16/libifdvpcd.so"
	// SocketEnv is the environment variable libpcsclite reads for the
	// daemon's socket path.
	SocketEnv = "PCSCLITE_CSOCK_NAME"
)

const (
	keepMarker   = "KEEP"
	readyTimeout = 15 * time.Second
	stopTimeout  = 5 * time.Second
	logTailBytes = 64 << 10
	portAttempts = 3
)

// Option tunes Start.
type Option func(*config)

type config struct {
	debug   bool
	apduLog bool
	name    string
	driver  string
	slots   int // vpcd slots: 2, or MaxReaders with WithReaders
	pcscd   string
	serial  []serialReader // WithSerialReader
}

// WithDebug runs pcscd with -d (debug messages). SSC_PCSCD_DEBUG=1 in the
// environment does the same for every Env.
func WithDebug() Option { return func(c *config) { c.debug = true } }

// WithAPDULog runs pcscd with -a (log every APDU).
func WithAPDULog() Option { return func(c *config) { c.apduLog = true } }

// WithFriendlyName sets the reader.conf FRIENDLYNAME (default "Virtual PCD").
func WithFriendlyName(name string) Option { return func(c *config) { c.name = name } }

// MaxReaders is the most vpcd readers an Env can have: pcsc-lite serves at
// most 16 readers (PCSCLITE_MAX_READERS_CONTEXTS).
const MaxReaders = 16

// WithReaders asks for n vpcd readers. Up to 2 is Debian's driver; more
// uses Driver16, which always offers MaxReaders slots ("Virtual PCD 00 00"
// to "… 00 0F") on consecutive ports, so Readers() is then 16.
func WithReaders(n int) Option {
	return func(c *config) {
		if n > 2 {
			c.slots = MaxReaders
			if c.driver == DefaultDriver {
				c.driver = driver16()
			}
		}
	}
}

func driver16() string {
	if p := os.Getenv("SSC_VPCD16"); p != "" {
		return p
	}
	return Driver16
}

// WithDriver sets the path of the vpcd driver library.
func WithDriver(path string) Option { return func(c *config) { c.driver = path } }

// Env is a running private pcscd with vpcd slots (two unless WithReaders).
type Env struct {
	// Dir holds the configuration, the log and the socket directory.
	Dir string
	// Socket is the daemon's socket path (the value of PCSCLITE_CSOCK_NAME).
	Socket string
	// LogPath is the daemon log; it accumulates across restarts.
	LogPath string

	cfg    config
	port   int // slot k listens on port+k
	runDir string

	mu      sync.Mutex
	proc    *process
	stopped bool
}

type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // exit status, valid after done
}

var (
	activeMu sync.Mutex
	active   *Env
	// baseDir is the per-process directory; it stays the same for every Env
	// of the process because libpcsclite caches the socket path.
	baseDir string
)

// RequirePCSC reports whether PC/SC tests must run (SSC_REQUIRE_PCSC=1 or
// CI=true): then a missing prerequisite fails instead of skipping.
func RequirePCSC() bool {
	return os.Getenv("SSC_REQUIRE_PCSC") == "1" || strings.EqualFold(os.Getenv("CI"), "true")
}

// unavailableError says the machine cannot run the harness (skip-worthy).
type unavailableError struct{ msg string }

func (e *unavailableError) Error() string { return e.msg }

func unavailable(format string, args ...any) error {
	return &unavailableError{msg: fmt.Sprintf(format, args...)}
}

// report skips or fails t for err according to the policy.
func report(t testing.TB, err error) {
	t.Helper()
	var ue *unavailableError
	if errors.As(err, &ue) {
		if RequirePCSC() {
			t.Fatalf("pcsctest: PC/SC test environment unavailable (required by SSC_REQUIRE_PCSC/CI): %v", err)
			return
		}
		t.Skipf("pcsctest: PC/SC test environment unavailable, skipping (set SSC_REQUIRE_PCSC=1 to fail instead): %v", err)
		return
	}
	t.Fatalf("pcsctest: %v", err)
}

// Start starts a private pcscd for the test and stops it in t.Cleanup. It
// skips or fails t when the environment is unusable (see the package doc),
// and fails t if another Env is running in this process.
func Start(t testing.TB, opts ...Option) *Env {
	t.Helper()
	e, err := start(opts)
	if err != nil {
		report(t, err)
		return nil
	}
	t.Cleanup(func() {
		if t.Failed() {
			e.dumpLog(t, 0)
		}
		e.Stop()
	})
	return e
}

func start(opts []Option) (*Env, error) {
	cfg := config{name: DefaultFriendlyName, driver: DefaultDriver, slots: 2}
	if os.Getenv("SSC_PCSCD_DEBUG") == "1" {
		cfg.debug = true
	}
	for _, o := range opts {
		o(&cfg)
	}
	if err := preflight(&cfg); err != nil {
		return nil, err
	}

	activeMu.Lock()
	defer activeMu.Unlock()
	if active != nil {
		return nil, fmt.Errorf("a pcscd Env is already running in this process (socket %s): "+
			"libpcsclite caches the socket path, so only one Env per test process is supported; "+
			"share it with pcsctest.Main and pcsctest.Shared", active.Socket)
	}
	if err := initBaseDir(); err != nil {
		return nil, err
	}
	e := &Env{
		Dir:     baseDir,
		runDir:  filepath.Join(baseDir, "run"),
		Socket:  filepath.Join(baseDir, "run", "pcscd.comm"),
		LogPath: filepath.Join(baseDir, "pcscd.log"),
		cfg:     cfg,
	}
	for _, d := range []string{e.runDir, filepath.Join(baseDir, "conf")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.Setenv(SocketEnv, e.Socket); err != nil {
		return nil, err
	}
	// Nothing may answer on our socket before our daemon runs: if libpcsclite
	// reaches a daemon now, it cached another socket path earlier.
	if probeDaemon() == nil {
		os.RemoveAll(baseDir)
		return nil, fmt.Errorf("libpcsclite reaches a PC/SC daemon before ours started: " +
			"PC/SC was used in this process before pcsctest.Start, so the socket path is cached")
	}

	var lastErr error
	for range portAttempts {
		port, err := freePortRun(cfg.slots)
		if err != nil {
			return nil, err
		}
		e.port = port
		if err := e.writeConf(); err != nil {
			return nil, err
		}
		if err := e.launch(); err != nil {
			lastErr = err
			e.kill()
			continue
		}
		active = e
		return e, nil
	}
	os.RemoveAll(baseDir)
	return nil, lastErr
}

// preflight checks the prerequisites; failures are "unavailable".
func preflight(cfg *config) error {
	if runtime.GOOS != "linux" {
		return unavailable("needs Linux mount namespaces (GOOS=%s)", runtime.GOOS)
	}
	p, err := exec.LookPath("pcscd")
	if err != nil {
		for _, c := range []string{"/usr/sbin/pcscd", "/sbin/pcscd", "/usr/local/sbin/pcscd"} {
			if st, err2 := os.Stat(c); err2 == nil && !st.IsDir() {
				p, err = c, nil
				break
			}
		}
	}
	if err != nil {
		return unavailable("pcscd not found (apt-get install pcscd)")
	}
	cfg.pcscd = p
	for _, tool := range []string{"unshare", "mount", "sh"} {
		if _, err := exec.LookPath(tool); err != nil {
			return unavailable("%s not found", tool)
		}
	}
	if _, err := os.Stat(cfg.driver); err != nil {
		if cfg.slots > 2 {
			return unavailable("16-slot vpcd driver %s missing (scripts/lib.sh ssc_build_vpcd16 builds it; ./scripts/test.sh does)", cfg.driver)
		}
		return unavailable("vpcd driver %s missing (apt-get install vsmartcard-vpcd)", cfg.driver)
	}
	if err := checkSerial(cfg); err != nil {
		return err
	}
	if err := readersAvailable(); err != nil {
		return unavailable("%v", err)
	}
	if os.Geteuid() != 0 {
		return unavailable("needs root for a private mount namespace over /run/pcscd")
	}
	if err := os.MkdirAll("/run/pcscd", 0o755); err != nil {
		return unavailable("cannot create /run/pcscd: %v", err)
	}
	out, err := exec.Command("unshare", "-m", "--propagation", "private", "true").CombinedOutput()
	if err != nil {
		return unavailable("unshare -m not permitted: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

func initBaseDir() error {
	if baseDir != "" {
		return os.MkdirAll(baseDir, 0o755)
	}
	// The socket path must fit in sockaddr_un (108 bytes): prefer a short
	// temporary directory.
	parent := os.TempDir()
	if len(parent) > 40 {
		parent = "/tmp"
	}
	removeStaleDirs(parent)
	d, err := os.MkdirTemp(parent, fmt.Sprintf("pcsctest-%d-", os.Getpid()))
	if err != nil {
		return err
	}
	baseDir = d
	return nil
}

// removeStaleDirs removes directories left by test processes that died
// without cleaning up (their pcscd got SIGTERM from PR_SET_PDEATHSIG).
func removeStaleDirs(parent string) {
	ents, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, ent := range ents {
		rest, ok := strings.CutPrefix(ent.Name(), "pcsctest-")
		if !ok || !ent.IsDir() {
			continue
		}
		pidStr, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid <= 0 {
			continue
		}
		if _, err := os.Stat(filepath.Join(parent, ent.Name(), keepMarker)); err == nil {
			continue // kept on purpose (SSC_PCSCD_KEEP=1)
		}
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			os.RemoveAll(filepath.Join(parent, ent.Name()))
		}
	}
}

// freePortRun finds p such that p … p+n-1 are free on all addresses (vpcd
// binds 0.0.0.0). It avoids the ephemeral range so outgoing connections do
// not take the ports between Stop and Restart.
func freePortRun(n int) (int, error) {
	for range 200 {
		p := 20000 + n*rand.IntN(12000/n)
		free := true
		for k := range n {
			if free = portFree(p + k); !free {
				break
			}
		}
		if free {
			return p, nil
		}
	}
	return 0, fmt.Errorf("no %d consecutive free TCP ports found for vpcd", n)
}

func portFree(p int) bool {
	for _, addr := range []string{"127.0.0.1", ""} {
		l, err := net.Listen("tcp4", net.JoinHostPort(addr, strconv.Itoa(p)))
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}

func (e *Env) writeConf() error {
	conf := fmt.Sprintf("FRIENDLYNAME \"%s\"\nDEVICENAME   /dev/null:0x%X\nLIBPATH      %s\nCHANNELID    0x%X\n",
		e.cfg.name, e.port, e.cfg.driver, e.port)
	if err := os.WriteFile(filepath.Join(e.Dir, "conf", "vpcd"), []byte(conf), 0o644); err != nil {
		return err
	}
	return e.writeSerialConf()
}

// Readers is the number of vpcd readers (slots) of the Env.
func (e *Env) Readers() int { return e.cfg.slots }

// VPCDAddr is the address a virtual card connects to for a slot.
func (e *Env) VPCDAddr(slot int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(e.port+slot))
}

// ReaderName is the PC/SC name of the reader of a slot.
func (e *Env) ReaderName(slot int) string {
	return fmt.Sprintf("%s 00 %02X", e.cfg.name, slot)
}

// Restart stops pcscd and starts it again on the same socket path and ports,
// as happens when the system service is restarted. Virtual cards (sim.VPCD)
// reconnect by themselves.
func (e *Env) Restart(t testing.TB) {
	t.Helper()
	e.mu.Lock()
	stopped := e.stopped
	e.mu.Unlock()
	if stopped {
		t.Fatal("pcsctest: Restart after Stop")
	}
	e.kill()
	e.appendLog("=== pcsctest: restarting pcscd ===\n")
	if err := e.launch(); err != nil {
		t.Fatalf("pcsctest: restart: %v", err)
	}
}

// Kill stops pcscd (SIGTERM, waiting for it to exit) without starting it
// again, to test what clients do while the service is gone; Restart brings
// it back.
func (e *Env) Kill() { e.kill() }

// Stop stops pcscd and removes the directory (kept with SSC_PCSCD_KEEP=1,
// for reading the log). It is idempotent; after it a new Env may be started
// in the process.
func (e *Env) Stop() {
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		return
	}
	e.stopped = true
	e.mu.Unlock()
	e.kill()
	activeMu.Lock()
	if active == e {
		active = nil
	}
	activeMu.Unlock()
	if os.Getenv("SSC_PCSCD_KEEP") == "1" {
		os.WriteFile(filepath.Join(e.Dir, keepMarker), nil, 0o644)
		fmt.Fprintf(os.Stderr, "pcsctest: SSC_PCSCD_KEEP=1: keeping %s\n", e.Dir)
		return
	}
	os.RemoveAll(e.Dir)
}

// Log returns the daemon log so far.
func (e *Env) Log() string {
	b, _ := os.ReadFile(e.LogPath)
	return string(b)
}

func (e *Env) logSize() int64 {
	st, err := os.Stat(e.LogPath)
	if err != nil {
		return 0
	}
	return st.Size()
}

// dumpLog prints the log from offset from (at most its last logTailBytes).
func (e *Env) dumpLog(t testing.TB, from int64) {
	t.Helper()
	b, err := os.ReadFile(e.LogPath)
	if err != nil {
		t.Logf("pcsctest: no pcscd log: %v", err)
		return
	}
	if from > 0 && from <= int64(len(b)) {
		b = b[from:]
	}
	if len(b) > logTailBytes {
		b = b[len(b)-logTailBytes:]
	}
	t.Logf("pcsctest: pcscd log (%s):\n%s", e.LogPath, b)
}

func (e *Env) appendLog(s string) {
	f, err := os.OpenFile(e.LogPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	f.WriteString(s)
	f.Close()
}

// launch starts pcscd and waits until it lists both vpcd readers and the
// serial ones.
func (e *Env) launch() error {
	// Stale files of a killed daemon would be in the way.
	if ents, err := os.ReadDir(e.runDir); err == nil {
		for _, ent := range ents {
			os.RemoveAll(filepath.Join(e.runDir, ent.Name()))
		}
	}
	logf, err := os.OpenFile(e.LogPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	args := []string{"-m", "--propagation", "private", "sh", "-c",
		`mount --bind "$0" /run/pcscd && exec "$@"`,
		e.runDir, e.cfg.pcscd, "-f", "-c", filepath.Join(e.Dir, "conf")}
	if e.cfg.debug {
		args = append(args, "-d")
	}
	if e.cfg.apduLog {
		args = append(args, "-a")
	}
	cmd := exec.Command("unshare", args...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Env = append(os.Environ(), "LANG=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:   true,
		Pdeathsig: syscall.SIGTERM,
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	if err := spawn(cmd); err != nil {
		return fmt.Errorf("start pcscd: %w", err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	e.mu.Lock()
	e.proc = p
	e.mu.Unlock()

	want := append([]string{e.ReaderName(0), e.ReaderName(1)}, e.serialNames()...)
	deadline := time.Now().Add(readyTimeout)
	var last error
	for {
		select {
		case <-p.done:
			return fmt.Errorf("pcscd exited during start-up (%v); log:\n%s", p.err, tail(e.Log(), 4096))
		default:
		}
		names, err := listReaders()
		if err == nil {
			missing := false
			for _, w := range want {
				if !slices.Contains(names, w) {
					missing = true
				}
			}
			if !missing {
				return nil
			}
			err = fmt.Errorf("readers %q listed, want %q", names, want)
		}
		last = err
		if time.Now().After(deadline) {
			return fmt.Errorf("pcscd not ready after %v: %v (if PC/SC was used in this process before "+
				"pcsctest started, libpcsclite cached another socket path); log:\n%s", readyTimeout, last, tail(e.Log(), 4096))
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// kill stops the running daemon: SIGTERM, then SIGKILL after stopTimeout.
func (e *Env) kill() {
	e.mu.Lock()
	p := e.proc
	e.proc = nil
	e.mu.Unlock()
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		// The process group holds pcscd (sh execs it) and a mount helper
		// at most.
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// spawner: PR_SET_PDEATHSIG fires when the thread that forked the child
// exits, not the process. Go may end threads (a goroutine exiting while
// locked to its thread), so children are forked from one goroutine locked to
// its thread for the life of the process.
var (
	spawnOnce sync.Once
	spawnReq  chan spawnCall
)

type spawnCall struct {
	cmd  *exec.Cmd
	done chan error
}

func spawn(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnReq = make(chan spawnCall)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives as long as the process
			for c := range spawnReq {
				c.done <- c.cmd.Start()
			}
		}()
	})
	c := spawnCall{cmd: cmd, done: make(chan error, 1)}
	spawnReq <- c
	return <-c.done
}

// Signal sends sig to the running pcscd: SIGSTOP freezes it (a hung
// daemon), SIGCONT thaws it, SIGKILL kills it without a chance to clean up
// (Restart brings it back).
func (e *Env) Signal(sig syscall.Signal) error {
	e.mu.Lock()
	p := e.proc
	e.mu.Unlock()
	if p == nil {
		return fmt.Errorf("pcsctest: pcscd is not running")
	}
	return p.cmd.Process.Signal(sig)
}
