package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"

	"github.com/sscard/ssc/sscd"
)

// Defaults of LimitsConfig.
const (
	DefaultMaxConns       = 128
	DefaultMaxConnsPerUID = 32
	DefaultBridgeMaxConns = 64
	DefaultHealthSlots    = 1
	DefaultMaxStreams     = 16
	DefaultReadTimeout    = 15 * time.Second
	DefaultWriteTimeout   = 15 * time.Second
	DefaultIdleTimeout    = 60 * time.Second
)

// LimitsConfig bounds what local clients can hold of the daemon, so that
// no process starves the others or blinds monitoring (docs/deploy.md).
// Caps are read at each accepted connection and deadlines at each request:
// a reload changes them at once.
type LimitsConfig struct {
	// MaxConns caps the socket's open connections; MaxConnsPerUID the
	// connections of one peer uid on it.
	MaxConns       int `yaml:"max_conns"`
	MaxConnsPerUID int `yaml:"max_conns_per_uid"`
	// HealthSlots are socket connections kept beyond the caps for
	// GET /v1/health only, so a flood never hides the daemon's health.
	HealthSlots int `yaml:"health_slots"`
	// BridgeMaxConns caps the browser bridge's open connections (its TCP
	// peers have no uid to count by).
	BridgeMaxConns int `yaml:"bridge_max_conns"`
	// MaxStreams caps the event streams (GET /v1/events) of each listener.
	MaxStreams int `yaml:"max_streams"`
	// ReadTimeout bounds reading a request's body; WriteTimeout writing an
	// answer (from its first byte; event streams: each write);
	// IdleTimeout an idle keep-alive connection. Headers have 10 s.
	ReadTimeout  Duration `yaml:"read_timeout"`
	WriteTimeout Duration `yaml:"write_timeout"`
	IdleTimeout  Duration `yaml:"idle_timeout"`
}

func (l LimitsConfig) withDefaults() LimitsConfig {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.MaxConns, DefaultMaxConns)
	def(&l.MaxConnsPerUID, DefaultMaxConnsPerUID)
	def(&l.BridgeMaxConns, DefaultBridgeMaxConns)
	def(&l.HealthSlots, DefaultHealthSlots)
	def(&l.MaxStreams, DefaultMaxStreams)
	if l.ReadTimeout == 0 {
		l.ReadTimeout = Duration(DefaultReadTimeout)
	}
	if l.WriteTimeout == 0 {
		l.WriteTimeout = Duration(DefaultWriteTimeout)
	}
	if l.IdleTimeout == 0 {
		l.IdleTimeout = Duration(DefaultIdleTimeout)
	}
	return l
}

func (l LimitsConfig) validate() []error {
	var errs []error
	for _, f := range []struct {
		name string
		v    int
	}{{"max_conns", l.MaxConns}, {"max_conns_per_uid", l.MaxConnsPerUID}, {"bridge_max_conns", l.BridgeMaxConns},
		{"health_slots", l.HealthSlots}, {"max_streams", l.MaxStreams}} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("limits.%s must not be negative", f.name))
		}
	}
	for _, f := range []struct {
		name string
		v    Duration
	}{{"read_timeout", l.ReadTimeout}, {"write_timeout", l.WriteTimeout}, {"idle_timeout", l.IdleTimeout}} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("limits.%s must not be negative", f.name))
		}
	}
	return errs
}

// limits returns the current limits, defaults applied.
func (d *Daemon) limits() LimitsConfig { return d.conf().cfg.Limits.withDefaults() }

// headerTimeout bounds reading a request's headers (both listeners).
const headerTimeout = 10 * time.Second

// refusers bounds the goroutines answering refused connections; beyond
// it a refused connection is closed without an answer.
const refusers = 16

// connLimiter counts the open connections of one listener (and, on the
// socket, of each peer uid) and refuses those past the caps.
type connLimiter struct {
	d      *Daemon
	bridge bool
	mu     sync.Mutex
	open   int            // counted connections
	health int            // connections in the health slots
	perUID map[uint32]int // socket: counted connections per uid
	refuse chan struct{}  // semaphore of refusal answers
}

// limitConn is an admitted connection; Close gives its slot back once.
type limitConn struct {
	net.Conn
	l          *connLimiter
	uid        uint32
	hasUID     bool
	healthOnly bool // admitted in a health slot: GET /v1/health only
	once       sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c) })
	return err
}

// limitListener applies a connLimiter to the connections of a listener.
type limitListener struct {
	net.Listener
	lim *connLimiter
}

func (d *Daemon) newLimiter(bridge bool) *connLimiter {
	return &connLimiter{d: d, bridge: bridge, perUID: map[uint32]int{}, refuse: make(chan struct{}, refusers)}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if lc := l.lim.admit(c); lc != nil {
			return lc, nil
		}
	}
}

// admit counts c in, or answers it too_many_connections and closes it.
func (l *connLimiter) admit(c net.Conn) *limitConn {
	lim := l.d.limits()
	lc := &limitConn{Conn: c, l: l}
	if !l.bridge {
		lc.uid, lc.hasUID = peerUID(c)
	}
	l.mu.Lock()
	max := lim.MaxConns
	if l.bridge {
		max = lim.BridgeMaxConns
	}
	switch {
	case l.open < max && (!lc.hasUID || l.perUID[lc.uid] < lim.MaxConnsPerUID):
		l.open++
		if lc.hasUID {
			l.perUID[lc.uid]++
		}
	case !l.bridge && l.health < lim.HealthSlots:
		l.health++
		lc.healthOnly = true
	default:
		l.mu.Unlock()
		l.refused(c)
		return nil
	}
	l.mu.Unlock()
	if lc.healthOnly {
		// A health slot is for one quick probe: it cannot be held.
		c.SetDeadline(time.Now().Add(headerTimeout))
	}
	return lc
}

func (l *connLimiter) release(c *limitConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.healthOnly {
		l.health--
		return
	}
	l.open--
	if c.hasUID {
		if l.perUID[c.uid]--; l.perUID[c.uid] <= 0 {
			delete(l.perUID, c.uid)
		}
	}
}

// refusedAnswer is the whole answer to a refused connection.
var refusedAnswer = func() []byte {
	body := `{"error":{"code":"` + string(sscd.CodeTooMany) + `","message":"too many connections; try again later"}}` + "\n"
	return []byte("HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nX-Content-Type-Options: nosniff\r\n" +
		"Cache-Control: no-store\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}()

// refused answers a connection past the caps (after reading what the
// client sent at once, so that it sees the answer rather than a reset)
// within a second, or closes it at once when too many are being refused.
func (l *connLimiter) refused(c net.Conn) {
	l.d.connRefused.WithLabelValues(l.listenerName()).Inc()
	select {
	case l.refuse <- struct{}{}:
	default:
		c.Close()
		return
	}
	go func() {
		defer func() { <-l.refuse }()
		c.SetDeadline(time.Now().Add(time.Second))
		var buf [4096]byte
		c.Read(buf[:])
		c.Write(refusedAnswer)
		c.Close()
	}()
}

func (l *connLimiter) listenerName() string {
	if l.bridge {
		return "bridge"
	}
	return "socket"
}

// peerUID reads the uid of a Unix socket peer.
func peerUID(c net.Conn) (uint32, bool) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return 0, false
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var uid uint32
	found := false
	raw.Control(func(fd uintptr) {
		if cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
			uid, found = cred.Uid, true
		}
	})
	return uid, found
}

type healthOnlyKey struct{}

// limitContext marks the requests of a connection admitted in a health
// slot.
func limitContext(ctx context.Context, c net.Conn) context.Context {
	if lc, ok := c.(*limitConn); ok && lc.healthOnly {
		return context.WithValue(ctx, healthOnlyKey{}, true)
	}
	return ctx
}

// unwrapConn returns the connection under the limiter's wrapper.
func unwrapConn(c net.Conn) net.Conn {
	if lc, ok := c.(*limitConn); ok {
		return lc.Conn
	}
	return c
}

// bounded is the outermost handler of both listeners: health slots serve
// GET /v1/health only, HEAD is refused (no handler runs for it: it would
// run a card operation to send headers), a query that does not parse is a
// bad request (rather than silently ignored), and every answer gets its
// deadlines.
func (d *Daemon) bounded(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lim := d.limits()
		rc := http.NewResponseController(w)
		if r.ContentLength != 0 {
			// Cleared by the server once the body is read.
			rc.SetReadDeadline(time.Now().Add(time.Duration(lim.ReadTimeout)))
		}
		dw := &deadlineWriter{ResponseWriter: w, rc: rc, timeout: time.Duration(lim.WriteTimeout)}
		if ho, _ := r.Context().Value(healthOnlyKey{}).(bool); ho {
			// One probe, then the slot is free again.
			w.Header().Set("Connection", "close")
			if r.Method != http.MethodGet || r.URL.Path != "/v1/health" {
				writeError(dw, sscd.Errorf(sscd.CodeTooMany, "too many connections: this one may only ask GET /v1/health"))
				return
			}
		}
		if r.Method == http.MethodHead {
			w.Header().Set("Allow", "GET, POST, DELETE")
			writeError(dw, sscd.Errorf(sscd.CodeMethodNotAllowed, "method HEAD not allowed"))
			return
		}
		if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
			writeError(dw, sscd.Errorf(sscd.CodeBadRequest, "query does not parse"))
			return
		}
		next.ServeHTTP(dw, r)
	})
}

// deadlineWriter sets the write deadline when the answer starts, so that
// a client that does not read cannot hold a handler; the card operation
// before it is bounded by op_timeout, not by this.
type deadlineWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	started bool
}

func (w *deadlineWriter) start() {
	if !w.started {
		w.started = true
		w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	}
}

func (w *deadlineWriter) WriteHeader(code int) { w.start(); w.ResponseWriter.WriteHeader(code) }

func (w *deadlineWriter) Write(b []byte) (int, error) {
	w.start()
	return w.ResponseWriter.Write(b)
}

func (w *deadlineWriter) Flush() {
	w.start()
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// streamSlots counts the event streams of the two listeners.
type streamSlots struct{ socket, bridge atomic.Int32 }

// acquireStream takes an event-stream slot of the request's listener;
// release gives it back.
func (d *Daemon) acquireStream(r *http.Request) (release func(), err error) {
	n := &d.streamSlots.socket
	if bridgeOrigin(r) != "" {
		n = &d.streamSlots.bridge
	}
	if int(n.Add(1)) > d.limits().MaxStreams {
		n.Add(-1)
		return nil, sscd.Errorf(sscd.CodeTooMany, "too many event streams")
	}
	return func() { n.Add(-1) }, nil
}

// streamWriteDeadline renews the write deadline of an event stream before
// each write (keep-alives included).
func (d *Daemon) streamWriteDeadline(w http.ResponseWriter) {
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Duration(d.limits().WriteTimeout)))
}

// newConnRefused makes the counter of refused connections.
func newConnRefused(reg *prometheus.Registry) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sscd_connections_refused_total",
		Help: "Connections refused past a connection cap, by listener (socket, bridge).",
	}, []string{"listener"})
	if reg != nil {
		if err := reg.Register(c); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
			panic(err)
		}
	}
	return c
}
