package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sscard/ssc/internal/daemon"
	"github.com/sscard/ssc/internal/hostile"
	m "github.com/sscard/ssc/internal/ministry"
	"github.com/sscard/ssc/internal/pcsctest"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/reader/pcsc"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sim/gempc"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/keysystem"
)

// The tests build libsscard.so once per run (the c-shared build is slow),
// compile the C driver (testdata/driver.c) and the example against
// sscard.h, and call every function from C and from Python ctypes
// (testdata/driver.py) against software cards in pcscd's vpcd readers,
// directly and through an sscd started here. The HSM lines are answered
// by the SIM key system in this process, as an HIS does with its own.

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "libsscard-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = dir
	code := pcsctest.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// built returns the directory holding libsscard.so, driver and readcard.
func built(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		run := func(name string, args ...string) error {
			cmd := exec.Command(name, args...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
			}
			return nil
		}
		so := filepath.Join(buildDir, "libsscard.so")
		if buildErr = run(goTool(), "build", "-buildmode=c-shared", "-o", so, "."); buildErr != nil {
			return
		}
		link := []string{"-L" + buildDir, "-lsscard", "-Wl,-rpath," + buildDir}
		if buildErr = run("gcc", append([]string{"-std=c99", "-Wall", "-Werror", "-D_POSIX_C_SOURCE=200809L", "-I.", "-o",
			filepath.Join(buildDir, "driver"), "testdata/driver.c", "-lpthread"}, link...)...); buildErr != nil {
			return
		}
		buildErr = run("gcc", append([]string{"-std=c99", "-Wall", "-Werror", "-I.", "-o",
			filepath.Join(buildDir, "readcard"), "../../examples/c/readcard.c"}, link...)...)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

// driver is a host process calling the library line by line.
type driver struct {
	t   *testing.T
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

// baseEnv is the environment of a driver: no config file, no sscd unless
// asked, UTF-8 answers, the SIM key system, the two vpcd readers.
func baseEnv(t *testing.T, env *pcsctest.Env, extra ...string) []string {
	conf := filepath.Join(t.TempDir(), "libsscard.conf")
	if err := os.WriteFile(conf, []byte("# empty: the environment configures\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := append(os.Environ(), "SSC_CONFIG="+conf, "SSC_SOCKET="+filepath.Join(t.TempDir(), "none.sock"),
		"SSC_CHARSET=utf-8", "SSC_HSM=sim", "SSC_TERMINAL_NO=410100813475", "SSC_DEVICE_NO=FFFFFFFFFFFFFF")
	if env != nil {
		e = append(e, "SSC_READER_CONTACT="+env.ReaderName(0), "SSC_READER_CONTACTLESS="+env.ReaderName(1))
	}
	return append(e, extra...)
}

func startDriver(t *testing.T, kind string, env []string) *driver {
	dir := built(t)
	var cmd *exec.Cmd
	if kind == "python" {
		cmd = exec.Command("python3", "testdata/driver.py", filepath.Join(dir, "libsscard.so"))
	} else {
		cmd = exec.Command(filepath.Join(dir, "driver"))
	}
	cmd.Env = env
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &driver{t: t, cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<20)}
	t.Cleanup(func() {
		in.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	return d
}

// call runs one function; the answer within a generous bound.
func (d *driver) call(fn string, args ...string) (int, string) {
	d.t.Helper()
	line := strings.Join(append([]string{fn}, args...), "\t") + "\n"
	if _, err := io.WriteString(d.in, line); err != nil {
		d.t.Fatalf("%s: %v", fn, err)
	}
	type res struct {
		s   string
		err error
	}
	ch := make(chan res, 1)
	go func() { s, err := d.out.ReadString('\n'); ch <- res{s, err} }()
	var r res
	select {
	case r = <-ch:
	case <-time.After(120 * time.Second):
		d.t.Fatalf("%s: no answer within 120 s", fn)
	}
	if r.err != nil {
		d.t.Fatalf("%s: %v", fn, r.err)
	}
	s := strings.TrimSuffix(r.s, "\n")
	if s == "OVERRUN" || strings.HasSuffix(s, "TOUCHED") {
		d.t.Fatalf("%s(%v): the library wrote outside the output buffer", fn, args)
	}
	code, rest, _ := strings.Cut(s, "\t")
	rc, err := strconv.Atoi(code)
	if err != nil {
		d.t.Fatalf("%s: bad driver line %q", fn, s)
	}
	return rc, rest
}

// want calls fn and checks the code (and the answer when out != "-").
func (d *driver) want(rc int, out string, fn string, args ...string) string {
	d.t.Helper()
	got, o := d.call(fn, args...)
	if got != rc || (out != "-" && o != out) {
		d.t.Fatalf("%s(%s) = %d %q, want %d %q", fn, strings.Join(args, ","), got, o, rc, out)
	}
	return o
}

// card is what the SDK reads from the card of one iType, the expectation.
type card struct {
	name       string
	gen        int
	free, full string // iReadCardBas without and with the HSM step
	info       *sscard.BasicInfo
}

var term = sscard.TerminalInfo{TerminalNo: "410100813475", DeviceNo: "FFFFFFFFFFFFFF"}

// expect reads the card in name through PC/SC with the SDK.
func expect(t *testing.T, name string) card {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sys := reader.Open(pcsc.New())
	defer sys.Close()
	c, err := sys.Connect(ctx, name, reader.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := sscard.Open(ctx, c, sscard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	free, err := s.Read(ctx, sscard.ReadOptions{AllowPartial: true})
	if err != nil {
		t.Fatal(err)
	}
	full, err := sscard.ReadAuto(ctx, s, keysystem.SIM{}, sscard.ReadOptions{Fields: sscard.FieldsAll})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Reset(ctx, false); err != nil {
		t.Fatal(err)
	}
	return card{name: name, gen: s.Generation(), free: sscard.FormatReadCardBas(free, term),
		full: sscard.FormatReadCardBas(full, term), info: full}
}

// answerStep1 is the HIS's key system answering a Step-1 line.
func answerStep1(t *testing.T, line string) string {
	t.Helper()
	st, err := sscard.ParseStep1(line)
	if err != nil {
		t.Fatalf("step 1 line %q: %v", line, err)
	}
	ans, err := keysystem.SIM{}.Authenticate(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	return ans.String()
}

// answerWriteKey answers the PIN-reset step-2 line (update key, kid 04).
func answerWriteKey(t *testing.T, line string) string {
	t.Helper()
	req, err := sscard.ParseWriteKeyRequest(line)
	if err != nil {
		t.Fatalf("step 2 line %q: %v", line, err)
	}
	ans, err := keysystem.SIM{}.AuthorizeWrite(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return ans.String()
}

// insertCards puts a software card of profile/mode in each vpcd slot.
func insertCards(t *testing.T, env *pcsctest.Env, slots ...struct {
	profile string
	mode    sim.Mode
}) {
	t.Helper()
	for i, s := range slots {
		p, err := sim.Builtin(s.profile)
		if err != nil {
			t.Fatal(err)
		}
		c, err := sim.New(p, sim.Options{Mode: s.mode})
		if err != nil {
			t.Fatal(err)
		}
		env.Insert(t, i, c)
	}
}

type slot = struct {
	profile string
	mode    sim.Mode
}

// Setups: each generation on each interface it has (2nd-gen cards are
// contact only).
var setups = []struct {
	name  string
	slots []slot
}{
	{"gen3-contact+gen3-contactless", []slot{{"gen3", sim.Contact}, {"gen3", sim.Contactless}}},
	{"gen2-contact+gen3-contactless", []slot{{"gen2", sim.Contact}, {"gen3", sim.Contactless}}},
}

// TestDirect calls every function from C and from Python against the
// cards through pcscd, both generations on both interfaces.
func TestDirect(t *testing.T) {
	env := pcsctest.Shared(t)
	built(t)
	for _, su := range setups {
		t.Run(su.name, func(t *testing.T) {
			insertCards(t, env, su.slots...)
			cards := map[int]card{1: expect(t, env.ReaderName(0)), 2: expect(t, env.ReaderName(1))}
			for _, kind := range []string{"c", "python"} {
				t.Run(kind, func(t *testing.T) {
					d := startDriver(t, kind, baseEnv(t, env))
					everyFunction(t, d, cards)
					badInput(t, d, cards)
					hostile.Record(t, "C library", "bad input from the host program (NULL pointers, unknown iType, garbage, overlong and wrong keys, steps out of order): a code, no write past the buffer, no crash", map[string]int{"calls": badInputCalls})
				})
			}
		})
	}
}

// everyFunction calls every function on the cards of iType 1 and 2, the
// same answers directly and through sscd.
func everyFunction(t *testing.T, d *driver, cards map[int]card) {
	for _, it := range []int{1, 2} {
		c := cards[it]
		its := strconv.Itoa(it)
		i := c.info
		cardID := fmt.Sprintf("%X", []byte(i.CardID))

		d.want(0, c.free, "iReadCardBas", its)
		if c.gen == 3 && !strings.Contains(c.free, "|||") {
			t.Fatalf("3rd gen without HSM should leave SSN and card number empty: %q", c.free)
		}
		line := d.want(0, "-", "iReadCardBas_HSM_Step1", its)
		d.want(0, c.full, "iReadCardBas_HSM_Step2", answerStep1(t, line))
		d.want(0, c.full, "ssc_ReadCardBas_HSM", its)

		d.want(0, cardID+"|"+i.Version+"|", "iReadCard", its, "0", "<EMPTY>", "SSSE|EF05|01|03|")
		if c.gen == 3 {
			d.want(-20, "-", "iReadCard", its, "0", "<EMPTY>", "SSSE|EF06|08|09|")
		} else {
			d.want(0, i.SSN+"|"+i.Name+"|", "iReadCard", its, "0", "<EMPTY>", "SSSE|EF06|08|09|")
		}
		d.want(0, i.SSN+"|"+i.Name+"|"+i.CardNumber+"|", "iReadCard", its, "1", cardID, "SSSE|EF06|08|09|EF05|07|")
		line = d.want(0, "-", "iReadCard_HSM_Step1", its, c.free, "SSSE|EF06|0D|08|")
		d.want(0, i.BirthDate+"|"+i.SSN+"|", "iReadCard_HSM_Step2", answerStep1(t, line))

		d.want(-33, "-", "iVerifyPIN", its) // vpcd has no keypad
		d.want(-33, "-", "iChangePIN", its)
		d.want(-51, "-", "iDoDebit", its, "<EMPTY>", "<EMPTY>")
		d.want(-51, "-", "iReadDebitRecord", its)
		d.want(-50, "-", "iWriteCard", its, "<EMPTY>", "SSSE|EF05|07|", "X")
		d.want(-50, "-", "iWriteCard_HSM_Step1", its, "<EMPTY>", "SSSE|EF05|07|")

		if c.gen == 2 {
			d.want(-40, "-", "PKI_SignData", "123456", "hello", its) // no PKI application
			d.want(-40, "-", "PKI_VerifySign", "<EMPTY>", "<EMPTY>", "hello", strings.Repeat("0", 128), its)
		} else {
			out := d.want(0, "-", "PKI_SignData", "123456", "hello 社保", its)
			sig, cert, _ := strings.Cut(strings.TrimSuffix(out, "|"), "|")
			d.want(0, "OK|", "PKI_VerifySign", "<EMPTY>", "<EMPTY>", "hello 社保", sig, its)
			d.want(0, "OK|", "PKI_VerifySign", "<EMPTY>", cert, "hello 社保", sig+"|", its)
			d.want(-41, "-", "PKI_VerifySign", "<EMPTY>", cert, "hello", sig, its)
			d.want(-30, "-", "PKI_SignData", "000000", "hello", its)
			d.want(0, "-", "PKI_SignData", "123456", "hello", its) // the right PIN again restores the counter
		}
		d.want(0, "OK|", "iReloadPIN", its, cardID)
		d.want(0, "OK|", "iUnblockPIN", its, "<EMPTY>")
		d.want(-18, "-", "iReloadPIN", its, strings.Repeat("0", 32))
		for _, f := range []string{"iReloadPIN_HSM", "iUnblockPIN_HSM"} {
			line := d.want(0, "-", f+"_Step1", its, "<EMPTY>")
			line = d.want(0, "-", f+"_Step2", answerStep1(t, line))
			d.want(0, "OK|", f+"_Step3", answerWriteKey(t, line))
		}
	}
	// The library was built by `go build` (its version from the VCS stamp),
	// this test binary by `go test`: compare the form, not the values.
	if v := d.want(0, "-", "ssc_GetVersion"); !regexp.MustCompile(`^[0-9A-Za-z.~+-]+\|[0-9a-f]*\|$`).MatchString(v) {
		t.Fatalf("ssc_GetVersion = %q, want version|commit|", v)
	}
	d.want(-1, "", "!ssc_GetVersion")
	rc, out := d.call("iGetReaderInfo")
	if rc != 0 || !strings.HasPrefix(out, cards[1].name+"\t410100813475") {
		t.Fatalf("iGetReaderInfo = %d %q", rc, out)
	}
}

// badInputCalls is the number of refused calls badInput makes.
const badInputCalls = 25

// badInput: NULL pointers, unknown iType, garbage and overlong keys,
// wrong keys, steps out of order — codes, no write, no crash.
func badInput(t *testing.T, d *driver, cards map[int]card) {
	d.want(-2, "-", "iReadCardBas", "0")
	d.want(-2, "-", "iReadCardBas", "5")
	d.want(-1, "", "!iReadCardBas", "1")
	d.want(-1, "", "!PKI_SignData", "123456", "x", "1")
	d.want(-1, "-", "iReadCardBas_HSM_Step2", "<NULL>")
	d.want(-1, "-", "iReadCard", "1", "0", "<NULL>", "SSSE|EF05|01|")
	d.want(-1, "-", "PKI_VerifySign", "<EMPTY>", "<NULL>", "x", "00", "1")
	valid := strings.Repeat("0", 32) + "|" + strings.Repeat("0", 32) + "|"
	d.want(-23, "-", "iReadCardBas_HSM_Step2", valid)
	d.want(-23, "-", "iReloadPIN_HSM_Step3", strings.Repeat("0", 32)+"|")

	line := d.want(0, "-", "iReadCardBas_HSM_Step1", "1")
	d.want(-14, "-", "iReadCardBas_HSM_Step1", "2")      // one flow per process
	d.want(-26, "-", "iReadCard_HSM_Step2", valid)       // another flow's step
	d.want(-7, "-", "iReadCardBas_HSM_Step2", "garbage") // malformed: the flow stays
	d.want(-7, "-", "iReadCardBas_HSM_Step2", "<LONG:100000>")
	d.want(-7, "-", "iReadCardBas_HSM_Step2", strings.ToLower(answerStep1(t, line))+"x")
	d.want(-22, "-", "iReadCardBas_HSM_Step2", valid) // not this request's answer: consumed
	line = d.want(0, "-", "iReadCardBas_HSM_Step1", "1")
	ans := []byte(answerStep1(t, line))
	// C1 from another key (same original data): the card is "not genuine".
	if ans[0] == '0' {
		ans[0] = '1'
	} else {
		ans[0] = '0'
	}
	d.want(-21, "-", "iReadCardBas_HSM_Step2", string(ans))
	d.want(0, cards[1].free, "iReadCardBas", "1") // the reader is free again

	d.want(-6, "-", "iReadCard", "1", "0", "<EMPTY>", "SSSE|EF05|99|")
	d.want(-6, "-", "iReadCard", "1", "0", "<EMPTY>", "<LONG:300>")
	d.want(-6, "-", "iReadCard", "1", "0", "<EMPTY>", "ssse|ef05|01|")
	d.want(-5, "-", "iReadCard", "1", "7", "<EMPTY>", "SSSE|EF05|01|")
	d.want(-5, "-", "iReadCard", "1", "0", "XYZ", "SSSE|EF05|01|")
	d.want(-5, "-", "iReadCard", "1", "0", "<LONG:5000>", "SSSE|EF05|01|")
	d.want(-18, "-", "iReadCard", "1", "0", strings.Repeat("0", 32), "SSSE|EF05|01|")
	d.want(-36, "-", "PKI_SignData", "12", "x", "1")
	d.want(-36, "-", "PKI_SignData", "<LONG:20>", "x", "1")
}

// TestThreads: 8 threads of one process call at once on two readers and
// every answer is its own card's.
func TestThreads(t *testing.T) {
	env := pcsctest.Shared(t)
	insertCards(t, env, slot{"gen2", sim.Contact}, slot{"gen3", sim.Contactless})
	want := map[string]string{"T1": expect(t, env.ReaderName(0)).free, "T2": expect(t, env.ReaderName(1)).free}
	d := startDriver(t, "c", baseEnv(t, env))
	parallel(t, d, want)
}

func parallel(t *testing.T, d *driver, want map[string]string) {
	t.Helper()
	if _, err := io.WriteString(d.in, "PAR\t8\t10\n"); err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		s, err := d.out.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		s = strings.TrimSuffix(s, "\n")
		if s == "END" {
			break
		}
		n++
		f := strings.SplitN(s, "\t", 3)
		if len(f) != 3 || f[1] != "0" || f[2] != want[f[0]] {
			t.Errorf("thread answer %q, want 0 %q", s, want[f[0]])
		}
	}
	if n != 8 {
		t.Fatalf("%d thread lines, want 8", n)
	}
}

// TestHSMTimeout: a step 1 left alone expires; the reader is released.
func TestHSMTimeout(t *testing.T) {
	env := pcsctest.Shared(t)
	insertCards(t, env, slot{"gen3", sim.Contact})
	c := expect(t, env.ReaderName(0))
	d := startDriver(t, "c", baseEnv(t, nil, "SSC_READER="+env.ReaderName(0), "SSC_HSM_TIMEOUT=1s"))
	line := d.want(0, "-", "iReadCardBas_HSM_Step1", "3")
	time.Sleep(2 * time.Second)
	d.want(-23, "-", "iReadCardBas_HSM_Step2", answerStep1(t, line))
	d.want(0, c.free, "iReadCardBas", "4")
}

// TestGBK: the default charset is GBK, as vendor libraries; Python decodes.
func TestGBK(t *testing.T) {
	env := pcsctest.Shared(t)
	insertCards(t, env, slot{"gen2", sim.Contact})
	c := expect(t, env.ReaderName(0))
	e := baseEnv(t, nil, "SSC_READER="+env.ReaderName(0), "SSC_CHARSET=gbk")
	cmd := exec.Command("python3", "../../examples/python/readcard.py", filepath.Join(built(t), "libsscard.so"), "1")
	cmd.Env = e
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("readcard.py: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != c.full {
		t.Fatalf("readcard.py = %q, want %q", got, c.full)
	}
	d := startDriver(t, "c", e)
	_, raw := d.call("iReadCardBas", "1")
	gbk, err := sscard.ToGBK(c.full)
	if err != nil {
		t.Fatal(err)
	}
	if raw != string(gbk) {
		t.Fatalf("GBK answer %q, want %q", raw, gbk)
	}
}

// TestExample: examples/c/readcard.c, written only against the header,
// prints the software card's iReadCardBas line through pcscd.
func TestExample(t *testing.T) {
	env := pcsctest.Shared(t)
	insertCards(t, env, slot{"gen3", sim.Contact})
	c := expect(t, env.ReaderName(0))
	for _, a := range []struct {
		args []string
		want string
	}{{nil, c.free}, {[]string{"3", "hsm"}, c.full}} {
		cmd := exec.Command(filepath.Join(built(t), "readcard"), a.args...)
		cmd.Env = baseEnv(t, nil, "SSC_READER="+env.ReaderName(0))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("readcard %v: %v", a.args, err)
		}
		if got := strings.TrimSpace(string(out)); got != a.want {
			t.Fatalf("readcard %v = %q, want %q", a.args, got, a.want)
		}
	}
}

// TestDaemon: the same calls through an sscd that owns the readers.
func TestDaemon(t *testing.T) {
	env := pcsctest.Shared(t)
	built(t)
	insertCards(t, env, slot{"gen2", sim.Contact}, slot{"gen3", sim.Contactless})
	cards := map[int]card{1: expect(t, env.ReaderName(0)), 2: expect(t, env.ReaderName(1))}
	socket := startSSCD(t)
	for _, kind := range []string{"c", "python"} {
		t.Run(kind, func(t *testing.T) {
			e := append(baseEnv(t, env), "SSC_SOCKET="+socket)
			d := startDriver(t, kind, e)
			everyFunction(t, d, cards)
			badInput(t, d, cards)
			if kind == "c" {
				parallel(t, d, map[string]string{"T1": cards[1].free, "T2": cards[2].free})
			}
		})
	}
}

// startSSCD serves a daemon (with the SIM key system) over the test's
// pcscd on a socket of its own until the test ends, and returns the socket.
func startSSCD(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "libsscard-sscd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	socket := filepath.Join(dir, "sscd.sock")
	dm, err := daemon.New(daemon.Config{Socket: socket, HSM: "sim", Logger: slog.New(slog.DiscardHandler)}, reader.Open(pcsc.New()))
	if err != nil {
		t.Fatal(err)
	}
	l, err := daemon.Listen(socket, "")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- dm.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		dm.Shutdown(ctx)
		<-served
	})
	return socket
}

// TestPINPad: iVerifyPIN and iChangePIN on a reader with a keypad (an
// emulated serial GemPC PinPad), the PIN typed there.
func TestPINPad(t *testing.T) {
	built(t)
	p, err := sim.Builtin("gen3")
	if err != nil {
		t.Fatal(err)
	}
	chip, err := sim.New(p, sim.Options{Mode: sim.Contact})
	if err != nil {
		t.Fatal(err)
	}
	keypad, err := gempc.ScriptKeypad("123456 OK; 000000 OK; 123456 OK; 111111 OK; 111111 OK; 111111 OK")
	if err != nil {
		t.Fatal(err)
	}
	pty, err := gempc.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer pty.Close()
	r := gempc.New(gempc.GemPCPinPad, gempc.Options{Keypad: keypad})
	r.Insert(chip)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Serve(ctx, pty.Master)
	d := startDriver(t, "c", baseEnv(t, nil, "SSC_READER=serial:"+pty.Path+":GemPCPinPad"))
	d.want(0, "OK|", "iVerifyPIN", "1")
	d.want(-30, "-", "iVerifyPIN", "1")
	d.want(0, "OK|", "iChangePIN", "1")
	d.want(0, "OK|", "iVerifyPIN", "1")
}

// TestHeaderCodes: the codes and limits of sscard.h are internal/ministry's.
func TestHeaderCodes(t *testing.T) {
	h, err := os.ReadFile("sscard.h")
	if err != nil {
		t.Fatal(err)
	}
	defs := map[int]bool{}
	for _, line := range strings.Split(string(h), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "#define" && (strings.HasPrefix(f[1], "SSC_E_") || f[1] == "SSC_OK") {
			n, err := strconv.Atoi(f[2])
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			defs[n] = true
		}
	}
	for _, c := range m.Codes() {
		if !defs[int(c)] {
			t.Errorf("code %d (%s) missing from sscard.h", c, c.Message())
		}
		delete(defs, int(c))
	}
	if len(defs) != 0 {
		t.Errorf("sscard.h defines codes the library does not have: %v", defs)
	}
	for name, v := range map[string]int{"SSC_MAX_OUTINFO": m.MaxOutInfo, "SSC_MAX_PKI_OUTINFO": m.MaxPKIOutInfo,
		"SSC_MAX_READER_SN": m.MaxReaderSN, "SSC_MAX_PSAM_TERM_NO": m.MaxPsamTermNo, "SSC_MAX_KEY_IN": m.MaxKeyIn,
		"SSC_MAX_CARDINFO_IN": m.MaxCardInfoIn, "SSC_MAX_FILEADDR_IN": m.MaxAddressIn, "SSC_MAX_PIN_IN": m.MaxPINIn,
		"SSC_MAX_DATA_IN": m.MaxDataIn, "SSC_MAX_CERT_IN": m.MaxCertIn, "SSC_MAX_SIG_IN": m.MaxSigIn} {
		if !strings.Contains(string(h), fmt.Sprintf("#define %s", name)) || !regexpDefine(string(h), name, v) {
			t.Errorf("%s differs from the library's %d", name, v)
		}
	}
}

func regexpDefine(h, name string, v int) bool {
	for _, line := range strings.Split(h, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "#define" && f[1] == name {
			return f[2] == strconv.Itoa(v)
		}
	}
	return false
}

// readBack reads the card in name with the SDK (HSM read with the SIM key
// system), as a check independent of the library.
func readBack(t *testing.T, name string) *sscard.BasicInfo {
	t.Helper()
	return expect(t, name).info
}

// TestWrite: iWriteCard and its HSM steps write items of a 3rd-gen
// software card through pcscd; iReadCard, iReadCardBas and the SDK read
// them back. Refusals write nothing.
func TestWrite(t *testing.T) {
	env := pcsctest.Shared(t)
	built(t)
	socket := startSSCD(t)
	for _, run := range []struct{ kind, via string }{{"c", "direct"}, {"python", "direct"}, {"c", "sscd"}, {"python", "sscd"}} {
		t.Run(run.kind+"-"+run.via, func(t *testing.T) {
			kind := run.kind
			insertCards(t, env, slot{"gen3", sim.Contact}, slot{"gen3", sim.Contactless})
			name := env.ReaderName(0)
			before := readBack(t, name)
			cardID := fmt.Sprintf("%X", []byte(before.CardID))
			envFor := func(t *testing.T, env *pcsctest.Env, extra ...string) []string {
				e := baseEnv(t, env, extra...)
				if run.via == "sscd" {
					e = append(e, "SSC_SOCKET="+socket)
				}
				return e
			}

			// Writing off: -50 whatever the data.
			off := startDriver(t, kind, envFor(t, env))
			off.want(-50, "-", "iWriteCard", "1", "<EMPTY>", "SSSE|EF05|06|", "20391231|")
			off.want(-50, "-", "iWriteCard_HSM_Step1", "1", "<EMPTY>", "SSSE|EF05|06|")
			off.want(-50, "-", "iWriteCard_HSM_Step2", strings.Repeat("0", 32)+"|"+strings.Repeat("0", 32)+"|", "x|")

			d := startDriver(t, kind, envFor(t, env, "SSC_ALLOW_WRITE=1"))
			// One call: the expiry date, then the name (GBK on the card).
			d.want(0, "OK|", "iWriteCard", "1", cardID, "SSSE|EF05|06|", "20391231|")
			d.want(0, "20391231|", "iReadCard", "1", "0", "<EMPTY>", "SSSE|EF05|06|")
			d.want(0, "OK|", "iWriteCard", "1", "<EMPTY>", "SSSE|EF06|09|EF05|06|", "张三丰|20401130|")
			d.want(0, "张三丰|20401130|", "iReadCard", "1", "1", "<EMPTY>", "SSSE|EF06|09|EF05|06|")
			after := readBack(t, name)
			if after.Name != "张三丰" || after.ExpiryDate != "20401130" || after.SSN != before.SSN || after.IssueDate != before.IssueDate {
				t.Fatalf("SDK reads name/expiry/ssn/issue %q %q %q %q after the write", after.Name, after.ExpiryDate, after.SSN, after.IssueDate)
			}
			if !strings.Contains(d.want(0, "-", "ssc_ReadCardBas_HSM", "1"), "|张三丰|") {
				t.Fatal("iReadCardBas does not show the written name")
			}

			// Two-step: the HIS's key system answers both lines.
			line := d.want(0, "-", "iWriteCard_HSM_Step1", "1", cardID, "SSSE|EF06|09|")
			line = d.want(0, "-", "iWriteCard_HSM_Step2", answerStep1(t, line), "李四|")
			if _, err := sscard.ParseWriteKeyRequest(line); err != nil {
				t.Fatalf("step 2 line %q: %v", line, err)
			}
			d.want(0, "OK|", "iWriteCard_HSM_Step3", answerWriteKey(t, line))
			d.want(0, "李四|", "iReadCard", "1", "1", "<EMPTY>", "SSSE|EF06|09|")

			// Refusals; the card keeps 李四 and 20401130.
			d.want(-52, "-", "iWriteCard", "1", "<EMPTY>", "SSSE|EF05|03|", "3.00|")
			d.want(-52, "-", "iWriteCard_HSM_Step1", "1", "<EMPTY>", "SSSE|EF06|09|0C|")
			d.want(-6, "-", "iWriteCard", "1", "<EMPTY>", "SSSE|EF05|99|", "x|")
			d.want(-53, "-", "iWriteCard", "1", "<EMPTY>", "SSSE|EF06|09|EF05|06|", "王五|")
			d.want(-53, "-", "iWriteCard", "1", "<EMPTY>", "SSSE|EF06|09|", "王五")
			d.want(-53, "invalid pWriteData: expiry_date", "iWriteCard", "1", "<EMPTY>", "SSSE|EF05|06|", "20000101|") // before the issue date
			d.want(-53, "invalid pWriteData: sex", "iWriteCard", "1", "<EMPTY>", "SSSE|EF06|0A|", "5|")
			d.want(-18, "-", "iWriteCard", "1", strings.Repeat("0", 32), "SSSE|EF06|09|", "王五|")
			d.want(-23, "-", "iWriteCard_HSM_Step2", strings.Repeat("0", 32)+"|"+strings.Repeat("0", 32)+"|", "x|")
			d.want(-23, "-", "iWriteCard_HSM_Step3", strings.Repeat("0", 32)+"|")

			// Step 2 with data not fitting the address: the flow stays.
			line = d.want(0, "-", "iWriteCard_HSM_Step1", "1", "<EMPTY>", "SSSE|EF06|09|")
			ans1 := answerStep1(t, line)
			d.want(-53, "-", "iWriteCard_HSM_Step2", ans1, "王五|赵六|")
			d.want(-14, "-", "iReadCardBas_HSM_Step1", "2")
			line = d.want(0, "-", "iWriteCard_HSM_Step2", ans1, "王五|")
			// A wrong write key (another cryptogram, same ODATA): the card
			// rejects it, nothing is written.
			wrong := []byte(answerWriteKey(t, line))
			if wrong[0] == '0' {
				wrong[0] = '1'
			} else {
				wrong[0] = '0'
			}
			d.want(-25, "-", "iWriteCard_HSM_Step3", string(wrong))
			d.want(-23, "-", "iWriteCard_HSM_Step3", string(wrong))
			// A wrong read key in step 2: not genuine, nothing written.
			line = d.want(0, "-", "iWriteCard_HSM_Step1", "1", "<EMPTY>", "SSSE|EF06|09|")
			bad := []byte(answerStep1(t, line))
			if bad[0] == '0' {
				bad[0] = '1'
			} else {
				bad[0] = '0'
			}
			d.want(-21, "-", "iWriteCard_HSM_Step2", string(bad), "王五|")
			d.want(0, "李四|20401130|", "iReadCard", "1", "1", "<EMPTY>", "SSSE|EF06|09|EF05|06|")
			if got := readBack(t, name); got.Name != "李四" || got.ExpiryDate != "20401130" {
				t.Fatalf("after the refusals the card holds %q %q", got.Name, got.ExpiryDate)
			}
		})
	}
}
