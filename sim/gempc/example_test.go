package gempc_test

import (
	"context"
	"log"

	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sim/gempc"
)

// A GemPC PinPad with a gen3 card on the reader end of a pty pair (made by
// pcsctest.PTYPair or socat); pcscd (DEVICENAME <host end>:GemPCPinPad,
// LIBPATH libccidtwin.so) or serial.New opens the other end. Start
// serving before pcscd starts.
func Example() {
	p, err := sim.Builtin("gen3")
	if err != nil {
		log.Fatal(err)
	}
	chip, err := sim.New(p, sim.Options{Mode: sim.Contact})
	if err != nil {
		log.Fatal(err)
	}
	keypad, err := gempc.ScriptKeypad("123456 OK; CANCEL")
	if err != nil {
		log.Fatal(err)
	}
	r := gempc.New(gempc.GemPCPinPad, gempc.Options{Keypad: keypad})
	r.Insert(chip)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		if err := r.ServePath(ctx, "/tmp/ttyGemPC-reader"); err != nil {
			log.Print(err)
		}
	}()
	// ... r.Remove(), r.Insert(chip) move the card; cancel() unplugs.
}
