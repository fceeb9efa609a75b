package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sscard/ssc/internal/version"
	"github.com/sscard/ssc/sscd"
)

// The test binary doubles as sscd: with SSCD_TEST_MAIN=1 it runs main with
// its arguments, so the tests can run the daemon as a process of its own.
func TestMain(m *testing.M) {
	if os.Getenv("SSCD_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestVersion: --version prints the build's version and exits before the
// configuration is read (a package's scripts may call it with any config).
func TestVersion(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"--version", "--config", "/nonexistent"}, &out, &errOut); err != nil {
		t.Fatalf("run: %v (%s)", err, errOut.String())
	}
	if want := "sscd " + version.Get().String() + "\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("hsm: ftp://nope\n"), 0o600)
	issue := filepath.Join(dir, "issue.yaml")
	os.WriteFile(issue, []byte("bridge:\n  port: 24800\n  origins: [https://ecard.example, https://bank.example]\n  issue_origins: [https://bank.example]\n"), 0o600)
	aids := filepath.Join(dir, "aids.yaml")
	os.WriteFile(aids, []byte("aids: ../../pboc/testdata/unionpay-only.yaml\n"), 0o600)
	aidsBad := filepath.Join(dir, "aids-bad.yaml")
	os.WriteFile(aidsBad, []byte("aids: "+bad+"\n"), 0o600) // a daemon config is no AID list
	issueBad := filepath.Join(dir, "issue-bad.yaml")
	os.WriteFile(issueBad, []byte("bridge:\n  port: 24800\n  origins: [https://ecard.example]\n  issue_origins: [https://bank.example]\n"), 0o600)
	tests := []struct {
		name string
		args []string
		ok   bool
		out  string
	}{
		{"sample", []string{"--config", "../../deploy/sscd.yaml", "--check-config"}, true, "socket /run/sscd/sscd.sock"},
		{"flag overrides file", []string{"--config", "../../deploy/sscd.yaml", "--socket", "/tmp/o.sock", "--check-config"}, true, "socket /tmp/o.sock"},
		{"defaults", []string{"--check-config"}, true, "socket /run/sscd/sscd.sock"},
		{"sim default profile", []string{"--sim", "--check-config"}, true, "OK"},
		{"sim unknown profile", []string{"--sim=gen9", "--check-config"}, false, ""},
		{"bad file", []string{"--config", bad, "--check-config"}, false, ""},
		{"hsm flag fixes file", []string{"--config", bad, "--hsm", "sim", "--check-config"}, true, "OK"},
		{"missing file", []string{"--config", filepath.Join(dir, "none.yaml"), "--check-config"}, false, ""},
		{"aids", []string{"--config", aids, "--check-config"}, true, "OK"},
		{"bad aids", []string{"--config", aidsBad, "--check-config"}, false, ""},
		{"bridge", []string{"--bridge-port", "24800", "--bridge-origin", "https://ecard.example", "--bridge-origin", "https://b.example:8443", "--check-config"}, true, "browser bridge http://127.0.0.1:24800 for https://ecard.example https://b.example:8443"},
		{"log flags", []string{"--log-format", "json", "--log-level", "debug", "--check-config"}, true, "OK"},
		{"bad log format", []string{"--log-format", "xml", "--check-config"}, false, ""},
		{"bad log level", []string{"--log-level", "loud", "--check-config"}, false, ""},
		{"bridge without origins", []string{"--bridge-port", "24800", "--check-config"}, false, ""},
		{"bridge http origin", []string{"--bridge-port", "24800", "--bridge-origin", "http://ecard.example", "--check-config"}, false, ""},
		{"bridge bad port", []string{"--bridge-port", "70000", "--bridge-origin", "https://ecard.example", "--check-config"}, false, ""},
		{"bridge issue origins", []string{"--config", issue, "--check-config"}, true, "for https://ecard.example https://bank.example, issuance for https://bank.example)"},
		{"bridge issue origin not in origins", []string{"--config", issueBad, "--check-config"}, false, ""},
		{"bridge origin flag drops an issue origin", []string{"--config", issue, "--bridge-origin", "https://ecard.example", "--check-config"}, false, ""},
		{"unknown flag", []string{"--nope"}, false, ""},
		{"stray argument", []string{"serve"}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), tt.args, &out, &errOut)
			if (err == nil) != tt.ok {
				t.Fatalf("err %v, want ok=%v", err, tt.ok)
			}
			if !strings.Contains(out.String(), tt.out) {
				t.Errorf("output %q, want %q", out.String(), tt.out)
			}
		})
	}
}

// startDaemon runs the daemon as a process with the software card and
// returns its pid, a client and the socket path; stop sends SIGTERM and
// waits for a clean exit.
func startDaemon(t testing.TB, extra ...string) (pid int, c *sscd.Client, sock string, stop func()) {
	t.Helper()
	pid, c, sock, stop, _ = startDaemonLog(t, extra...)
	return pid, c, sock, stop
}

// lockedBuffer is a bytes.Buffer the daemon process's stderr copier
// writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startDaemonLog is startDaemon that also returns the daemon's log so far.
func startDaemonLog(t testing.TB, extra ...string) (pid int, c *sscd.Client, sock string, stop func(), log func() string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "sscd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock = filepath.Join(dir, "sscd.sock")
	cmd := exec.Command(os.Args[0], append([]string{"--sim", "--hsm", "sim", "--socket", sock}, extra...)...)
	cmd.Env = append(os.Environ(), "SSCD_TEST_MAIN=1")
	stderr := new(lockedBuffer)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("sscd exit: %v\n%s", err, stderr.String())
			}
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Errorf("sscd did not stop on SIGTERM\n%s", stderr.String())
		}
	}
	t.Cleanup(stop)
	c = sscd.Dial(sock)
	t.Cleanup(func() { c.Close() })
	// Ready when it answers (the socket appears just before serving).
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := c.Health(context.Background()); err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("sscd exited: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sscd not serving after 20 s\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cmd.Process.Pid, c, sock, stop, stderr.String
}

func TestDaemonProcess(t *testing.T) {
	_, c, sock, stop := startDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	bas, err := c.InfoBas(ctx, "sim", sscd.InfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(bas, "|张三|") {
		t.Errorf("iReadCardBas %q", bas)
	}
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket: %v, %v", fi, err)
	}
	// An event stream in progress must not hold up the shutdown.
	es, err := c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer es.Close()
	if _, err := es.Next(); err != nil {
		t.Fatal(err)
	}
	stop()
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left after shutdown: %v", err)
	}
}

// TestDaemonProcessBridge: the browser bridge of a daemon process serves the
// allowed origin on the loopback port, and an open event stream on it does
// not hold up the shutdown.
func TestDaemonProcessBridge(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	const origin = "https://ecard.example"
	_, _, _, stop := startDaemon(t, "--bridge-port", strconv.Itoa(port), "--bridge-origin", origin)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	get := func(path, o string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Origin", o)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := get("/v1/readers", origin)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != origin {
		t.Fatalf("readers: %d %v", resp.StatusCode, resp.Header)
	}
	resp = get("/v1/readers", "https://evil.example")
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("foreign origin: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("POST", base+"/v1/readers/sim/info", strings.NewReader(`{"format":"bas"}`))
	req.Header.Set("Origin", origin)
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "|张三|") {
		t.Errorf("info: %d %s", resp.StatusCode, body)
	}
	events := get("/v1/events", origin)
	defer events.Body.Close()
	if events.StatusCode != 200 {
		t.Fatalf("events: %d", events.StatusCode)
	}
	stop()
	if _, err := http.Get(base + "/v1/version"); err == nil {
		t.Error("bridge still listening after shutdown")
	}
}

// BenchmarkIdleRSS reports the resident memory of an idle daemon process
// (the test binary running main, with the software card and PC/SC backend)
// after it served one request.
func BenchmarkIdleRSS(b *testing.B) {
	pid, c, _, _ := startDaemon(b)
	if _, err := c.Info(context.Background(), "sim", sscd.InfoOptions{}); err != nil {
		b.Fatal(err)
	}
	for range b.N {
		// Nothing to repeat: the figure is a state, not a rate.
	}
	kb, err := vmRSS(pid)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(kb)/1024, "idle-RSS-MiB")
}

func vmRSS(pid int) (int, error) { return procStatus(pid, "VmRSS:") }

// procStatus reads one kB figure of /proc/PID/status.
func procStatus(pid int, field string) (int, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field {
			return strconv.Atoi(f[1])
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// TestReloadOnSIGHUP edits the configuration file of a running daemon and
// sends SIGHUP: the new allowlist applies at once; a broken file is
// refused and the running configuration stays.
func TestReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "sscd.yaml")
	write := func(s string) {
		if err := os.WriteFile(conf, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	audit := filepath.Join(dir, "audit.log")
	write("audit:\n  path: " + audit + "\n")
	pid, c, _, stop := startDaemon(t, "--config", conf)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := c.Info(ctx, "sim", sscd.InfoOptions{}); err != nil {
		t.Fatal(err)
	}
	hup := func(wantForbidden bool) {
		t.Helper()
		if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, err := c.Readers(ctx)
			if sscd.IsCode(err, sscd.CodeForbidden) == wantForbidden && (wantForbidden || err == nil) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("after SIGHUP: %v (want forbidden %v)", err, wantForbidden)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	write("audit:\n  path: " + audit + "\nallow_uids: [4242]\n")
	hup(true)
	write("allow_uids: [4242\n") // broken YAML: ignored
	hup(true)
	write("audit:\n  path: " + audit + "\n")
	hup(false)
	data, err := os.ReadFile(audit)
	if err != nil || !strings.Contains(string(data), `"op":"info"`) {
		t.Errorf("audit log %q, %v", data, err)
	}
}

// TestReloadIssueOriginsOnSIGHUP: removing an origin from
// bridge.issue_origins and sending SIGHUP refuses its next step 1 at once,
// while it may still read.
func TestReloadIssueOriginsOnSIGHUP(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	const origin = "https://bank.example"
	dir := t.TempDir()
	conf := filepath.Join(dir, "sscd.yaml")
	write := func(issue string) {
		y := fmt.Sprintf("bridge:\n  port: %d\n  origins: [%s]\n  issue_origins: [%s]\n", port, origin, issue)
		if err := os.WriteFile(conf, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(origin)
	pid, _, _, stop := startDaemon(t, "--config", conf)
	defer stop()
	// A step 1 without write info: bad_request once past the issuing
	// check, origin_not_allowed before it; no card is touched either way.
	step1 := func() (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", fmt.Sprintf("http://127.0.0.1:%d/v1/readers/sim/issue/step1", port), strings.NewReader(`{"force":true}`))
		req.Header.Set("Origin", origin)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(body)
	}
	if code, body := step1(); code != 400 || !strings.Contains(body, "bad_request") {
		t.Fatalf("before: %d %s", code, body)
	}
	write("")
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := step1()
		if code == 403 && strings.Contains(body, "origin_not_allowed") && strings.Contains(body, "bridge.issue_origins") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after SIGHUP: %d %s", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/v1/readers", port), nil)
	req.Header.Set("Origin", origin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("readers after SIGHUP: %d", resp.StatusCode)
	}
}

// BenchmarkLoadRSS reports the resident memory of the daemon process under
// load: 100 clients reading the software card (every request reads the
// card), peak (VmHWM) and after the load.
func BenchmarkLoadRSS(b *testing.B) {
	pid, c, _, _ := startDaemon(b)
	const clients = 100
	var wg sync.WaitGroup
	var next atomic.Int64
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(max(b.N, 2000)) {
				if _, err := c.Info(context.Background(), "sim", sscd.InfoOptions{Fresh: true}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, f := range []string{"VmHWM:", "VmRSS:"} {
		kb, err := procStatus(pid, f)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(kb)/1024, strings.ToLower(strings.TrimSuffix(f, ":"))+"-MiB")
	}
}

// TestStartBadAIDs: an aids file that is not an AID list stops the start
// (not only --check-config) with an error naming the key and the file.
func TestStartBadAIDs(t *testing.T) {
	dir := t.TempDir()
	notAList := filepath.Join(dir, "aids.yaml")
	os.WriteFile(notAList, []byte("aids:\n  - aid: A0000000031010\n"), 0o600) // partial missing
	conf := filepath.Join(dir, "sscd.yaml")
	os.WriteFile(conf, []byte("aids: "+notAList+"\n"), 0o600)
	sock := filepath.Join(dir, "s.sock")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	err := run(ctx, []string{"--config", conf, "--socket", sock}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "aids: "+notAList) || !strings.Contains(err.Error(), `"partial" is missing`) {
		t.Fatalf("start: %v", err)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket created: %v", err)
	}
}

// TestReloadAIDsOnSIGHUP: the aids file of a running daemon process
// follows SIGHUP: a Visa-only list refuses the software card's level-2
// link (bank_app_unsupported); a malformed file is refused with a log line
// naming the key, and the Visa-only list stays; the UnionPay list then
// links the account.
func TestReloadAIDsOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	visa := filepath.Join(dir, "visa.yaml")
	os.WriteFile(visa, []byte("aids:\n  - aid: A0000000031010\n    partial: true\n"), 0o644)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("aids: [\n"), 0o644)
	unionPay, err := filepath.Abs("../../pboc/testdata/unionpay-only.yaml")
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "sscd.yaml")
	write := func(aids string) {
		t.Helper()
		if err := os.WriteFile(conf, []byte("pboc_ca_keys: sim\naids: "+aids+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(visa)
	pid, c, _, stop, log := startDaemonLog(t, "--config", conf)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	level2 := func(n byte) error {
		_, err := c.Link(ctx, "sim", sscd.LinkRequest{Level: 2, Origin: "https://ecard.example", Nonce: bytes.Repeat([]byte{n}, 32), PIN: "123456"}, sscd.CardOptions{})
		return err
	}
	if err := level2(1); !sscd.IsCode(err, sscd.CodeBankAppUnsupported) || !strings.Contains(err.Error(), "A000000333010101") {
		t.Fatalf("Visa-only list: %v", err)
	}
	hup := func() {
		t.Helper()
		if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	write(bad)
	hup()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(log(), "reload failed") {
		if time.Now().After(deadline) {
			t.Fatalf("no refused reload in the log:\n%s", log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if l := log(); !strings.Contains(l, "aids: "+bad) {
		t.Errorf("the refusal does not name the key and file:\n%s", l)
	}
	if err := level2(2); !sscd.IsCode(err, sscd.CodeBankAppUnsupported) {
		t.Fatalf("after the refused reload: %v (want the Visa-only list kept)", err)
	}
	write(unionPay)
	hup()
	deadline = time.Now().Add(10 * time.Second)
	for n := byte(3); ; n++ {
		err := level2(n)
		if err == nil {
			break
		}
		if !sscd.IsCode(err, sscd.CodeBankAppUnsupported) || time.Now().After(deadline) {
			t.Fatalf("after reloading the UnionPay list: %v\n%s", err, log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
