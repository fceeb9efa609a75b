package apdu

import (
	"bytes"
	"errors"
	"testing"
)

var commandTests = []struct {
	name     string
	cmd      Command
	enc      string
	c        int   // ISO case
	okPrefix []int // strict prefix lengths that are themselves valid commands
}{
	{"case 1", Command{CLA: 0x00, INS: 0x84, P1: 0, P2: 0}, "00840000", 1, nil},
	{"case 2S", Command{CLA: 0x00, INS: 0x84, Ne: 8}, "0084000008", 2, []int{4}},
	{"case 2S Le 00", Command{CLA: 0x00, INS: 0xB0, P1: 0x95, Ne: 256}, "00B0950000", 2, []int{4}},
	{"case 3S select", Command{CLA: 0x00, INS: 0xA4, Data: h("3F00")}, "00A40000023F00", 3, []int{4, 5}},
	{"case 4S", Command{CLA: 0x00, INS: 0xA4, P1: 4, Data: h("A0000000"), Ne: 256}, "00A4040004A000000000", 4, []int{4, 5, 9}},
	{"case 2E", Command{INS: 0xB0, Ne: 300}, "00B0000000012C", 2, []int{4, 5}},
	{"case 2E Le 0000", Command{INS: 0xB0, Ne: MaxExtendedNe}, "00B00000000000", 2, []int{4, 5}},
	{"case 2E forced", Command{INS: 0xB0, Ne: 10, Extended: true}, "00B0000000000A", 2, []int{4, 5}},
	{"case 3E", Command{INS: 0xD6, Data: seq(256)}, "00D6000000 0100" + hexOf(seq(256)), 3, []int{4, 5, 7}},
	{"case 4E", Command{INS: 0xD6, Data: seq(2), Ne: MaxExtendedNe}, "00D6000000 0002 0001 0000", 4, []int{4, 5, 7, 9}},
	{"case 4E forced", Command{INS: 0x2A, P1: 0x9E, P2: 0x9A, Data: seq(1), Ne: 256, Extended: true}, "002A9E9A000001000100", 4, []int{4, 5, 7, 8}},
}

func TestCommandEncodeParse(t *testing.T) {
	for _, tt := range commandTests {
		t.Run(tt.name, func(t *testing.T) {
			want := h(tt.enc)
			got, err := tt.cmd.Bytes()
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("Bytes = %X, %v; want %X", got, err, want)
			}
			if n := tt.cmd.EncodedLen(); n != len(want) {
				t.Errorf("EncodedLen = %d, want %d", n, len(want))
			}
			if c := tt.cmd.Case(); c != tt.c {
				t.Errorf("Case = %d, want %d", c, tt.c)
			}
			p, err := ParseCommand(want)
			if err != nil {
				t.Fatalf("ParseCommand: %v", err)
			}
			if p.CLA != tt.cmd.CLA || p.INS != tt.cmd.INS || p.P1 != tt.cmd.P1 || p.P2 != tt.cmd.P2 ||
				!bytes.Equal(p.Data, tt.cmd.Data) || p.Ne != tt.cmd.Ne || p.IsExtended() != tt.cmd.IsExtended() {
				t.Errorf("ParseCommand = %+v, want %+v", p, tt.cmd)
			}
			if s := tt.cmd.String(); s != hexOf(want) {
				t.Errorf("String = %s", s)
			}
		})
	}
}

// TestCommandPrefixes checks that a strict prefix of an encoding is rejected
// unless the format makes it another, shorter command (dropping Le of case 4
// gives case 3, a header alone is case 1, and so on).
func TestCommandPrefixes(t *testing.T) {
	for _, tt := range commandTests {
		enc := h(tt.enc)
		for n := range len(enc) {
			c, err := ParseCommand(enc[:n])
			ok := false
			for _, m := range tt.okPrefix {
				ok = ok || m == n
			}
			if ok != (err == nil) {
				t.Errorf("%s: prefix %X: err = %v, want valid = %v", tt.name, enc[:n], err, ok)
				continue
			}
			if err == nil {
				if b, _ := c.Bytes(); !bytes.Equal(b, enc[:n]) {
					t.Errorf("%s: prefix %X re-encodes as %X", tt.name, enc[:n], b)
				}
			} else if !errors.Is(err, ErrMalformedCommand) {
				t.Errorf("%s: prefix %X: error %v does not wrap ErrMalformedCommand", tt.name, enc[:n], err)
			}
		}
	}
}

func TestParseCommandErrors(t *testing.T) {
	for _, s := range []string{
		"", "00", "00A404",
		"00A4040002 3F",          // Lc 2, one byte
		"00A4040002 3F0000 00",   // one byte too many
		"00A40400 0001",          // extended length field truncated
		"00A40400 000000 00",     // extended Lc of zero
		"00A40400 000002 3F",     // extended data truncated
		"00A40400 000002 3F0000", // extended Le truncated
	} {
		if c, err := ParseCommand(h(s)); !errors.Is(err, ErrMalformedCommand) {
			t.Errorf("ParseCommand(%s) = %+v, %v; want ErrMalformedCommand", s, c, err)
		}
	}
}

func TestCommandValidate(t *testing.T) {
	for _, c := range []Command{
		{Ne: -1},
		{Ne: MaxExtendedNe + 1},
		{Data: make([]byte, MaxExtendedLc+1)},
	} {
		if _, err := c.Bytes(); !errors.Is(err, ErrMalformedCommand) {
			t.Errorf("Bytes(%d data, Ne %d) error = %v", len(c.Data), c.Ne, err)
		}
		if s := c.String(); s == "" {
			t.Error("empty String for invalid command")
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		checkRedact(t, b)
		c, err := ParseCommand(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedCommand) {
				t.Fatalf("error %v does not wrap ErrMalformedCommand", err)
			}
			return
		}
		// Every accepted encoding is canonical: it re-encodes to itself.
		enc, err := c.Bytes()
		if err != nil || !bytes.Equal(enc, b) {
			t.Fatalf("%X parsed as %+v, re-encoded as %X, %v", b, c, enc, err)
		}
	})
}
