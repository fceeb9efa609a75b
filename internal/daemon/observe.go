package daemon

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/sscard/ssc/internal/audit"
	"github.com/sscard/ssc/sscd"
)

type noteKey struct{}

// opNote is what a handler learns about its operation, for the audit log
// and the metrics: filled as the operation goes, read when it ends.
type opNote struct {
	mu        sync.Mutex
	Reader    string
	Insertion uint64
	Card      string // card number; hashed before it is written anywhere
	Level     int
	PAN       string // full; masked before it is written anywhere
}

// set records the reader and card of the operation.
func (n *opNote) set(r sscd.Reader, card string) {
	if n == nil {
		return
	}
	n.mu.Lock()
	n.Reader, n.Insertion = r.Name, r.Insertion
	if card != "" {
		n.Card = card
	}
	n.mu.Unlock()
}

func (n *opNote) update(f func(n *opNote)) {
	if n == nil {
		return
	}
	n.mu.Lock()
	f(n)
	n.mu.Unlock()
}

// noteOf returns the request's note (nil outside observe; its methods
// accept nil).
func noteOf(r *http.Request) *opNote {
	n, _ := r.Context().Value(noteKey{}).(*opNote)
	return n
}

// outcomeWriter remembers the status and the API error code of an answer.
type outcomeWriter struct {
	http.ResponseWriter
	status int
	code   sscd.Code
	msg    string
}

func (w *outcomeWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *outcomeWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush keeps event streams working through the wrapper.
func (w *outcomeWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *outcomeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe wraps the handler of one operation: it counts it in the metrics
// and, for the operations that touch a card (audited), writes one audit
// line when it ends — if it reached a card or a session; refusals before
// that are summarised (refusals.go).
func (d *Daemon) observe(op string, audited bool, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		n := &opNote{}
		ow := &outcomeWriter{ResponseWriter: w}
		h(ow, r.WithContext(context.WithValue(r.Context(), noteKey{}, n)))
		dur := time.Since(start)
		outcome := "ok"
		if ow.code != "" {
			outcome = string(ow.code)
		} else if ow.status >= 400 {
			outcome = "http_" + http.StatusText(ow.status)
		}
		d.metrics.ObserveOp(op, outcome, dur)
		if d.log.Enabled(r.Context(), slog.LevelDebug) {
			// The code only: error messages are for the client (and the
			// audit log masks them); the debug log needs no more.
			n.mu.Lock()
			rd := n.Reader
			n.mu.Unlock()
			d.log.Debug("operation", "op", op, "reader", rd, "code", outcome, "duration", dur)
		}
		if !audited {
			return
		}
		n.mu.Lock()
		if n.Reader == "" && outcome != "ok" {
			// Refused before it reached a card or a session: counted and
			// summarised, never one line each (refusals.go).
			n.mu.Unlock()
			d.refusals.add(op, outcome)
			return
		}
		e := audit.Entry{
			Time:      start.UTC(),
			Client:    clientName(r),
			Op:        op,
			Reader:    n.Reader,
			Insertion: n.Insertion,
			Level:     n.Level,
			Outcome:   outcome,
			Error:     ow.msg,
			Duration:  float64(dur.Microseconds()) / 1000,
		}
		card, pan := n.Card, n.PAN
		n.mu.Unlock()
		if err := d.audit.record(e, card, pan); err != nil {
			d.metrics.IncAuditError()
			d.log.Error("audit record failed", "op", op, "reader", e.Reader, errAttr(err))
		}
	}
}
