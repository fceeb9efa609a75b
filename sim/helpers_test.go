package sim

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
)

type apduCommand = apdu.Command

var parseCommand = apdu.ParseCommand

// h decodes hex with optional spaces; it panics on bad test data.
func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(fmt.Sprintf("bad test hex %q: %v", s, err))
	}
	return b
}

// hx formats bytes as uppercase hex.
func hx(b []byte) string { return fmt.Sprintf("%X", b) }

// norm upper-cases hex and removes spaces.
func norm(s string) string { return strings.ToUpper(strings.ReplaceAll(s, " ", "")) }

func newCard(t testing.TB, name string, mode Mode) *Card {
	t.Helper()
	p, err := Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(p, Options{Mode: mode})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// step is one exchange of a script: a command and the expected response
// ("" skips the check; "*" followed by a SW checks only the status).
type step struct {
	cmd, want string
}

// run sends the steps and checks each response; it returns the last one.
func run(t *testing.T, c *Card, steps ...step) []byte {
	t.Helper()
	var resp []byte
	for i, s := range steps {
		resp = c.Transmit(h(s.cmd))
		if len(resp) < 2 {
			t.Fatalf("step %d %s: response %X shorter than 2 bytes", i, norm(s.cmd), resp)
		}
		switch {
		case s.want == "":
		case strings.HasPrefix(s.want, "*"):
			if got, want := hx(resp[len(resp)-2:]), norm(s.want[1:]); got != want {
				t.Fatalf("step %d %s: SW %s, want %s (response %X)", i, norm(s.cmd), got, want, resp)
			}
		default:
			if got, want := hx(resp), norm(s.want); got != want {
				t.Fatalf("step %d %s:\n got %s\nwant %s", i, norm(s.cmd), got, want)
			}
		}
	}
	return resp
}

const (
	selSSSE      = "00A404000F7378312E73682EC9E7BBE1B1A3D5CF"
	selSSSENoFCI = "00A4040C0F7378312E73682EC9E7BBE1B1A3D5CF"
	ssseFCIHex   = "6F16840F7378312E73682EC9E7BBE1B1A3D5CFA50388010B"
)

// extAuthCmd computes EXTERNAL AUTHENTICATE for the card's last challenge
// with the SIM key scheme, straight from package sm.
func extAuthCmd(t testing.TB, c *Card, kid byte, challenge, orig []byte) string {
	t.Helper()
	ck, err := simkeys.CardKey(kid, h(c.Profile().SSSE.CardID))
	if err != nil {
		t.Fatal(err)
	}
	crypt, err := sm.SIMCryptogram(ck[:], challenge[:8], orig)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("008200%02X10%X%X", kid, crypt, orig)
}

// authenticate runs GET CHALLENGE + EXTERNAL AUTHENTICATE with kid (SSSE
// must be selected) and checks 9000.
func authenticate(t *testing.T, c *Card, kid byte) {
	t.Helper()
	resp := run(t, c, step{"0084000008", "*9000"})
	run(t, c, step{extAuthCmd(t, c, kid, resp[:8], h("0102030405060708")), "9000"})
}

func mustParse(t testing.TB, s string) apduCommand {
	t.Helper()
	cmd, err := parseCommand(h(s))
	if err != nil {
		t.Fatal(err)
	}
	return cmd
}
