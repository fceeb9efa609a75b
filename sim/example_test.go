package sim_test

import (
	"fmt"
	"log"

	"github.com/sscard/ssc/sim"
)

func ExampleNew() {
	p, err := sim.Builtin(sim.DefaultProfile)
	if err != nil {
		log.Fatal(err)
	}
	card, err := sim.New(p, sim.Options{Mode: sim.Contactless})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s card %q, ATR %X\n", card.Mode(), card.Profile().Name, card.ATR())
	// Output: contactless card "gen3", ATR 3B888001000000000081810009
}

func ExampleCard_Transmit() {
	p, err := sim.Builtin("gen2")
	if err != nil {
		log.Fatal(err)
	}
	card, err := sim.New(p, sim.Options{Mode: sim.Contact})
	if err != nil {
		log.Fatal(err)
	}
	for _, cmd := range [][]byte{
		{0x00, 0xA4, 0x04, 0x00, 0x0F, 0x73, 0x78, 0x31, 0x2E, 0x73, 0x68, 0x2E, 0xC9, 0xE7, 0xBB, 0xE1, 0xB1, 0xA3, 0xD5, 0xCF}, // SELECT SSSE
		{0x00, 0xC0, 0x00, 0x00, 0x18}, // GET RESPONSE (T=0)
		{0x00, 0xB2, 0x07, 0x2C, 0x0B}, // READ RECORD 7 of EF05 (SFI 5): card number
	} {
		fmt.Printf("> %X\n< %X\n", cmd, card.Transmit(cmd))
	}
	// Output:
	// > 00A404000F7378312E73682EC9E7BBE1B1A3D5CF
	// < 6118
	// > 00C0000018
	// < 6F16840F7378312E73682EC9E7BBE1B1A3D5CFA50388010B9000
	// > 00B2072C0B
	// < 07094131353932313632329000
}
