package daemon

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
)

// issueOrigin may issue cards through the bridge in these tests; testOrigin
// may only read them.
const issueOrigin = otherAllowed

func bridgeIssueConfig(port int) Config {
	cfg := bridgeConfig(port)
	cfg.Bridge.IssueOrigins = []string{issueOrigin}
	return cfg
}

// bridgeOK decodes the answer of a successful bridge request.
func bridgeOK[T any](t *testing.T, rec *httptest.ResponseRecorder, origin string) T {
	t.Helper()
	var v T
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d (%s)", rec.Code, rec.Body)
	}
	checkBridgeHeaders(t, rec.Header(), origin)
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("%s: %v", rec.Body, err)
	}
	return v
}

func keyBody(key string) string { return `{"key":"` + key + `"}` }

func issueStep1Body(insertion uint64) string {
	if insertion == 0 {
		return `{"write_info":"` + testWriteInfo + `"}`
	}
	return fmt.Sprintf(`{"write_info":"%s","insertion":%d}`, testWriteInfo, insertion)
}

// bridgeIssueSteps runs steps 1 and 2 on the bridge for origin.
func bridgeIssueSteps(t *testing.T, h http.Handler, port int, origin, rd string) (sscd.IssueStep1, sscd.IssueStep2) {
	t.Helper()
	s1 := bridgeOK[sscd.IssueStep1](t, bridgeReq{path: "/v1/readers/" + rd + "/issue/step1", body: issueStep1Body(0), origin: origin}.do(t, h, port), origin)
	s2 := bridgeOK[sscd.IssueStep2](t, bridgeReq{path: "/v1/issue/" + s1.Session + "/step2", body: keyBody(hsmStep2(t, s1.Step1)), origin: origin}.do(t, h, port), origin)
	return s1, s2
}

// TestBridgeIssue: a counter page of an issuing origin issues a blank card
// through the bridge (the answers of the key systems computed on the
// page's side), reads it back, and everything is journaled and audited
// under its origin.
func TestBridgeIssue(t *testing.T) {
	port := freePort(t)
	cfg := bridgeIssueConfig(port)
	dir := t.TempDir()
	cfg.Audit.Path = filepath.Join(dir, "audit.log")
	cfg.IssueJournal = filepath.Join(dir, "issue.journal")
	chip := &countingChip{Chip: newCard(t, "gen3-blank", nil)}
	d, c, _ := testDaemon(t, cfg, simBackend(t, chip))
	r0 := waitReader(t, c, "r0", func(r sscd.Reader, _ bool) bool { return r.Kind == sscd.KindSSC })
	h := d.BridgeHandler()

	rec := bridgeReq{path: "/v1/readers/r0/issue/step1", body: issueStep1Body(r0.Insertion), origin: issueOrigin,
		ctype: "application/json; charset=utf-8"}.do(t, h, port)
	s1 := bridgeOK[sscd.IssueStep1](t, rec, issueOrigin)
	if s1.Session == "" || s1.CardID != "411600D156000005005A3C9E17B2D40F" {
		t.Fatalf("step 1 %+v", s1)
	}
	resets := chip.resets.Load()
	rec = bridgeReq{path: "/v1/issue/" + s1.Session + "/step2", body: keyBody(hsmStep2(t, s1.Step1)), origin: issueOrigin}.do(t, h, port)
	s2 := bridgeOK[sscd.IssueStep2](t, rec, issueOrigin)
	if s2.Session != s1.Session || s2.IssuedBefore || !strings.HasPrefix(s2.Request, "411600|") {
		t.Fatalf("step 2 %+v", s2)
	}
	if chip.resets.Load() != resets {
		t.Fatal("the card was reset between the steps")
	}
	rec = bridgeReq{path: "/v1/issue/" + s1.Session + "/step3", body: keyBody(writeKeyAnswer(t, s2.Request, nil)), origin: issueOrigin}.do(t, h, port)
	rep := bridgeOK[sscd.IssueResult](t, rec, issueOrigin)
	if len(rep.Written) != 13 || rep.Rewritten || rep.CardID != s1.CardID {
		t.Errorf("report %+v", rep)
	}
	if chip.resets.Load() == resets {
		t.Error("card not reset after step 3")
	}
	// The session is over.
	rec = bridgeReq{path: "/v1/issue/" + s1.Session + "/step3", body: keyBody(writeKeyAnswer(t, s2.Request, nil)), origin: issueOrigin}.do(t, h, port)
	if rec.Code != http.StatusNotFound || errorCode(t, rec) != sscd.CodeSessionNotFound {
		t.Errorf("step 3 again: %d %s", rec.Code, rec.Body)
	}

	// Read back through the bridge, by the reading origin too.
	r0 = waitReader(t, c, "r0", func(r sscd.Reader, _ bool) bool { return r.Kind == sscd.KindSSC })
	info := bridgeOK[sscd.BasicInfo](t, bridgeReq{path: "/v1/readers/r0/info", body: fmt.Sprintf(`{"insertion":%d}`, r0.Insertion)}.do(t, h, port), testOrigin)
	if info.Name != "王五" || info.CardNumber != "B87654321" {
		t.Fatalf("read back %+v", info)
	}

	// Abort: the card is reset and free at once.
	s1, _ = bridgeIssueSteps(t, h, port, issueOrigin, "r0")
	resets = chip.resets.Load()
	rec = bridgeReq{path: "/v1/issue/" + s1.Session + "/abort", body: "{}", origin: issueOrigin}.do(t, h, port)
	bridgeOK[struct{}](t, rec, issueOrigin)
	if chip.resets.Load() == resets {
		t.Error("card not reset after the abort")
	}
	rec = bridgeReq{path: "/v1/issue/" + s1.Session + "/abort", body: "{}", origin: issueOrigin}.do(t, h, port)
	if rec.Code != http.StatusNotFound || errorCode(t, rec) != sscd.CodeSessionNotFound {
		t.Errorf("abort again: %d %s", rec.Code, rec.Body)
	}

	// The data form of step 1 passes through the bridge as well.
	wi, err := sscard.ParseWriteInfo(testWriteInfo)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(sscd.BridgeIssueRequest{IssueRequest: sscd.IssueRequest{Data: wi}})
	if err != nil {
		t.Fatal(err)
	}
	s1 = bridgeOK[sscd.IssueStep1](t, bridgeReq{path: "/v1/readers/r0/issue/step1", body: string(data), origin: issueOrigin}.do(t, h, port), issueOrigin)
	if s1.CardID != "411600D156000005005A3C9E17B2D40F" {
		t.Errorf("step 1 with data %+v", s1)
	}
	bridgeOK[struct{}](t, bridgeReq{path: "/v1/issue/" + s1.Session + "/abort", body: "{}", origin: issueOrigin}.do(t, h, port), issueOrigin)

	// Same journal, audit and metrics as the socket's write session.
	data, err = os.ReadFile(cfg.IssueJournal)
	if err != nil || strings.Count(string(data), `"step":"done"`) != 1 || strings.Contains(string(data), "110101198512120035") {
		t.Errorf("journal %q, %v", data, err)
	}
	audit, err := os.ReadFile(cfg.Audit.Path)
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]int{}
	for line := range strings.Lines(string(audit)) {
		var e struct{ Client, Op, Outcome string }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		if e.Client != "origin:"+issueOrigin && e.Op != "info" {
			t.Errorf("audit line of %q: %s", e.Client, line)
		}
		ops[e.Op]++
	}
	for _, op := range []string{"issue.step1", "issue.step2", "issue.step3", "issue.abort"} {
		if ops[op] == 0 {
			t.Errorf("audit log lacks %s:\n%s", op, audit)
		}
	}
	m, err := c.Metrics(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`sscd_operations_total{op="issue.step1",outcome="ok"} 3`,
		`sscd_operations_total{op="issue.step3",outcome="ok"} 1`,
		`sscd_operations_total{op="issue.step3",outcome="session_not_found"} 1`,
		`sscd_operations_total{op="issue.abort",outcome="ok"} 2`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestBridgeIssueRefusals: what the issuing routes of the bridge refuse,
// none of it reaching the card.
func TestBridgeIssueRefusals(t *testing.T) {
	port := freePort(t)
	chip := &apduCounter{Chip: newCard(t, "gen3-blank", nil)}
	d, c, _ := testDaemon(t, bridgeIssueConfig(port), simBackend(t, chip))
	waitReader(t, c, "r0", func(r sscd.Reader, _ bool) bool { return r.Kind != "" })
	before := chip.n.Load()
	h := d.BridgeHandler()
	p := strconv.Itoa(port)
	const (
		bh   = sscd.CodeBadHost
		on   = sscd.CodeOriginNotAllowed
		br   = sscd.CodeBadRequest
		snf  = sscd.CodeSessionNotFound
		evil = "https://evil.example"
	)
	step1 := "/v1/readers/r0/issue/step1"
	sid := strings.Repeat("ab", 16)
	step2, step3, abort := "/v1/issue/"+sid+"/step2", "/v1/issue/"+sid+"/step3", "/v1/issue/"+sid+"/abort"
	wi := issueStep1Body(0)
	k2 := keyBody(strings.Repeat("0", 32) + "|" + strings.Repeat("0", 32) + "|")
	k3 := keyBody(strings.Repeat("0", 32) + "|")
	pre := func(m string) map[string]string {
		return map[string]string{"Access-Control-Request-Method": m, "Access-Control-Request-Headers": "content-type"}
	}
	tests := []struct {
		bridgeReq
		cors string // the Access-Control-Allow-Origin expected
	}{
		// Allowed to read, not to issue.
		{bridgeReq{name: "reading origin step1", path: step1, body: wi, origin: testOrigin, status: 403, code: on}, testOrigin},
		{bridgeReq{name: "reading origin step2", path: step2, body: k2, origin: testOrigin, status: 403, code: on}, testOrigin},
		{bridgeReq{name: "reading origin step3", path: step3, body: k3, origin: testOrigin, status: 403, code: on}, testOrigin},
		// Abort is bound to the session only: another origin's answer is
		// that of an unknown session.
		{bridgeReq{name: "reading origin abort", path: abort, body: "{}", origin: testOrigin, status: 404, code: snf}, testOrigin},
		// The guard first.
		{bridgeReq{name: "no origin step1", path: step1, body: wi, origin: "-", status: 403, code: on}, ""},
		{bridgeReq{name: "no origin step2", path: step2, body: k2, origin: "-", status: 403, code: on}, ""},
		{bridgeReq{name: "no origin abort", path: abort, body: "{}", origin: "-", status: 403, code: on}, ""},
		{bridgeReq{name: "null origin step1", path: step1, body: wi, origin: "null", status: 403, code: on}, ""},
		{bridgeReq{name: "foreign origin step1", path: step1, body: wi, origin: evil, status: 403, code: on}, ""},
		{bridgeReq{name: "foreign origin step3", path: step3, body: k3, origin: evil, status: 403, code: on}, ""},
		{bridgeReq{name: "issuing origin suffix", path: step1, body: wi, origin: issueOrigin + ".evil.example", status: 403, code: on}, ""},
		{bridgeReq{name: "rebinding host step1", path: step1, body: wi, origin: issueOrigin, host: "evil.example:" + p, status: 403, code: bh}, ""},
		{bridgeReq{name: "rebinding host step2", path: step2, body: k2, origin: issueOrigin, host: "evil.example:" + p, status: 403, code: bh}, ""},
		{bridgeReq{name: "no host abort", path: abort, body: "{}", origin: issueOrigin, host: "-", status: 403, code: bh}, ""},
		// Preflights: answered for the allowed origins (a reading origin's
		// request is then refused with a message the page can read),
		// refused for the others; DELETE is not a bridge method.
		{bridgeReq{name: "preflight step1 issuing origin", method: "OPTIONS", path: step1, origin: issueOrigin, hdr: pre("POST"), status: 204}, issueOrigin},
		{bridgeReq{name: "preflight step2 reading origin", method: "OPTIONS", path: step2, origin: testOrigin, hdr: pre("POST"), status: 204}, testOrigin},
		{bridgeReq{name: "preflight step1 foreign origin", method: "OPTIONS", path: step1, origin: evil, hdr: pre("POST"), status: 403, code: on}, ""},
		{bridgeReq{name: "preflight abort DELETE", method: "OPTIONS", path: "/v1/issue/" + sid, origin: issueOrigin, hdr: pre("DELETE"), status: 405, code: sscd.CodeMethodNotAllowed}, ""},
		// Methods and routes.
		{bridgeReq{name: "DELETE session (socket route)", method: "DELETE", path: "/v1/issue/" + sid, origin: issueOrigin, status: 404, code: sscd.CodeNotFound}, issueOrigin},
		{bridgeReq{name: "GET step1", method: "GET", path: step1, origin: issueOrigin, status: 405, code: sscd.CodeMethodNotAllowed}, issueOrigin},
		{bridgeReq{name: "GET abort", method: "GET", path: abort, origin: issueOrigin, status: 405, code: sscd.CodeMethodNotAllowed}, issueOrigin},
		{bridgeReq{name: "one-call issue", path: "/v1/readers/r0/issue", body: wi, origin: issueOrigin, status: 404, code: sscd.CodeNotFound}, issueOrigin},
		{bridgeReq{name: "pki personalise", path: "/v1/readers/r0/pki/personalise", body: "{}", origin: issueOrigin, status: 404, code: sscd.CodeNotFound}, issueOrigin},
		// Bodies.
		{bridgeReq{name: "step1 text/plain", path: step1, body: wi, origin: issueOrigin, ctype: "text/plain", status: 400, code: br}, issueOrigin},
		{bridgeReq{name: "step1 no content type", path: step1, body: wi, origin: issueOrigin, ctype: "-", status: 400, code: br}, issueOrigin},
		{bridgeReq{name: "step2 form", path: step2, body: "key=x", origin: issueOrigin, ctype: "application/x-www-form-urlencoded", status: 400, code: br}, issueOrigin},
		{bridgeReq{name: "step3 text/plain", path: step3, body: k3, origin: issueOrigin, ctype: "text/plain", status: 400, code: br}, issueOrigin},
		{bridgeReq{name: "abort text/plain", path: abort, body: "{}", origin: issueOrigin, ctype: "text/plain", status: 400, code: br}, issueOrigin},
		{bridgeReq{name: "abort empty body", path: abort, origin: issueOrigin, status: 400, code: br}, issueOrigin},
		{bridgeReq{name: "abort unknown field", path: abort, body: `{"session":"x"}`, origin: issueOrigin, status: 400, code: br}, issueOrigin},
		{bridgeReq{name: "step1 oversized", path: step1, body: `{"write_info":"` + strings.Repeat("|", 9<<10) + `"}`, origin: issueOrigin, status: 400, code: br}, issueOrigin},
		{bridgeReq{name: "step2 oversized", path: step2, body: keyBody(strings.Repeat("0", 9<<10)), origin: issueOrigin, status: 400, code: br}, issueOrigin},
		{bridgeReq{name: "step3 oversized", path: step3, body: keyBody(strings.Repeat("0", 9<<10)), origin: issueOrigin, status: 400, code: br}, issueOrigin},
		{bridgeReq{name: "step1 unknown field", path: step1, body: `{"write_info":"` + testWriteInfo + `","hsm":"x"}`, origin: issueOrigin, status: 400, code: br}, issueOrigin},
		{bridgeReq{name: "step1 neither form", path: step1, body: `{"force":true}`, origin: issueOrigin, status: 400, code: br}, issueOrigin},
		{bridgeReq{name: "step1 bad write info", path: step1, body: `{"write_info":"a|b|"}`, origin: issueOrigin, status: 400, code: br}, issueOrigin},
		{bridgeReq{name: "step1 trailing data", path: step1, body: wi + "{}", origin: issueOrigin, status: 400, code: br}, issueOrigin},
		{bridgeReq{name: "step2 bad key", path: step2, body: keyBody("nothex|"), origin: issueOrigin, status: 400, code: sscd.CodeMinistryFormat}, issueOrigin},
		{bridgeReq{name: "step1 stale insertion", path: step1, body: issueStep1Body(999999), origin: issueOrigin, status: 409, code: sscd.CodeCardChanged}, issueOrigin},
		{bridgeReq{name: "step1 unknown reader", path: "/v1/readers/zz/issue/step1", body: wi, origin: issueOrigin, status: 404, code: sscd.CodeReaderNotFound}, issueOrigin},
		// Unknown sessions.
		{bridgeReq{name: "unknown session step2", path: step2, body: k2, origin: issueOrigin, status: 404, code: snf}, issueOrigin},
		{bridgeReq{name: "unknown session step3", path: step3, body: k3, origin: issueOrigin, status: 404, code: snf}, issueOrigin},
		{bridgeReq{name: "unknown session abort", path: abort, body: "{}", origin: issueOrigin, status: 404, code: snf}, issueOrigin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := tt.do(t, h, port)
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d (%s)", rec.Code, tt.status, rec.Body)
			}
			checkBridgeHeaders(t, rec.Header(), tt.cors)
			if tt.status == http.StatusNoContent {
				if got := rec.Header().Get("Access-Control-Allow-Methods"); got != "GET, POST" {
					t.Errorf("Access-Control-Allow-Methods %q", got)
				}
				return
			}
			if got := errorCode(t, rec); got != tt.code {
				t.Errorf("code %s, want %s (%s)", got, tt.code, rec.Body)
			}
			if tt.code == on && tt.origin == testOrigin {
				if body := rec.Body.String(); !strings.Contains(body, "may read cards") || !strings.Contains(body, "bridge.issue_origins") {
					t.Errorf("refusal does not say how to allow issuance: %s", body)
				}
			}
		})
	}
	if n := chip.n.Load(); n != before {
		t.Errorf("refused requests sent %d APDUs to the card", n-before)
	}
}

// TestBridgeIssueBinding: a write session is continued and ended only by
// the caller that began it; any other caller gets the answer of an
// unknown session and the session goes on untouched.
func TestBridgeIssueBinding(t *testing.T) {
	port := freePort(t)
	cfg := bridgeIssueConfig(port)
	cfg.Bridge.IssueOrigins = []string{issueOrigin, testOrigin} // both may issue
	d, c, _ := testDaemon(t, cfg, simBackend(t, newCard(t, "gen3-blank", nil)))
	waitReader(t, c, "r0", func(r sscd.Reader, _ bool) bool { return r.Kind == sscd.KindSSC })
	h := d.BridgeHandler()
	ctx := ctxT(t)
	a, b := issueOrigin, testOrigin

	// unknown checks that rec is exactly the answer for an unknown id.
	unknown := func(rec *httptest.ResponseRecorder, id string) {
		t.Helper()
		if rec.Code != http.StatusNotFound || errorCode(t, rec) != sscd.CodeSessionNotFound {
			t.Fatalf("status %d (%s), want session_not_found", rec.Code, rec.Body)
		}
		var env sscd.Envelope
		json.Unmarshal(rec.Body.Bytes(), &env)
		if want := sessionUnknown(id).(*sscd.Error).Message; env.Error.Message != want {
			t.Errorf("message %q, want %q", env.Error.Message, want)
		}
	}

	// Origin A begins; B tries every step, then A goes on.
	s1 := bridgeOK[sscd.IssueStep1](t, bridgeReq{path: "/v1/readers/r0/issue/step1", body: issueStep1Body(0), origin: a}.do(t, h, port), a)
	k2 := keyBody(hsmStep2(t, s1.Step1))
	unknown(bridgeReq{path: "/v1/issue/" + s1.Session + "/step2", body: k2, origin: b}.do(t, h, port), s1.Session)
	unknown(bridgeReq{path: "/v1/issue/" + s1.Session + "/abort", body: "{}", origin: b}.do(t, h, port), s1.Session)
	// Nor from the socket.
	_, err := c.IssueStep2(ctx, s1.Session, hsmStep2(t, s1.Step1))
	wantCode(t, err, sscd.CodeSessionNotFound)
	wantCode(t, c.IssueAbort(ctx, s1.Session), sscd.CodeSessionNotFound)
	s2 := bridgeOK[sscd.IssueStep2](t, bridgeReq{path: "/v1/issue/" + s1.Session + "/step2", body: k2, origin: a}.do(t, h, port), a)
	k3 := keyBody(writeKeyAnswer(t, s2.Request, nil))
	unknown(bridgeReq{path: "/v1/issue/" + s1.Session + "/step3", body: k3, origin: b}.do(t, h, port), s1.Session)
	unknown(bridgeReq{path: "/v1/issue/" + s1.Session + "/abort", body: "{}", origin: b}.do(t, h, port), s1.Session)
	_, err = c.IssueStep3(ctx, s1.Session, writeKeyAnswer(t, s2.Request, nil))
	wantCode(t, err, sscd.CodeSessionNotFound)
	wantCode(t, c.IssueAbort(ctx, s1.Session), sscd.CodeSessionNotFound)
	rep := bridgeOK[sscd.IssueResult](t, bridgeReq{path: "/v1/issue/" + s1.Session + "/step3", body: k3, origin: a}.do(t, h, port), a)
	if len(rep.Written) != 13 {
		t.Errorf("report %+v", rep)
	}

	// A socket session is not reachable from the bridge.
	ss1, err := c.IssueStep1(ctx, "r0", sscd.IssueRequest{WriteInfo: testWriteInfo}, sscd.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{a, b} {
		unknown(bridgeReq{path: "/v1/issue/" + ss1.Session + "/step2", body: keyBody(hsmStep2(t, ss1.Step1)), origin: o}.do(t, h, port), ss1.Session)
		unknown(bridgeReq{path: "/v1/issue/" + ss1.Session + "/abort", body: "{}", origin: o}.do(t, h, port), ss1.Session)
	}
	ss2, err := c.IssueStep2(ctx, ss1.Session, hsmStep2(t, ss1.Step1))
	if err != nil {
		t.Fatal(err)
	}
	if !ss2.IssuedBefore {
		t.Errorf("socket step 2 %+v", ss2)
	}
	unknown(bridgeReq{path: "/v1/issue/" + ss1.Session + "/step3", body: keyBody(writeKeyAnswer(t, ss2.Request, nil)), origin: a}.do(t, h, port), ss1.Session)
	if err := c.IssueAbort(ctx, ss1.Session); err != nil {
		t.Fatal(err)
	}

	// Without bridgeGuard (no verified origin) the bridge's abort never
	// reaches a socket session.
	ss1, err = c.IssueStep1(ctx, "r0", sscd.IssueRequest{WriteInfo: testWriteInfo}, sscd.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/v1/issue/"+ss1.Session+"/abort", strings.NewReader("{}"))
	req.SetPathValue("session", ss1.Session)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	d.bridgeIssueAbort(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("unguarded abort: %d %s", rec.Code, rec.Body)
	}
	if err := c.IssueAbort(ctx, ss1.Session); err != nil {
		t.Fatalf("socket session lost: %v", err)
	}
}

// TestBridgeIssueReload: removing an origin from bridge.issue_origins
// refuses its next steps at once; it may still abort its open session so
// the card is free; adding it back allows issuing again.
func TestBridgeIssueReload(t *testing.T) {
	port := freePort(t)
	cfg := bridgeIssueConfig(port)
	d, c, _ := testDaemon(t, cfg, simBackend(t, newCard(t, "gen3-blank", nil)))
	waitReader(t, c, "r0", func(r sscd.Reader, _ bool) bool { return r.Kind == sscd.KindSSC })
	h := d.BridgeHandler()
	step1 := bridgeReq{path: "/v1/readers/r0/issue/step1", body: issueStep1Body(0), origin: issueOrigin}

	s1 := bridgeOK[sscd.IssueStep1](t, step1.do(t, h, port), issueOrigin)
	next := d.conf().cfg
	next.Bridge.IssueOrigins = nil
	if _, err := d.Reload(next); err != nil {
		t.Fatal(err)
	}
	refused := func(rec *httptest.ResponseRecorder) {
		t.Helper()
		if rec.Code != http.StatusForbidden || errorCode(t, rec) != sscd.CodeOriginNotAllowed {
			t.Fatalf("status %d (%s), want origin_not_allowed", rec.Code, rec.Body)
		}
	}
	refused(bridgeReq{path: "/v1/issue/" + s1.Session + "/step2", body: keyBody(hsmStep2(t, s1.Step1)), origin: issueOrigin}.do(t, h, port))
	bridgeOK[struct{}](t, bridgeReq{path: "/v1/issue/" + s1.Session + "/abort", body: "{}", origin: issueOrigin}.do(t, h, port), issueOrigin)
	refused(step1.do(t, h, port))
	// Reading goes on.
	bridgeOK[sscd.PINStatus](t, bridgeReq{path: "/v1/readers/r0/pin", body: "{}", origin: issueOrigin}.do(t, h, port), issueOrigin)

	// An issuing origin must stay in bridge.origins.
	bad := next
	bad.Bridge.IssueOrigins = []string{"https://new.example"}
	if _, err := d.Reload(bad); err == nil || !strings.Contains(err.Error(), "https://new.example") {
		t.Errorf("reload with an issuing origin outside bridge.origins: %v", err)
	}
	refused(step1.do(t, h, port))

	next.Bridge.IssueOrigins = []string{issueOrigin}
	if _, err := d.Reload(next); err != nil {
		t.Fatal(err)
	}
	s1, _ = bridgeIssueSteps(t, h, port, issueOrigin, "r0")
	bridgeOK[struct{}](t, bridgeReq{path: "/v1/issue/" + s1.Session + "/abort", body: "{}", origin: issueOrigin}.do(t, h, port), issueOrigin)
}

func TestBridgeIssueConfig(t *testing.T) {
	base := BridgeConfig{Port: 24800, Origins: []string{testOrigin, issueOrigin}}
	with := func(issue ...string) BridgeConfig {
		b := base
		b.IssueOrigins = issue
		return b
	}
	tests := []struct {
		name string
		b    BridgeConfig
		ok   bool
		msg  string
	}{
		{"none", with(), true, ""},
		{"one", with(issueOrigin), true, ""},
		{"all", with(issueOrigin, testOrigin), true, ""},
		{"not in origins", with("https://bank.example"), false, `"https://bank.example" is not in bridge.origins`},
		{"one of two not in origins", with(issueOrigin, "https://bank.example"), false, `"https://bank.example"`},
		{"origin without its port", with("https://counter.example.com"), false, `"https://counter.example.com"`},
		{"trailing slash", with(issueOrigin + "/"), false, "bridge.issue_origins"},
		{"wildcard", with("*"), false, `"*"`},
		{"twice", with(issueOrigin, issueOrigin), false, "listed twice"},
		{"bridge off, in origins", BridgeConfig{Origins: []string{testOrigin}, IssueOrigins: []string{testOrigin}}, true, ""},
		{"bridge off, no origins", BridgeConfig{IssueOrigins: []string{testOrigin}}, false, testOrigin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Config{Bridge: tt.b}.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("err %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err %v, want it to say %s", err, tt.msg)
			}
		})
	}
}

// TestLoadConfigIssueOrigins: the YAML key.
func TestLoadConfigIssueOrigins(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	y := "bridge:\n  port: 24800\n  origins: [" + testOrigin + ", " + issueOrigin + "]\n  issue_origins: [" + issueOrigin + "]\n"
	if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(p)
	if err == nil {
		err = c.Validate()
	}
	if err != nil || len(c.Bridge.IssueOrigins) != 1 || c.Bridge.IssueOrigins[0] != issueOrigin {
		t.Fatalf("%+v, %v", c.Bridge, err)
	}
}
