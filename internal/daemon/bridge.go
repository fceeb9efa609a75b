package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/sscard/ssc/link/cardlink"
	"github.com/sscard/ssc/sscd"
)

// The browser bridge is a loopback HTTP listener for the web pages of the
// configured origins (bridge.origins). Every request is checked before
// anything else: the Host header must name the loopback listener (DNS
// rebinding), the Origin header must be one of bridge.origins exactly (other
// sites, local files, sandboxed frames), and only a few endpoints exist
// (readers, events, basic information, PIN status, link, and the write
// session of counter issuance for the origins of bridge.issue_origins, each
// session bound to the origin that began it). Card endpoints
// take POST with a JSON body, which browsers only send cross-origin after a
// CORS preflight this bridge answers for the allowed origins only.

// bridgeMaxBody caps the bodies of bridge requests.
const bridgeMaxBody = 8 << 10

// bridgeConfigPath is the configuration file named in the refusals.
const bridgeConfigPath = "/etc/sscd/sscd.yaml"

type originKey struct{}

// bridgeOrigin returns the verified Origin of a bridge request ("" for the
// socket).
func bridgeOrigin(r *http.Request) string {
	o, _ := r.Context().Value(originKey{}).(string)
	return o
}

// BridgeHandler returns the handler of the browser bridge (also used by
// tests without a listener).
func (d *Daemon) BridgeHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/version", d.observe("version", false, d.handleVersion))
	mux.HandleFunc("GET /v1/readers", d.observe("readers", false, d.handleReaders))
	mux.HandleFunc("GET /v1/events", d.observe("events", false, d.handleEvents))
	mux.HandleFunc("POST /v1/readers/{reader}/info", d.observe("info", true, d.bridgeInfo))
	mux.HandleFunc("POST /v1/readers/{reader}/pin", d.observe("pin.status", true, d.bridgePINStatus))
	mux.HandleFunc("POST /v1/readers/{reader}/link", d.observe("link", true, d.bridgeLink))
	// The write session of counter issuance, for bridge.issue_origins only
	// (the socket's handlers; sessions bound to the origin that began them).
	mux.HandleFunc("POST /v1/readers/{reader}/issue/step1", d.observe("issue.step1", true, d.bridgeIssue(d.bridgeIssueStep1)))
	mux.HandleFunc("POST /v1/issue/{session}/step2", d.observe("issue.step2", true, d.bridgeIssue(d.bridgeIssueKey(d.handleIssueStep2))))
	mux.HandleFunc("POST /v1/issue/{session}/step3", d.observe("issue.step3", true, d.bridgeIssue(d.bridgeIssueKey(d.handleIssueStep3))))
	mux.HandleFunc("POST /v1/issue/{session}/abort", d.observe("issue.abort", true, d.bridgeIssueAbort))
	return d.bridgeGuard(d.recoverer(errorPages(mux)))
}

// bridgeHeaders are on every answer of the bridge, refusals included.
var bridgeHeaders = [][2]string{
	{"X-Frame-Options", "DENY"},
	{"X-Content-Type-Options", "nosniff"},
	{"Cache-Control", "no-store"},
	{"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"},
	{"Referrer-Policy", "no-referrer"},
}

// bridgeWriter applies the bridge's headers when the answer starts, so a
// handler (the event stream's Cache-Control) cannot weaken them.
type bridgeWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *bridgeWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		h := w.ResponseWriter.Header()
		for _, kv := range bridgeHeaders {
			h.Set(kv[0], kv[1])
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *bridgeWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *bridgeWriter) Flush() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *bridgeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// bridgeGuard runs the checks every bridge request passes before anything
// else, in order: Host, Origin, no WebSocket, CORS preflight.
func (d *Daemon) bridgeGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w := &bridgeWriter{ResponseWriter: rw}
		bc := &d.conf().cfg.Bridge
		if !bridgeHostOK(r.Host, bc.Port) {
			// The refusals name the header, never its value: a page or a
			// local process chose it, and it would be echoed to the logs.
			writeError(w, sscd.Errorf(sscd.CodeBadHost, "the Host header does not name this bridge (use http://127.0.0.1:%d)", bc.Port))
			return
		}
		origins := r.Header.Values("Origin")
		origin := ""
		if len(origins) == 1 {
			origin = origins[0]
		}
		switch {
		case len(origins) == 0:
			writeError(w, sscd.Errorf(sscd.CodeOriginNotAllowed, "no Origin header: only the web pages of the origins in bridge.origins may use this card reader"))
			return
		case len(origins) > 1:
			writeError(w, sscd.Errorf(sscd.CodeOriginNotAllowed, "more than one Origin header"))
			return
		case origin == "null":
			writeError(w, sscd.Errorf(sscd.CodeOriginNotAllowed, "origin \"null\" (a local file, a sandboxed frame or a redirect) is not allowed to use this card reader"))
			return
		case !slices.Contains(bc.Origins, origin):
			writeError(w, sscd.Errorf(sscd.CodeOriginNotAllowed,
				"the Origin header names an origin not allowed to use this card reader; an administrator adds it to bridge.origins in the sscd configuration (%s) and reloads sscd (systemctl reload sscd)",
				bridgeConfigPath))
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Vary", "Origin")
		if r.Header.Get("Upgrade") != "" || headerHasToken(r.Header, "Connection", "upgrade") {
			writeError(w, sscd.Errorf(sscd.CodeBadRequest, "protocol upgrade refused: the bridge speaks HTTP only (no WebSocket)"))
			return
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			m := r.Header.Get("Access-Control-Request-Method")
			if m != http.MethodGet && m != http.MethodPost {
				w.Header().Del("Access-Control-Allow-Origin")
				w.Header().Del("Vary")
				writeError(w, sscd.Errorf(sscd.CodeMethodNotAllowed, "method %s not allowed on the bridge", m))
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Methods", "GET, POST")
			h.Set("Access-Control-Allow-Headers", "Content-Type")
			h.Set("Access-Control-Max-Age", "600")
			if strings.EqualFold(r.Header.Get("Access-Control-Request-Private-Network"), "true") {
				h.Set("Access-Control-Allow-Private-Network", "true")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), originKey{}, origin)))
	})
}

// bridgeHostOK: the Host header names the loopback listener exactly. A page
// of a name that resolves to 127.0.0.1 (DNS rebinding) sends its own name.
func bridgeHostOK(host string, port int) bool {
	if port < 1 || port > 65535 {
		return false
	}
	p := ":" + strconv.Itoa(port)
	return host == "127.0.0.1"+p || host == "localhost"+p || host == "[::1]"+p
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// readBridgeJSON decodes the body of a bridge POST: application/json, at
// most bridgeMaxBody bytes, strict.
func readBridgeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if err := bridgeJSONType(r); err != nil {
		return err
	}
	return readJSONLimit(w, r, v, bridgeMaxBody)
}

// bridgeJSONType checks that a bridge POST says application/json (a
// browser sends that cross-origin only after a preflight).
func bridgeJSONType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return sscd.Errorf(sscd.CodeBadRequest, "Content-Type %q: want application/json", ct)
	}
	for k, val := range params {
		if k != "charset" || !strings.EqualFold(val, "utf-8") {
			return sscd.Errorf(sscd.CodeBadRequest, "Content-Type %q: want application/json", ct)
		}
	}
	return nil
}

// withQuery returns a copy of r with the query the socket's handlers read.
func withQuery(r *http.Request, insertion uint64, q url.Values) *http.Request {
	if insertion != 0 {
		q.Set("insertion", strconv.FormatUint(insertion, 10))
	}
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = q.Encode()
	return r2
}

func (d *Daemon) bridgeInfo(w http.ResponseWriter, r *http.Request) {
	var req sscd.BridgeInfoRequest
	if err := readBridgeJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	q := url.Values{}
	if req.Format != "" {
		q.Set("format", req.Format)
	}
	if req.Partial {
		q.Set("partial", "true")
	}
	d.handleInfo(w, withQuery(r, req.Insertion, q))
}

func (d *Daemon) bridgePINStatus(w http.ResponseWriter, r *http.Request) {
	var req sscd.BridgePINStatusRequest
	if err := readBridgeJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	d.handlePINStatus(w, withQuery(r, req.Insertion, url.Values{}))
}

func (d *Daemon) bridgeLink(w http.ResponseWriter, r *http.Request) {
	var req sscd.BridgeLinkRequest
	if err := readBridgeJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	origin := bridgeOrigin(r)
	if origin == "" { // not through bridgeGuard: never link without a verified origin
		writeError(w, sscd.Errorf(sscd.CodeOriginNotAllowed, "no verified origin"))
		return
	}
	// No PIN from the bridge unless the configuration allows it for this
	// origin (read at each request: a reload takes effect at once). Any
	// local process can forge an Origin header.
	if !slices.Contains(d.conf().cfg.Bridge.PINOrigins, origin) {
		writeError(w, sscd.Errorf(sscd.CodeOriginNotAllowed,
			"this origin may read cards through this bridge but not present a PIN; an administrator adds it to bridge.pin_origins in the sscd configuration (%s) and reloads sscd (systemctl reload sscd)",
			bridgeConfigPath))
		return
	}
	// The last try of the PKI PIN is never spent from the bridge: any local
	// process can forge an allowed Origin, and with the last try it would
	// block the PIN within one rate-limit window. Only a socket client
	// (whose uid the kernel vouches for) may force it.
	if req.Force {
		writeError(w, sscd.Errorf(sscd.CodeBadRequest, "force is not accepted on the bridge; the last try is spent only through the socket"))
		return
	}
	d.link(w, withQuery(r, req.Insertion, url.Values{}), cardlink.Request{Level: req.Level, Origin: origin, Nonce: req.Nonce, PIN: req.PIN})
}

// bridgeIssue lets only the pages of bridge.issue_origins (read at each
// request, so a reload takes effect at once) begin or continue a write
// session; the other allowed origins may read cards but not issue them.
func (d *Daemon) bridgeIssue(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		origin := bridgeOrigin(r)
		if origin == "" || !slices.Contains(d.conf().cfg.Bridge.IssueOrigins, origin) {
			writeError(w, sscd.Errorf(sscd.CodeOriginNotAllowed,
				"this origin may read cards through this bridge but not issue them; an administrator adds it to bridge.issue_origins in the sscd configuration (%s) and reloads sscd (systemctl reload sscd)",
				bridgeConfigPath))
			return
		}
		h(w, r)
	}
}

// bridgeIssueStep1 is step 1 with the bridge's body (the insertion in the
// body, no query), handed to the socket's handler.
func (d *Daemon) bridgeIssueStep1(w http.ResponseWriter, r *http.Request) {
	var req sscd.BridgeIssueRequest
	if err := readBridgeJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	body, err := json.Marshal(req.IssueRequest)
	if err != nil {
		writeError(w, sscd.Errorf(sscd.CodeBadRequest, "body: %v", err))
		return
	}
	r2 := withQuery(r, req.Insertion, url.Values{})
	r2.Body = io.NopCloser(bytes.NewReader(body))
	r2.ContentLength = int64(len(body))
	d.handleIssueStep1(w, r2)
}

// bridgeIssueKey hands steps 2 and 3 (body: {"key":...}, read by the
// socket's handler) on after the bridge's body checks.
func (d *Daemon) bridgeIssueKey(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := bridgeJSONType(r); err != nil {
			writeError(w, err)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, bridgeMaxBody)
		h(w, withQuery(r, 0, url.Values{}))
	}
}

// bridgeIssueAbort ends a write session (body: {}). It is not limited to
// bridge.issue_origins: a page whose origin was just removed from them can
// still free the card of a session it began; the session's binding to its
// origin keeps every other caller out.
func (d *Daemon) bridgeIssueAbort(w http.ResponseWriter, r *http.Request) {
	var req struct{}
	if err := readBridgeJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	if bridgeOrigin(r) == "" { // not through bridgeGuard
		writeError(w, sscd.Errorf(sscd.CodeOriginNotAllowed, "no verified origin"))
		return
	}
	d.handleIssueAbort(w, r)
}

// ListenBridge listens on 127.0.0.1:port and [::1]:port. The IPv6 listener
// is left out when the host has no IPv6 loopback; any other failure (the
// port taken, by another local user too) is an error.
func ListenBridge(port int) ([]net.Listener, error) {
	if port < 1 || port > 65535 {
		return nil, fmt.Errorf("bridge: port %d: want 1 to 65535", port)
	}
	p := strconv.Itoa(port)
	l4, err := net.Listen("tcp4", "127.0.0.1:"+p)
	if err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	ls := []net.Listener{l4}
	l6, err := net.Listen("tcp6", "[::1]:"+p)
	switch {
	case err == nil:
		ls = append(ls, l6)
	case noIPv6(err):
		// No IPv6 loopback: browsers reach the bridge on 127.0.0.1.
	default:
		l4.Close()
		return nil, fmt.Errorf("bridge: %w", err)
	}
	return ls, nil
}

func noIPv6(err error) bool {
	return errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EAFNOSUPPORT) || errors.Is(err, syscall.EPROTONOSUPPORT)
}

// ServeBridge serves the browser bridge on ls until Shutdown; it returns
// nil after Shutdown, or the first error of a listener (the others are then
// closed).
func (d *Daemon) ServeBridge(ls []net.Listener) error {
	if len(ls) == 0 {
		return errors.New("bridge: no listener")
	}
	for _, l := range ls {
		d.log.Info("browser bridge listening", "addr", "http://"+l.Addr().String())
	}
	errs := make(chan error, len(ls))
	for _, l := range ls {
		go func() { errs <- d.bridgeSrv.Serve(&limitListener{Listener: l, lim: d.bridgeLimit}) }()
	}
	var first error
	for range ls {
		err := <-errs
		if err != nil && !errors.Is(err, http.ErrServerClosed) && first == nil {
			first = err
			// One listener failed: stop the others (Serve closes its own).
			for _, l := range ls {
				l.Close()
			}
		}
	}
	return first
}
