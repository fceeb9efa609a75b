//go:build !nopcsc && cgo && linux

package pcsc

import "testing"

// TestDirectTransmitLayout guards the pooled receive path: if a new
// ebfe/scard changes Card's layout, transmit falls back to Card.Transmit
// (correct, but 64 KiB allocated per APDU again), and this test says so.
func TestDirectTransmitLayout(t *testing.T) {
	if !directTransmit {
		t.Fatal("github.com/ebfe/scard.Card no longer has the layout {handle uintptr; activeProtocol Protocol}: " +
			"transmit falls back to Card.Transmit; update scardCard in transmit_linux.go")
	}
}
