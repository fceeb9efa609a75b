package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sscard/ssc/internal/metrics"
	"github.com/sscard/ssc/internal/version"
	"github.com/sscard/ssc/reader"
)

// Daemon serves the API over the readers of one reader.System.
type Daemon struct {
	set     atomic.Pointer[settings]
	sys     *reader.System
	state   *state
	cache   infoCache
	audit   auditSink
	metrics *metrics.Metrics
	queues  queues
	hsmSess sessionTable[*hsmSession]
	// issueSess are the write sessions between their steps (issue_session.go).
	issueSess sessionTable[*issueSession]
	// pins counts the wrong PIN attempts per card insertion (pinlimit.go).
	pins    pinLimiter
	started time.Time
	// resetDue are the readers whose card must be reset before the next
	// operation (the reset after a raised security state was skipped).
	resetDue sync.Map
	log      *slog.Logger

	ctx    context.Context // cancelled at shutdown: ends streams and operations
	cancel context.CancelFunc
	// streams is cancelled first at shutdown: event streams never end by
	// themselves, and http.Server.Shutdown would wait for them.
	streams       context.Context
	cancelStreams context.CancelFunc
	srv           *http.Server
	bridgeSrv     *http.Server // the browser bridge (ServeBridge)
	wg            sync.WaitGroup

	// Connection caps of the two listeners and event-stream slots
	// (limits.go).
	sockLimit, bridgeLimit *connLimiter
	streamSlots            streamSlots
	connRefused            *prometheus.CounterVec
	refusals               refusals // refused requests, counted and summarised (refusals.go)
}

// New starts watching the readers of sys (which the Daemon then owns and
// closes at Shutdown) with the settings of cfg (defaults applied).
func New(cfg Config, sys *reader.System) (*Daemon, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	set, err := newSettings(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Daemon{
		sys:     sys,
		state:   newState(),
		started: time.Now(),
		log:     cfg.Logger,
		ctx:     ctx, cancel: cancel,
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	d.set.Store(set)
	d.metrics = metrics.New(version.Version())
	d.connRefused = newConnRefused(d.metrics.Registry())
	d.sockLimit, d.bridgeLimit = d.newLimiter(false), d.newLimiter(true)
	d.metrics.SetReaderSource(d.readerStates)
	d.metrics.SetQueueSource(d.queues.lengths)
	d.state.visible = cfg.visible
	d.state.onEvent = d.onEvent
	d.cache.setEnabled(!cfg.NoInfoCache)
	if err := d.reloadAudit(AuditConfig{}, cfg.Audit); err != nil {
		cancel()
		return nil, err
	}
	d.streams, d.cancelStreams = context.WithCancel(ctx)
	d.hsmSess.init(d, "HSM")
	d.issueSess.init(d, "issue")
	events, err := sys.Watch(ctx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("watch readers: %w", err)
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.state.run(events)
	}()
	// Serve only once the backends have reported what they hold (bounded:
	// a backend that never finishes its snapshot must not block startup).
	wctx, wcancel := context.WithTimeout(ctx, 3*time.Second)
	d.state.waitSynced(wctx)
	wcancel()
	// The servers' own errors (accept errors, a handler writing its
	// header twice) go to the daemon's log, not to stderr.
	errorLog := slog.NewLogLogger(d.log.Handler(), slog.LevelWarn)
	// Body and answer deadlines are set per request (limits.go: event
	// streams renew theirs at each write); the idle timeout changes at a
	// restart only.
	idle := time.Duration(cfg.Limits.withDefaults().IdleTimeout)
	d.srv = &http.Server{
		Handler:           d.bounded(d.Handler()),
		ErrorLog:          errorLog,
		ConnContext:       connContext,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ReadHeaderTimeout: headerTimeout,
		IdleTimeout:       idle,
		MaxHeaderBytes:    16 << 10,
	}
	d.bridgeSrv = &http.Server{
		Handler:           d.bounded(d.BridgeHandler()),
		ErrorLog:          errorLog,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ReadHeaderTimeout: headerTimeout,
		IdleTimeout:       idle,
		MaxHeaderBytes:    16 << 10,
	}
	d.refusals.init(d)
	return d, nil
}

// Serve serves the API on l until Shutdown; it returns nil after Shutdown.
func (d *Daemon) Serve(l net.Listener) error {
	err := d.srv.Serve(&limitListener{Listener: l, lim: d.sockLimit})
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections, lets in-flight operations finish
// until ctx is done, then cancels the rest (event streams, HSM sessions,
// operations still running), and closes the readers.
func (d *Daemon) Shutdown(ctx context.Context) error {
	// Event streams never finish by themselves: end them first so that
	// http.Server.Shutdown only waits for card operations.
	d.cancelStreams()
	// Open HSM sessions hold their readers until step 2; requests queued
	// behind them would keep the shutdown waiting.
	d.hsmSess.abortAll()
	d.issueSess.abortAll()
	bridged := make(chan error, 1)
	go func() { bridged <- d.bridgeSrv.Shutdown(ctx) }()
	err := d.srv.Shutdown(ctx)
	berr := <-bridged
	d.cancel()
	d.hsmSess.abortAll() // a step 1 that finished during the shutdown
	d.issueSess.abortAll()
	if err != nil {
		d.srv.Close()
	}
	if berr != nil {
		d.bridgeSrv.Close()
		if err == nil {
			err = berr
		}
	}
	d.wg.Wait()
	if cerr := d.sys.Close(); cerr != nil && err == nil {
		err = cerr
	}
	d.refusals.stop()
	if cerr := d.audit.close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}
