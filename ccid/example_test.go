package ccid_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/sscard/ssc/ccid"
)

func ExampleAppendFrame() {
	msg, _ := ccid.Message{Type: ccid.GetSlotStatus, Seq: 1}.AppendBinary(nil)
	fmt.Printf("% X\n", ccid.AppendFrame(nil, msg))
	// Output: 03 06 65 00 00 00 00 00 01 00 00 00 61
}

func ExampleDecoder_Next() {
	// What a GemPC Twin sends for an XfrBlock: the echo of the command,
	// a T=0 time request, then the answer.
	var line []byte
	for _, m := range []ccid.Message{
		{Type: ccid.XfrBlock, Seq: 7}, // a short echo: the header only
		{Type: ccid.DataBlock, Seq: 7, Data: []byte{0x90, 0x00}},
	} {
		b, _ := m.AppendBinary(nil)
		line = ccid.AppendFrame(line, b)
		if m.Type == ccid.XfrBlock {
			line = append(line, 0x80)
		}
	}

	d := ccid.NewDecoder(bytes.NewReader(line))
	deadline := time.Now().Add(3 * time.Second)
	for {
		f, err := d.Next(deadline)
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		switch f.Kind {
		case ccid.FrameTimeRequest:
			fmt.Println("time request")
			deadline = time.Now().Add(3 * time.Second)
		case ccid.FrameMessage:
			m, err := ccid.ParseMessage(f.Message)
			if err != nil {
				fmt.Println("error:", err)
				return
			}
			if m.Type == ccid.XfrBlock {
				fmt.Println("echo")
				continue
			}
			fmt.Printf("answer % X, err %v\n", m.Data, m.Err())
			return
		}
	}
	// Output:
	// echo
	// time request
	// answer 90 00, err <nil>
}

func ExamplePINVerify_Fill() {
	// The social security card's VERIFY, 00 20 00 00 03 + 6 BCD digits:
	// bytes, PIN at position 0, left justified, BCD; no length; 3-byte block.
	ssc := ccid.PINVerify{
		FormatString: 0x81, PINBlockString: 0x03,
		MinDigits: 6, MaxDigits: 6,
		APDU: []byte{0x00, 0x20, 0x00, 0x00, 0x03, 0xFF, 0xFF, 0xFF},
	}
	apdu, err := ssc.Fill("123456")
	fmt.Printf("% X %v\n", apdu, err)

	// ISO 9564 format 2 (2L PP PP .. FF): PIN at byte 1, BCD; a 4-bit
	// length at bit 4; the template holds the control nibble and FF fill.
	iso := ccid.PINVerify{
		FormatString: 0x89, PINBlockString: 0x47, PINLengthFormat: 0x04,
		MinDigits: 4, MaxDigits: 12,
		APDU: []byte{0x00, 0x20, 0x00, 0x80, 0x08, 0x2F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF},
	}
	apdu, err = iso.Fill("12345")
	fmt.Printf("% X %v\n", apdu, err)
	// Output:
	// 00 20 00 00 03 12 34 56 <nil>
	// 00 20 00 80 08 25 12 34 5F FF FF FF FF <nil>
}
