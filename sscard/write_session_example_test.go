package sscard_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/keysystem"
)

// Counter issuance of a blank card as a write session: the Step-1 string
// and the write-key request go to the key systems (here the SIM software
// HSM) between the steps, while the card stays in one transaction.
func ExampleSession_BeginWrite() {
	ctx := context.Background()
	p, _ := sim.Builtin("gen3-blank")
	chip, _ := sim.New(p, sim.Options{Mode: sim.Contact})
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
	w, err := sscard.ParseWriteInfo("411600D156000005005A3C9E17B2D40F|411600000000000000000001|20261201|20361201|B87654321|110101198512120035|王五||1|01|19851212|")
	if err != nil {
		fmt.Println(err)
		return
	}

	ws, err := sess.BeginWrite(ctx, w, sscard.WriteOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ws.Abort() // after Write: nothing to do
	// Step 1 → the read-key system: RESULT1|RESULT2|.
	ans, err := keysystem.SIM{}.Authenticate(ctx, ws.Step1())
	if err != nil {
		fmt.Println(err)
		return
	}
	req, err := ws.Authorize(ctx, ans)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("fields in the write-key request:", strings.Count(req.String(), "|"))
	fmt.Printf("card before: ssn %q\n", ws.Before().SSN)
	// The write-key request → the write-key system: RESULT|.
	wans, err := keysystem.SIM{}.AuthorizeWrite(ctx, *req)
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := ws.Write(ctx, wans)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rep.CardID, len(rep.Written), "fields written")
	// Output:
	// fields in the write-key request: 6
	// card before: ssn ""
	// 411600D156000005005A3C9E17B2D40F 13 fields written
}
