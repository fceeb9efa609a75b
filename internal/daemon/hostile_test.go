package daemon

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/sscard/ssc/internal/hostile"
	"github.com/sscard/ssc/sscd"
)

// rawClient sends arbitrary requests to the socket.
func rawClient(sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
}

func TestHostileRequests(t *testing.T) {
	_, _, sock := testDaemon(t, Config{HSM: "sim"}, simBackend(t, newCard(t, "gen3", nil)))
	hc := rawClient(sock)
	tests := []struct {
		name, method, path, body string
		code                     sscd.Code
	}{
		{"unknown path", "GET", "/v1/nope", "", sscd.CodeNotFound},
		{"root", "GET", "/", "", sscd.CodeNotFound},
		{"no version", "GET", "/readers", "", sscd.CodeNotFound},
		{"dot dot", "GET", "/v1/readers/../../etc/passwd", "", sscd.CodeNotFound},
		{"wrong method readers", "POST", "/v1/readers", "", sscd.CodeMethodNotAllowed},
		{"wrong method info", "DELETE", "/v1/readers/r0/info", "", sscd.CodeMethodNotAllowed},
		{"wrong method step1", "GET", "/v1/readers/r0/hsm/step1", "", sscd.CodeMethodNotAllowed},
		{"unknown reader", "GET", "/v1/readers/zz/info", "", sscd.CodeReaderNotFound},
		{"ambiguous reader", "GET", "/v1/readers/r/info", "", sscd.CodeReaderNotFound},
		{"encoded slash reader", "GET", "/v1/readers/a%2Fb/info", "", sscd.CodeReaderNotFound},
		{"empty reader", "GET", "/v1/readers//info", "", sscd.CodeNotFound},
		// The mux used to answer these with an HTML redirect.
		{"double slash", "GET", "/v1//readers", "", sscd.CodeNotFound},
		{"dot segment", "GET", "/v1/./readers", "", sscd.CodeNotFound},
		{"dot dot to a route", "POST", "/v1/readers/x/../r0/pin/verify", `{"pin":"123456"}`, sscd.CodeNotFound},
		{"bad format", "GET", "/v1/readers/r0/info?format=xml", "", sscd.CodeBadRequest},
		{"bad partial", "GET", "/v1/readers/r0/info?partial=maybe", "", sscd.CodeBadRequest},
		{"bad insertion", "GET", "/v1/readers/r0/info?insertion=-1", "", sscd.CodeBadRequest},
		{"huge insertion", "GET", "/v1/readers/r0/info?insertion=99999999999999999999999", "", sscd.CodeBadRequest},
		{"stale insertion", "GET", "/v1/readers/r0/info?insertion=999999", "", sscd.CodeCardChanged},
		{"empty slot", "GET", "/v1/readers/r1/pin", "", sscd.CodeNoCard},
		{"bad JSON", "POST", "/v1/readers/r0/pin/verify", "{", sscd.CodeBadRequest},
		{"not an object", "POST", "/v1/readers/r0/pin/verify", "[1,2]", sscd.CodeBadRequest},
		{"unknown field", "POST", "/v1/readers/r0/pin/verify", `{"pin":"123456","x":1}`, sscd.CodeBadRequest},
		{"trailing data", "POST", "/v1/readers/r0/pin/verify", `{"pin":"123456"} {}`, sscd.CodeBadRequest},
		// A stray '}' or ']' after the value used to pass (dec.More took it
		// for the end) and the PIN went to the card.
		{"trailing brace", "POST", "/v1/readers/r0/pin/verify", `{"pin":"123456"}}`, sscd.CodeBadRequest},
		{"trailing bracket", "POST", "/v1/readers/r0/pin/change", `{"old":"123456","new":"112233"}]`, sscd.CodeBadRequest},
		{"trailing brace link", "POST", "/v1/readers/r0/link", `{"level":1,"origin":"https://a.example","nonce":"` + strings.Repeat("AB", 32) + `","pin":"123456"}}`, sscd.CodeBadRequest},
		{"wrong type", "POST", "/v1/readers/r0/pin/verify", `{"pin":123456}`, sscd.CodeBadRequest},
		{"empty body", "POST", "/v1/readers/r0/pin/verify", "", sscd.CodeBadRequest},
		{"pin and pinpad", "POST", "/v1/readers/r0/pin/verify", `{"pin":"123456","pinpad":true}`, sscd.CodeBadRequest},
		{"pin letters", "POST", "/v1/readers/r0/pin/verify", `{"pin":"abcdef"}`, sscd.CodePINFormat},
		{"huge body", "POST", "/v1/readers/r0/pin/verify", `{"pin":"` + strings.Repeat("1", 1<<20) + `"}`, sscd.CodeBadRequest},
		{"bad step2 line", "POST", "/v1/hsm/abc/step2", `{"result":"nothex|"}`, sscd.CodeMinistryFormat},
		{"unknown session", "POST", "/v1/hsm/abc/step2", `{"result":"` + strings.Repeat("0", 32) + "|" + strings.Repeat("0", 32) + `|"}`, sscd.CodeSessionNotFound},
		{"huge step2", "POST", "/v1/hsm/abc/step2", strings.Repeat(" ", 1<<20), sscd.CodeBadRequest},
		{"bad fields", "GET", "/v1/readers/r0/info?fields=some", "", sscd.CodeBadRequest},
		{"bad hsm flag", "GET", "/v1/readers/r0/info?hsm=perhaps", "", sscd.CodeBadRequest},
		{"abort unknown session", "DELETE", "/v1/hsm/abc", "", sscd.CodeSessionNotFound},
		{"change pin and pinpad", "POST", "/v1/readers/r0/pin/change", `{"old":"123456","new":"112233","pinpad":true}`, sscd.CodeBadRequest},
		{"link unknown field", "POST", "/v1/readers/r0/link", `{"level":1,"origin":"https://a.example","nonce":` + `"` + strings.Repeat("AB", 32) + `"` + `,"pin":"123456","origin2":"x"}`, sscd.CodeBadRequest},
		{"link nonce not hex", "POST", "/v1/readers/r0/link", `{"level":1,"origin":"https://a.example","nonce":"zz","pin":"123456"}`, sscd.CodeBadRequest},
		{"link huge nonce", "POST", "/v1/readers/r0/link", `{"level":1,"origin":"https://a.example","nonce":"` + strings.Repeat("AB", 3000) + `","pin":"123456"}`, sscd.CodeBadRequest},
		{"link origin with path", "POST", "/v1/readers/r0/link", `{"level":1,"origin":"https://a.example/x","nonce":"` + strings.Repeat("AB", 32) + `","pin":"123456"}`, sscd.CodeBadRequest},
		{"link javascript origin", "POST", "/v1/readers/r0/link", `{"level":1,"origin":"javascript:alert(1)","nonce":"` + strings.Repeat("AB", 32) + `","pin":"123456"}`, sscd.CodeBadRequest},
		{"link level 0", "POST", "/v1/readers/r0/link", `{"level":0,"origin":"https://a.example","nonce":"` + strings.Repeat("AB", 32) + `","pin":"123456"}`, sscd.CodeBadRequest},
		{"apdu disabled", "POST", "/v1/readers/r0/apdu", `{"apdus":["00A4040000"]}`, sscd.CodeDisabled},
		{"metrics wrong method", "POST", "/metrics", "", sscd.CodeMethodNotAllowed},
		{"issue step1 wrong method", "GET", "/v1/readers/r0/issue/step1", "", sscd.CodeMethodNotAllowed},
		{"issue step1 empty body", "POST", "/v1/readers/r0/issue/step1", "", sscd.CodeBadRequest},
		{"issue step1 neither form", "POST", "/v1/readers/r0/issue/step1", `{"force":true}`, sscd.CodeBadRequest},
		{"issue step1 unknown field", "POST", "/v1/readers/r0/issue/step1", `{"write_info":"a|","hsm":"x"}`, sscd.CodeBadRequest},
		{"issue step1 bad write info", "POST", "/v1/readers/r0/issue/step1", `{"write_info":"a|b|"}`, sscd.CodeBadRequest},
		{"issue step1 data not an object", "POST", "/v1/readers/r0/issue/step1", `{"data":[1]}`, sscd.CodeBadRequest},
		{"issue step1 huge body", "POST", "/v1/readers/r0/issue/step1", `{"write_info":"` + strings.Repeat("|", 1<<20) + `"}`, sscd.CodeBadRequest},
		{"issue step1 stale insertion", "POST", "/v1/readers/r0/issue/step1?insertion=999999", `{"write_info":"` + testWriteInfo + `"}`, sscd.CodeCardChanged},
		{"issue step1 unknown reader", "POST", "/v1/readers/zz/issue/step1", `{"write_info":"` + testWriteInfo + `"}`, sscd.CodeReaderNotFound},
		{"issue step2 bad key", "POST", "/v1/issue/abc/step2", `{"key":"nothex|"}`, sscd.CodeMinistryFormat},
		{"issue step2 write-key line", "POST", "/v1/issue/abc/step2", `{"key":"` + strings.Repeat("0", 32) + `|"}`, sscd.CodeMinistryFormat},
		{"issue step2 old field name", "POST", "/v1/issue/abc/step2", `{"result":"` + strings.Repeat("0", 32) + "|" + strings.Repeat("0", 32) + `|"}`, sscd.CodeBadRequest},
		{"issue step2 unknown session", "POST", "/v1/issue/abc/step2", `{"key":"` + strings.Repeat("0", 32) + "|" + strings.Repeat("0", 32) + `|"}`, sscd.CodeSessionNotFound},
		{"issue step3 read-key line", "POST", "/v1/issue/abc/step3", `{"key":"` + strings.Repeat("0", 32) + "|" + strings.Repeat("0", 32) + `|"}`, sscd.CodeMinistryFormat},
		{"issue step3 unknown session", "POST", "/v1/issue/abc/step3", `{"key":"` + strings.Repeat("0", 32) + `|"}`, sscd.CodeSessionNotFound},
		{"issue step3 huge", "POST", "/v1/issue/abc/step3", strings.Repeat(" ", 1<<20), sscd.CodeBadRequest},
		{"issue step3 wrong method", "GET", "/v1/issue/abc/step3", "", sscd.CodeMethodNotAllowed},
		{"issue abort unknown session", "DELETE", "/v1/issue/abc", "", sscd.CodeSessionNotFound},
		{"issue abort wrong method", "GET", "/v1/issue/abc", "", sscd.CodeMethodNotAllowed},
		{"issue abort bridge route", "POST", "/v1/issue/abc/abort", "{}", sscd.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, "http://sscd"+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			var env sscd.Envelope
			if err := json.Unmarshal(data, &env); err != nil || env.Error == nil {
				t.Fatalf("HTTP %d %q: not an error envelope", resp.StatusCode, data)
			}
			if env.Error.Code != tt.code || resp.StatusCode != tt.code.HTTPStatus() {
				t.Errorf("HTTP %d %s (%s), want %d %s", resp.StatusCode, env.Error.Code, env.Error.Message, tt.code.HTTPStatus(), tt.code)
			}
			if strings.Contains(string(data), "123456") {
				t.Errorf("answer echoes the PIN: %s", data)
			}
		})
	}
	// Still serving.
	resp, err := hc.Get("http://sscd/v1/health")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("health after hostile requests: %v %v", resp, err)
	}
	resp.Body.Close()
	hostile.Record(t, "daemon socket", "malformed requests (paths, methods, bodies, queries), each with its code", map[string]int{"requests": len(tests)})
}
