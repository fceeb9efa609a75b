package pcsc_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/internal/pcsctest"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sim"
)

// benchAPDU is GET CHALLENGE with the exact Le: 8 data bytes + 9000 in one
// exchange in both T=0 and contactless modes, so every layer does the same work.
var benchAPDU = apdu.Command{CLA: 0x00, INS: 0x84, Ne: 8}

const benchAPDUHex = "0084000008"

// BenchmarkTransmit measures one APDU round trip through the SDK
// (apdu.Transmitter over a reader.Card) on each transport, and the plain-C
// libpcsclite loop doing the same APDU to the same virtual reader. See
// docs/benchmarks.md.
func BenchmarkTransmit(b *testing.B) {
	b.Run("sim-inprocess", func(b *testing.B) {
		backend := reader.NewChipBackend("sim")
		defer backend.Close()
		if err := backend.Insert("sim", newCard(b)); err != nil {
			b.Fatal(err)
		}
		card, err := backend.Connect(context.Background(), "sim", reader.ConnectOptions{})
		if err != nil {
			b.Fatal(err)
		}
		defer card.Close()
		benchTransmitter(b, card)
	})

	b.Run("pcsc-vpcd", func(b *testing.B) {
		_, card := benchPCSCCard(b)
		defer card.Close()
		benchTransmitter(b, card)
	})

	b.Run("pcsc-vpcd-raw-transport", func(b *testing.B) {
		_, card := benchPCSCCard(b)
		defer card.Close()
		cmd, _ := benchAPDU.Bytes()
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if _, err := card.Transmit(ctx, cmd); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("pcsc-vpcd-C-libpcsclite", func(b *testing.B) {
		env, card := benchPCSCCard(b)
		card.Close() // the C loop connects on its own
		loop := buildCLoop(b)
		b.ResetTimer()
		n := max(b.N, 1)
		out, err := exec.Command(loop, env.ReaderName(0), benchAPDUHex, strconv.Itoa(n)).CombinedOutput()
		b.StopTimer()
		if err != nil {
			b.Fatalf("pcscloop: %v: %s", err, out)
		}
		// Output: "pcscloop\t<count>\t<ns> ns/op"
		f := strings.Fields(string(out))
		if len(f) < 3 {
			b.Fatalf("pcscloop output %q", out)
		}
		ns, err := strconv.ParseFloat(f[2], 64)
		if err != nil {
			b.Fatalf("pcscloop output %q", out)
		}
		// The loop's own timing excludes process start and connect.
		b.ReportMetric(ns, "ns/op")
	})
}

func benchTransmitter(b *testing.B, card reader.Card) {
	tx := &apdu.Transmitter{Transport: card}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		resp, err := tx.Transmit(ctx, benchAPDU)
		if err != nil || resp.SW != apdu.SWOK || len(resp.Data) != 8 {
			b.Fatalf("transmit: %v %v", resp, err)
		}
	}
}

// benchPCSCCard connects to the software card in vpcd slot 0 of the shared
// private pcscd. The card runs in a process of its own (this test binary
// re-executed), as it would in production and as it does for the C loop, so
// Go and C are compared on equal terms. It is inserted once per test binary
// and left in: re-inserting it for every benchmark run would race pcscd's
// 400 ms presence poll.
func benchPCSCCard(b *testing.B) (*pcsctest.Env, reader.Card) {
	b.Helper()
	env := pcsctest.Shared(b)
	name := env.StartCardProcess(b, 0, sim.DefaultProfile)
	return env, pcsctest.Connect(b, name, reader.T0)
}

// buildCLoop compiles bench/pcscloop.c once per test binary.
func buildCLoop(b *testing.B) string {
	b.Helper()
	cLoopOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pcscloop")
		if err != nil {
			cLoopErr = err
			return
		}
		cLoopPath = filepath.Join(dir, "pcscloop")
		flags, err := exec.Command("pkg-config", "--cflags", "--libs", "libpcsclite").Output()
		if err != nil {
			cLoopErr = fmt.Errorf("pkg-config libpcsclite: %w", err)
			return
		}
		args := append([]string{"-O2", "-o", cLoopPath, "../../bench/pcscloop.c"}, strings.Fields(string(flags))...)
		var stderr bytes.Buffer
		cmd := exec.Command("cc", args...)
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			cLoopErr = fmt.Errorf("cc: %w: %s", err, stderr.String())
		}
	})
	if cLoopErr != nil {
		b.Fatal(cLoopErr)
	}
	return cLoopPath
}

var (
	cLoopOnce sync.Once
	cLoopPath string
	cLoopErr  error
)
