package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/sscard/ssc/internal/daemon"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sscd"
)

// serveDaemon starts an in-process sscd on a new Unix socket (in a short
// directory: socket paths are limited to 108 bytes) with backends plus, when
// simProfile is set, the software card "sim" of that profile, and the
// software HSM. stop shuts it down.
func serveDaemon(simProfile string, backends ...reader.Backend) (socket string, stop func(), err error) {
	dir, err := os.MkdirTemp("", "sscctl-sscd")
	if err != nil {
		return "", nil, err
	}
	socket = filepath.Join(dir, "sscd.sock")
	if simProfile != "" {
		p, err := sim.Builtin(simProfile)
		if err != nil {
			return "", nil, err
		}
		card, err := sim.New(p, sim.Options{Mode: sim.Contact})
		if err != nil {
			return "", nil, err
		}
		sb := reader.NewChipBackend(reader.SimReaderName)
		if err := sb.Insert(reader.SimReaderName, card); err != nil {
			return "", nil, err
		}
		backends = append(backends, sb)
	}
	d, err := daemon.New(daemon.Config{Socket: socket, HSM: "sim", PINLimit: daemon.PINLimitConfig{Attempts: 4}, Logger: slog.New(slog.DiscardHandler)}, reader.Open(backends...))
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	l, err := daemon.Listen(socket, "")
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	served := make(chan error, 1)
	go func() { served <- d.Serve(l) }()
	return socket, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		d.Shutdown(ctx)
		<-served
		os.RemoveAll(dir)
	}, nil
}

// daemonProfile is the software card of the daemon of a transcript:
// the scripts of testdata/daemon named gen2* get a 2nd-generation card,
// issue* a blank 3rd-generation card, the others gen3.
func daemonProfile(workDir string) string {
	if strings.HasPrefix(filepath.Base(workDir), "script-gen2") {
		return "gen2"
	}
	if strings.HasPrefix(filepath.Base(workDir), "script-issue") {
		return "gen3-blank"
	}
	return "gen3"
}

// TestScriptsDaemon runs the transcripts of the commands sscd serves a second
// time with a fresh in-process daemon per script (holding the software card
// of the profile the script uses): the output must be the same as direct
// mode's, golden files included. pin_sim is not shared: a direct-mode
// script gets a fresh card per command, the daemon's card keeps its PIN and
// try counter (testdata/daemon/pin.txtar follows that card).
func TestScriptsDaemon(t *testing.T) {
	files := []string{"testdata/script/info_sim.txtar", "testdata/script/hsm_sim.txtar", "testdata/script/link_sim.txtar"}
	own, _ := filepath.Glob("testdata/daemon/*.txtar")
	testscript.Run(t, testscript.Params{
		Files:         append(files, own...),
		UpdateScripts: *update,
		Setup: func(e *testscript.Env) error {
			e.Setenv("PCSCLITE_CSOCK_NAME", e.WorkDir+"/no-pcscd.comm")
			socket, stop, err := serveDaemon(daemonProfile(e.WorkDir))
			if err != nil {
				return err
			}
			e.Defer(stop)
			e.Setenv("SSC_SOCKET", socket)
			return nil
		},
	})
}

// simOnly makes the in-process runs of a test use the software card only:
// libpcsclite caches the socket it first reached, and TestScriptsPCSC needs
// it to be the shared pcscd's.
func simOnly(t *testing.T) {
	t.Cleanup(func() { newBackends = defaultBackends })
	newBackends = simOnlyBackends
}

// simOnlyBackends is the in-process software card alone.
func simOnlyBackends(a *app) ([]reader.Backend, error) {
	sb, err := a.simBackend()
	if err != nil {
		return nil, err
	}
	return []reader.Backend{sb}, nil
}

func runCLI(args []string, stdin string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// TestDaemonRouting checks which path a command takes: through a running
// daemon unless --direct (or SSC_DIRECT=1), direct with a notice when the
// socket does not answer, and daemon errors as one clean line.
func TestDaemonRouting(t *testing.T) {
	simOnly(t)
	t.Setenv("SSC_READER", "")
	t.Setenv("SSC_HSM", "")
	t.Setenv("SSC_DIRECT", "")
	t.Setenv("SSC_SIM_PROFILE", "")
	t.Setenv("PCSCLITE_CSOCK_NAME", t.TempDir()+"/no-pcscd.comm")

	// The daemon holds a gen2 card; the in-process software card is gen3.
	// Which one answers tells the paths apart.
	socket, stop, err := serveDaemon("gen2")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	info := []string{"--socket", socket, "info", "--hsm", "sim", "--format", "bas"}
	viaDaemon := "330100|332603197912225416|A15921622|"
	direct := "411600|411602199001011232|A12345678|"

	if code, out, errb := runCLI(info, ""); code != 0 || !strings.HasPrefix(out, viaDaemon) || errb != "" {
		t.Errorf("through the daemon: exit %d, stdout %q, stderr %q", code, out, errb)
	}
	if code, out, errb := runCLI(append([]string{"--direct"}, info...), ""); code != 0 || !strings.HasPrefix(out, direct) || errb != "" {
		t.Errorf("--direct: exit %d, stdout %q, stderr %q", code, out, errb)
	}
	t.Setenv("SSC_DIRECT", "1")
	if code, out, _ := runCLI(info, ""); code != 0 || !strings.HasPrefix(out, direct) {
		t.Errorf("SSC_DIRECT=1: exit %d, stdout %q", code, out)
	}
	t.Setenv("SSC_DIRECT", "")
	// --trace and the in-process card's flags go direct.
	for _, extra := range [][]string{{"--trace"}, {"--reader", "sim"}, {"--sim-profile", "gen3"}} {
		if code, out, _ := runCLI(append(extra, info...), ""); code != 0 || !strings.HasPrefix(out, direct) {
			t.Errorf("%v: exit %d, stdout %q (want direct)", extra, code, out)
		}
	}
	// No socket: direct, silently.
	none := []string{"--socket", filepath.Join(t.TempDir(), "none.sock"), "info", "--hsm", "sim", "--format", "bas"}
	if code, out, errb := runCLI(none, ""); code != 0 || !strings.HasPrefix(out, direct) || errb != "" {
		t.Errorf("no socket: exit %d, stdout %q, stderr %q", code, out, errb)
	}

	// A stale socket (nobody listening): direct with one notice line.
	dir, err := os.MkdirTemp("", "sscctl-stale")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	stale := filepath.Join(dir, "sscd.sock")
	l, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	code, out, errb := runCLI([]string{"--socket", stale, "info", "--hsm", "sim", "--format", "bas"}, "")
	wantNotice := "sscctl: sscd socket " + stale + " does not answer; using the readers directly\n"
	if code != 0 || !strings.HasPrefix(out, direct) || errb != wantNotice {
		t.Errorf("stale socket: exit %d, stdout %q, stderr %q (want %q)", code, out, errb, wantNotice)
	}

	// Daemon errors: one line, exit 1, the text of direct mode.
	for _, tt := range []struct {
		name   string
		args   []string
		stdin  string
		stderr string
	}{
		{"reader not found", []string{"--reader", "nosuch", "info", "--hsm", "sim"}, "", `sscctl: reader "nosuch": find reader: reader not found` + "\n"},
		{"wrong PIN", []string{"pin", "verify", "--pin-stdin"}, "111111\n", "sscctl: wrong PIN, 2 tries left (card returned 63C2)\n"},
		{"last try", []string{"pin", "verify", "--pin-stdin"}, "111111\n", "sscctl: wrong PIN, 1 tries left (card returned 63C1)\n"},
		{"refuses last try", []string{"pin", "verify", "--pin-stdin"}, "111111\n", "sscctl: only one PIN try left: not trying without --force (a wrong PIN would block it)\n"},
		{"blocks", []string{"pin", "verify", "--pin-stdin", "--force"}, "111111\n", "sscctl: PIN blocked: it must be reset (sscctl pin reset with the update key, or at the card issuer)\n"},
		{"status blocked", []string{"pin", "status"}, "", "sscctl: PIN blocked: it must be reset (sscctl pin reset with the update key, or at the card issuer)\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errb := runCLI(append([]string{"--socket", socket}, tt.args...), tt.stdin)
			if code != 1 || errb != tt.stderr {
				t.Errorf("exit %d, stderr %q; want 1, %q", code, errb, tt.stderr)
			}
		})
	}
}

// TestDaemonCardErrors checks the errors of cards the daemon does not have:
// no card in the reader, and a card that changed under a request.
func TestDaemonCardErrors(t *testing.T) {
	simOnly(t)
	t.Setenv("SSC_READER", "")
	t.Setenv("SSC_DIRECT", "")
	t.Setenv("SSC_SIM_PROFILE", "")
	t.Setenv("PCSCLITE_CSOCK_NAME", t.TempDir()+"/no-pcscd.comm")
	sb := reader.NewChipBackend("r0")
	socket, stop, err := serveDaemon("", sb)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	code, _, errb := runCLI([]string{"--socket", socket, "pin", "status"}, "")
	want := `sscctl: reader "r0": find reader: no card in the reader (in any of 1 readers; --reader sim uses the software card)` + "\n"
	if code != 1 || errb != want {
		t.Errorf("no card: exit %d, stderr %q; want 1, %q", code, errb, want)
	}
	code, _, errb = runCLI([]string{"--socket", socket, "--reader", "r0", "pin", "status"}, "")
	want = `sscctl: reader "r0": connect: no card in the reader` + "\n"
	if code != 1 || errb != want {
		t.Errorf("no card in the named reader: exit %d, stderr %q; want 1, %q", code, errb, want)
	}
	// A daemon-only failure keeps its code in the one line.
	err = fromDaemon(sscd.Errorf(sscd.CodeCardChanged, "reader %q holds insertion 2, not 1", "r0"), "r0")
	if got := oneLine(err); !strings.HasPrefix(got, "sscd: card_changed: ") {
		t.Errorf("card_changed: %q", got)
	}
}
