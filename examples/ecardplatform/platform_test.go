package ecardplatform_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sscard/ssc/examples/ecardplatform"
	"github.com/sscard/ssc/internal/simtest"
	"github.com/sscard/ssc/link"
	"github.com/sscard/ssc/link/cardlink"
	"github.com/sscard/ssc/pboc"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/keysystem"
)

const testOrigin = "http://localhost:8443"

func newPlatform(t *testing.T, origin string) (*ecardplatform.Server, *httptest.Server) {
	t.Helper()
	roots, err := simkeys.RootPool()
	if err != nil {
		t.Fatal(err)
	}
	p, err := ecardplatform.New(ecardplatform.Config{Origin: origin, Bridge: "http://127.0.0.1:24800", Roots: roots})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(p.Handler())
	t.Cleanup(ts.Close)
	return p, ts
}

func post(t *testing.T, url, ctype string, body []byte) (int, map[string]any, http.Header) {
	t.Helper()
	resp, err := http.Post(url, ctype, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: answer %q is not JSON: %v", url, data, err)
	}
	return resp.StatusCode, m, resp.Header
}

func issueNonce(t *testing.T, ts *httptest.Server, level int) []byte {
	t.Helper()
	st, m, _ := post(t, ts.URL+"/api/nonce", "application/json", []byte(`{"level":`+string(rune('0'+level))+`}`))
	if st != 200 {
		t.Fatalf("nonce: %d %v", st, m)
	}
	n, err := hex.DecodeString(m["nonce"].(string))
	if err != nil || len(n) != 32 {
		t.Fatalf("nonce %v: %v", m["nonce"], err)
	}
	exp, err := time.Parse(time.RFC3339, m["expires"].(string))
	if err != nil || exp.Before(time.Now().Add(4*time.Minute)) || exp.After(time.Now().Add(6*time.Minute)) {
		t.Fatalf("expires %v: %v", m["expires"], err)
	}
	return n
}

// cardBundle plays the daemon with an in-process software card.
func cardBundle(t *testing.T, edit func(*sim.Profile), level int, origin string, nonce []byte) []byte {
	t.Helper()
	ctx := context.Background()
	card := simtest.Connect(t, simtest.Card(t, "gen3", edit))
	sess, err := sscard.Open(ctx, card, sscard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := cardlink.Create(ctx, card, sess, cardlink.Request{Level: level, Origin: origin, Nonce: nonce, PIN: "123456"},
		cardlink.Options{HSM: keysystem.SIM{}, PBOC: pboc.Options{CAKeys: simkeys.CAKeyTable()}})
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(bundle)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestVerifyLevel2(t *testing.T) {
	p, ts := newPlatform(t, testOrigin)
	nonce := issueNonce(t, ts, 2)
	bundle := cardBundle(t, nil, 2, testOrigin, nonce)
	st, m, _ := post(t, ts.URL+"/api/verify", "application/json", bundle)
	if st != 200 || m["verified"] != true || m["level"] != 2.0 {
		t.Fatalf("verify: %d %v", st, m)
	}
	card := m["card"].(map[string]any)
	bank := m["bank"].(map[string]any)
	if card["name"] != "张三" || card["card_number"] != "A12345678" || card["ssn_masked"] != "411602********1232" ||
		bank["pan_masked"] != "621799*********4561" {
		t.Fatalf("verified: %v", m)
	}
	if strings.Contains(string(mustJSON(t, m)), "6217991000001234561") {
		t.Error("the full PAN is in the answer")
	}
	if v, r, last := p.Stats(); v != 1 || r != 0 || !last.Verified || last.Card.Name != "张三" {
		t.Fatalf("stats %d %d %+v", v, r, last)
	}
	// The same bundle again: replay.
	st, m, _ = post(t, ts.URL+"/api/verify", "application/json", bundle)
	if st != 422 || m["verified"] != false || m["code"] != ecardplatform.CodeNonceReplayed ||
		!strings.Contains(m["message"].(string), "already used") {
		t.Fatalf("replay: %d %v", st, m)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestVerifyRefusals(t *testing.T) {
	_, ts := newPlatform(t, testOrigin)

	tamper := func(data []byte, f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		return mustJSON(t, m)
	}
	tests := []struct {
		name   string
		bundle func() []byte
		code   string
		words  string
	}{
		{"wrong origin", func() []byte { return cardBundle(t, nil, 1, "https://evil.example", issueNonce(t, ts, 1)) },
			ecardplatform.CodeWrongOrigin, "another website"},
		{"unknown nonce", func() []byte { return cardBundle(t, nil, 1, testOrigin, bytes.Repeat([]byte{1}, 32)) },
			ecardplatform.CodeNonceUnknown, "unknown"},
		{"level too low", func() []byte { return cardBundle(t, nil, 1, testOrigin, issueNonce(t, ts, 2)) },
			ecardplatform.CodeLevelTooLow, "Level too low"},
		{"bad signature", func() []byte {
			return tamper(cardBundle(t, nil, 1, testOrigin, issueNonce(t, ts, 1)), func(m map[string]any) {
				m["card"].(map[string]any)["region"] = "110000"
			})
		}, ecardplatform.CodeBadSignature, "signature is invalid"},
		{"card mismatch", func() []byte {
			return tamper(cardBundle(t, nil, 1, testOrigin, issueNonce(t, ts, 1)), func(m map[string]any) {
				m["card"].(map[string]any)["card_number"] = "B87654321"
			})
		}, ecardplatform.CodeCardMismatch, "another card"},
		{"untrusted", func() []byte {
			return tamper(cardBundle(t, nil, 1, testOrigin, issueNonce(t, ts, 1)), func(m map[string]any) {
				root, err := simkeys.RootCertificate()
				if err != nil {
					t.Fatal(err)
				}
				m["proof"].(map[string]any)["certificates"] = []any{root.Raw}
			})
		}, ecardplatform.CodeUntrusted, "not trusted"},
		{"malformed", func() []byte { return []byte(`{"version":1,"extra":true}`) }, ecardplatform.CodeMalformed, "malformed"},
		{"trailing", func() []byte {
			return append(cardBundle(t, nil, 1, testOrigin, issueNonce(t, ts, 1)), []byte(` {}`)...)
		}, ecardplatform.CodeMalformed, "malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, m, _ := post(t, ts.URL+"/api/verify", "application/json", tc.bundle())
			if st != 422 || m["verified"] != false || m["code"] != tc.code {
				t.Fatalf("%d %v, want code %s", st, m, tc.code)
			}
			msg := m["message"].(string)
			if !strings.Contains(msg, tc.words) || !strings.Contains(msg, " / ") {
				t.Fatalf("message %q: want bilingual words %q", msg, tc.words)
			}
		})
	}
}

func TestVerifyBankBlocked(t *testing.T) {
	// The daemon refuses a blocked bank application, so a blocked level-2
	// bundle only comes from a card that signs it: build it by hand.
	roots, _ := simkeys.RootPool()
	p, err := ecardplatform.New(ecardplatform.Config{Origin: testOrigin, Bridge: "http://127.0.0.1:1", Roots: roots})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(p.Handler())
	defer ts.Close()
	nonce := issueNonce(t, ts, 2)
	b, err := link.ParseBundle(cardBundle(t, nil, 2, testOrigin, nonce))
	if err != nil {
		t.Fatal(err)
	}
	b.Bank.Blocked = true
	id, _ := hex.DecodeString(b.Card.CardID)
	key, err := simkeys.CardSigningKey(id)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := link.SignedMessage(b)
	if b.Proof.Signature, err = sm.Sign(key, nil, msg); err != nil {
		t.Fatal(err)
	}
	st, m, _ := post(t, ts.URL+"/api/verify", "application/json", mustJSON(t, b))
	if st != 422 || m["code"] != ecardplatform.CodeBankBlocked {
		t.Fatalf("%d %v", st, m)
	}
}

func TestRequests(t *testing.T) {
	_, ts := newPlatform(t, testOrigin)
	// Strict JSON and content type.
	if st, m, _ := post(t, ts.URL+"/api/nonce", "text/plain", nil); st != 415 {
		t.Errorf("text/plain nonce: %d %v", st, m)
	}
	if st, m, _ := post(t, ts.URL+"/api/nonce", "application/json", []byte(`{"level":3}`)); st != 400 {
		t.Errorf("level 3: %d %v", st, m)
	}
	if st, m, _ := post(t, ts.URL+"/api/nonce", "application/json", []byte(`{"lvl":1}`)); st != 400 {
		t.Errorf("unknown field: %d %v", st, m)
	}
	if st, m, _ := post(t, ts.URL+"/api/nonce", "application/json", nil); st != 200 || m["nonce"] == nil {
		t.Errorf("empty body: %d %v", st, m)
	}
	if st, m, _ := post(t, ts.URL+"/api/verify", "application/json", bytes.Repeat([]byte(" "), ecardplatform.MaxBody+1)); st != 413 {
		t.Errorf("big body: %d %v", st, m)
	}
	// Nothing else: no GET on the API, no CORS, no other paths.
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/api/nonce", 405}, {"GET", "/api/verify", 405}, {"GET", "/admin", 404},
		{"GET", "/static/index.html", 404}, {"GET", "/static/../platform.go", 404}, {"OPTIONS", "/api/verify", 405},
	} {
		req, _ := http.NewRequest(c.method, ts.URL+c.path, nil)
		req.Header.Set("Origin", "http://evil.example")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s %s: %d (ACAO %q), want %d", c.method, c.path, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"), c.want)
		}
	}
	// The page: strict CSP with the bridge, no inline scripts or handlers.
	resp, err := http.Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "connect-src 'self' http://127.0.0.1:24800;") || !strings.Contains(csp, "script-src 'self';") ||
		strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q", csp)
	}
	for _, bad := range []string{"onclick", "onload", "<script>", "http://", "https://cdn"} {
		if bytes.Contains(bytes.ReplaceAll(page, []byte(`content="http://`), nil), []byte(bad)) {
			t.Errorf("page contains %q", bad)
		}
	}
	for _, f := range []string{"/static/app.js", "/static/app.css"} {
		resp, err := http.Get(ts.URL + f)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d", f, resp.StatusCode)
		}
	}
}

func TestNew(t *testing.T) {
	roots, _ := simkeys.RootPool()
	for _, c := range []ecardplatform.Config{
		{Origin: "http://localhost:8443/", Bridge: "http://127.0.0.1:24800", Roots: roots},
		{Origin: testOrigin, Bridge: "http://127.0.0.1:24800/v1", Roots: roots},
		{Origin: testOrigin, Bridge: "ftp://127.0.0.1", Roots: roots},
		{Origin: testOrigin, Bridge: "http://127.0.0.1:24800"},
	} {
		if _, err := ecardplatform.New(c); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}
