package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sscard/ssc/internal/hostile"
	"github.com/sscard/ssc/internal/pcsctest"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/reader/pcsc"
	"github.com/sscard/ssc/sscd"
)

// The hostile local user of issue 18: floods of connections and slow
// bodies on both listeners, and of refused requests into the audit log.

// floodEnv, set in the environment of the test binary, makes it the
// flooding child (TestMain): it holds floodN connections to each listener,
// half of them sending headers slowly, half a body slowly, one byte per
// connection a second, until its standard input closes.
const floodEnv = "SSCD_TEST_FLOOD"

// nobody is the uid and gid of the flooding child: a user outside the
// socket's group when the test is about the bridge, inside it (the socket's
// group is set to it) when it is about the per-uid cap.
const nobody = 65534

// outsider is a user outside the socket's group: it floods the bridge.
const outsider = 65533

// floodN is the number of connections held to each listener: the issue's
// 2,000, well past both the caps and the file limit the test sets.
const floodN = 2000

// floodDaemon is a daemon over the shared pcscd with a software card in
// vpcd slot 0, serving its socket (group nobody's, in a directory nobody
// can traverse into) and its bridge.
type floodDaemon struct {
	d    *Daemon
	c    *sscd.Client
	sock string
	port int
	name string
	stop func() // shuts the daemon down (once)
}

func startFloodDaemon(t *testing.T, cfg Config) *floodDaemon {
	t.Helper()
	env := pcsctest.Shared(t)
	f := &floodDaemon{name: env.ReaderName(0)}
	env.Insert(t, 0, newCard(t, "gen3", nil))
	dir, err := os.MkdirTemp("", "sscd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	f.sock = filepath.Join(dir, "sscd.sock")
	f.port = freePort(t)
	cfg.Socket = f.sock
	cfg.Group = strconv.Itoa(nobody)
	cfg.Bridge = BridgeConfig{Port: f.port, Origins: []string{testOrigin}}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	f.d, err = New(cfg, reader.Open(pcsc.New()))
	if err != nil {
		t.Fatal(err)
	}
	l, err := Listen(cfg.Socket, cfg.Group)
	if err != nil {
		t.Fatal(err)
	}
	bl, err := ListenBridge(f.port)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 2)
	go func() { served <- f.d.Serve(l) }()
	go func() { served <- f.d.ServeBridge(bl) }()
	f.c = sscd.Dial(f.sock)
	var once sync.Once
	f.stop = func() {
		once.Do(func() {
			f.c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := f.d.Shutdown(ctx); err != nil {
				t.Errorf("shutdown: %v", err)
			}
			for range 2 {
				if err := <-served; err != nil {
					t.Errorf("serve: %v", err)
				}
			}
		})
	}
	t.Cleanup(f.stop)
	waitReader(t, f.c, f.name, func(r sscd.Reader, ok bool) bool { return r.CardPresent })
	return f
}

// health asks GET /v1/health on a connection of its own.
func (f *floodDaemon) health(ctx context.Context) error {
	hc := rawClient(f.sock)
	hc.Transport.(*http.Transport).DisableKeepAlives = true
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://sscd/v1/health", nil)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("health: HTTP %d", resp.StatusCode)
	}
	return nil
}

// bridgeInfo asks the basic information through the bridge, as the page
// of the allowed origin does.
func (f *floodDaemon) bridgeInfo(ctx context.Context) (int, sscd.Code, error) {
	req, _ := http.NewRequestWithContext(ctx, "POST", fmt.Sprintf("http://127.0.0.1:%d/v1/readers/%s/info", f.port, f.name), strings.NewReader("{}"))
	req.Header.Set("Origin", testOrigin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var env sscd.Envelope
	if json.Unmarshal(data, &env) == nil && env.Error != nil {
		return resp.StatusCode, env.Error.Code, nil
	}
	return resp.StatusCode, "", nil
}

// metric returns the value of the series line starting with prefix in the
// daemon's /metrics (-1: absent).
func (f *floodDaemon) metric(t *testing.T, prefix string) float64 {
	t.Helper()
	resp, err := rawClient(f.sock).Get("http://sscd/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			v, _ := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v
		}
	}
	return -1
}

// rssKB is the resident set of this process (the daemon under test runs
// in it), from /proc/self/status.
func rssKB() int {
	data, _ := os.ReadFile("/proc/self/status")
	for l := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return n
		}
	}
	return 0
}

// lowerFileLimit sets this process's soft file limit to what it has open
// plus extra (restored at the end of the test), so that a daemon that
// keeps every flooding connection runs out of descriptors as it would in
// production, and one that caps them does not.
func lowerFileLimit(t *testing.T, extra uint64) uint64 {
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	lim := old
	lim.Cur = uint64(len(fds)) + extra
	if lim.Cur > old.Cur {
		lim.Cur = old.Cur
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
	return lim.Cur
}

// startFlood runs the flooding child as nobody; it returns once the child
// holds its connections, and the returned function ends the flood.
func startFlood(t *testing.T, f *floodDaemon, uid uint32) (stop func()) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Fatal("the flood tests run the flooder as another user: run them as root (as CI does)")
	}
	// The test binary, where nobody may run it.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	for d := filepath.Dir(dir); d != "/" && d != "."; d = filepath.Dir(d) {
		if strings.HasPrefix(d, os.TempDir()+"/") {
			os.Chmod(d, 0o755)
		}
	}
	bin := filepath.Join(dir, "flood")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), floodEnv+"=1",
		"SSCD_FLOOD_SOCK="+f.sock, "SSCD_FLOOD_PORT="+strconv.Itoa(f.port), "SSCD_FLOOD_N="+strconv.Itoa(floodN))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("flooder: %v", err)
	}
	t.Logf("flooder (uid %d): %s", uid, strings.TrimSpace(line))
	var once sync.Once
	stop = func() {
		once.Do(func() {
			stdin.Close()
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-done
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// floodChild is the flooder: see floodEnv.
func floodChild() int {
	sock, port := os.Getenv("SSCD_FLOOD_SOCK"), os.Getenv("SSCD_FLOOD_PORT")
	n, _ := strconv.Atoi(os.Getenv("SSCD_FLOOD_N"))
	var conns []net.Conn
	dial := func(network, addr, head string) int {
		held := 0
		for i := range n {
			c, err := net.DialTimeout(network, addr, 2*time.Second)
			if err != nil {
				continue
			}
			h := head
			if i%2 == 0 {
				h = head[:len(head)/2] // slow headers: half of them now
			}
			c.SetWriteDeadline(time.Now().Add(time.Second))
			if _, err := io.WriteString(c, h); err != nil {
				c.Close()
				continue
			}
			conns = append(conns, c)
			held++
		}
		return held
	}
	body := "POST /v1/readers/r/pin/verify HTTP/1.1\r\nHost: %s\r\nOrigin: " + testOrigin +
		"\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{\"pin\":\""
	s := dial("unix", sock, fmt.Sprintf(body, "sscd"))
	b := dial("tcp4", "127.0.0.1:"+port, fmt.Sprintf(body, "127.0.0.1:"+port))
	fmt.Printf("dialled and wrote to %d socket and %d bridge connections of %d each\n", s, b, n)
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(done) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	stop := time.After(2 * time.Minute) // bounded whatever the parent does
	for {
		select {
		case <-done:
			return 0
		case <-stop:
			return 0
		case <-tick.C:
			// One more byte on each: a trickle no idle timeout sees.
			for _, c := range conns {
				c.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
				c.Write([]byte("1"))
			}
		}
	}
}

// TestConnectionFlood (issue 18, defect 3): another local user holds 2,000
// slow connections on the socket and 2,000 on the bridge, and a user
// outside the socket's group 2,000 more on the bridge, more than the file
// limit; a client of the socket is still served within its deadline,
// and /v1/health answers, throughout. The bridge's own page gets an
// answer (its card, or too_many_connections) in bounded time, never a hang.
func TestConnectionFlood(t *testing.T) {
	f := startFloodDaemon(t, Config{HSM: "sim"})
	ctx := ctxT(t)
	if _, err := f.c.Info(ctx, f.name, sscd.InfoOptions{}); err != nil {
		t.Fatal(err)
	}
	limit := lowerFileLimit(t, 400)
	rssBefore := rssKB()
	// nobody is in the socket's group and floods both listeners; another
	// user, outside it, can only reach the bridge (its socket dials fail).
	stopFlood := startFlood(t, f, nobody)
	stopOutsider := startFlood(t, f, outsider)
	bound := DefaultOpTimeout + 5*time.Second
	served, bridgeOK, bridgeRefused := 0, 0, 0
	rssPeak := 0
	for end := time.Now().Add(8 * time.Second); time.Now().Before(end); time.Sleep(300 * time.Millisecond) {
		cctx, cancel := context.WithTimeout(ctx, bound)
		start := time.Now()
		_, err := f.c.Info(cctx, f.name, sscd.InfoOptions{Fresh: true})
		if err != nil {
			cancel()
			t.Fatalf("socket client during the flood (after %v): %v", time.Since(start), err)
		}
		if err := f.health(cctx); err != nil {
			cancel()
			t.Fatalf("health during the flood: %v", err)
		}
		status, code, err := f.bridgeInfo(cctx)
		cancel()
		switch {
		case err != nil:
			t.Fatalf("bridge during the flood: %v", err)
		case status == 200:
			bridgeOK++
		case code == "too_many_connections":
			bridgeRefused++
		default:
			t.Fatalf("bridge during the flood: HTTP %d %s", status, code)
		}
		served++
		rssPeak = max(rssPeak, rssKB())
	}
	refused := f.metric(t, `sscd_connections_refused_total{listener="socket"}`)
	brefused := f.metric(t, `sscd_connections_refused_total{listener="bridge"}`)
	stopFlood()
	stopOutsider()
	t.Logf("file limit %d; %d rounds served (bridge page: %d answered, %d too_many_connections); refused connections: socket %.0f, bridge %.0f; RSS %d kB before, %d kB peak under the flood, %d kB after",
		limit, served, bridgeOK, bridgeRefused, refused, brefused, rssBefore, rssPeak, rssKB())
	if refused <= 0 || brefused <= 0 {
		t.Errorf("refused connections: socket %v, bridge %v: want both counted", refused, brefused)
	}
	// Served again once the flood is over.
	if _, err := f.c.Info(ctx, f.name, sscd.InfoOptions{Fresh: true}); err != nil {
		t.Fatal(err)
	}
	if err := f.health(ctx); err != nil {
		t.Fatal(err)
	}
	hostile.Record(t, "daemon socket", "slow-header and slow-body connection flood by a group member, file limit lowered: a card read and health keep answering", map[string]int{"connections": 2 * floodN})
	hostile.Record(t, "bridge", "connection flood by a user outside the socket's group: socket clients keep being served, bridge pages get 429", map[string]int{"connections": floodN})
}

// TestAuditFlood (issue 18, defect 4): 4,000 refused requests with 15 KB
// reader names leave the audit lines of the card operations before them on
// disk; no line is long; the refusals are counted in the metrics and
// summarised in one line.
func TestAuditFlood(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	f := startFloodDaemon(t, Config{HSM: "sim", Audit: AuditConfig{Path: path, MaxSize: 1 << 20, Keep: 5}})
	ctx := ctxT(t)
	for range 3 {
		if _, err := f.c.Info(ctx, f.name, sscd.InfoOptions{Fresh: true}); err != nil {
			t.Fatal(err)
		}
	}
	const floods = 4000
	name := strings.Repeat("A", 15000)
	hc := rawClient(f.sock)
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < floods; i += 8 {
				resp, err := hc.Get("http://sscd/v1/readers/" + name + "/info")
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				codes[resp.StatusCode]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if codes[404] != floods {
		t.Fatalf("answers %v: want %d × 404 reader_not_found", codes, floods)
	}
	if n := f.metric(t, `sscd_requests_refused_total{code="reader_not_found",op="info"}`); n != floods {
		t.Errorf("sscd_requests_refused_total: %v, want %d", n, floods)
	}
	f.stop() // writes the summary and closes the log
	files, _ := filepath.Glob(path + "*")
	var ok, summaries, summarised, total, long, echoes int
	for _, fn := range files {
		data, err := os.ReadFile(fn)
		if err != nil {
			t.Fatal(err)
		}
		for l := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
			if l == "" {
				continue
			}
			total++
			if len(l) > 2048 {
				long++
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("%s: %v", fn, err)
			}
			if strings.Contains(l, "AAAAAAAAAAAAAAAA") {
				echoes++
			}
			switch {
			case m["op"] == "info" && m["outcome"] == "ok" && m["card"] != nil:
				ok++
			case m["client"] == "summary" && m["op"] == "info" && m["outcome"] == "reader_not_found":
				summaries++
				summarised += int(m["count"].(float64))
			}
		}
	}
	t.Logf("%d audit files, %d lines: %d card reads, %d summaries", len(files), total, ok, summaries)
	if long > 0 || echoes > 0 {
		t.Errorf("%d lines longer than 2 KB, %d echoing the reader name of the request", long, echoes)
	}
	if ok != 3 {
		t.Errorf("%d audit lines of the card reads before the flood, want 3", ok)
	}
	// One a minute: a slow run (-race) may span two windows.
	if summarised != floods || summaries < 1 || summaries > 3 {
		t.Errorf("%d summary lines of %d reader_not_found, want 1 to 3 of %d", summaries, summarised, floods)
	}
	hostile.Record(t, "audit", "refused requests with 15 KB reader names after card reads: the card lines survive, no line long or echoing", map[string]int{"requests": floods})
}

// TestRequestRules (issue 18, defect 9) through both listeners: HEAD runs
// no handler (no card operation), an unparsable query is a bad request, a
// reader name that decodes to a slash is reader_not_found, and the HTTP
// servers' own errors reach the daemon's log.
func TestRequestRules(t *testing.T) {
	var logBuf syncBuffer
	f := startFloodDaemon(t, Config{HSM: "sim", Logger: slogTo(&logBuf)})
	hc := rawClient(f.sock)
	before := f.metric(t, `sscd_operations_total{op="info",outcome="ok"}`)
	do := func(method, url string, hdr map[string]string, body string) (*http.Response, sscd.Code) {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		c := hc
		if strings.HasPrefix(url, "http://127.0.0.1") {
			c = &http.Client{}
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		var env sscd.Envelope
		json.Unmarshal(data, &env)
		if env.Error != nil {
			return resp, env.Error.Code
		}
		return resp, ""
	}
	bridge := fmt.Sprintf("http://127.0.0.1:%d", f.port)
	bh := map[string]string{"Origin": testOrigin, "Content-Type": "application/json"}
	for _, tt := range []struct {
		name, method, url string
		hdr               map[string]string
		status            int
		code              sscd.Code
	}{
		{"HEAD info", "HEAD", "http://sscd/v1/readers/" + f.name + "/info", nil, 405, ""},
		{"HEAD pin", "HEAD", "http://sscd/v1/readers/" + f.name + "/pin", nil, 405, ""},
		{"HEAD bridge info", "HEAD", bridge + "/v1/readers/" + f.name + "/info", bh, 405, ""},
		{"bad insertion escape", "GET", "http://sscd/v1/readers/" + f.name + "/info?insertion=%zz", nil, 400, sscd.CodeBadRequest},
		{"bad escape other key", "GET", "http://sscd/v1/readers/" + f.name + "/pin?x=%zz", nil, 400, sscd.CodeBadRequest},
		{"bad escape bridge", "POST", bridge + "/v1/readers/" + f.name + "/info?insertion=%zz", bh, 400, sscd.CodeBadRequest},
		{"encoded slash reader", "GET", "http://sscd/v1/readers/%2F/info", nil, 404, sscd.CodeReaderNotFound},
		{"encoded slashes pin", "GET", "http://sscd/v1/readers/%2F%2E%2E%2F/pin", nil, 404, sscd.CodeReaderNotFound},
		{"encoded slash bridge", "POST", bridge + "/v1/readers/%2F/info", bh, 404, sscd.CodeReaderNotFound},
		{"still not found", "GET", "http://sscd/v1/nope/%2F/info", nil, 404, sscd.CodeNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := ""
			if tt.method == "POST" {
				body = "{}"
			}
			resp, code := do(tt.method, tt.url, tt.hdr, body)
			if resp.StatusCode != tt.status || code != tt.code {
				t.Errorf("HTTP %d %q, want %d %q", resp.StatusCode, code, tt.status, tt.code)
			}
		})
	}
	if after := f.metric(t, `sscd_operations_total{op="info",outcome="ok"}`); after != before {
		t.Errorf("info operations %v → %v: a HEAD ran the handler", before, after)
	}
	// The servers' own errors (accept errors under a file-limit flood, a
	// handler's superfluous WriteHeader) reach the daemon's logger, on
	// both listeners.
	for name, srv := range map[string]*http.Server{"socket": f.d.srv, "bridge": f.d.bridgeSrv} {
		if srv.ErrorLog == nil {
			t.Fatalf("%s server: no ErrorLog (its errors would go to stderr)", name)
		}
		srv.ErrorLog.Printf("http: probe from the %s server", name)
		if !strings.Contains(logBuf.String(), "probe from the "+name+" server") {
			t.Errorf("%s server's errors are not in the daemon's log", name)
		}
	}
}

func slogTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestConnectionCaps: past the socket's cap a connection may only ask for
// /v1/health (its slot is kept for monitoring), past that too it gets
// too_many_connections at once; event streams have a cap of their own; a
// slot is free again when its connection closes.
func TestConnectionCaps(t *testing.T) {
	d, _, sock := testDaemon(t, Config{Limits: LimitsConfig{MaxConns: 3, MaxConnsPerUID: 3, HealthSlots: 1, MaxStreams: 1}},
		simBackend(t, newCard(t, "gen3", nil)))
	get := func(path string) (*http.Response, sscd.Code, error) {
		c, err := net.DialTimeout("unix", sock, time.Second)
		if err != nil {
			return nil, "", err
		}
		hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext:       func(context.Context, string, string) (net.Conn, error) { return c, nil },
		}}
		resp, err := hc.Get("http://sscd" + path)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		var env sscd.Envelope
		json.NewDecoder(resp.Body).Decode(&env)
		if env.Error != nil {
			return resp, env.Error.Code, nil
		}
		return resp, "", nil
	}
	// One event stream: the second is refused.
	sc, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(sc, "GET /v1/events HTTP/1.1\r\nHost: sscd\r\n\r\n")
	br := bufio.NewReader(sc)
	if l, err := br.ReadString('\n'); err != nil || !strings.Contains(l, "200") {
		t.Fatalf("event stream: %q %v", l, err)
	}
	if resp, code, err := get("/v1/events"); err != nil || resp.StatusCode != 429 || code != sscd.CodeTooMany {
		t.Fatalf("second stream: %v %s %v, want 429 too_many_connections", resp, code, err)
	}
	// Wait for the daemon to count what it holds (a refused or closed
	// connection is given back when the server closes its end).
	waitOpen := func(open, health int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			d.sockLimit.mu.Lock()
			o, h := d.sockLimit.open, d.sockLimit.health
			d.sockLimit.mu.Unlock()
			if o == open && h == health {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d open, %d in health slots: want %d, %d", o, h, open, health)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitOpen(1, 0)
	// Fill the cap with idle connections (the stream holds one).
	var idle []net.Conn
	for range 2 {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	waitOpen(3, 0)
	if resp, code, err := get("/v1/readers"); err != nil || resp.StatusCode != 429 || code != sscd.CodeTooMany {
		t.Fatalf("past the cap: %v %s %v, want 429 too_many_connections", resp, code, err)
	}
	waitOpen(3, 0) // the health slot that answered is free again
	if resp, _, err := get("/v1/health"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("health past the cap: %v %v", resp, err)
	}
	// The health slot held: the next one is refused at once.
	waitOpen(3, 0)
	hold, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	waitOpen(3, 1)
	if resp, code, err := get("/v1/health"); err != nil || resp.StatusCode != 429 || code != sscd.CodeTooMany {
		t.Fatalf("past the cap and the health slot: %v %s %v", resp, code, err)
	}
	hold.Close()
	for _, c := range idle {
		c.Close()
	}
	sc.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, _, err := get("/v1/readers")
		if err == nil && resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slots not given back: %v %v", resp, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitOpen(0, 0)
}

// TestSlowBody: a body that trickles is cut at read_timeout with the
// connection, and an answer the client does not read is cut at
// write_timeout: neither holds a slot for long.
func TestSlowBody(t *testing.T) {
	_, _, sock := testDaemon(t, Config{Limits: LimitsConfig{ReadTimeout: Duration(time.Second)}}, simBackend(t, newCard(t, "gen3", nil)))
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST /v1/readers/r0/pin/verify HTTP/1.1\r\nHost: sscd\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, c) // until the daemon closes
		done <- err
	}()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case <-done:
			if el := time.Since(start); el > 10*time.Second {
				t.Fatalf("slow body held %v", el)
			}
			hostile.Record(t, "daemon socket", "a body trickled one byte every 200 ms: cut at read_timeout", map[string]int{"connections": 1})
			return
		case <-tick.C:
			c.Write([]byte(" ")) // a trickle
		case <-timeout:
			t.Fatal("slow body held past read_timeout + 14 s")
		}
	}
}
