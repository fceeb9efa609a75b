package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/sscard/ssc/internal/audit"
	"github.com/sscard/ssc/internal/version"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
)

// maxBody caps request bodies: the largest legitimate one (a step-2 line)
// is under 100 bytes.
const maxBody = 4 << 10

// Handler returns the API handler (also used by tests without a socket).
func (d *Daemon) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/version", d.observe("version", false, d.handleVersion))
	mux.HandleFunc("GET /v1/health", d.observe("health", false, d.handleHealth))
	mux.HandleFunc("GET /v1/readers", d.observe("readers", false, d.handleReaders))
	mux.HandleFunc("GET /v1/events", d.observe("events", false, d.handleEvents))
	mux.HandleFunc("GET /v1/readers/{reader}/info", d.observe("info", true, d.handleInfo))
	mux.HandleFunc("POST /v1/readers/{reader}/hsm/step1", d.observe("hsm.step1", true, d.handleStep1))
	mux.HandleFunc("POST /v1/hsm/{session}/step2", d.observe("hsm.step2", true, d.handleStep2))
	mux.HandleFunc("DELETE /v1/hsm/{session}", d.observe("hsm.abort", true, d.handleHSMAbort))
	mux.HandleFunc("GET /v1/readers/{reader}/pin", d.observe("pin.status", true, d.handlePINStatus))
	mux.HandleFunc("POST /v1/readers/{reader}/pin/verify", d.observe("pin.verify", true, d.handleVerifyPIN))
	mux.HandleFunc("POST /v1/readers/{reader}/pin/change", d.observe("pin.change", true, d.handleChangePIN))
	mux.HandleFunc("POST /v1/readers/{reader}/link", d.observe("link", true, d.handleLink))
	mux.HandleFunc("POST /v1/readers/{reader}/apdu", d.observe("apdu", true, d.handleAPDU))
	mux.HandleFunc("POST /v1/readers/{reader}/issue", d.observe("issue", true, d.handleIssue))
	mux.HandleFunc("POST /v1/readers/{reader}/issue/step1", d.observe("issue.step1", true, d.handleIssueStep1))
	mux.HandleFunc("POST /v1/issue/{session}/step2", d.observe("issue.step2", true, d.handleIssueStep2))
	mux.HandleFunc("POST /v1/issue/{session}/step3", d.observe("issue.step3", true, d.handleIssueStep3))
	mux.HandleFunc("DELETE /v1/issue/{session}", d.observe("issue.abort", true, d.handleIssueAbort))
	mux.HandleFunc("POST /v1/readers/{reader}/pki/personalise", d.observe("pki.personalise", true, d.handlePKIPersonalise))
	mux.HandleFunc("POST /v1/readers/{reader}/pki/sign", d.observe("pki.sign", true, d.handlePKISign))
	mux.HandleFunc("GET /v1/readers/{reader}/pki/certificate", d.observe("pki.certificate", true, d.handlePKICertificate))
	mux.HandleFunc("POST /v1/readers/{reader}/pin/reset", d.observe("pin.reset", true, d.handlePINReset))
	mux.HandleFunc("POST /v1/readers/{reader}/pin/reset/step1", d.observe("pin.reset.step1", true, d.handlePINResetStep1))
	mux.HandleFunc("POST /v1/readers/{reader}/update", d.observe("update", true, d.handleUpdate))
	mux.HandleFunc("POST /v1/readers/{reader}/update/step1", d.observe("update.step1", true, d.handleUpdateStep1))
	mux.Handle("GET /metrics", d.metrics.Handler())
	return d.guard(d.recoverer(errorPages(mux)))
}

func (d *Daemon) handleVersion(w http.ResponseWriter, r *http.Request) {
	v := version.Get()
	writeJSON(w, sscd.Version{Daemon: v.Version, Commit: v.Commit, API: sscd.APIVersion, Go: runtime.Version()})
}

func (d *Daemon) handleHealth(w http.ResponseWriter, r *http.Request) {
	n, cards, backErr := d.state.health()
	h := sscd.Health{Status: "ok", Readers: n, Cards: cards, BackendError: backErr, Started: d.started}
	if errs := d.sys.Health(); len(errs) > 0 {
		h.BackendStuck = errors.Join(errs...).Error()
	}
	if h.BackendError != "" || h.BackendStuck != "" {
		h.Status = "degraded"
	}
	writeJSON(w, h)
}

func (d *Daemon) handleReaders(w http.ResponseWriter, r *http.Request) {
	rs, _, _ := d.state.snapshot()
	writeJSON(w, rs)
}

func (d *Daemon) handleInfo(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	format := q.Get("format")
	if format == "" {
		format = sscd.FormatJSON
	}
	if format != sscd.FormatJSON && format != sscd.FormatBas {
		writeError(w, sscd.Errorf(sscd.CodeBadRequest, "format %q: want json or bas", format))
		return
	}
	partial, err := boolParam(q.Get("partial"))
	if err != nil {
		writeError(w, err)
		return
	}
	fresh, err := boolParam(q.Get("fresh"))
	if err != nil {
		writeError(w, err)
		return
	}
	fields, err := fieldsParam(r)
	if err != nil {
		writeError(w, err)
		return
	}
	useHSM := true
	if v := q.Get("hsm"); v != "" {
		if useHSM, err = boolParam(v); err != nil {
			writeError(w, err)
			return
		}
	}
	set := d.conf()
	hsm := set.hsm
	if !useHSM {
		hsm = nil
	}
	// Only the default reading (the iReadCardBas fields, with the HSM when
	// there is one) is kept and shared.
	shareable := fields == 0 && useHSM
	info, rd, err := d.cachedInfo(r, fresh || !shareable)
	if info == nil && err == nil {
		var lead *flight
		if !fresh && shareable && !set.cfg.NoInfoCache {
			f, leader := d.cache.join(rd.Name, rd.Insertion)
			if leader {
				lead = f
			} else {
				select {
				case <-f.done:
					info = f.info // nil: the first read failed, read ourselves
				case <-r.Context().Done():
					err = r.Context().Err()
				}
				if info != nil {
					noteOf(r).set(rd, info.CardNumber)
				}
			}
		}
		var readFrom uint64 // the insertion actually read
		if info == nil && err == nil {
			err = d.withCard(r, func(ctx context.Context, op *cardOp) error {
				readFrom = op.reader.Insertion
				opts := sscard.ReadOptions{Fields: fields, AllowPartial: partial && hsm == nil}
				// Reading with the HSM authenticates: the card must be reset
				// afterwards.
				op.raised = sscard.ReadsWithHSM(op.sess, hsm)
				var err error
				info, err = sscard.ReadAuto(ctx, op.sess, hsm, opts)
				if err == nil {
					if shareable {
						d.cache.put(op.reader.Name, op.reader.Insertion, info)
					}
					op.note.set(op.reader, info.CardNumber)
				}
				return err
			})
		}
		if lead != nil {
			// Only what was read from the insertion the waiters asked for.
			landed := info
			if err != nil || readFrom != rd.Insertion {
				landed = nil
			}
			d.cache.land(rd.Name, rd.Insertion, lead, landed)
		}
	}
	if err != nil {
		writeError(w, err)
		return
	}
	if format == sscd.FormatBas {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, sscard.FormatReadCardBas(info, set.term))
		return
	}
	writeJSON(w, info)
}

func (d *Daemon) handlePINStatus(w http.ResponseWriter, r *http.Request) {
	var st sscd.PINStatus
	err := d.withCard(r, func(ctx context.Context, op *cardOp) error {
		n, err := op.sess.PINStatus(ctx)
		st = sscd.PINStatus{TriesLeft: n, PINPad: hasPINPad(ctx, op)}
		return err
	})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, st)
}

func (d *Daemon) handleVerifyPIN(w http.ResponseWriter, r *http.Request) {
	var req sscd.VerifyPINRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	if req.PINPad == (req.PIN != "") {
		writeError(w, sscd.Errorf(sscd.CodeBadRequest, "give either pin or pinpad=true"))
		return
	}
	err := d.withCard(r, func(ctx context.Context, op *cardOp) error {
		// Reset afterwards whatever the outcome: a verified PIN must not
		// outlive this request.
		op.raised = true
		opts := sscard.PINOptions{Force: req.Force}
		return d.presentPIN(op, func() error {
			if req.PINPad {
				return op.sess.VerifyPINPad(ctx, opts)
			}
			return op.sess.VerifyPIN(ctx, req.PIN, opts)
		})
	})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, sscd.VerifyPINResult{Verified: true})
}

func (d *Daemon) handleChangePIN(w http.ResponseWriter, r *http.Request) {
	var req sscd.ChangePINRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	if req.PINPad == (req.Old != "" || req.New != "") || (!req.PINPad && (req.Old == "" || req.New == "")) {
		writeError(w, sscd.Errorf(sscd.CodeBadRequest, "give old and new, or pinpad=true"))
		return
	}
	if !req.PINPad {
		// Both PINs' format before the card is touched.
		for _, p := range []string{req.Old, req.New} {
			if err := sscard.CheckPIN(p); err != nil {
				writeError(w, err)
				return
			}
		}
	}
	err := d.withCard(r, func(ctx context.Context, op *cardOp) error {
		op.raised = true
		opts := sscard.PINOptions{Force: req.Force}
		return d.presentPIN(op, func() error {
			if req.PINPad {
				return op.sess.ChangePINPad(ctx, opts)
			}
			return op.sess.ChangePIN(ctx, req.Old, req.New, opts)
		})
	})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, sscd.ChangePINResult{Changed: true})
}

// cachedInfo answers from the cache when the reader's current insertion was
// read completely before (and the caller's expected insertion, if any, is
// that one). Any doubt returns (nil, nil): read the card.
func (d *Daemon) cachedInfo(r *http.Request, fresh bool) (*sscard.BasicInfo, sscd.Reader, error) {
	if fresh {
		return nil, sscd.Reader{}, nil
	}
	want, err := insertionParam(r)
	if err != nil {
		return nil, sscd.Reader{}, err
	}
	rd, err := d.state.find(r.PathValue("reader"))
	if err != nil {
		return nil, rd, err
	}
	if err := checkInsertion(rd, want); err != nil {
		return nil, rd, err
	}
	info, ok := d.cache.get(rd.Name, rd.Insertion)
	if !ok {
		return nil, rd, nil
	}
	noteOf(r).set(rd, info.CardNumber)
	return info, rd, nil
}

// withCard runs f as one operation on the card of the request's reader,
// bounded by the operation timeout.
func (d *Daemon) withCard(r *http.Request, f func(ctx context.Context, op *cardOp) error) error {
	return d.withOp(r, true, f)
}

// withRawCard is withCard without opening the social security application.
func (d *Daemon) withRawCard(r *http.Request, f func(ctx context.Context, op *cardOp) error) error {
	return d.withOp(r, false, f)
}

func (d *Daemon) withOp(r *http.Request, openSSC bool, f func(ctx context.Context, op *cardOp) error) error {
	want, err := insertionParam(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), d.opTimeout())
	defer cancel()
	op, err := d.beginOp(ctx, r.PathValue("reader"), want, openSSC)
	if err != nil {
		return err
	}
	defer op.done()
	op.note = noteOf(r)
	op.note.set(op.reader, "")
	return op.explain(f(ctx, op))
}

func insertionParam(r *http.Request) (uint64, error) {
	s := r.URL.Query().Get("insertion")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, sscd.Errorf(sscd.CodeBadRequest, "insertion %q: not a number", s)
	}
	return n, nil
}

// fieldsParam reads fields=all (every EF05/EF06 field); absent is the
// iReadCardBas set (0).
func fieldsParam(r *http.Request) (sscard.FieldSet, error) {
	switch v := r.URL.Query().Get("fields"); v {
	case "":
		return 0, nil
	case "all":
		return sscard.FieldsAll, nil
	default:
		return 0, sscd.Errorf(sscd.CodeBadRequest, "fields %q: want all or nothing", v)
	}
}

func boolParam(s string) (bool, error) {
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, sscd.Errorf(sscd.CodeBadRequest, "%q is not a boolean", s)
	}
	return b, nil
}

// readJSON decodes a small JSON body strictly (unknown fields, trailing data
// and oversize bodies are bad requests).
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	return readJSONLimit(w, r, v, maxBody)
}

func readJSONLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return sscd.Errorf(sscd.CodeBadRequest, "body larger than %d bytes", limit)
		}
		return sscd.Errorf(sscd.CodeBadRequest, "body: %v", err)
	}
	// Anything but white space after the value is refused. dec.More
	// would take a stray '}' or ']' for the end of the stream.
	if _, err := dec.Token(); err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return sscd.Errorf(sscd.CodeBadRequest, "body larger than %d bytes", limit)
		}
		return sscd.Errorf(sscd.CodeBadRequest, "body: data after the JSON value")
	}
	return nil
}

// hasPINPad reports whether the card's reader has a keypad that verifies.
func hasPINPad(ctx context.Context, op *cardOp) bool {
	pp, ok := op.card.(reader.PINPad)
	if !ok {
		return false
	}
	f, err := pp.PINPadFeatures(ctx)
	return err == nil && f.Verify
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		// The client went away; nothing else to do.
		return
	}
}

func writeError(w http.ResponseWriter, err error) {
	e := apiError(err)
	if ow, ok := w.(*outcomeWriter); ok {
		ow.code, ow.msg = e.Code, e.Message
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	w.WriteHeader(e.Code.HTTPStatus())
	json.NewEncoder(w).Encode(sscd.Envelope{Error: e})
}

// recoverer turns a panic in a handler into an internal error instead of a
// dropped connection; the daemon keeps serving. The panic value and the
// stack go to the log only: the value may quote card data, and the client
// can do nothing with it. The route's pattern is logged, not the URL,
// whose query may carry data.
func (d *Daemon) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				d.log.Error("handler panic", "method", r.Method, "route", r.Pattern,
					"panic", audit.Scrub(fmt.Sprint(v)), "stack", string(debug.Stack()))
				writeError(w, sscd.Errorf(sscd.CodeInternal, "internal error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// errorPages replaces the mux's plain-text 404 and 405 with error envelopes.
func errorPages(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// As the mux, on the escaped path: an encoded slash is part of a
		// name (reader_not_found below), not a segment.
		if ep := r.URL.EscapedPath(); r.Method != http.MethodConnect && cleanPath(ep) != ep {
			// The mux would answer a redirect to the cleaned path (HTML, not
			// an envelope); a client of this API never sends such a path.
			writeError(w, sscd.Errorf(sscd.CodeNotFound, "path not in canonical form (an empty, . or .. segment)"))
			return
		}
		_, pattern := mux.Handler(r)
		if pattern == "" {
			// Ask the mux what it would do: 405 has an Allow header.
			rec := &statusRecorder{header: http.Header{}}
			mux.ServeHTTP(rec, r)
			if rec.status == http.StatusMethodNotAllowed {
				w.Header().Set("Allow", rec.header.Get("Allow"))
				writeError(w, sscd.Errorf(sscd.CodeMethodNotAllowed, "method %s not allowed on %s", r.Method, r.URL.Path))
				return
			}
			if readerRoute(mux, r) {
				writeError(w, sscd.Errorf(sscd.CodeReaderNotFound, "no reader of that name"))
				return
			}
			writeError(w, sscd.Errorf(sscd.CodeNotFound, "no endpoint %s", r.URL.Path))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// cleanPath is the path the mux redirects to (net/http's cleanPath): no
// empty, . or .. segments, the trailing slash kept.
func cleanPath(p string) string {
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

// readerRoute says whether r is a reader's endpoint whose reader segment
// the mux could not match: a name such as "%2F" decodes to a slash, and the
// mux then cleans the path into another one. Such a name names no reader.
func readerRoute(mux *http.ServeMux, r *http.Request) bool {
	segs := strings.Split(r.URL.EscapedPath(), "/")
	if len(segs) < 5 || segs[0] != "" || segs[1] != "v1" || segs[2] != "readers" || segs[3] == "" {
		return false
	}
	segs[3] = "x"
	probe := r.Clone(r.Context())
	u := *r.URL
	u.RawPath = ""
	u.Path = strings.Join(segs, "/")
	probe.URL = &u
	_, pattern := mux.Handler(probe)
	return pattern != ""
}

// statusRecorder captures the status of the mux's own error pages.
type statusRecorder struct {
	header http.Header
	status int
}

func (s *statusRecorder) Header() http.Header         { return s.header }
func (s *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusRecorder) WriteHeader(code int)        { s.status = code }
