// Package metrics holds the daemon's Prometheus metrics, on a registry of
// its own (never the global one), served in the text exposition format by
// Handler.
//
// Series:
//
//	sscd_build_info{version}                       gauge, always 1
//	sscd_operations_total{op,outcome}              counter
//	sscd_operation_duration_seconds{op}            histogram
//	sscd_queue_wait_seconds{reader}                histogram, time waited for the reader's FIFO queue
//	sscd_queue_length{reader}                      gauge at scrape time (SetQueueSource)
//	sscd_readers                                   gauge at scrape time (SetReaderSource)
//	sscd_cards_present                             gauge at scrape time (SetReaderSource)
//	sscd_reader_card_present{reader,backend}       gauge 0/1 at scrape time (SetReaderSource)
//	sscd_audit_errors_total                        counter
//	sscd_backend_errors_total{backend}             counter
//	sscd_http_requests_total{code}                 counter
//
// plus the Go runtime (go_*) and process (process_*) collectors.
//
// Label values are bounded: each label (op, outcome, reader, backend) keeps
// at most MaxLabelValues distinct values; later new values are reported as
// "other" (OtherLabel). Empty values become "none", invalid UTF-8 is
// replaced and values are cut to MaxLabelLen bytes. The queue wait is
// labelled by reader because readers are few (and capped like the rest);
// scrape-time series of readers folded into "other" are summed.
//
// A nil *Metrics is valid: its methods do nothing and Handler answers 404,
// so the daemon can run without metrics.
package metrics

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const (
	// MaxLabelValues is the number of distinct values a label keeps before
	// new ones are reported as OtherLabel.
	MaxLabelValues = 64
	// MaxLabelLen is the longest label value, in bytes.
	MaxLabelLen = 128
	// OtherLabel replaces label values beyond MaxLabelValues.
	OtherLabel = "other"
	// NoneLabel replaces an empty label value.
	NoneLabel = "none"
)

// DurationBuckets are the histogram buckets, in seconds, of operation
// durations and queue waits: 1 ms to 30 s.
var DurationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// ReaderState is one reader as the scrape sees it.
type ReaderState struct {
	Name        string
	Backend     string // "pcsc", "serial", "sim", ...
	CardPresent bool
	Kind        string // not exported as a label (informational)
}

// Metrics is the daemon's metrics. Its methods are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	ops        *prometheus.CounterVec
	opDuration *prometheus.HistogramVec
	queueWait  *prometheus.HistogramVec
	auditErrs  prometheus.Counter
	backendErr *prometheus.CounterVec
	httpReqs   *prometheus.CounterVec

	opLabel      *capper
	outcomeLabel *capper
	readerLabel  *capper
	backendLabel *capper
	codeLabel    *capper

	readerSrc atomic.Pointer[func() []ReaderState]
	queueSrc  atomic.Pointer[func() map[string]int]
}

// New returns the metrics of a daemon of the given version, on a registry
// of their own with the Go and process collectors.
func New(version string) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sscd_operations_total",
			Help: "API operations by operation and outcome (\"ok\" or the API error code).",
		}, []string{"op", "outcome"}),
		opDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sscd_operation_duration_seconds",
			Help:    "Duration of API operations, queue wait included.",
			Buckets: DurationBuckets,
		}, []string{"op"}),
		queueWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sscd_queue_wait_seconds",
			Help:    "Time operations waited for their turn in a reader's queue.",
			Buckets: DurationBuckets,
		}, []string{"reader"}),
		auditErrs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sscd_audit_errors_total",
			Help: "Audit log records that failed.",
		}),
		backendErr: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sscd_backend_errors_total",
			Help: "Errors of reader backends (pcsc, serial, sim).",
		}, []string{"backend"}),
		httpReqs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sscd_http_requests_total",
			Help: "HTTP requests by status code.",
		}, []string{"code"}),
		opLabel:      newCapper(MaxLabelValues),
		outcomeLabel: newCapper(MaxLabelValues),
		readerLabel:  newCapper(MaxLabelValues),
		backendLabel: newCapper(MaxLabelValues),
		codeLabel:    newCapper(MaxLabelValues),
	}
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "sscd_build_info",
		Help:        "The daemon's version; always 1.",
		ConstLabels: prometheus.Labels{"version": cleanLabel(version)},
	})
	buildInfo.Set(1)
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo, m.ops, m.opDuration, m.queueWait, m.auditErrs, m.backendErr, m.httpReqs,
		&scrapeCollector{m: m},
	)
	return m
}

// Registry is the metrics' registry, for collectors of the daemon's own.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// ObserveOp counts an API operation and observes its duration.
func (m *Metrics) ObserveOp(op, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	op = m.opLabel.value(op)
	m.ops.WithLabelValues(op, m.outcomeLabel.value(outcome)).Inc()
	m.opDuration.WithLabelValues(op).Observe(d.Seconds())
}

// ObserveQueueWait observes the time an operation waited for reader.
func (m *Metrics) ObserveQueueWait(reader string, d time.Duration) {
	if m == nil {
		return
	}
	m.queueWait.WithLabelValues(m.readerLabel.value(reader)).Observe(d.Seconds())
}

// IncAuditError counts a failed audit record.
func (m *Metrics) IncAuditError() {
	if m == nil {
		return
	}
	m.auditErrs.Inc()
}

// IncBackendError counts an error of a reader backend.
func (m *Metrics) IncBackendError(backend string) {
	if m == nil {
		return
	}
	m.backendErr.WithLabelValues(m.backendLabel.value(backend)).Inc()
}

// IncHTTPRequest counts an HTTP request answered with code; codes outside
// 100..599 are counted as "other".
func (m *Metrics) IncHTTPRequest(code int) {
	if m == nil {
		return
	}
	label := OtherLabel
	if code >= 100 && code <= 599 {
		label = m.codeLabel.value(strconv.Itoa(code))
	}
	m.httpReqs.WithLabelValues(label).Inc()
}

// SetReaderSource sets the function called at each scrape for
// sscd_readers, sscd_cards_present and sscd_reader_card_present. Until it
// is set (or when f is nil) those series are absent. f must be fast and
// safe for concurrent use.
func (m *Metrics) SetReaderSource(f func() []ReaderState) {
	if m == nil {
		return
	}
	if f == nil {
		m.readerSrc.Store(nil)
		return
	}
	m.readerSrc.Store(&f)
}

// SetQueueSource sets the function called at each scrape for
// sscd_queue_length: the number of operations queued (waiting or running)
// per reader. f must be fast and safe for concurrent use.
func (m *Metrics) SetQueueSource(f func() map[string]int) {
	if m == nil {
		return
	}
	if f == nil {
		m.queueSrc.Store(nil)
		return
	}
	m.queueSrc.Store(&f)
}

// Handler serves the metrics in the Prometheus text exposition format. A
// collector that fails does not fail the scrape: the other series are
// still served.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
	})
}

var (
	readersDesc = prometheus.NewDesc("sscd_readers",
		"Readers the daemon sees.", nil, nil)
	cardsPresentDesc = prometheus.NewDesc("sscd_cards_present",
		"Readers with a card present.", nil, nil)
	readerCardDesc = prometheus.NewDesc("sscd_reader_card_present",
		"1 when a card is in the reader (readers folded into \"other\" are summed).", []string{"reader", "backend"}, nil)
	queueLenDesc = prometheus.NewDesc("sscd_queue_length",
		"Operations queued (waiting or running) per reader.", []string{"reader"}, nil)
)

// scrapeCollector collects the series computed at scrape time.
type scrapeCollector struct{ m *Metrics }

func (c *scrapeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- readersDesc
	ch <- cardsPresentDesc
	ch <- readerCardDesc
	ch <- queueLenDesc
}

func (c *scrapeCollector) Collect(ch chan<- prometheus.Metric) {
	if f := c.m.readerSrc.Load(); f != nil {
		if states, ok := call(*f); ok {
			present := 0
			type key struct{ reader, backend string }
			per := make(map[key]float64)
			for _, s := range states {
				v := 0.0
				if s.CardPresent {
					present++
					v = 1
				}
				per[key{c.m.readerLabel.value(s.Name), c.m.backendLabel.value(s.Backend)}] += v
			}
			ch <- prometheus.MustNewConstMetric(readersDesc, prometheus.GaugeValue, float64(len(states)))
			ch <- prometheus.MustNewConstMetric(cardsPresentDesc, prometheus.GaugeValue, float64(present))
			for k, v := range per {
				ch <- prometheus.MustNewConstMetric(readerCardDesc, prometheus.GaugeValue, v, k.reader, k.backend)
			}
		}
	}
	if f := c.m.queueSrc.Load(); f != nil {
		if queues, ok := call(*f); ok {
			per := make(map[string]float64)
			for name, n := range queues {
				per[c.m.readerLabel.value(name)] += float64(n)
			}
			for reader, v := range per {
				ch <- prometheus.MustNewConstMetric(queueLenDesc, prometheus.GaugeValue, v, reader)
			}
		}
	}
}

// call calls a source, turning a panic into a missing series rather than
// a crashed daemon (the registry collects in goroutines of its own).
func call[T any](f func() T) (v T, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return f(), true
}

// capper bounds the distinct values of a label.
type capper struct {
	max  int
	mu   sync.RWMutex
	seen map[string]struct{}
}

func newCapper(max int) *capper { return &capper{max: max, seen: make(map[string]struct{})} }

// value returns v cleaned, or OtherLabel once max distinct values have
// been seen and v is not one of them.
func (c *capper) value(v string) string {
	v = cleanLabel(v)
	c.mu.RLock()
	_, ok := c.seen[v]
	c.mu.RUnlock()
	if ok {
		return v
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.seen[v]; ok {
		return v
	}
	if len(c.seen) >= c.max {
		return OtherLabel
	}
	c.seen[v] = struct{}{}
	return v
}

// cleanLabel makes v a valid, bounded label value.
func cleanLabel(v string) string {
	if v == "" {
		return NoneLabel
	}
	if len(v) > MaxLabelLen {
		v = v[:MaxLabelLen]
	}
	if !utf8.ValidString(v) { // also repairs a rune cut above
		v = strings.ToValidUTF8(v, "\uFFFD")
	}
	return v
}
