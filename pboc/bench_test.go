package pboc_test

import (
	"context"
	"testing"

	"github.com/sscard/ssc/pboc"
	"github.com/sscard/ssc/reader"
)

// BenchmarkReadODA is BenchmarkReadODAPCSC with the software card
// in-process (no PC/SC): the cost of the terminal flow and the SM2
// verifications alone.
func BenchmarkReadODA(b *testing.B) {
	for _, m := range simModes {
		b.Run(m.name, func(b *testing.B) {
			benchReadODA(b, connectSim(b, newSimChip(b, m.mode, nil)), m.oda)
		})
	}
}

// benchReadODA runs new Session + Read with ODA per iteration and reports
// the APDUs exchanged per read.
func benchReadODA(b *testing.B, card reader.Card, method string) {
	ctx := context.Background()
	var n int
	opts := simOptions(&n)
	b.ReportAllocs()
	ops := 0
	for b.Loop() {
		r, err := pboc.NewSession(card, opts).Read(ctx, pboc.ReadOptions{ODA: true})
		if err != nil {
			b.Fatal(err)
		}
		if !r.ODA.OK || r.ODA.Method != method {
			b.Fatalf("ODA %+v", r.ODA)
		}
		ops++
	}
	b.ReportMetric(float64(n)/float64(ops), "apdus/op")
}
