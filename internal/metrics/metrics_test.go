package metrics

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape fetches m's handler through HTTP and parses the text exposition.
func scrape(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %s", resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("content type %q", ct)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, body)
	}
	return fams
}

func labelString(lp []*dto.LabelPair) string {
	var s []string
	for _, l := range lp {
		s = append(s, l.GetName()+"="+l.GetValue())
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

// series returns family name's series by label string ("a=1,b=2"): the
// value of a counter or gauge, the sample count of a histogram.
func series(t *testing.T, fams map[string]*dto.MetricFamily, name string) map[string]float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		return nil
	}
	out := make(map[string]float64)
	for _, m := range f.GetMetric() {
		var v float64
		switch {
		case m.Counter != nil:
			v = m.Counter.GetValue()
		case m.Gauge != nil:
			v = m.Gauge.GetValue()
		case m.Untyped != nil:
			v = m.Untyped.GetValue()
		case m.Histogram != nil:
			v = float64(m.Histogram.GetSampleCount())
		}
		out[labelString(m.GetLabel())] = v
	}
	return out
}

func equal(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestScrape(t *testing.T) {
	m := New("v1.2.3")
	m.ObserveOp("info", "ok", 20*time.Millisecond)
	m.ObserveOp("info", "ok", 2*time.Second)
	m.ObserveOp("info", "card_removed", 5*time.Millisecond)
	m.ObserveOp("pin.verify", "wrong_pin", 300*time.Millisecond)
	m.ObserveQueueWait("sim", 3*time.Millisecond)
	m.ObserveQueueWait("sim", 40*time.Millisecond)
	m.ObserveQueueWait("ACS ACR39U 00", time.Millisecond)
	m.IncAuditError()
	m.IncAuditError()
	m.IncBackendError("pcsc")
	m.IncHTTPRequest(200)
	m.IncHTTPRequest(200)
	m.IncHTTPRequest(404)
	m.IncHTTPRequest(1000)
	m.SetReaderSource(func() []ReaderState {
		return []ReaderState{
			{Name: "sim", Backend: "sim", CardPresent: true, Kind: "contact"},
			{Name: "ACS ACR39U 00", Backend: "pcsc"},
			{Name: "GemPC Twin", Backend: "serial", CardPresent: true},
		}
	})
	m.SetQueueSource(func() map[string]int { return map[string]int{"sim": 2, "GemPC Twin": 0} })

	fams := scrape(t, m)
	tests := []struct {
		name string
		typ  dto.MetricType
		want map[string]float64
	}{
		{"sscd_build_info", dto.MetricType_GAUGE, map[string]float64{"version=v1.2.3": 1}},
		{"sscd_operations_total", dto.MetricType_COUNTER, map[string]float64{
			"op=info,outcome=ok": 2, "op=info,outcome=card_removed": 1, "op=pin.verify,outcome=wrong_pin": 1}},
		{"sscd_operation_duration_seconds", dto.MetricType_HISTOGRAM, map[string]float64{"op=info": 3, "op=pin.verify": 1}},
		{"sscd_queue_wait_seconds", dto.MetricType_HISTOGRAM, map[string]float64{"reader=sim": 2, "reader=ACS ACR39U 00": 1}},
		{"sscd_audit_errors_total", dto.MetricType_COUNTER, map[string]float64{"": 2}},
		{"sscd_backend_errors_total", dto.MetricType_COUNTER, map[string]float64{"backend=pcsc": 1}},
		{"sscd_http_requests_total", dto.MetricType_COUNTER, map[string]float64{"code=200": 2, "code=404": 1, "code=other": 1}},
		{"sscd_readers", dto.MetricType_GAUGE, map[string]float64{"": 3}},
		{"sscd_cards_present", dto.MetricType_GAUGE, map[string]float64{"": 2}},
		{"sscd_reader_card_present", dto.MetricType_GAUGE, map[string]float64{
			"backend=sim,reader=sim": 1, "backend=pcsc,reader=ACS ACR39U 00": 0, "backend=serial,reader=GemPC Twin": 1}},
		{"sscd_queue_length", dto.MetricType_GAUGE, map[string]float64{"reader=sim": 2, "reader=GemPC Twin": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ok := fams[tt.name]
			if !ok {
				t.Fatal("missing")
			}
			if f.GetType() != tt.typ {
				t.Errorf("type %v, want %v", f.GetType(), tt.typ)
			}
			if f.GetHelp() == "" {
				t.Error("no help")
			}
			if got := series(t, fams, tt.name); !equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}

	// Buckets and sums of a histogram.
	for _, mm := range fams["sscd_operation_duration_seconds"].GetMetric() {
		if labelString(mm.GetLabel()) != "op=info" {
			continue
		}
		h := mm.GetHistogram()
		if got, want := h.GetSampleSum(), 2.025; got < want-1e-9 || got > want+1e-9 {
			t.Errorf("sum %v, want %v", got, want)
		}
		cum := map[float64]uint64{}
		for _, b := range h.GetBucket() {
			cum[b.GetUpperBound()] = b.GetCumulativeCount()
		}
		if len(cum) != len(DurationBuckets)+1 { // and +Inf
			t.Errorf("%d buckets, want %d", len(cum), len(DurationBuckets)+1)
		}
		for bound, want := range map[float64]uint64{.001: 0, .005: 1, .025: 2, 1: 2, 2.5: 3, 30: 3} {
			if cum[bound] != want {
				t.Errorf("bucket le=%v: %d, want %d", bound, cum[bound], want)
			}
		}
	}

	for _, name := range []string{"go_goroutines", "go_info", "process_start_time_seconds"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("%s missing", name)
		}
	}
}

func TestSourcesUnset(t *testing.T) {
	m := New("dev")
	fams := scrape(t, m)
	for _, name := range []string{"sscd_readers", "sscd_cards_present", "sscd_reader_card_present", "sscd_queue_length"} {
		if _, ok := fams[name]; ok {
			t.Errorf("%s present without a source", name)
		}
	}
	if got := series(t, fams, "sscd_build_info"); !equal(got, map[string]float64{"version=dev": 1}) {
		t.Errorf("build info %v", got)
	}
	// Sources may be reset.
	m.SetReaderSource(func() []ReaderState { return nil })
	if got := series(t, scrape(t, m), "sscd_readers"); !equal(got, map[string]float64{"": 0}) {
		t.Errorf("readers %v", got)
	}
	m.SetReaderSource(nil)
	if _, ok := scrape(t, m)["sscd_readers"]; ok {
		t.Error("readers after SetReaderSource(nil)")
	}
}

func TestPanickingSource(t *testing.T) {
	m := New("dev")
	m.SetReaderSource(func() []ReaderState { panic("boom") })
	m.SetQueueSource(func() map[string]int { return map[string]int{"sim": 1} })
	fams := scrape(t, m)
	if _, ok := fams["sscd_readers"]; ok {
		t.Error("readers from a panicking source")
	}
	if got := series(t, fams, "sscd_queue_length"); !equal(got, map[string]float64{"reader=sim": 1}) {
		t.Errorf("queue length %v", got)
	}
}

func TestLabelCap(t *testing.T) {
	tests := []struct {
		name    string
		observe func(m *Metrics, i int)
		family  string
		label   string
		third   string // the label value of i == 3
	}{
		{"op", func(m *Metrics, i int) { m.ObserveOp(fmt.Sprintf("op%d", i), "ok", time.Millisecond) }, "sscd_operations_total", "op", "op3"},
		{"outcome", func(m *Metrics, i int) { m.ObserveOp("info", fmt.Sprintf("e%d", i), time.Millisecond) }, "sscd_operations_total", "outcome", "e3"},
		{"reader", func(m *Metrics, i int) { m.ObserveQueueWait(fmt.Sprintf("r%d", i), time.Millisecond) }, "sscd_queue_wait_seconds", "reader", "r3"},
		{"backend", func(m *Metrics, i int) { m.IncBackendError(fmt.Sprintf("b%d", i)) }, "sscd_backend_errors_total", "backend", "b3"},
	}
	const n = 500
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New("dev")
			for i := range n {
				tt.observe(m, i)
			}
			tt.observe(m, 3) // a value seen before the cap keeps its series
			fams := scrape(t, m)
			f := fams[tt.family]
			if f == nil {
				t.Fatal("missing family")
			}
			values := map[string]float64{}
			var total float64
			for _, mm := range f.GetMetric() {
				for _, lp := range mm.GetLabel() {
					if lp.GetName() == tt.label {
						var v float64
						if mm.Counter != nil {
							v = mm.Counter.GetValue()
						} else {
							v = float64(mm.Histogram.GetSampleCount())
						}
						values[lp.GetValue()] += v
						total += v
					}
				}
			}
			if len(values) != MaxLabelValues+1 {
				t.Errorf("%d distinct values, want %d", len(values), MaxLabelValues+1)
			}
			if values[OtherLabel] != n-MaxLabelValues {
				t.Errorf("other = %v, want %d", values[OtherLabel], n-MaxLabelValues)
			}
			if values[tt.third] != 2 {
				t.Errorf("%s = %v, want 2", tt.third, values[tt.third])
			}
			if total != n+1 {
				t.Errorf("total %v, want %d", total, n+1)
			}
		})
	}
}

func TestScrapeTimeReaderCap(t *testing.T) {
	m := New("dev")
	m.SetReaderSource(func() []ReaderState {
		var s []ReaderState
		for i := range 100 {
			s = append(s, ReaderState{Name: fmt.Sprintf("r%03d", i), Backend: "pcsc", CardPresent: i%2 == 0})
		}
		return s
	})
	m.SetQueueSource(func() map[string]int {
		q := map[string]int{}
		for i := range 100 {
			q[fmt.Sprintf("q%03d", i)] = 1
		}
		return q
	})
	fams := scrape(t, m) // must not fail on duplicate series
	if got := series(t, fams, "sscd_readers"); got[""] != 100 {
		t.Errorf("readers %v", got)
	}
	if got := series(t, fams, "sscd_cards_present"); got[""] != 50 {
		t.Errorf("cards present %v", got)
	}
	if got := len(series(t, fams, "sscd_reader_card_present")); got > MaxLabelValues+1 {
		t.Errorf("%d reader series", got)
	}
	var sum float64
	for _, v := range series(t, fams, "sscd_queue_length") {
		sum += v
	}
	if sum != 100 {
		t.Errorf("queue length sum %v, want 100", sum)
	}
}

func TestCleanLabel(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", NoneLabel},
		{"info", "info"},
		{"bad\xffutf8", "bad\uFFFDutf8"},
		{strings.Repeat("a", 300), strings.Repeat("a", MaxLabelLen)},
		{strings.Repeat("a", MaxLabelLen-1) + "é", strings.Repeat("a", MaxLabelLen-1) + "\uFFFD"},
	}
	for _, tt := range tests {
		if got := cleanLabel(tt.in); got != tt.want {
			t.Errorf("cleanLabel(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// Odd values never break the exposition.
	m := New("dev\n\"x\"")
	m.ObserveOp("bad\xff", "", time.Millisecond)
	m.IncBackendError("a\"b\\c\nd")
	fams := scrape(t, m)
	if got := series(t, fams, "sscd_backend_errors_total"); !equal(got, map[string]float64{"backend=a\"b\\c\nd": 1}) {
		t.Errorf("backend %v", got)
	}
	if got := series(t, fams, "sscd_operations_total"); !equal(got, map[string]float64{"op=bad\uFFFD,outcome=none": 1}) {
		t.Errorf("ops %v", got)
	}
}

func TestConcurrentObserve(t *testing.T) {
	m := New("dev")
	m.SetReaderSource(func() []ReaderState { return []ReaderState{{Name: "sim", Backend: "sim", CardPresent: true}} })
	m.SetQueueSource(func() map[string]int { return map[string]int{"sim": 1} })
	const goroutines, per = 50, 200
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range per {
				m.ObserveOp(fmt.Sprintf("op%d", (g+i)%100), "ok", time.Duration(i)*time.Millisecond)
				m.ObserveQueueWait("sim", time.Millisecond)
				m.IncHTTPRequest(200)
			}
		})
	}
	for range 5 {
		wg.Go(func() { scrape(t, m) })
	}
	wg.Wait()
	fams := scrape(t, m)
	var total float64
	for _, v := range series(t, fams, "sscd_operations_total") {
		total += v
	}
	if total != goroutines*per {
		t.Errorf("%v operations, want %d", total, goroutines*per)
	}
	if got := series(t, fams, "sscd_http_requests_total"); got["code=200"] != goroutines*per {
		t.Errorf("http %v", got)
	}
	if got := series(t, fams, "sscd_queue_wait_seconds"); got["reader=sim"] != goroutines*per {
		t.Errorf("queue wait %v", got)
	}
}

func TestNil(t *testing.T) {
	var m *Metrics
	m.ObserveOp("info", "ok", time.Second)
	m.ObserveQueueWait("sim", time.Second)
	m.IncAuditError()
	m.IncBackendError("pcsc")
	m.IncHTTPRequest(200)
	m.SetReaderSource(func() []ReaderState { return nil })
	m.SetQueueSource(nil)
	if m.Registry() != nil {
		t.Error("registry of nil")
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("nil handler: %d", rec.Code)
	}
}

func TestOwnRegistry(t *testing.T) {
	// Two instances coexist: nothing is registered globally.
	a, b := New("a"), New("b")
	a.IncAuditError()
	if got := series(t, scrape(t, b), "sscd_audit_errors_total"); got[""] != 0 {
		t.Errorf("b sees a's counter: %v", got)
	}
}
