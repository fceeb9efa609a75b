package daemon

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sscard/ssc/sscd"
)

// BenchmarkE2EInfo measures GET /v1/readers/{reader}/info (3rd-gen cards,
// the SIM HSM two-step read) over the Unix socket through pcscd+vpcd, with
// 1, 10 and 100 concurrent clients spread over the two readers. In mode
// "fresh" every request reads the card: each reader serves one operation
// at a time, so latency grows with the queue. In mode "cached" (the
// default behaviour) the daemon answers from what it read of the same
// insertion.
func BenchmarkE2EInfo(b *testing.B) {
	e := pcscDaemon(b, Config{HSM: "sim", OpTimeout: Duration(time.Minute)}, newCard(b, "gen3", nil), newCard(b, "gen3", secondHolder))
	for _, mode := range []string{"cached", "fresh"} {
		for _, clients := range []int{1, 10, 100} {
			benchInfo(b, e, mode, clients)
		}
	}
}

func benchInfo(b *testing.B, e *e2e, mode string, clients int) {
	opts := sscd.InfoOptions{Fresh: mode == "fresh"}
	b.Run(fmt.Sprintf("mode=%s/clients=%d", mode, clients), func(b *testing.B) {
		var next atomic.Int64
		lat := make([][]time.Duration, clients)
		var failed atomic.Int64
		var wg sync.WaitGroup
		b.ResetTimer()
		start := time.Now()
		for i := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cl := sscd.Dial(e.sock)
				defer cl.Close()
				for {
					n := next.Add(1)
					if n > int64(b.N) {
						return
					}
					t0 := time.Now()
					_, err := cl.Info(context.Background(), e.names[n%2], opts)
					lat[i] = append(lat[i], time.Since(t0))
					if err != nil {
						failed.Add(1)
						b.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		b.StopTimer()
		all := slices.Concat(lat...)
		slices.Sort(all)
		pct := func(p float64) float64 {
			return float64(all[int(p*float64(len(all)-1))]) / float64(time.Millisecond)
		}
		b.ReportMetric(float64(len(all))/elapsed.Seconds(), "req/s")
		b.ReportMetric(pct(0.50), "p50-ms")
		b.ReportMetric(pct(0.99), "p99-ms")
		b.ReportMetric(float64(failed.Load()), "errors")
	})
}
