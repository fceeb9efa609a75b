package daemon

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sscard/ssc/internal/audit"
)

// refusalWindow is how often the refused requests are summarised in the
// audit log.
const refusalWindow = time.Minute

// refusals counts the audited requests that were refused before they
// reached a card (reader_not_found, bad_request, no_card, card_changed,
// session_not_found, ...). They are not audited one line each — a flood of
// them would rotate the card operations out of the audit log — but counted
// in sscd_requests_refused_total and written as one summary line per
// operation and code per window. The keys are the routes' operation names
// and the API codes, so the table stays small whatever the requests say.
type refusals struct {
	d       *Daemon
	counter *prometheus.CounterVec

	mu     sync.Mutex
	counts map[[2]string]int // {op, code} → refused since start
	start  time.Time

	stopOnce sync.Once
	stopc    chan struct{}
	done     chan struct{}
}

func (f *refusals) init(d *Daemon) {
	f.d = d
	f.counts = map[[2]string]int{}
	f.start = time.Now()
	f.counter = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sscd_requests_refused_total",
		Help: "Audited requests refused before they reached a card, by operation and API code (summarised in the audit log).",
	}, []string{"op", "code"})
	if reg := d.metrics.Registry(); reg != nil {
		reg.MustRegister(f.counter)
	}
	f.stopc, f.done = make(chan struct{}), make(chan struct{})
	go f.run()
}

func (f *refusals) run() {
	defer close(f.done)
	t := time.NewTicker(refusalWindow)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			f.flush()
		case <-f.stopc:
			f.flush()
			return
		}
	}
}

// add counts one refused request.
func (f *refusals) add(op, code string) {
	f.counter.WithLabelValues(op, code).Inc()
	f.mu.Lock()
	f.counts[[2]string{op, code}]++
	f.mu.Unlock()
}

// flush writes the summary lines of the window that ends now.
func (f *refusals) flush() {
	f.mu.Lock()
	counts, start := f.counts, f.start
	f.counts, f.start = map[[2]string]int{}, time.Now()
	f.mu.Unlock()
	window := audit.Milliseconds(time.Since(start))
	for k, n := range counts {
		e := audit.Entry{Time: start.UTC(), Client: "summary", Op: k[0], Outcome: k[1], Count: n, Duration: window}
		if err := f.d.audit.record(e, "", ""); err != nil {
			f.d.metrics.IncAuditError()
			f.d.log.Error("audit summary failed", "op", k[0], errAttr(err))
		}
	}
}

// stop writes the last summary (at shutdown, before the audit log closes).
func (f *refusals) stop() {
	f.stopOnce.Do(func() { close(f.stopc) })
	<-f.done
}
