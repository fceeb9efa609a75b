package sscard_test

import (
	"context"
	"fmt"

	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/keysystem"
)

// Reading a 3rd-gen card through the SIM software HSM.
func ExampleReadWithHSM() {
	ctx := context.Background()
	p, _ := sim.Builtin("gen3")
	chip, _ := sim.New(p, sim.Options{Mode: sim.Contactless})
	b := reader.NewChipBackend("r")
	defer b.Close()
	_ = b.Insert("r", chip)
	card, _ := b.Connect(ctx, "r", reader.ConnectOptions{})
	defer card.Close()

	sess, err := sscard.Open(ctx, card, sscard.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	info, err := sscard.ReadWithHSM(ctx, sess, keysystem.SIM{}, sscard.ReadOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(info.Generation, info.CardNumber, info.SSN, info.Name)
	// Output: 3 A12345678 411602199001011232 张三
}

func ExampleParseStep1() {
	st, err := sscard.ParseStep1("331100|00904A3001866033110000048A|03|331100D156000005500509728DB46EF9|456FE02E253F817D|A39FC0BF44CAEA80|4F5FB5932F10694D|2CFE760428888D8E|")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(st.Region, st.CardID, st.F2)
	// Output: 331100 331100D156000005500509728DB46EF9 4F5FB5932F10694D
}

func ExampleFormatReadCardBas() {
	info, term, _ := sscard.ParseReadCardBas("411600|||411600D156000005C38275EEFC9B9648||008C544CB386844116018593CA|3.00|20211203|20311202|")
	fmt.Println(info.Generation, info.Unavailable)
	fmt.Println(sscard.FormatReadCardBas(info, term))
	// Output:
	// 3 [ssn card_number name]
	// 411600|||411600D156000005C38275EEFC9B9648||008C544CB386844116018593CA|3.00|20211203|20311202|
}
