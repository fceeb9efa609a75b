package gempc_test

import (
	"context"
	"testing"
	"time"

	"github.com/sscard/ssc/sim/gempc"
)

// TestPTY: the emulator on a pty of its own answers the driver's first
// command (Escape 02, firmware) on the host side.
func TestPTY(t *testing.T) {
	pty, err := gempc.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer pty.Close()
	r := gempc.New(gempc.GemPCTwin, gempc.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx, pty.Master) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	}()
	host, err := gempc.OpenPort(pty.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	// Escape 02 (get firmware): 03 06 | 6B 01000000 00 00 000000 02 | LRC.
	msg := []byte{0x6B, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02}
	frame := []byte{0x03, 0x06}
	frame = append(frame, msg...)
	var lrc byte
	for _, b := range frame {
		lrc ^= b
	}
	if _, err := host.Write(append(frame, lrc)); err != nil {
		t.Fatal(err)
	}
	host.SetReadTimeout(100 * time.Millisecond)
	var got []byte
	deadline := time.Now().Add(5 * time.Second)
	buf := make([]byte, 256)
	for time.Now().Before(deadline) && !containsEscapeAnswer(got) {
		n, err := host.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if !containsEscapeAnswer(got) {
		t.Fatalf("no RDR_to_PC_Escape answer on the pty: % X", got)
	}
}

// containsEscapeAnswer looks for 03 06 83 (an Escape answer frame) after
// the echo.
func containsEscapeAnswer(b []byte) bool {
	for i := 0; i+2 < len(b); i++ {
		if b[i] == 0x03 && b[i+1] == 0x06 && b[i+2] == 0x83 {
			return true
		}
	}
	return false
}
