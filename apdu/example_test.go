package apdu_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/sscard/ssc/apdu"
)

// A T=0 card answers SELECT with 61xx; the Transmitter fetches the FCI with
// GET RESPONSE.
func ExampleTransmitter() {
	fci := []byte{0x6F, 0x04, 0x88, 0x02, 0x00, 0x0B}
	card := apdu.TransportFunc(func(_ context.Context, cmd []byte) ([]byte, error) {
		if cmd[1] == 0xC0 { // GET RESPONSE
			return append(fci, 0x90, 0x00), nil
		}
		return []byte{0x61, byte(len(fci))}, nil
	})
	tr := &apdu.Transmitter{
		Transport: card,
		Trace:     func(ev apdu.TraceEvent) { fmt.Printf("> %X\n< %X\n", ev.Command, ev.Response) },
	}
	data, err := tr.Do(context.Background(), apdu.Command{CLA: 0x00, INS: 0xA4, P1: 0x04, Data: []byte("sx1.sh"), Ne: 256})
	fmt.Printf("%X %v\n", data, err)
	// Output:
	// > 00A40400067378312E736800
	// < 6106
	// > 00C0000006
	// < 6F048802000B9000
	// 6F048802000B <nil>
}

func ExampleParseBER() {
	fci := []byte{
		0x6F, 0x16,
		0x84, 0x0F, 0x73, 0x78, 0x31, 0x2E, 0x73, 0x68, 0x2E, 0xC9, 0xE7, 0xBB, 0xE1, 0xB1, 0xA3, 0xD5, 0xCF,
		0xA5, 0x03, 0x88, 0x01, 0x0B,
	}
	list, err := apdu.ParseBER(fci)
	if err != nil {
		fmt.Println(err)
		return
	}
	name, _ := apdu.FindBER(list, 0x6F, 0x84)
	sfi, _ := apdu.FindBER(list, 0x6F, 0xA5, 0x88)
	fmt.Printf("DF name %X, SFI %X\n", name.Value, sfi.Value)
	// Output: DF name 7378312E73682EC9E7BBE1B1A3D5CF, SFI 0B
}

func ExampleParseATR() {
	atr, err := apdu.ParseATR([]byte{0x3B, 0x6D, 0x00, 0x00, 0x00, 0x81, 0x00, 0x88, 0x43, 0x86, 0x65, 0x33, 0x01, 0x01, 0x14, 0xF1, 0x99})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, line := range atr.Describe() {
		fmt.Println(line)
	}
	// Output:
	// ATR 3B6D00000081008843866533010114F199
	// TS 3B: direct convention
	// T0 6D: 13 historical bytes
	// interface bytes: TB1=00 TC1=00
	// protocols: T=0
	// Fi=372 Di=1 fmax=5 MHz
	// extra guard time: 0 etu
	// historical bytes: 0081008843866533010114F199 (category 00)
	//   proprietary: not a valid ISO 7816-4 category 00 encoding
}

func ExampleStatusWord_Err() {
	for _, sw := range []apdu.StatusWord{0x9000, 0x6A82, 0x63C2, 0x6983} {
		err := sw.Err()
		var auth *apdu.AuthError
		switch {
		case err == nil:
			fmt.Println(sw, "ok")
		case errors.Is(err, apdu.ErrNotFound):
			fmt.Println(sw, "not found")
		case errors.As(err, &auth):
			fmt.Println(sw, "wrong PIN,", auth.Retries, "tries left")
		case errors.Is(err, apdu.ErrBlocked):
			fmt.Println(sw, "PIN blocked")
		}
	}
	// Output:
	// 9000 ok
	// 6A82 not found
	// 63C2 wrong PIN, 2 tries left
	// 6983 PIN blocked
}
