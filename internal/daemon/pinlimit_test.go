package daemon

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sscard/ssc/sscd"
)

func TestPINLimiter(t *testing.T) {
	var l pinLimiter
	c := PINLimitConfig{Attempts: 2, Window: Duration(10 * time.Minute)}
	k, other := pinKey{"r0", 1}, pinKey{"r0", 2}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if w := l.wait(k, t0, c); w != 0 {
		t.Fatalf("fresh: %v", w)
	}
	l.add(k, t0)
	l.add(k, t0.Add(time.Minute))
	if w := l.wait(k, t0.Add(2*time.Minute), c); w != 8*time.Minute {
		t.Errorf("limited: wait %v, want 8m (the first attempt leaves the window)", w)
	}
	if w := l.wait(other, t0.Add(2*time.Minute), c); w != 0 {
		t.Errorf("another insertion: %v", w)
	}
	if w := l.wait(k, t0.Add(10*time.Minute), c); w != 0 {
		t.Errorf("one attempt left the window: %v", w)
	}
	if w := l.wait(k, t0.Add(time.Hour), c); w != 0 || len(l.wrong) != 0 {
		t.Errorf("after the window: %v, %d insertions kept", w, len(l.wrong))
	}
	if d := (PINLimitConfig{}).withDefaults(); d.Attempts != DefaultPINAttempts || time.Duration(d.Window) != DefaultPINWindow {
		t.Errorf("defaults %+v", d)
	}
}

func TestPINConfig(t *testing.T) {
	base := BridgeConfig{Port: 24800, Origins: []string{testOrigin, otherAllowed}}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"pin origin", func(c *Config) { c.Bridge.PINOrigins = []string{testOrigin} }, ""},
		{"pin origin not in origins", func(c *Config) { c.Bridge.PINOrigins = []string{"https://evil.example"} }, "bridge.pin_origins"},
		{"pin origin twice", func(c *Config) { c.Bridge.PINOrigins = []string{testOrigin, testOrigin} }, "listed twice"},
		{"negative limit", func(c *Config) { c.PINLimit.Attempts = -1 }, "pin_rate_limit"},
		{"limit", func(c *Config) { c.PINLimit = PINLimitConfig{Attempts: 5, Window: Duration(time.Hour)} }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{Bridge: base}
			c.Bridge.Origins = append([]string(nil), base.Origins...)
			tc.edit(&c)
			err := c.Validate()
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("%v, want %q", err, tc.want)
			}
		})
	}
}

// TestBridgePINOriginsReload: bridge.pin_origins is read at each request,
// so a reload (SIGHUP) grants or withdraws PIN presentation at once; a
// refused origin's link never reaches the card.
func TestBridgePINOriginsReload(t *testing.T) {
	port := freePort(t)
	chip := &apduCounter{Chip: newCard(t, "gen3", nil)}
	cfg := bridgeConfig(port)
	cfg.Bridge.PINOrigins = nil
	d, c, _ := testDaemon(t, cfg, simBackend(t, chip))
	waitReader(t, c, "r0", func(r sscd.Reader, _ bool) bool { return r.Kind != "" })
	h := d.BridgeHandler()
	body := `{"level":1,"nonce":"` + strings.Repeat("AB", 32) + `","pin":"123456"}`
	link := func() *http.Response {
		rec := bridgeReq{path: "/v1/readers/r0/link", body: body}.do(t, h, port)
		return rec.Result()
	}
	before := chip.n.Load()
	if r := link(); r.StatusCode != http.StatusForbidden {
		t.Fatalf("without pin_origins: %d", r.StatusCode)
	}
	if n := chip.n.Load(); n != before {
		t.Fatalf("%d APDUs for a refused link", n-before)
	}
	next := d.conf().cfg
	next.Bridge.PINOrigins = []string{testOrigin}
	if _, err := d.Reload(next); err != nil {
		t.Fatal(err)
	}
	if r := link(); r.StatusCode != http.StatusOK {
		t.Fatalf("after adding the origin: %d", r.StatusCode)
	}
	next.Bridge.PINOrigins = nil
	if _, err := d.Reload(next); err != nil {
		t.Fatal(err)
	}
	if r := link(); r.StatusCode != http.StatusForbidden {
		t.Fatalf("after removing it: %d", r.StatusCode)
	}
}
