package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sscd"
)

// lockedBuffer collects log output written by the servers' goroutines.
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

// TestHandlerPanic: a panicking handler answers a plain internal error that
// does not quote the panic value; the log gets the value, the stack, the
// method and the route pattern (not the query), and the servers' own errors
// go to the same logger.
func TestHandlerPanic(t *testing.T) {
	var logs lockedBuffer
	logger := slog.New(slog.NewTextHandler(io.MultiWriter(&logs, t.Output()), nil))
	d, err := New(Config{Logger: logger}, reader.Open(simBackend(t)))
	if err != nil {
		t.Fatal(err)
	}
	if d.srv.ErrorLog == nil || d.bridgeSrv.ErrorLog == nil {
		t.Error("an HTTP server logs its errors to stderr")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/readers/{reader}/boom", func(http.ResponseWriter, *http.Request) {
		panic("boom: secret value")
	})
	mux.HandleFunc("GET /v1/late", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		panic("late")
	})
	d.srv.Handler = d.recoverer(errorPages(mux))

	dir, err := os.MkdirTemp("", "sscd")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "sscd.sock")
	l, err := Listen(sock, "")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- d.Serve(l) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	defer hc.CloseIdleConnections()
	get := func(path string) (int, []byte) {
		t.Helper()
		resp, err := hc.Get("http://sscd" + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}

	status, body := get("/v1/readers/r0/boom?q=querysecret")
	var env sscd.Envelope
	if err := json.Unmarshal(body, &env); err != nil || env.Error == nil {
		t.Fatalf("answer %d %s: want an error envelope (%v)", status, body, err)
	}
	if status != http.StatusInternalServerError || env.Error.Code != sscd.CodeInternal || env.Error.Message != "internal error" {
		t.Errorf("answer %d %s: want 500, code internal, message \"internal error\"", status, body)
	}
	if strings.Contains(string(body), "secret") {
		t.Errorf("answer %s quotes the panic value", body)
	}
	out := logs.String()
	for _, want := range []string{
		"level=ERROR", `msg="handler panic"`, "method=GET", `route="GET /v1/readers/{reader}/boom"`,
		`panic="boom: secret value"`, "goroutine ", "TestHandlerPanic",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "querysecret") {
		t.Errorf("log quotes the query:\n%s", out)
	}

	// A panic after the header: the second WriteHeader is an error of the
	// http.Server, which must reach the daemon's logger.
	get("/v1/late")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "superfluous response.WriteHeader") {
		if time.Now().After(deadline) {
			t.Fatalf("the server's error did not reach the logger:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
