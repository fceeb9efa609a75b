// Package redistest starts a private redis-server for a test: on a free
// loopback TCP port, with no persistence (no RDB, no AOF), in a temporary
// directory, stopped at the end of the test (and killed with the test
// process, PR_SET_PDEATHSIG on Linux).
//
// When redis-server is not installed (Debian package redis-server) Start
// skips the test — unless SSC_REQUIRE_REDIS=1 or CI=true, then it fails it.
// A server that is there but does not come up always fails the test.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Server is a running private redis-server.
type Server struct {
	// Addr is host:port on loopback.
	Addr string
	// URL is redis://Addr/0.
	URL string

	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

// Require reports whether Redis tests must run (SSC_REQUIRE_REDIS=1 or
// CI=true): then a missing redis-server fails instead of skipping.
func Require() bool {
	return os.Getenv("SSC_REQUIRE_REDIS") == "1" || strings.EqualFold(os.Getenv("CI"), "true")
}

// Start starts a private redis-server for t and stops it when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		for _, p := range []string{"/usr/bin/redis-server", "/usr/sbin/redis-server"} {
			if _, e := os.Stat(p); e == nil {
				bin, err = p, nil
				break
			}
		}
	}
	if err != nil {
		msg := "redis-server not found (Debian package redis-server)"
		if Require() {
			t.Fatal(msg + "; SSC_REQUIRE_REDIS=1 or CI=true: failing instead of skipping")
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	var last error
	for range 5 { // a port found free may be taken before redis binds it
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		s, err := start(bin, dir, port)
		if err == nil {
			t.Cleanup(s.Stop)
			return s
		}
		last = err
	}
	t.Fatalf("redis-server did not start: %v", last)
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func start(bin, dir string, port int) (*Server, error) {
	logPath := filepath.Join(dir, "redis-"+strconv.Itoa(port)+".log")
	cmd := exec.Command(bin,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--protected-mode", "yes",
		"--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no",
		"--logfile", logPath, "--loglevel", "warning")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	s := &Server{Addr: addr, URL: "redis://" + addr + "/0", cmd: cmd, done: make(chan struct{}), log: logPath}
	go func() { cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			data, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("redis-server exited: %s", strings.TrimSpace(string(data)))
		default:
		}
		if ping(addr) == nil {
			return s, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.Stop()
	return nil, fmt.Errorf("redis-server on %s did not answer PING within 10 s", addr)
}

// ping sends one RESP PING and expects +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// Kill kills the server with SIGKILL (its port then refuses connections)
// and waits for it to exit.
func (s *Server) Kill() {
	s.signal(syscall.SIGKILL)
	<-s.done
}

// Pause stops the server with SIGSTOP: connections are accepted by the
// kernel but nothing answers. Resume continues it.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume continues a paused server.
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	select {
	case <-s.done:
	default:
		s.cmd.Process.Signal(sig)
	}
}

// Stop ends the server (SIGCONT in case it is paused, then SIGKILL: there
// is nothing to persist) and waits for it.
func (s *Server) Stop() {
	s.Resume()
	s.Kill()
}
