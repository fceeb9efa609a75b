package ecardplatform_test

import (
	"context"
	"flag"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sscard/ssc/examples/ecardplatform"
	"github.com/sscard/ssc/internal/daemon"
	"github.com/sscard/ssc/internal/pcsctest"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/reader/pcsc"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sm/simkeys"
	"github.com/sscard/ssc/sscd"
)

var update = flag.Bool("update", false, "write the screenshots of the counter page to docs/screenshots")

// testPIN is the software card's PKI PIN.
const testPIN = "123456"

// chromium finds the browser: $SSC_CHROMIUM, or chromium / chromium-browser
// / google-chrome in PATH. Without one the test is skipped, or fails when
// SSC_REQUIRE_BROWSER=1 (scripts/test.sh).
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SSC_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("SSC_REQUIRE_BROWSER") == "1" {
		t.Fatal("no Chromium found (apt-get install chromium), and SSC_REQUIRE_BROWSER=1 requires the browser tests")
	}
	t.Skip("no Chromium found (apt-get install chromium); set SSC_REQUIRE_BROWSER=1 to fail instead")
	return ""
}

// stack is one browser test's world: the shared pcscd with its vpcd
// slots, the reader daemon with its browser bridge, the platform, and a
// headless Chromium.
type stack struct {
	env       *pcsctest.Env
	sock      string
	bridge    string // http://127.0.0.1:PORT
	origin    string // the platform's: http://localhost:PORT
	platform  *ecardplatform.Server
	browser   context.Context
	consoleMu sync.Mutex
	console   []string // the page's console and exceptions
}

// loopback listens on a free port of 127.0.0.1.
func loopback(t *testing.T) (net.Listener, int) {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l, l.Addr().(*net.TCPAddr).Port
}

func serve(t *testing.T, l net.Listener, h http.Handler) {
	t.Helper()
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
	})
}

func newStack(t *testing.T) *stack {
	t.Helper()
	exe := chromium(t)
	s := &stack{env: pcsctest.Shared(t)}

	// The platform, reached at http://localhost:PORT.
	pl, pport := loopback(t)
	s.origin = "http://localhost:" + strconv.Itoa(pport)
	bl, bport := loopback(t)
	s.bridge = "http://127.0.0.1:" + strconv.Itoa(bport)
	roots, err := simkeys.RootPool()
	if err != nil {
		t.Fatal(err)
	}
	s.platform, err = ecardplatform.New(ecardplatform.Config{Origin: s.origin, Bridge: s.bridge, Roots: roots, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, pl, s.platform.Handler())

	// The daemon over the shared pcscd, its bridge allowing the platform.
	dir, err := os.MkdirTemp("", "sscd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s.sock = filepath.Join(dir, "sscd.sock")
	cfg := daemon.Config{
		Socket:     s.sock,
		HSM:        "sim",
		PBOCCAKeys: "sim",
		Bridge:     daemon.BridgeConfig{Port: bport, Origins: []string{s.origin}, PINOrigins: []string{s.origin}, AllowHTTPLocalhost: true},
		Logger:     slog.New(slog.NewTextHandler(t.Output(), nil)),
	}
	d, err := daemon.New(cfg, reader.Open(pcsc.New()))
	if err != nil {
		t.Fatal(err)
	}
	sl, err := daemon.Listen(cfg.Socket, "")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 2)
	go func() { served <- d.Serve(sl) }()
	go func() { served <- d.ServeBridge([]net.Listener{bl}) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.Shutdown(ctx); err != nil {
			t.Errorf("daemon shutdown: %v", err)
		}
		for range 2 {
			if err := <-served; err != nil {
				t.Errorf("daemon serve: %v", err)
			}
		}
	})

	// Headless Chromium (root in CI: no sandbox).
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "zh-CN"),
		chromedp.WindowSize(1100, 760),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	// Start the browser now, bounded (the first Run must not have a
	// timeout of its own: it would stop the browser).
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(bctx) }()
	select {
	case err := <-started:
		if err != nil {
			bcancel()
			acancel()
			t.Fatalf("start Chromium %s: %v", exe, err)
		}
	case <-time.After(30 * time.Second):
		bcancel()
		acancel()
		t.Fatalf("Chromium %s did not start within 30 s", exe)
	}
	// The page's console and uncaught exceptions, for the log (and to
	// check that the PIN never reaches them).
	consoleDone := make(chan struct{})
	go func() {
		defer close(consoleDone)
		for m, err := range chromedp.Console(bctx) {
			if err != nil {
				return
			}
			s.consoleMu.Lock()
			s.console = append(s.console, m.String())
			s.consoleMu.Unlock()
		}
	}()
	s.browser = bctx
	t.Cleanup(func() {
		bcancel()
		acancel()
		<-consoleDone
		s.consoleMu.Lock()
		defer s.consoleMu.Unlock()
		for _, l := range s.console {
			t.Logf("page %s", l)
			if strings.Contains(l, testPIN) {
				t.Errorf("the PIN appeared in the page's console: %s", l)
			}
		}
	})
	return s
}

// run runs browser actions, bounded by 20 s.
func (s *stack) run(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(s.browser, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// text returns the text of the element sel ("" when absent).
func (s *stack) text(t *testing.T, sel string) string {
	t.Helper()
	return eval[string](t, s, fmt.Sprintf(`(document.querySelector(%q)||{}).textContent||""`, sel))
}

// eval evaluates a JavaScript expression in the page, bounded by 20 s.
func eval[T any](t *testing.T, s *stack, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(s.browser, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitText waits (at most 20 s) until the text of sel contains every want.
func (s *stack) waitText(t *testing.T, sel string, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := s.text(t, sel)
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(got, w)
		}
		if ok {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: text %q does not contain %q after 20 s (status %q)", sel, got, want, s.text(t, "#status"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// screenshot saves the page as PNG: into docs/screenshots with -update,
// else into the test's temporary directory.
func (s *stack) screenshot(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(s.browser, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := t.TempDir()
	if *update {
		dir = filepath.Join("..", "..", "docs", "screenshots")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitIdentified waits until the daemon has looked at the card of the
// reader (its one probe per insertion is over).
func (s *stack) waitIdentified(t *testing.T, name string) sscd.Reader {
	t.Helper()
	c := sscd.Dial(s.sock)
	defer c.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		rs, err := c.Readers(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.Name == name && r.CardPresent && r.Kind != sscd.KindUnknown {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon did not identify the card in %q within 15 s: %+v", name, rs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func gen3(t *testing.T) sim.Chip {
	t.Helper()
	p, err := sim.Builtin("gen3")
	if err != nil {
		t.Fatal(err)
	}
	c, err := sim.New(p, sim.Options{Mode: sim.Contact})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestBrowserCounterLink is the clerk's flow: the page lists the readers,
// the card is inserted, a wrong PIN is reported with the tries left, the
// right one links the card at level 2 and the platform verified it.
func TestBrowserCounterLink(t *testing.T) {
	s := newStack(t)
	slot0 := s.env.ReaderName(0)
	s.run(t, "open the counter page", chromedp.Navigate(s.origin+"/"))
	s.waitText(t, "#service", "Card reader service connected")
	s.waitText(t, "#readers", slot0, "no card")
	s.screenshot(t, "counter-1-loaded.png")

	name, _ := s.env.Insert(t, 0, gen3(t))
	s.waitText(t, "#events", "card inserted", name)
	s.waitText(t, "#readers", "social security card", "gen 3")
	s.screenshot(t, "counter-2-card-inserted.png")

	// Read card: the basic information through the bridge.
	s.run(t, "read the card", chromedp.Click(chromedp.CSS("#read")))
	s.waitText(t, "#result", "张三", "A12345678")

	// A wrong PIN: the tries left, in clerk words.
	s.run(t, "wrong PIN", chromedp.SendKeys(chromedp.CSS("#pin"), "000000"), chromedp.Click(chromedp.CSS("#link2")))
	s.waitText(t, "#status", "PIN 错误，还可尝试 2 次", "Wrong PIN, 2 tries left")
	s.screenshot(t, "counter-3-wrong-pin.png")
	if _, refused, _ := s.platform.Stats(); refused != 0 {
		t.Fatalf("the platform saw a bundle after a wrong PIN (%d refused)", refused)
	}

	s.run(t, "link level 2", chromedp.SendKeys(chromedp.CSS("#pin"), testPIN), chromedp.Click(chromedp.CSS("#link2")))
	got := s.waitText(t, "#result", "已验证", "Verified", "张三", "A12345678", "621799*********4561")
	if strings.Contains(got, "6217991000001234561") {
		t.Errorf("the full PAN is on the page: %q", got)
	}
	pin := eval[string](t, s, `document.getElementById("pin").value`)
	if pin != "" {
		t.Errorf("the PIN field was not cleared: %d characters left", len(pin))
	}
	s.screenshot(t, "counter-4-verified.png")

	// The platform really verified the bundle (not just the page saying so).
	verified, refused, last := s.platform.Stats()
	if verified != 1 || refused != 0 || !last.Verified || last.Level != 2 || last.Card == nil || last.Card.Name != "张三" ||
		last.Bank == nil || last.Bank.PANMasked != "621799*********4561" {
		t.Fatalf("platform: %d verified, %d refused, last %+v", verified, refused, last)
	}
}

// countingChip counts the APDUs the card receives.
type countingChip struct {
	sim.Chip
	n atomic.Int64
}

func (c *countingChip) Transmit(cmd []byte) []byte {
	c.n.Add(1)
	return c.Chip.Transmit(cmd)
}

// evilPage is a page of an origin the bridge does not allow: it tries to
// read the readers, open the event stream and link the card, and writes
// what it got into the DOM.
var evilPage = template.Must(template.New("evil").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>not the platform</title></head><body>
<div id="readers">pending</div><div id="link">pending</div><div id="events">pending</div><div id="opaque">pending</div>
<script>
const bridge = {{.Bridge}}, reader = {{.Reader}};
const out = (id, s) => { document.getElementById(id).textContent = s; };
fetch(bridge + '/v1/readers').then(r => r.text()).then(t => out('readers', 'read: ' + t), e => out('readers', 'failed: ' + e.name));
fetch(bridge + '/v1/readers/' + encodeURIComponent(reader) + '/link', {method: 'POST', headers: {'Content-Type': 'application/json'},
  body: JSON.stringify({level: 1, nonce: '00'.repeat(32), pin: '123456'})})
  .then(r => r.text()).then(t => out('link', 'read: ' + t), e => out('link', 'failed: ' + e.name));
fetch(bridge + '/v1/readers/' + encodeURIComponent(reader) + '/link', {method: 'POST', mode: 'no-cors', headers: {'Content-Type': 'text/plain'},
  body: JSON.stringify({level: 1, nonce: '00'.repeat(32), pin: '123456'})})
  .then(async r => out('opaque', 'type ' + r.type + ', status ' + r.status + ', body ' + JSON.stringify(await r.text())), e => out('opaque', 'failed: ' + e.name));
const es = new EventSource(bridge + '/v1/events');
es.onmessage = (m) => out('events', 'read: ' + m.data);
es.addEventListener('snapshot', (m) => out('events', 'read: ' + m.data));
es.onerror = () => { out('events', 'failed: error'); es.close(); };
</script></body></html>`))

// TestBrowserOtherOriginRefused: a page of an origin the bridge does not
// allow reads nothing (its requests fail as network errors) and the card
// sees no command.
func TestBrowserOtherOriginRefused(t *testing.T) {
	s := newStack(t)
	chip := &countingChip{Chip: gen3(t)}
	name, _ := s.env.Insert(t, 0, chip)
	s.waitIdentified(t, name)
	before := chip.n.Load()

	el, eport := loopback(t)
	serve(t, el, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		evilPage.Execute(w, struct{ Bridge, Reader string }{s.bridge, name})
	}))
	evil := "http://localhost:" + strconv.Itoa(eport)
	s.run(t, "open the other page", chromedp.Navigate(evil+"/"))
	origin := eval[string](t, s, `location.origin`)
	if origin != evil || origin == s.origin {
		t.Fatalf("page origin %q", origin)
	}
	for _, id := range []string{"#readers", "#link", "#events"} {
		got := s.waitText(t, id, "failed")
		if strings.Contains(got, "read:") {
			t.Errorf("%s: the page read the bridge: %q", id, got)
		}
	}
	opaque := s.waitText(t, "#opaque", "type opaque, status 0, body \"\"")
	t.Logf("no-cors POST: %s", opaque)
	// The no-cors POST reached the bridge (a simple request, no preflight)
	// but was refused before any card access; give it time to have done
	// harm if it could.
	time.Sleep(500 * time.Millisecond)
	if after := chip.n.Load(); after != before {
		t.Fatalf("the card received %d APDUs from the other origin's requests", after-before)
	}
	if v, r, _ := s.platform.Stats(); v != 0 || r != 0 {
		t.Fatalf("platform: %d verified, %d refused", v, r)
	}
}

// blockingChip holds the first PKI VERIFY (INS 20, P2 81) until release is
// closed, so the test can pull the card out in the middle of a link.
type blockingChip struct {
	sim.Chip
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func (c *blockingChip) Transmit(cmd []byte) []byte {
	if len(cmd) >= 4 && cmd[1] == 0x20 && cmd[3] == 0x81 {
		first := false
		c.once.Do(func() { first = true })
		if first {
			close(c.entered)
			<-c.release
		}
	}
	return c.Chip.Transmit(cmd)
}

// TestBrowserCardRemovedDuringLink: the card pulled out while it signs
// gives the clerk the card-removed message.
func TestBrowserCardRemovedDuringLink(t *testing.T) {
	s := newStack(t)
	s.run(t, "open the counter page", chromedp.Navigate(s.origin+"/"))
	s.waitText(t, "#service", "Card reader service connected")
	chip := &blockingChip{Chip: gen3(t), entered: make(chan struct{}), release: make(chan struct{})}
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(chip.release) }) }
	t.Cleanup(release) // never leave the vpcd goroutine blocked
	name, remove := s.env.Insert(t, 0, chip)
	s.waitText(t, "#readers", "social security card")

	s.run(t, "link level 2", chromedp.SendKeys(chromedp.CSS("#pin"), testPIN), chromedp.Click(chromedp.CSS("#link2")))
	select {
	case <-chip.entered:
	case <-time.After(20 * time.Second):
		t.Fatalf("the link did not reach the PKI VERIFY in 20 s (status %q)", s.text(t, "#status"))
	}
	s.waitText(t, "#status", "do not remove it")
	// Pull the card: the vpcd connection closes while the chip is inside
	// VERIFY; once pcscd has seen the card go, let the chip finish.
	removed := make(chan struct{})
	go func() { defer close(removed); remove() }()
	pcsctest.WaitCard(t, name, false)
	release()
	select {
	case <-removed:
	case <-time.After(20 * time.Second):
		t.Fatal("the card was not removed within 20 s")
	}
	s.waitText(t, "#status", "卡片在操作中被取出", "The card was removed during linking")
	t.Logf("the bridge answered %q", eval[string](t, s, `document.getElementById("status").dataset.code || ""`))
	s.waitText(t, "#events", "card removed")
	if got := s.text(t, "#result"); strings.Contains(got, "Verified") {
		t.Fatalf("result after removal: %q", got)
	}
	s.screenshot(t, "counter-5-card-removed.png")
	if v, _, _ := s.platform.Stats(); v != 0 {
		t.Fatalf("platform verified %d bundles", v)
	}
}
