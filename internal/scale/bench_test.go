//go:build cgo && !nopcsc

package scale

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sscard/ssc/internal/pcsctest"
	"github.com/sscard/ssc/sscd"
)

// writeInfo is the ministry write-info string of the gen3-blank software
// card (its card identification code), as in the daemon's issuance tests.
const writeInfo = "411600D156000005005A3C9E17B2D40F|411600000000000000000001|20261201|20361201|B87654321|110101198512120035|王五||1|01|19851212|"

// The bench state is shared by every sub-benchmark: one daemon, and 16
// card processes (gen3 blank cards, issued once before the first
// measurement) answering with benchLatency, restarted when a sub-benchmark
// wants another latency.
var (
	benchOnce    sync.Once
	benchEnv     *pcsctest.Env
	benchNames   []string
	benchSock    string
	benchClient  *sscd.Client
	benchErr     string
	benchLatency = time.Duration(-1) // of the cards running now
)

func setupBench(b *testing.B, latency time.Duration) {
	benchOnce.Do(func() {
		benchEnv = pcsctest.Shared(b)
		benchNames = make([]string, benchEnv.Readers())
		for slot := range benchNames {
			benchNames[slot] = benchEnv.ReaderName(slot)
		}
		benchSock, benchClient = startDaemonFor(b)
	})
	if benchErr != "" {
		b.Fatal(benchErr)
	}
	if latency == benchLatency {
		return
	}
	benchErr = "an earlier setup failed" // until this one succeeds
	if benchLatency >= 0 {
		// Take the cards out and let the daemon see it, so the insertions
		// below are new ones.
		for slot := range benchNames {
			benchEnv.StopCardProcess(b, slot)
		}
		waitDaemon(b, benchClient, benchNames, func(r sscd.Reader) bool { return !r.CardPresent })
	}
	for slot := range benchNames {
		benchEnv.StartCardProcessWith(b, slot, "gen3-blank", pcsctest.CardProcessOptions{Latency: latency})
	}
	benchLatency = latency
	waitDaemon(b, benchClient, benchNames, func(r sscd.Reader) bool { return r.CardPresent && r.Kind == sscd.KindSSC })
	// Issue every card once so the information reads find a holder; the
	// issuance benchmark then writes the same data again (the same
	// commands as on a blank card: every field read, written, read back).
	// In parallel: with card latency one issuance takes a quarter second.
	errs := make([]error, len(benchNames))
	var wg sync.WaitGroup
	for i, n := range benchNames {
		wg.Go(func() {
			if _, err := benchClient.Issue(context.Background(), n, sscd.IssueRequest{WriteInfo: writeInfo}, sscd.CardOptions{}); err != nil {
				errs[i] = fmt.Errorf("first issuance on %s: %w", n, err)
			}
		})
	}
	wg.Wait()
	// Drop the 16 connections this left idle: their goroutines (client
	// and server side) would count in the measured sizes.
	benchClient.Close()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	benchErr = ""
}

// startDaemonFor runs the daemon for the life of the test binary: the
// sub-benchmarks share it, so it is not stopped at a sub-benchmark's end.
func startDaemonFor(b *testing.B) (string, *sscd.Client) {
	return startDaemon(&processTB{B: b})
}

// processTB defers cleanups to process exit (the card processes and pcscd
// go with it too).
type processTB struct{ *testing.B }

func (p *processTB) Cleanup(func()) {}

// benchLatencies are the card latencies of BenchmarkReaders: every APDU
// answered at once (the software card alone: the host's CPU is the
// limit), 1 ms, and 5 ms, a fast real contact card (the bytes of a short
// exchange at ~115 kbit/s plus a few ms of card processing; slow cards and
// 9600 bit/s links take tens of ms: docs/benchmarks.md, issue #17).
var benchLatencies = []time.Duration{0, time.Millisecond, 5 * time.Millisecond}

// BenchmarkReaders measures sscd with one client goroutine per reader on
// 1, 2, 4, 8 and 16 vpcd readers at once: op=info is GET …/info with
// fresh=true (a 3rd-gen read with the SIM HSM, 15 APDUs), op=issue is the
// one-call POST …/issue (53 APDUs); latency is the time the card process
// takes for every APDU (CardProcessOptions.Latency). Latency is the outer
// loop so the 16 cards are restarted once per latency (select with e.g.
// -bench 'BenchmarkReaders/.*/latency=5ms/'). See docs/benchmarks.md
// (issue #17) and scripts/bench-readers.sh.
func BenchmarkReaders(b *testing.B) {
	for _, lat := range benchLatencies {
		for _, op := range []string{"info", "issue"} {
			for _, n := range []int{1, 2, 4, 8, 16} {
				b.Run(fmt.Sprintf("op=%s/latency=%s/readers=%d", op, latencyName(lat), n), func(b *testing.B) {
					setupBench(b, lat)
					benchReaders(b, op, n)
				})
			}
		}
	}
}

// latencyName is "0" or a Go duration ("5ms").
func latencyName(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	return d.String()
}

func benchReaders(b *testing.B, op string, readers int) {
	ctx := context.Background()
	do := func(cl *sscd.Client, name string) error {
		if op == "info" {
			_, err := cl.Info(ctx, name, sscd.InfoOptions{Fresh: true})
			return err
		}
		_, err := cl.Issue(ctx, name, sscd.IssueRequest{WriteInfo: writeInfo}, sscd.CardOptions{})
		return err
	}
	clients := make([]*sscd.Client, readers)
	for i := range clients {
		clients[i] = sscd.Dial(benchSock)
		defer clients[i].Close()
		if err := do(clients[i], benchNames[i]); err != nil { // warm the connection
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	var maxG atomic.Int64
	lat := make([][]time.Duration, readers)
	var wg sync.WaitGroup
	runtime.GC()
	before := sample()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				if err := do(clients[i], benchNames[i]); err != nil {
					b.Error(err)
					return
				}
				lat[i] = append(lat[i], time.Since(t0))
				if g := int64(runtime.NumGoroutine()); g > maxG.Load() {
					maxG.Store(g)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	after := sample()

	var all []time.Duration
	worst99 := 0.0
	for _, l := range lat {
		if len(l) == 0 {
			continue
		}
		slices.Sort(l)
		worst99 = max(worst99, ms(pct(l, 0.99)))
		all = append(all, l...)
	}
	slices.Sort(all)
	if len(all) == 0 {
		return
	}
	wall := elapsed.Seconds()
	b.ReportMetric(float64(len(all))/wall, "ops/s")
	b.ReportMetric(ms(pct(all, 0.50)), "p50-ms")
	b.ReportMetric(ms(pct(all, 0.99)), "p99-ms")
	b.ReportMetric(worst99, "worst-reader-p99-ms")
	b.ReportMetric(float64(after.rssKiB)/1024, "RSS-MiB")
	b.ReportMetric(float64(maxG.Load()), "goroutines")
	// CPU in % of one core over the run (the machine has 2: 200 % is all).
	cpu := func(d float64) float64 { return 100 * d / wall }
	b.ReportMetric(cpu(after.self-before.self), "bench-cpu-%")
	b.ReportMetric(cpu(after.gc-before.gc), "gc-cpu-%")
	b.ReportMetric(cpu(after.pcscd-before.pcscd), "pcscd-cpu-%")
	b.ReportMetric(cpu(after.cards-before.cards), "cards-cpu-%")
}

func pct(sorted []time.Duration, p float64) time.Duration {
	return sorted[int(p*float64(len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// usage is the CPU time (seconds) of this process (the daemon and the
// clients), of its garbage collector, of pcscd and of the card processes,
// and this process's resident set.
type usage struct {
	self, gc, pcscd, cards float64
	rssKiB                 int64
}

func sample() usage {
	var u usage
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		u.self = tv(ru.Utime) + tv(ru.Stime)
	}
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindFloat64 {
		u.gc = s[0].Value.Float64()
	}
	u.rssKiB = statusKiB("/proc/self/status", "VmRSS:")
	// Children: pcscd (started through unshare and sh, which exec it) and
	// the card processes (this binary).
	self := strconv.Itoa(os.Getpid())
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		comm, ppid, cpu, ok := procStat(filepath.Join("/proc", e.Name(), "stat"))
		if !ok || ppid != self {
			continue
		}
		if comm == "pcscd" {
			u.pcscd += cpu
		} else {
			u.cards += cpu
		}
	}
	return u
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// procStat reads comm, ppid and utime+stime (seconds, at USER_HZ = 100) of
// /proc/PID/stat.
func procStat(path string) (comm, ppid string, cpu float64, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", "", 0, false
	}
	s := string(b)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return "", "", 0, false
	}
	comm = s[open+1 : closing]
	f := strings.Fields(s[closing+1:])
	// Fields after comm: state(0) ppid(1) … utime(11) stime(12).
	if len(f) < 13 {
		return "", "", 0, false
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return comm, f[1], (ut + st) / 100, true
}

func statusKiB(path, key string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
