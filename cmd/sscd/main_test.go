package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("hsm: ftp://nope\n"), 0o600)
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
func startDaemon(t testing.TB) (pid int, c *sscd.Client, sock string, stop func()) {
	t.Helper()
	dir, err := os.MkdirTemp("", "sscd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock = filepath.Join(dir, "sscd.sock")
	cmd := exec.Command(os.Args[0], "--sim", "--hsm", "sim", "--socket", sock)
	cmd.Env = append(os.Environ(), "SSCD_TEST_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
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
	return cmd.Process.Pid, c, sock, stop
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

func vmRSS(pid int) (int, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			return strconv.Atoi(f[1])
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
