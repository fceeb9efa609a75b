package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sscd"
)

// txChip counts the commands that reach the card.
type txChip struct {
	sim.Chip
	n atomic.Int64
}

func (c *txChip) Transmit(cmd []byte) []byte {
	c.n.Add(1)
	return c.Chip.Transmit(cmd)
}

// FuzzBridgeGuard sends any Host, Origin (none, one or two), method,
// preflight and upgrade headers, Content-Type, path and body to the bridge's
// handler (the one ServeBridge runs) of a daemon with one allowed origin
// (which may also present a PIN). Properties:
//   - a Host that is not the loopback listener is refused (bad_host);
//   - otherwise anything but exactly one Origin header equal to the allowed
//     origin is refused (origin_not_allowed), no command reaches the card
//     and no Access-Control-* header is sent;
//   - Access-Control-Allow-Origin is only ever the allowed origin, and a
//     preflight is answered (204) only for it;
//   - a refusal never carries the Host or Origin values;
//   - every answer is bounded and either a success or an error envelope
//     with its code's status (never internal).
func FuzzBridgeGuard(f *testing.F) {
	const port = 24801
	good := "127.0.0.1:" + strconv.Itoa(port)
	for _, s := range []struct {
		host, origin                      string
		origins                           uint8 // 0 none, 1 one, 2 two (the second the allowed one)
		method, acrm, acrh, upgrade, conn string
		ctype, p, body                    string
	}{
		{good, testOrigin, 1, "GET", "", "", "", "", "", "/v1/readers", ""},
		{good, testOrigin, 1, "GET", "", "", "", "", "", "/v1/version", ""},
		{"localhost:24801", testOrigin, 1, "POST", "", "", "", "", "application/json", "/v1/readers/r0/info", `{}`},
		{"[::1]:24801", testOrigin, 1, "POST", "", "", "", "", "application/json; charset=utf-8", "/v1/readers/r0/pin", `{"insertion":1}`},
		{good, testOrigin, 1, "POST", "", "", "", "", "application/json", "/v1/readers/r0/link", `{"level":1,"nonce":"00112233445566778899aabbccddeeff","pin":"123456","force":true}`},
		{good, testOrigin, 1, "POST", "", "", "", "", "application/json", "/v1/readers/r0/link", `{"level":1,"nonce":"00112233445566778899aabbccddeeff","pin":"000000"}`},
		{good, testOrigin, 1, "POST", "", "", "", "", "application/json", "/v1/readers/r0/issue/step1", `{"write_info":"x"}`},
		{good, testOrigin, 1, "POST", "", "", "", "", "application/json", "/v1/issue/00/abort", `{}`},
		{good, testOrigin, 1, "OPTIONS", "POST", "content-type", "", "", "", "/v1/readers/r0/info", ""},
		{good, testOrigin, 1, "OPTIONS", "PUT", "", "", "", "", "/v1/readers/r0/info", ""},
		{good, "https://evil.example.com", 1, "OPTIONS", "POST", "content-type", "", "", "", "/v1/readers/r0/info", ""},
		{good, "https://evil.example.com", 1, "POST", "", "", "", "", "application/json", "/v1/readers/r0/info", `{}`},
		{good, testOrigin + ".evil.example", 1, "POST", "", "", "", "", "application/json", "/v1/readers/r0/info", `{}`},
		{good, "null", 1, "GET", "", "", "", "", "", "/v1/readers", ""},
		{good, "", 0, "GET", "", "", "", "", "", "/v1/readers", ""},
		{good, "https://evil.example.com", 2, "GET", "", "", "", "", "", "/v1/readers", ""},
		{"rebind.evil.example:24801", testOrigin, 1, "GET", "", "", "", "", "", "/v1/readers", ""},
		{"127.0.0.1:80", testOrigin, 1, "GET", "", "", "", "", "", "/v1/readers", ""},
		{"127.0.0.1", testOrigin, 1, "GET", "", "", "", "", "", "/v1/readers", ""},
		{good, testOrigin, 1, "GET", "", "", "websocket", "Upgrade", "", "/v1/events", ""},
		{good, testOrigin, 1, "GET", "", "", "", "keep-alive, upgrade", "", "/v1/readers", ""},
		{good, testOrigin, 1, "POST", "", "", "", "", "text/plain", "/v1/readers/r0/info", `{}`},
		{good, testOrigin, 1, "POST", "", "", "", "", "application/json", "/v1/readers/r0/info", `{}}`},
		{good, testOrigin, 1, "GET", "", "", "", "", "", "/v1//readers", ""},
		{good, testOrigin, 1, "GET", "", "", "", "", "", "/v1/readers/r0/info", ""},
	} {
		f.Add(s.host, s.origin, s.origins, s.method, s.acrm, s.acrh, s.upgrade, s.conn, s.ctype, s.p, []byte(s.body))
	}
	chip := &txChip{Chip: newCard(f, "gen3", nil)}
	sb := reader.NewChipBackend("r0", "r1")
	if err := sb.Insert("r0", chip); err != nil {
		f.Fatal(err)
	}
	d, c, _ := testDaemon(f, Config{
		HSM: "sim", OpTimeout: Duration(apiFuzzOpTimeout),
		Bridge: BridgeConfig{Port: port, Origins: []string{testOrigin}, PINOrigins: []string{testOrigin}},
		Logger: slog.New(slog.DiscardHandler),
	}, sb)
	waitReader(f, c, "r0", func(r sscd.Reader, _ bool) bool { return r.Kind == sscd.KindSSC })
	h := d.bridgeSrv.Handler

	f.Fuzz(func(t *testing.T, host, origin string, origins uint8, method, acrm, acrh, upgrade, conn, ctype, p string, body []byte) {
		if len(body) > 32<<10 {
			return
		}
		var b strings.Builder
		b.WriteString(method + " " + p + " HTTP/1.1\r\nHost: " + host + "\r\n")
		switch origins % 3 {
		case 1:
			b.WriteString("Origin: " + origin + "\r\n")
		case 2:
			b.WriteString("Origin: " + origin + "\r\nOrigin: " + testOrigin + "\r\n")
		}
		for _, kv := range [][2]string{{"Access-Control-Request-Method", acrm}, {"Access-Control-Request-Headers", acrh},
			{"Upgrade", upgrade}, {"Connection", conn}, {"Content-Type", ctype}} {
			if kv[1] != "" {
				b.WriteString(kv[0] + ": " + kv[1] + "\r\n")
			}
		}
		b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
		b.Write(body)
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(b.String())))
		if err != nil {
			return // the server answers what it cannot parse itself
		}
		wait := apiFuzzOpTimeout + 5*time.Second
		stream := req.Method == http.MethodGet && path.Clean(req.URL.Path) == "/v1/events"
		if stream {
			wait = 50 * time.Millisecond
		}
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		rec := httptest.NewRecorder()
		before := chip.n.Load()
		start := time.Now()
		h.ServeHTTP(rec, req.WithContext(ctx))
		d.issueSess.abortAll()
		if el := time.Since(start); el > apiFuzzOpTimeout+5*time.Second {
			t.Fatalf("answered after %v", el)
		}
		what := req.Method + " " + req.URL.String()
		hostOK := req.Host == good || req.Host == "localhost:24801" || req.Host == "[::1]:24801"
		ovals := req.Header.Values("Origin")
		originOK := len(ovals) == 1 && ovals[0] == testOrigin
		acao := rec.Header().Values("Access-Control-Allow-Origin")
		if len(acao) > 1 || (len(acao) == 1 && (acao[0] != testOrigin || !hostOK || !originOK)) {
			t.Fatalf("%s (Host %q, Origin %q): Access-Control-Allow-Origin %q", what, req.Host, ovals, acao)
		}
		var env sscd.Envelope
		refused := func(code sscd.Code) {
			t.Helper()
			if json.Unmarshal(rec.Body.Bytes(), &env) != nil || env.Error == nil || env.Error.Code != code {
				t.Fatalf("%s (Host %q, Origin %q): status %d %q, want %s", what, req.Host, ovals, rec.Code, rec.Body, code)
			}
			for k := range rec.Header() {
				if strings.HasPrefix(k, "Access-Control-") {
					t.Fatalf("%s: refusal with %s", what, k)
				}
			}
			if n := chip.n.Load(); n != before {
				t.Fatalf("%s (Host %q, Origin %q): refused, yet %d commands reached the card", what, req.Host, ovals, n-before)
			}
			for _, v := range append([]string{req.Host}, ovals...) {
				if len(v) >= 6 && strings.Contains(env.Error.Message, v) && !strings.Contains(bridgeRefusalTexts, v) {
					t.Fatalf("refusal %q echoes %q", env.Error.Message, v)
				}
			}
		}
		switch {
		case !hostOK:
			refused(sscd.CodeBadHost)
			return
		case !originOK:
			refused(sscd.CodeOriginNotAllowed)
			return
		}
		if req.Method == http.MethodOptions && rec.Code == http.StatusNoContent {
			m := req.Header.Get("Access-Control-Request-Method")
			if m != http.MethodGet && m != http.MethodPost {
				t.Fatalf("%s: preflight for %q answered", what, m)
			}
			return
		}
		checkAPIAnswer(t, rec, what, stream)
	})
}

// bridgeRefusalTexts are the fixed texts of the guard's refusals: a Host or
// Origin value found in them is not an echo.
const bridgeRefusalTexts = "the Host header does not name this bridge (use http://127.0.0.1:24801) " +
	"no Origin header: only the web pages of the origins in bridge.origins may use this card reader " +
	"more than one Origin header " +
	"origin \"null\" (a local file, a sandboxed frame or a redirect) is not allowed to use this card reader " +
	"the Origin header names an origin not allowed to use this card reader; an administrator adds it to bridge.origins in the sscd configuration (" +
	bridgeConfigPath + ") and reloads sscd (systemctl reload sscd)"
