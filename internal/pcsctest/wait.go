package pcsctest

import (
	"context"
	"testing"
	"time"

	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/reader/pcsc"
)

// WaitCard waits until pcscd reports a card in (present) or out of the named
// reader, and fails the test after 5 s. pcscd polls vpcd only about every
// 400 ms, so a test must wait for one state before causing the next: a card
// removed and inserted again faster than that may never be noticed.
func WaitCard(t testing.TB, name string, present bool) reader.Info {
	t.Helper()
	b := pcsc.New()
	defer b.Close()
	deadline := time.Now().Add(5 * time.Second)
	var last []reader.Info
	var lastErr error
	for time.Now().Before(deadline) {
		ris, err := b.ListReaders(context.Background())
		last, lastErr = ris, err
		for _, ri := range ris {
			if ri.Name == name && ri.CardPresent == present {
				return ri
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("reader %q: card present != %v after 5 s (readers %+v, err %v)", name, present, last, lastErr)
	return reader.Info{}
}
