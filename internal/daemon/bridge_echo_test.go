package daemon

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sscard/ssc/sscd"
)

// TestBridgeRefusalsNoEcho: through a real loopback listener, the bridge's
// refusals name the header and what is wrong with it, never its value (a
// page or a local process chose it: it would reach the client's console and
// the logs as the bridge's own words). They used to quote the Host and
// Origin headers.
func TestBridgeRefusalsNoEcho(t *testing.T) {
	port := freePort(t)
	d, _, _ := testDaemon(t, bridgeConfig(port), simBackend(t, newCard(t, "gen3", nil)))
	base := serveBridge(t, d, port)
	cl := &http.Client{Timeout: 30 * time.Second}
	const evilHost = "rebind-7f3a.evil.example:1234"
	const evilOrigin = "https://origin-7f3a.evil.example"
	for _, tc := range []struct {
		name, host, origin string
		code               sscd.Code
	}{
		{"rebound host", evilHost, testOrigin, sscd.CodeBadHost},
		{"other origin", "", evilOrigin, sscd.CodeOriginNotAllowed},
		{"both", evilHost, evilOrigin, sscd.CodeBadHost},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(ctxT(t), "POST", base+"/v1/readers/r0/info", strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			if tc.host != "" {
				req.Host = tc.host
			}
			req.Header.Set("Origin", tc.origin)
			req.Header.Set("Content-Type", "application/json")
			resp, err := cl.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			var env sscd.Envelope
			if err := json.Unmarshal(data, &env); err != nil || env.Error == nil || env.Error.Code != tc.code || resp.StatusCode != tc.code.HTTPStatus() {
				t.Fatalf("HTTP %d %q, want %s", resp.StatusCode, data, tc.code)
			}
			if strings.Contains(string(data), "7f3a") {
				t.Errorf("refusal echoes the request's header: %s", data)
			}
			header := map[sscd.Code]string{sscd.CodeBadHost: "Host header", sscd.CodeOriginNotAllowed: "Origin header"}[tc.code]
			if !strings.Contains(env.Error.Message, header) {
				t.Errorf("refusal %q does not name the %s", env.Error.Message, header)
			}
			if v := resp.Header.Get("Access-Control-Allow-Origin"); v != "" {
				t.Errorf("refusal allows origin %q", v)
			}
		})
	}
}
