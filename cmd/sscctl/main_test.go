package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/sscard/ssc/internal/pcsctest"
	"github.com/sscard/ssc/reader/pcsc"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sim/gempc"
)

var update = flag.Bool("update", false, "rewrite the golden outputs of the transcript tests")

// pcscMain starts the shared private pcscd around the tests (not around the
// re-executed sscctl commands of the transcripts). Next to vpcd, pcscd gets
// a serial GemPC PinPad through Debian's libccidtwin: the reader emulator
// (sim/gempc) with a gen3 card on a pty, started first because the driver
// gives up on a reader that does not answer its initialisation.
type pcscMain struct{ m *testing.M }

// The serial reader of the transcripts in testdata/pcsc.
const serialFriendly = "GemPCPinPad serial"

var (
	serialErr    error // why the serial reader could not be set up
	serialKeypad = "123456 OK; 000000 OK; CANCEL"
)

func (p pcscMain) Run() int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pty, err := startSerialReader(ctx)
	if err != nil {
		serialErr = err
		return pcsctest.Run(p.m)
	}
	defer pty.Close()
	return pcsctest.Run(p.m, pcsctest.WithSerialReader(pty.Path, string(gempc.GemPCPinPad), serialFriendly))
}

// startSerialReader serves an emulated GemPC PinPad holding the gen3 card
// on a new pty until ctx ends.
func startSerialReader(ctx context.Context) (*gempc.PTY, error) {
	p, err := sim.Builtin("gen3")
	if err != nil {
		return nil, err
	}
	card, err := sim.New(p, sim.Options{Mode: sim.Contact})
	if err != nil {
		return nil, err
	}
	keypad, err := gempc.ScriptKeypad(serialKeypad)
	if err != nil {
		return nil, err
	}
	pty, err := gempc.OpenPTY()
	if err != nil {
		return nil, err
	}
	r := gempc.New(gempc.GemPCPinPad, gempc.Options{Keypad: keypad})
	r.Insert(card)
	go r.Serve(ctx, pty.Master)
	return pty, nil
}

func TestMain(m *testing.M) {
	testscript.Main(pcscMain{m}, map[string]func(){
		"sscctl": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the CLI transcripts on the in-process software card, with
// no pcscd reachable.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: *update,
		Setup: func(e *testscript.Env) error {
			e.Setenv("PCSCLITE_CSOCK_NAME", e.WorkDir+"/no-pcscd.comm")
			e.Setenv("SSC_SOCKET", e.WorkDir+"/no-sscd.sock") // direct mode
			return nil
		},
	})
}

// pcscSlots serialises the transcripts that use the same reader of the
// shared pcscd (vpcd slots 0 and 1, the serial reader): a script owns the
// card in its reader.
var pcscSlots [3]sync.Mutex

// slotOf says which vpcd slot a script of testdata/pcsc uses; testscript
// names the work directory "script-<name>".
func slotOf(workDir string) int {
	switch strings.TrimPrefix(filepath.Base(workDir), "script-") {
	case "info":
		return 1
	case "serial":
		return 2 // the serial reader, not a vpcd slot
	}
	return 0 // vpcd, pboc
}

// TestScriptsPCSC runs the CLI transcripts through the real pcscd with the
// software card in the vpcd reader.
func TestScriptsPCSC(t *testing.T) {
	env := pcsctest.Shared(t)
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/pcsc",
		UpdateScripts: *update,
		Setup: func(e *testscript.Env) error {
			// testscript runs scripts in parallel, but a script owns the
			// card in its vpcd slot: one script per slot at a time.
			slot := &pcscSlots[slotOf(e.WorkDir)]
			slot.Lock()
			e.Defer(slot.Unlock)
			if strings.Contains(filepath.Base(e.WorkDir), "issue_batch") {
				// A batch uses both vpcd readers.
				pcscSlots[1].Lock()
				e.Defer(pcscSlots[1].Unlock)
			}
			e.Setenv("PCSCLITE_CSOCK_NAME", os.Getenv("PCSCLITE_CSOCK_NAME"))
			e.Setenv("VPCD0", env.VPCDAddr(0))
			e.Setenv("VPCD1", env.VPCDAddr(1))
			if serialErr != nil {
				return fmt.Errorf("serial reader emulator: %w", serialErr)
			}
			e.Setenv("SERIAL_READER", env.SerialReaderName(serialFriendly))
			e.Setenv("READER0", env.ReaderName(0))
			e.Setenv("READER1", env.ReaderName(1))
			e.Setenv("SSC_SOCKET", e.WorkDir+"/no-sscd.sock") // direct mode
			if strings.HasPrefix(filepath.Base(e.WorkDir), "script-daemon") {
				// sscd over the same pcscd, in this process (which reaches
				// the shared pcscd through PCSCLITE_CSOCK_NAME).
				socket, stop, err := serveDaemon("", pcsc.New())
				if err != nil {
					return err
				}
				e.Defer(stop)
				e.Setenv("SSC_SOCKET", socket)
			}
			return nil
		},
	})
}

// TestExitCodes pins the CLI contract: one line on stderr, 1 for failures,
// 2 for usage errors, never a panic. It runs in-process, where libpcsclite
// may already have cached the shared test pcscd's socket, so no case may
// depend on whether pcscd is reachable (those are in testdata/script).
func TestExitCodes(t *testing.T) {
	t.Setenv("SSC_READER", "")
	t.Setenv("SSC_HSM", "")
	t.Setenv("PCSCLITE_CSOCK_NAME", t.TempDir()+"/no-pcscd.comm") // only the in-process sim exists
	t.Setenv("SSC_SOCKET", t.TempDir()+"/no-sscd.sock")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"help", []string{"--help"}, 0, ""},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"unknown flag", []string{"readers", "--nope"}, 2, "unknown flag"},
		{"extra argument", []string{"readers", "x"}, 2, "unknown command"},
		{"apdu without args", []string{"--reader", "sim", "apdu"}, 2, "no APDU given"},
		{"apdu not hex", []string{"--reader", "sim", "apdu", "00A4ZZ"}, 2, "not hex"},
		{"apdu odd digits", []string{"--reader", "sim", "apdu", "00A400000"}, 2, "not hex"},
		{"apdu too short", []string{"--reader", "sim", "apdu", "00A4"}, 2, "malformed command"},
		{"apdu bad Lc", []string{"--reader", "sim", "apdu", "00A404000F73"}, 2, "malformed command"},
		{"unknown reader", []string{"--reader", "no such reader", "atr"}, 1, "reader not found"},
		{"unknown profile", []string{"--reader", "sim", "--sim-profile", "gen9", "atr"}, 2, "unknown profile"},
		{"missing profile file", []string{"--reader", "sim", "--sim-profile", "./nope.yaml", "atr"}, 1, "nope.yaml"},
		{"bad mode", []string{"--reader", "sim", "--sim-mode", "radio", "atr"}, 2, "unknown card mode"},
		{"strict stops on error SW", []string{"--reader", "sim", "apdu", "--strict", "00B2010400"}, 1, "6986"},
		{"watch negative count", []string{"watch", "--count", "-1"}, 2, "must not be negative"},
		{"sim show unknown", []string{"sim", "show", "gen9"}, 2, "unknown profile"},
		{"pin without subcommand", []string{"--reader", "sim", "pin"}, 2, "needs a subcommand"},
		{"pin verify no source no tty", []string{"--reader", "sim", "pin", "verify"}, 2, "use --pin-env NAME or --pin-stdin"},
		{"pin flag does not exist", []string{"--reader", "sim", "pin", "verify", "--pin", "123456"}, 2, "unknown flag: --pin"},
		{"pin env unset", []string{"--reader", "sim", "pin", "verify", "--pin-env", "SSCCTL_TEST_UNSET_PIN"}, 2, "SSCCTL_TEST_UNSET_PIN"},
		{"pin stdin empty", []string{"--reader", "sim", "pin", "verify", "--pin-stdin"}, 2, "no line for the PIN"},
		{"pin change half env", []string{"--reader", "sim", "pin", "change", "--pin-env", "X"}, 2, "--new-pin-env"},
		{"pin reset without hsm", []string{"--reader", "sim", "pin", "reset", "--pin-stdin"}, 2, "needs --hsm sim"},
		{"hsm without hsm", []string{"--reader", "sim", "hsm", "--hsm", ""}, 2, "give --hsm sim"},
		{"hsm bad hsm", []string{"--reader", "sim", "hsm", "--hsm", "nowhere"}, 2, "--hsm must be"},
		{"hsm step1 no answer", []string{"--reader", "sim", "hsm", "step1"}, 1, "no answer on stdin"},
		{"issue step1 without data", []string{"--reader", "sim", "issue", "step1"}, 2, "--write-info"},
		{"issue bad hsm", []string{"--reader", "sim", "issue", "--write-info", issueTestWriteInfo, "--hsm", "nowhere"}, 2, "--hsm must be"},
		{"issue without hsm", []string{"--reader", "sim", "issue", "--write-info", issueTestWriteInfo, "--hsm", ""}, 2, "--hsm URL"},
		{"sim hsm without subcommand", []string{"sim", "hsm"}, 2, "needs a subcommand"},
		{"sim hsm answer no line", []string{"sim", "hsm", "answer"}, 2, "no line on stdin"},
		{"pki without subcommand", []string{"--reader", "sim", "pki"}, 2, "needs a subcommand"},
		{"pki cert pem and der", []string{"--reader", "sim", "pki", "cert", "--pem", "--der"}, 2, "exclude each other"},
		{"pki sign no message", []string{"--reader", "sim", "pki", "sign", "--pin-stdin"}, 2, "--in"},
		{"pki sign stdin twice", []string{"--reader", "sim", "pki", "sign", "--in", "-", "--pin-stdin"}, 2, "both want stdin"},
		{"photo without output", []string{"--reader", "sim", "photo", "--hsm", "sim"}, 2, "-o FILE"},
		{"photo without hsm", []string{"--reader", "sim", "photo", "-o", "x.jpg", "--hsm", ""}, 2, "needs the HSM"},
		{"dump bad hsm", []string{"--reader", "sim", "dump", "--hsm", "nowhere"}, 2, "--hsm must be"},
		{"ok pin status", []string{"--reader", "sim", "pin", "status"}, 0, ""},
		{"ok apdu", []string{"--reader", "sim", "apdu", "00A40000023F00"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tt.args, strings.NewReader(""), &out, &errb)
			if code != tt.code {
				t.Fatalf("exit code %d, want %d; stderr: %s", code, tt.code, errb.String())
			}
			if tt.stderr != "" && !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("stderr %q does not mention %q", errb.String(), tt.stderr)
			}
			if tt.code != 0 && strings.Count(strings.TrimSpace(errb.String()), "\n") != 0 {
				t.Errorf("error is not one line: %q", errb.String())
			}
		})
	}
}

func TestSimNeverInserted(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"sim", "--vpcd", "127.0.0.1:1", "--for", "300ms"}, strings.NewReader(""), &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "never inserted") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}
