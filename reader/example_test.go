package reader_test

import (
	"context"
	"fmt"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sim"
)

// Connect to the built-in software card and select the social security
// application; the T=0 61xx is followed by GET RESPONSE in the transmitter.
func ExampleSystem_Connect() {
	ctx := context.Background()
	profile, err := sim.Builtin(sim.DefaultProfile)
	if err != nil {
		panic(err)
	}
	chip, err := sim.New(profile, sim.Options{Mode: sim.Contact})
	if err != nil {
		panic(err)
	}
	simBackend := reader.NewChipBackend(reader.SimReaderName)
	if err := simBackend.Insert(reader.SimReaderName, chip); err != nil {
		panic(err)
	}
	sys := reader.Open(simBackend) // in a program: reader.Open(pcsc.New(), simBackend)
	defer sys.Close()

	card, err := sys.Connect(ctx, "sim", reader.ConnectOptions{})
	if err != nil {
		panic(err)
	}
	defer card.Close()

	tx := &apdu.Transmitter{Transport: card}
	ssse := []byte("sx1.sh.\xC9\xE7\xBB\xE1\xB1\xA3\xD5\xCF") // "sx1.sh.社会保障" in GBK
	fci, err := tx.Do(ctx, apdu.Command{CLA: 0x00, INS: 0xA4, P1: 0x04, Data: ssse, Ne: 256})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s %v FCI %X\n", card.Reader(), card.Protocol(), fci)

	// Reading the card number of a 3rd-gen card needs HSM authentication first.
	_, err = tx.Do(ctx, apdu.Command{CLA: 0x00, INS: 0xB2, P1: 0x07, P2: 5<<3 | 4, Ne: 256})
	fmt.Println(err)
	// Output:
	// sim T=0 FCI 6F16840F7378312E73682EC9E7BBE1B1A3D5CFA50388010B
	// card returned 6982: security status not satisfied
}
