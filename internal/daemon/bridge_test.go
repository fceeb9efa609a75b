package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sscard/ssc/link"
	"github.com/sscard/ssc/sscd"
)

const otherAllowed = "https://counter.example.com:8443"

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func bridgeConfig(port int) Config {
	return Config{HSM: "sim", Bridge: BridgeConfig{Port: port, Origins: []string{testOrigin, otherAllowed}, PINOrigins: []string{testOrigin, otherAllowed}}}
}

// bridgeReq describes one request to the bridge; empty fields take the
// defaults of a good request (loopback Host, the allowed origin, JSON).
type bridgeReq struct {
	name, method, path string
	host               string // "-": none
	origin             string // "-": none
	ctype              string // "-": none
	body               string
	hdr                map[string]string
	status             int
	code               sscd.Code
}

func (b bridgeReq) do(t *testing.T, h http.Handler, port int) *httptest.ResponseRecorder {
	t.Helper()
	method := b.method
	if method == "" {
		method = http.MethodPost
	}
	req := httptest.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d%s", port, b.path), strings.NewReader(b.body))
	switch b.host {
	case "":
	case "-":
		req.Host = ""
	default:
		req.Host = b.host
	}
	switch b.origin {
	case "":
		req.Header.Set("Origin", testOrigin)
	case "-":
	default:
		req.Header.Set("Origin", b.origin)
	}
	switch {
	case b.ctype == "-":
	case b.ctype != "":
		req.Header.Set("Content-Type", b.ctype)
	case method == http.MethodPost:
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range b.hdr {
		req.Header.Set(k, v)
	}
	ctx, cancel := context.WithTimeout(req.Context(), 20*time.Second)
	defer cancel()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req.WithContext(ctx))
	return rec
}

// checkBridgeHeaders checks the headers every answer carries, and the CORS
// ones only on the answers to an allowed origin.
func checkBridgeHeaders(t *testing.T, h http.Header, allowedOrigin string) {
	t.Helper()
	for _, kv := range bridgeHeaders {
		if got := h.Get(kv[0]); got != kv[1] {
			t.Errorf("%s: %q, want %q", kv[0], got, kv[1])
		}
	}
	if got := h.Get("Access-Control-Allow-Origin"); got != allowedOrigin {
		t.Errorf("Access-Control-Allow-Origin %q, want %q", got, allowedOrigin)
	}
	if allowedOrigin != "" && h.Get("Vary") != "Origin" {
		t.Errorf("Vary %q", h.Get("Vary"))
	}
	if allowedOrigin == "" {
		for k := range h {
			if strings.HasPrefix(k, "Access-Control-") {
				t.Errorf("refusal has %s", k)
			}
		}
	}
}

func errorCode(t *testing.T, rec *httptest.ResponseRecorder) sscd.Code {
	t.Helper()
	var env sscd.Envelope
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Error == nil {
		t.Fatalf("status %d, body %q: not an error envelope", rec.Code, rec.Body)
	}
	return env.Error.Code
}

// TestBridgeRefusals: requests the bridge must refuse, with the right code,
// none of which reaches the card.
func TestBridgeRefusals(t *testing.T) {
	port := freePort(t)
	chip := &apduCounter{Chip: newCard(t, "gen3", nil)}
	d, c, _ := testDaemon(t, bridgeConfig(port), simBackend(t, chip))
	waitReader(t, c, "r0", func(r sscd.Reader, _ bool) bool { return r.Kind != "" })
	before := chip.n.Load()
	h := d.BridgeHandler()
	p := strconv.Itoa(port)
	info := "/v1/readers/r0/info"
	linkBody := `{"level":1,"nonce":"` + strings.Repeat("AB", 32) + `","pin":"123456"}`
	originBody := `{"level":1,"origin":"` + testOrigin + `","nonce":"` + strings.Repeat("AB", 32) + `","pin":"123456"}`
	const (
		bh = sscd.CodeBadHost
		on = sscd.CodeOriginNotAllowed
		br = sscd.CodeBadRequest
	)
	ws := map[string]string{"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"}
	tests := []bridgeReq{
		// DNS rebinding: a name that resolves to 127.0.0.1 keeps its Host.
		{name: "rebinding host", path: info, body: "{}", host: "evil.example:" + p, status: 403, code: bh},
		{name: "host without port", path: info, body: "{}", host: "127.0.0.1", status: 403, code: bh},
		{name: "host other port", path: info, body: "{}", host: "127.0.0.1:" + strconv.Itoa(port+1), status: 403, code: bh},
		{name: "host upper case", path: info, body: "{}", host: "LOCALHOST:" + p, status: 403, code: bh},
		{name: "no host", path: info, body: "{}", host: "-", status: 403, code: bh},
		{name: "rebinding host, good origin, GET", method: "GET", path: "/v1/readers", host: "attacker.example:" + p, status: 403, code: bh},
		// Origins.
		{name: "foreign origin", path: info, body: "{}", origin: "https://evil.example", status: 403, code: on},
		{name: "no origin", path: info, body: "{}", origin: "-", status: 403, code: on},
		{name: "no origin GET", method: "GET", path: "/v1/readers", origin: "-", status: 403, code: on},
		{name: "null origin", path: info, body: "{}", origin: "null", status: 403, code: on},
		{name: "origin default port", path: info, body: "{}", origin: testOrigin + ":443", status: 403, code: on},
		{name: "origin other port", path: info, body: "{}", origin: testOrigin + ":8443", status: 403, code: on},
		{name: "allowed origin without its port", path: info, body: "{}", origin: "https://counter.example.com", status: 403, code: on},
		{name: "origin http", path: info, body: "{}", origin: "http://ecard.example.gov.cn", status: 403, code: on},
		{name: "origin upper case", path: info, body: "{}", origin: "https://ECARD.example.gov.cn", status: 403, code: on},
		{name: "origin trailing slash", path: info, body: "{}", origin: testOrigin + "/", status: 403, code: on},
		{name: "origin suffix", path: info, body: "{}", origin: testOrigin + ".evil.example", status: 403, code: on},
		{name: "origin with space", path: info, body: "{}", origin: " " + testOrigin, status: 403, code: on},
		{name: "foreign origin events", method: "GET", path: "/v1/events", origin: "https://evil.example", status: 403, code: on},
		{name: "foreign origin link", path: "/v1/readers/r0/link", body: linkBody, origin: "https://evil.example", status: 403, code: on},
		{name: "foreign preflight", method: "OPTIONS", path: info, origin: "https://evil.example",
			hdr: map[string]string{"Access-Control-Request-Method": "POST", "Access-Control-Request-Private-Network": "true"}, status: 403, code: on},
		{name: "websocket foreign origin", method: "GET", path: "/v1/events", origin: "https://evil.example", hdr: ws, status: 403, code: on},
		{name: "socket-only foreign origin", path: "/v1/readers/r0/apdu", body: `{"apdus":["00A40000023F00"]}`, origin: "https://evil.example", status: 403, code: on},
		// Allowed origin, but not something the bridge does.
		{name: "websocket allowed origin", method: "GET", path: "/v1/events", hdr: ws, status: 400, code: br},
		{name: "preflight for PUT", method: "OPTIONS", path: info, hdr: map[string]string{"Access-Control-Request-Method": "PUT"}, status: 405, code: sscd.CodeMethodNotAllowed},
		{name: "GET info", method: "GET", path: info, status: 405, code: sscd.CodeMethodNotAllowed},
		{name: "GET info with query", method: "GET", path: info + "?format=bas", status: 405, code: sscd.CodeMethodNotAllowed},
		{name: "HEAD info", method: "HEAD", path: info, status: 405, code: sscd.CodeMethodNotAllowed},
		{name: "GET pin", method: "GET", path: "/v1/readers/r0/pin", status: 405, code: sscd.CodeMethodNotAllowed},
		{name: "GET link", method: "GET", path: "/v1/readers/r0/link", status: 405, code: sscd.CodeMethodNotAllowed},
		{name: "PUT info", method: "PUT", path: info, body: "{}", status: 405, code: sscd.CodeMethodNotAllowed},
		{name: "apdu", path: "/v1/readers/r0/apdu", body: `{"apdus":["00A40000023F00"]}`, status: 404, code: sscd.CodeNotFound},
		{name: "pin verify", path: "/v1/readers/r0/pin/verify", body: `{"pin":"123456"}`, status: 404, code: sscd.CodeNotFound},
		{name: "pin change", path: "/v1/readers/r0/pin/change", body: `{"old":"123456","new":"654321"}`, status: 404, code: sscd.CodeNotFound},
		{name: "hsm step1", path: "/v1/readers/r0/hsm/step1", body: "{}", status: 404, code: sscd.CodeNotFound},
		{name: "metrics", method: "GET", path: "/metrics", status: 404, code: sscd.CodeNotFound},
		{name: "health", method: "GET", path: "/v1/health", status: 404, code: sscd.CodeNotFound},
		{name: "socket GET info route", method: "GET", path: "/v1/readers/r0/info/", status: 404, code: sscd.CodeNotFound},
		// Bodies.
		{name: "no content type", path: info, body: "{}", ctype: "-", status: 400, code: br},
		{name: "text/plain", path: info, body: "{}", ctype: "text/plain", status: 400, code: br},
		{name: "form", path: "/v1/readers/r0/link", body: "level=1", ctype: "application/x-www-form-urlencoded", status: 400, code: br},
		{name: "json with odd parameter", path: info, body: "{}", ctype: "application/json; boundary=x", status: 400, code: br},
		{name: "oversized body", path: info, body: `{"format":"` + strings.Repeat("x", 9<<10) + `"}`, status: 400, code: br},
		{name: "empty body", path: info, status: 400, code: br},
		{name: "unknown field", path: info, body: `{"fresh":true}`, status: 400, code: br},
		{name: "trailing data", path: info, body: `{} {}`, status: 400, code: br},
		{name: "origin in link body", path: "/v1/readers/r0/link", body: originBody, status: 400, code: br},
		{name: "bad format", path: info, body: `{"format":"xml"}`, status: 400, code: br},
		{name: "link level 3", path: "/v1/readers/r0/link", body: strings.Replace(linkBody, `"level":1`, `"level":3`, 1), status: 400, code: br},
		{name: "link short nonce", path: "/v1/readers/r0/link", body: `{"level":1,"nonce":"ABCD","pin":"123456"}`, status: 400, code: br},
		{name: "old insertion", path: info, body: `{"insertion":999}`, status: 409, code: sscd.CodeCardChanged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := tt.do(t, h, port)
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d (%s)", rec.Code, tt.status, rec.Body)
			}
			allowed := ""
			if tt.code != on && tt.code != bh && tt.name != "preflight for PUT" {
				allowed = testOrigin
			}
			checkBridgeHeaders(t, rec.Header(), allowed)
			if tt.method == "HEAD" {
				return
			}
			if got := errorCode(t, rec); got != tt.code {
				t.Errorf("code %s, want %s (%s)", got, tt.code, rec.Body)
			}
			if tt.code == on && tt.origin != "-" && tt.origin != "null" && !strings.Contains(rec.Body.String(), "bridge.origins") {
				t.Errorf("refusal does not say how to allow the origin: %s", rec.Body)
			}
		})
	}
	if n := chip.n.Load(); n != before {
		t.Errorf("refused requests sent %d APDUs to the card", n-before)
	}
}

func TestBridgePreflight(t *testing.T) {
	port := freePort(t)
	d, _, _ := testDaemon(t, bridgeConfig(port), simBackend(t))
	h := d.BridgeHandler()
	for _, pna := range []bool{false, true} {
		hdr := map[string]string{"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
		if pna {
			hdr["Access-Control-Request-Private-Network"] = "true"
		}
		rec := bridgeReq{method: "OPTIONS", path: "/v1/readers/r0/link", origin: otherAllowed, hdr: hdr}.do(t, h, port)
		if rec.Code != http.StatusNoContent {
			t.Fatalf("status %d (%s)", rec.Code, rec.Body)
		}
		checkBridgeHeaders(t, rec.Header(), otherAllowed)
		want := map[string]string{
			"Access-Control-Allow-Methods": "GET, POST",
			"Access-Control-Allow-Headers": "Content-Type",
			"Access-Control-Max-Age":       "600",
		}
		if pna {
			want["Access-Control-Allow-Private-Network"] = "true"
		}
		for k, v := range want {
			if got := rec.Header().Get(k); got != v {
				t.Errorf("pna %v: %s %q, want %q", pna, k, got, v)
			}
		}
		if !pna && rec.Header().Get("Access-Control-Allow-Private-Network") != "" {
			t.Error("private network allowed without being asked")
		}
	}
}

// TestBridge: what the allowed pages can do.
func TestBridge(t *testing.T) {
	port := freePort(t)
	cfg := bridgeConfig(port)
	dir := t.TempDir()
	cfg.Audit.Path = filepath.Join(dir, "audit.log")
	d, c, _ := testDaemon(t, cfg, simBackend(t, newCard(t, "gen3", nil)))
	r0 := waitReader(t, c, "r0", func(r sscd.Reader, _ bool) bool { return r.Kind == sscd.KindSSC })
	h := d.BridgeHandler()
	ok := func(rec *httptest.ResponseRecorder, origin string) {
		t.Helper()
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d (%s)", rec.Code, rec.Body)
		}
		checkBridgeHeaders(t, rec.Header(), origin)
	}

	rec := bridgeReq{method: "GET", path: "/v1/readers"}.do(t, h, port)
	ok(rec, testOrigin)
	var rs []sscd.Reader
	if err := json.Unmarshal(rec.Body.Bytes(), &rs); err != nil || len(rs) != 2 || rs[0].Name != "r0" {
		t.Fatalf("readers %s", rec.Body)
	}
	ok(bridgeReq{method: "GET", path: "/v1/version", host: "localhost:" + strconv.Itoa(port)}.do(t, h, port), testOrigin)
	ok(bridgeReq{method: "GET", path: "/v1/version", host: "[::1]:" + strconv.Itoa(port), origin: otherAllowed}.do(t, h, port), otherAllowed)

	rec = bridgeReq{path: "/v1/readers/r0/info", body: fmt.Sprintf(`{"insertion":%d}`, r0.Insertion), ctype: "application/json; charset=utf-8"}.do(t, h, port)
	ok(rec, testOrigin)
	var info sscd.BasicInfo
	if err := json.Unmarshal(rec.Body.Bytes(), &info); err != nil || info.Name != "张三" {
		t.Fatalf("info %s", rec.Body)
	}
	rec = bridgeReq{path: "/v1/readers/r0/info", body: `{"format":"bas"}`}.do(t, h, port)
	ok(rec, testOrigin)
	if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") || !strings.Contains(rec.Body.String(), "张三") {
		t.Errorf("bas %q", rec.Body)
	}
	rec = bridgeReq{path: "/v1/readers/r0/pin", body: "{}"}.do(t, h, port)
	ok(rec, testOrigin)
	var st sscd.PINStatus
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil || st.TriesLeft != 3 {
		t.Fatalf("pin status %s", rec.Body)
	}

	// Level-2 link: bound to the Origin header of the request.
	nonce := testNonce(7)
	body := fmt.Sprintf(`{"level":2,"nonce":"%X","pin":"123456","insertion":%d}`, nonce, r0.Insertion)
	rec = bridgeReq{path: "/v1/readers/r0/link", body: body, origin: otherAllowed}.do(t, h, port)
	ok(rec, otherAllowed)
	var b link.Bundle
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
		t.Fatal(err)
	}
	if _, err := link.Verify(&b, link.Options{Roots: simRoots(t), Origin: otherAllowed, Nonce: nonce, MinLevel: 2}); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if _, err := link.Verify(&b, link.Options{Roots: simRoots(t), Origin: testOrigin, Nonce: nonce, MinLevel: 2}); err == nil {
		t.Error("bundle verifies for another origin")
	}

	// The audit log names the origin.
	data, err := os.ReadFile(cfg.Audit.Path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"origin:`+otherAllowed+`"`) || !strings.Contains(string(data), `"origin:`+testOrigin+`"`) {
		t.Errorf("audit log does not name the origins:\n%s", data)
	}
	if strings.Contains(string(data), "uid:") {
		t.Errorf("bridge requests audited as socket peers:\n%s", data)
	}
}

// TestBridgeReload: the origins follow the configuration at once.
func TestBridgeReload(t *testing.T) {
	port := freePort(t)
	cfg := bridgeConfig(port)
	d, _, _ := testDaemon(t, cfg, simBackend(t))
	h := d.BridgeHandler()
	const added = "https://new.example"
	get := func(origin string) int {
		return bridgeReq{method: "GET", path: "/v1/readers", origin: origin}.do(t, h, port).Code
	}
	if got := get(added); got != http.StatusForbidden {
		t.Fatalf("before: %d", got)
	}
	next := d.conf().cfg
	next.Bridge.Origins = []string{added}
	next.Bridge.PINOrigins = nil
	next.Bridge.Port = port + 1
	restart, err := d.Reload(next)
	if err != nil {
		t.Fatal(err)
	}
	if len(restart) != 1 || restart[0] != "bridge.port" {
		t.Errorf("restart %q", restart)
	}
	if got := get(added); got != http.StatusOK {
		t.Errorf("added origin: %d", got)
	}
	if got := get(testOrigin); got != http.StatusForbidden {
		t.Errorf("removed origin: %d", got)
	}
	// The port stays the listening one until a restart.
	if got := (bridgeReq{method: "GET", path: "/v1/readers", origin: added, host: "127.0.0.1:" + strconv.Itoa(port+1)}).do(t, h, port).Code; got != http.StatusForbidden {
		t.Errorf("new port's Host accepted before a restart: %d", got)
	}
	bad := cfg
	bad.Bridge.Origins = []string{"http://evil.example"}
	bad.Bridge.PINOrigins = nil
	if _, err := d.Reload(bad); err == nil {
		t.Error("http origin accepted")
	}
	if got := get(added); got != http.StatusOK {
		t.Errorf("after a failed reload: %d", got)
	}
}

// TestBridgeListener: the bridge through real loopback listeners.
func TestBridgeListener(t *testing.T) {
	port := freePort(t)
	ls, err := ListenBridge(port)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ListenBridge(port); err == nil {
		t.Error("second listener on a taken port")
	}
	bridged := make(chan error, 1)
	started := false
	t.Cleanup(func() {
		if !started {
			return
		}
		select {
		case err := <-bridged:
			if err != nil {
				t.Errorf("ServeBridge: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("ServeBridge did not return after Shutdown")
		}
	})
	chip := &apduCounter{Chip: newCard(t, "gen3", nil)}
	d, c, _ := testDaemon(t, bridgeConfig(port), simBackend(t, chip))
	started = true
	go func() { bridged <- d.ServeBridge(ls) }()
	waitReader(t, c, "r0", func(r sscd.Reader, _ bool) bool { return r.Kind == sscd.KindSSC })
	before := chip.n.Load()

	hosts := []string{fmt.Sprintf("127.0.0.1:%d", port)}
	if len(ls) == 2 {
		hosts = append(hosts, fmt.Sprintf("[::1]:%d", port))
	} else {
		t.Log("no IPv6 loopback: 127.0.0.1 only")
	}
	cl := &http.Client{Timeout: 10 * time.Second}
	for _, host := range hosts {
		do := func(method, path, origin, hostHdr string) *http.Response {
			t.Helper()
			req, err := http.NewRequestWithContext(ctxT(t), method, "http://"+host+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if origin != "" {
				req.Header.Set("Origin", origin)
			}
			if hostHdr != "" {
				req.Host = hostHdr
			}
			resp, err := cl.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			return resp
		}
		resp := do("GET", "/v1/readers", testOrigin, "")
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != testOrigin {
			t.Errorf("%s: readers %d %v", host, resp.StatusCode, resp.Header)
		}
		resp = do("GET", "/v1/readers", testOrigin, "rebind.example:"+strconv.Itoa(port))
		resp.Body.Close()
		if resp.StatusCode != 403 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s: rebinding %d", host, resp.StatusCode)
		}
		resp = do("GET", "/v1/events", "https://evil.example", "")
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Errorf("%s: foreign events %d", host, resp.StatusCode)
		}

		// The event stream: a snapshot first, with the bridge's headers.
		resp = do("GET", "/v1/events", testOrigin, "")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" ||
			resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Access-Control-Allow-Origin") != testOrigin ||
			resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Fatalf("%s: events %d %v", host, resp.StatusCode, resp.Header)
		}
		sc := bufio.NewScanner(resp.Body)
		var ev sscd.Event
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				if err := json.Unmarshal([]byte(data), &ev); err != nil {
					t.Fatal(err)
				}
				break
			}
		}
		resp.Body.Close()
		if ev.Type != sscd.EventSnapshot || len(ev.Readers) != 2 {
			t.Errorf("%s: first event %+v", host, ev)
		}
	}
	if n := chip.n.Load(); n != before {
		t.Errorf("the bridge sent %d APDUs for requests that read no card", n-before)
	}
}

func TestBridgeConfig(t *testing.T) {
	tests := []struct {
		name string
		b    BridgeConfig
		ok   bool
	}{
		{"off", BridgeConfig{}, true},
		{"off with origins", BridgeConfig{Origins: []string{testOrigin}}, true},
		{"on", BridgeConfig{Port: 24800, Origins: []string{testOrigin, "https://x.example:8443", "https://[2001:db8::1]"}}, true},
		{"no origins", BridgeConfig{Port: 24800}, false},
		{"negative port", BridgeConfig{Port: -1, Origins: []string{testOrigin}}, false},
		{"port too large", BridgeConfig{Port: 65536, Origins: []string{testOrigin}}, false},
		{"http", BridgeConfig{Port: 24800, Origins: []string{"http://ecard.example"}}, false},
		{"http even when allowed", BridgeConfig{Port: 24800, Origins: []string{"http://ecard.example"}, AllowHTTPLocalhost: true}, false},
		{"http localhost not allowed", BridgeConfig{Port: 24800, Origins: []string{"http://localhost:8080"}}, false},
		{"http localhost", BridgeConfig{Port: 24800, Origins: []string{"http://localhost:8080", "http://127.0.0.1", "http://[::1]:3000"}, AllowHTTPLocalhost: true}, true},
		{"http localhost lookalike", BridgeConfig{Port: 24800, Origins: []string{"http://localhost.evil.example"}, AllowHTTPLocalhost: true}, false},
		{"trailing slash", BridgeConfig{Port: 24800, Origins: []string{testOrigin + "/"}}, false},
		{"default port", BridgeConfig{Port: 24800, Origins: []string{testOrigin + ":443"}}, false},
		{"upper case", BridgeConfig{Port: 24800, Origins: []string{"https://Ecard.example"}}, false},
		{"null", BridgeConfig{Port: 24800, Origins: []string{"null"}}, false},
		{"wildcard", BridgeConfig{Port: 24800, Origins: []string{"*"}}, false},
		{"file", BridgeConfig{Port: 24800, Origins: []string{"file://"}}, false},
		{"duplicate", BridgeConfig{Port: 24800, Origins: []string{testOrigin, testOrigin}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Config{Bridge: tt.b}.Validate()
			if (err == nil) != tt.ok {
				t.Errorf("err %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
