package daemon

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sscd"
)

// apiFuzzOpTimeout bounds the card operations of FuzzAPIRequest; an answer
// must come before it plus a generous margin.
const apiFuzzOpTimeout = 5 * time.Second

// FuzzAPIRequest sends any request line, query and JSON body through the
// socket's handler (the one Serve runs, with its limits, peer check and
// error pages) of a daemon over software cards: r0 holds an issued card,
// r1 a blank one, r2 is empty. Every answer is an error envelope whose
// HTTP status is its code's (never internal, never a 500) or a documented
// success; a PIN from the body is never echoed; each answer is bounded.
func FuzzAPIRequest(f *testing.F) {
	type seed struct {
		method, path, query, body string
	}
	for _, s := range []seed{
		{"GET", "/v1/version", "", ""},
		{"GET", "/v1/health", "", ""},
		{"GET", "/v1/readers", "", ""},
		{"GET", "/v1/events", "", ""},
		{"GET", "/metrics", "", ""},
		{"GET", "/v1/readers/r0/info", "", ""},
		{"GET", "/v1/readers/r0/info", "fields=all&fresh=true&hsm=false&partial=1", ""},
		{"GET", "/v1/readers/r0/info", "format=bas&insertion=1", ""},
		{"GET", "/v1/readers/r2/info", "insertion=%zz", ""},
		{"GET", "/v1/readers/%2F/info", "", ""},
		{"GET", "/v1/readers/r%300/info", "format=xml", ""},
		{"GET", "/v1//readers", "", ""},
		{"HEAD", "/v1/readers/r0/info", "", ""},
		{"GET", "/v1/readers/r0/pin", "", ""},
		{"POST", "/v1/readers/r0/pin/verify", "", `{"pin":"123456"}`},
		{"POST", "/v1/readers/r2/pin/verify", "", `{"pin":"654321","force":true}`},
		{"POST", "/v1/readers/r0/pin/verify", "", `{"pin":"123456"}}`},
		{"POST", "/v1/readers/r0/pin/verify", "", `{"pin":"123456"}]`},
		{"POST", "/v1/readers/r0/pin/verify", "", `{"pinpad":true}`},
		{"POST", "/v1/readers/r0/pin/change", "", `{"old":"123456","new":"654321"}`},
		{"POST", "/v1/readers/r2/pin/change", "", `{"old":"12345a","new":"654321","force":true}`},
		{"POST", "/v1/readers/r0/link", "", `{"level":1,"origin":"https://ecard.example","nonce":"00112233445566778899aabbccddeeff","pin":"123456"}`},
		{"POST", "/v1/readers/r2/link", "", `{"level":2,"origin":"https://ecard.example","nonce":"0011","pin":"123456","force":true}`},
		{"POST", "/v1/readers/r0/hsm/step1", "fields=all", ""},
		{"POST", "/v1/hsm/0123456789abcdef/step2", "", `{"result":"00|00|"}`},
		{"DELETE", "/v1/hsm/0123456789abcdef", "", ""},
		{"POST", "/v1/readers/r1/issue", "", `{"write_info":"` + testWriteInfo + `"}`},
		{"POST", "/v1/readers/r2/issue/step1", "insertion=3", `{"write_info":"` + testWriteInfo + `"}`},
		{"POST", "/v1/issue/0123456789abcdef/step2", "", `{"key":"00"}`},
		{"POST", "/v1/issue/0123456789abcdef/step3", "", `{"key":"00"}`},
		{"DELETE", "/v1/issue/0123456789abcdef", "", ""},
		{"POST", "/v1/readers/r2/pki/personalise", "", `{"admin_pin":"31323334","master_key":"00112233445566778899aabbccddeeff"}`},
		{"POST", "/v1/readers/r0/apdu", "", `{"apdus":["00A4040000"]}`},
		{"POST", "/v1/readers/r0/apdu", "", `{"apdus":["00"]}`},
		{"POST", "/v1/readers/r0/pki/sign", "", `{"pin":"123456","data":"aGVsbG8="}`},
		{"POST", "/v1/readers/r0/pki/sign", "", `{"pin":"123456","data":"aGVsbG8=","force":true}`},
		{"GET", "/v1/readers/r0/pki/certificate", "which=encrypt", ""},
		{"POST", "/v1/readers/r0/update", "", `{"values":{"name":"赵六"}}`},
		{"POST", "/v1/readers/r0/update/step1", "", `{"fields":["name","sex"]}`},
		{"POST", "/v1/issue/0123456789abcdef/step2", "", `{"key":"00","values":{"name":"x"}}`},
		{"POST", "/v1/readers/r0/pin/reset", "", `{"new_pin":"123456"}`},
		{"POST", "/v1/readers/r0/pin/reset/step1", "", `{"card_id":"00","new_pin":"123456"}`},
		{"PUT", "/v1/readers/r0/pin/verify", "", `{}`},
		{"POST", "/v1/readers/r0/pin/verify", "", strings.Repeat(" ", 5000)},
	} {
		f.Add(s.method, s.path, s.query, []byte(s.body))
	}
	dir := f.TempDir()
	sb := reader.NewChipBackend("r0", "r1", "r2")
	if err := sb.Insert("r0", newCard(f, "gen3", nil)); err != nil {
		f.Fatal(err)
	}
	if err := sb.Insert("r1", newCard(f, "gen3-blank", nil)); err != nil {
		f.Fatal(err)
	}
	uid := uint32(os.Getuid())
	d, c, _ := testDaemon(f, Config{
		HSM: "sim", PKICA: "sim", IssueJournal: filepath.Join(dir, "issue.journal"),
		OpTimeout: Duration(apiFuzzOpTimeout), HSMSessionTimeout: Duration(2 * time.Second),
		Admin: AdminConfig{APDU: true, UIDs: []uint32{uid}},
		// The fuzzer's log would be megabytes of debug records.
		Logger: slog.New(slog.DiscardHandler),
	}, sb)
	waitReader(f, c, "r1", func(r sscd.Reader, _ bool) bool { return r.CardPresent })
	h := d.srv.Handler
	me := peer{ok: true, pid: int32(os.Getpid()), uid: uid, gid: uint32(os.Getgid())}

	f.Fuzz(func(t *testing.T, method, p, query string, body []byte) {
		if len(body) > 64<<10 {
			return
		}
		target := p
		if query != "" {
			target += "?" + query
		}
		raw := method + " " + target + " HTTP/1.1\r\nHost: sscd\r\nContent-Type: application/json\r\nContent-Length: " +
			strconv.Itoa(len(body)) + "\r\n\r\n" + string(body)
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return // the server answers a request line it cannot parse itself
		}
		// An event stream never ends by itself: a short deadline ends it.
		wait := apiFuzzOpTimeout + 5*time.Second
		stream := req.Method == http.MethodGet && path.Clean(req.URL.Path) == "/v1/events"
		if stream {
			wait = 50 * time.Millisecond
		}
		ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), peerKey{}, me), wait)
		defer cancel()
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, req.WithContext(ctx))
		// Open sessions would hold their reader for the next inputs.
		d.hsmSess.abortAll()
		d.issueSess.abortAll()
		if el := time.Since(start); el > apiFuzzOpTimeout+5*time.Second {
			t.Fatalf("%s %q: answered after %v", method, target, el)
		}
		checkAPIAnswer(t, rec, method+" "+target, stream)
		if req.Method == http.MethodPost && readsBody(req.URL.Path) && !json.Valid(body) && rec.Code < 300 {
			t.Fatalf("%s %q: body %q is not one JSON value, answered %d", method, target, body, rec.Code)
		}
		checkNoPINEcho(t, raw, body, rec.Body.String())
	})
}

// readsBody says whether the POST route of p reads a JSON body.
func readsBody(p string) bool {
	for _, suffix := range []string{"/pin/verify", "/pin/change", "/link", "/step2", "/issue", "/step1", "/step3", "/pki/personalise", "/apdu",
		"/pki/sign", "/update", "/pin/reset"} {
		if strings.HasSuffix(p, suffix) && !strings.HasSuffix(p, "/hsm/step1") {
			return true
		}
	}
	return false
}

// checkAPIAnswer: an error envelope with the status of its code (never
// internal), or a success of a documented kind.
func checkAPIAnswer(t *testing.T, rec *httptest.ResponseRecorder, what string, stream bool) {
	t.Helper()
	ct := rec.Header().Get("Content-Type")
	if rec.Code >= 200 && rec.Code < 300 {
		switch {
		case stream && strings.HasPrefix(ct, "text/event-stream"):
		case strings.HasPrefix(ct, "text/plain"): // format=bas, /metrics
		case ct == "application/json":
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("%s: status %d, body %q: not JSON", what, rec.Code, rec.Body)
			}
		default:
			t.Fatalf("%s: status %d, Content-Type %q: not a documented answer", what, rec.Code, ct)
		}
		return
	}
	var env sscd.Envelope
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	if ct != "application/json" || dec.Decode(&env) != nil || env.Error == nil || env.Error.Code == "" {
		t.Fatalf("%s: status %d, Content-Type %q, body %q: not an error envelope", what, rec.Code, ct, rec.Body)
	}
	if env.Error.Code == sscd.CodeInternal || rec.Code == http.StatusInternalServerError {
		t.Fatalf("%s: internal error: %q", what, rec.Body)
	}
	if want := env.Error.Code.HTTPStatus(); rec.Code != want {
		t.Fatalf("%s: code %s with status %d, want %d", what, env.Error.Code, rec.Code, want)
	}
}

// checkNoPINEcho: a PIN field's value that appears nowhere else in the
// request never appears in the answer.
func checkNoPINEcho(t *testing.T, raw string, body []byte, answer string) {
	t.Helper()
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return
	}
	for _, k := range []string{"pin", "old", "new", "new_pin"} {
		var p string
		if json.Unmarshal(m[k], &p) != nil || len(p) < 6 {
			continue
		}
		n := 0
		for _, k2 := range []string{"pin", "old", "new", "new_pin"} {
			var p2 string
			if json.Unmarshal(m[k2], &p2) == nil && p2 == p {
				n++
			}
		}
		if strings.Count(raw, p) == n && strings.Contains(answer, p) {
			t.Fatalf("answer %q echoes the %s field", answer, k)
		}
	}
}
