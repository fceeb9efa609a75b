package sim

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
)

// TestGen2Trace replays the real 2nd-gen Minhua X3 reader trace of
// ssc-facts §1.2/§9.5 against the built-in gen2 card in contact mode.
func TestGen2Trace(t *testing.T) {
	c := newCard(t, "gen2", Contact)
	if got, want := hx(c.ATR()), "3B6D00000081008843866533010114F199"; got != want {
		t.Fatalf("ATR %s, want %s", got, want)
	}
	run(t, c,
		step{"00A404000F7378312E73682EC9E7BBE1B1A3D5CF", "6118"},
		step{"00C0000018", "6F16840F7378312E73682EC9E7BBE1B1A3D5CFA50388010B9000"},
		step{"00B2012812", "0110330100D1560000050114F199D286DF7E9000"},
		step{"00B2032806", "0304312E30309000"},
		step{"00B207280E", "0709413135393231363232 9000"},
		step{"00B2083014", "0812" + hx([]byte("332603197912225416")) + "9000"},
		step{"00B2093020", "091E B4F7C8FCD1C2" + strings.Repeat("20", 24) + "9000"},
		step{"00B20A3003", "0A01319000"},
	)
}

func TestGen2ReadsEverythingFreely(t *testing.T) {
	c := newCard(t, "gen2", Contact)
	run(t, c, step{selSSSENoFCI, "9000"})
	for sfi, recs := range map[byte]int{5: 7, 6: 7, 0x0B: 1} {
		for n := 1; n <= recs; n++ {
			resp := c.Transmit([]byte{0, 0xB2, byte(n), sfi<<3 | 4, 0})
			if hx(resp[len(resp)-2:])[:2] != "61" {
				t.Errorf("SFI %02X record %d: %X, want 61xx", sfi, n, resp)
			}
			run(t, c, step{"00C0000000", "*9000"})
		}
	}
}

func TestATR(t *testing.T) {
	tests := []struct {
		profile string
		mode    Mode
		want    string
	}{
		{"gen2", Contact, "3B6D00000081008843866533010114F199"},
		{"gen3", Contact, "3B6D0000008C544CB386844116005A3C9E"},
		{"gen3", Contactless, "3B888001 00000000 008181 00 09"},
	}
	for _, tt := range tests {
		c := newCard(t, tt.profile, tt.mode)
		atr := c.ATR()
		if got := hx(atr); got != norm(tt.want) {
			t.Errorf("%s %v: ATR %s, want %s", tt.profile, tt.mode, got, norm(tt.want))
		}
		if tt.mode == Contactless {
			var x byte
			for _, b := range atr[1:] {
				x ^= b
			}
			if x != 0 {
				t.Errorf("%s contactless ATR: T0..TCK XOR to %02X, want 00", tt.profile, x)
			}
			if len(atr) != 4+8+1 || atr[1]&0x0F != 8 {
				t.Errorf("contactless ATR %X: want 8 historical bytes", atr)
			}
		}
		atr[0] = 0 // ATR returns a copy
		if c.ATR()[0] != 0x3B {
			t.Error("ATR() exposes internal state")
		}
	}
}

func TestSelect(t *testing.T) {
	const selEF05 = "00A4000002EF05"
	tests := []struct {
		name  string
		steps []step
	}{
		{"SSSE by name, FCI via GET RESPONSE", []step{{selSSSE, "6118"}, {"00C0000018", ssseFCIHex + "9000"}}},
		{"SSSE by name with Le", []step{{selSSSE + "00", "6118"}, {"00C0000000", ssseFCIHex + "9000"}}},
		{"SSSE by name, no FCI", []step{{selSSSENoFCI, "9000"}}},
		{"SSSE by FID P1=00", []step{{"00A4000002DDF1", "6118"}, {"00C0000018", ssseFCIHex + "9000"}}},
		{"SSSE by FID P1=02", []step{{"00A4020002DDF1", "6118"}}},
		{"SSSE by FID P1=01 child DF", []step{{"00A4010002DDF1", "6118"}}},
		{"SSSE by FID P2=0C", []step{{"00A4000C02DDF1", "9000"}}},
		{"MF by FID", []step{{selSSSENoFCI, "9000"}, {"00A40000023F00", "9000"}}},
		{"MF by FID P2=0C", []step{{"00A4000C023F00", "9000"}}},
		{"MF with no data", []step{{selSSSENoFCI, "9000"}, {"00A40000", "9000"}}},
		{"EF05 by FID", []step{{selSSSENoFCI, "9000"}, {selEF05, "9000"}}},
		{"EF06 by FID P1=02", []step{{selSSSENoFCI, "9000"}, {"00A4020002EF06", "9000"}}},
		{"EF05 then EF06 (sibling)", []step{{selSSSENoFCI, "9000"}, {selEF05, "9000"}, {"00A4000002EF06", "9000"}}},
		{"EF05 from MF not found", []step{{selEF05, "6A82"}}},
		{"EF via P1=01 not found", []step{{selSSSENoFCI, "9000"}, {"00A4010002EF05", "6A82"}}},
		{"parent P1=03", []step{{selSSSENoFCI, "9000"}, {"00A40300", "9000"}, {"00A40000023F00", "9000"}}},
		{"parent of MF", []step{{"00A40300", "6A82"}}},
		{"DF01 by name (SIM)", []step{{"00A4040006D15600000501", "610A"}, {"00C000000A", "6F088406D156000005019000"}}},
		{"DF01 by FID", []step{{selSSSENoFCI, "9000"}, {"00A4000C02DF01", "9000"}}},
		{"unknown FID", []step{{"00A4000002EEEE", "6A82"}}},
		{"partial name", []step{{"00A404000E7378312E73682EC9E7BBE1B1A3D5", "6A82"}}},
		{"unknown name", []step{{"00A40400083132333435363738", "6A82"}}},
		{"next occurrence", []step{{"00A404020F7378312E73682EC9E7BBE1B1A3D5CF", "6A82"}}},
		{"next occurrence by FID", []step{{"00A4000202DDF1", "6A86"}}},
		{"bad P1", []step{{"00A4080002DDF1", "6A86"}}},
		{"bad P2 FCP", []step{{"00A4000402DDF1", "6A86"}}},
		{"FID of 3 bytes", []step{{"00A40000033F0000", "6700"}}},
		{"FID of 1 byte", []step{{"00A40000013F", "6700"}}},
		{"name of 17 bytes", []step{{"00A4040011" + strings.Repeat("41", 17), "6700"}}},
		{"name missing", []step{{"00A40400", "6700"}}},
		{"P1=02 without data", []step{{"00A40200", "6700"}}},
		{"P1=03 with data", []step{{"00A4030002DDF1", "6700"}}},
		{"failed select keeps current file", []step{{selSSSENoFCI, "9000"}, {"00A4000002EEEE", "6A82"}, {selEF05, "9000"}}},
		{"select DF clears current EF", []step{{selSSSENoFCI, "9000"}, {selEF05, "9000"}, {"00A4000C02DF01", "9000"}, {"00B2010400", "6986"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, newCard(t, "gen2", Contact), tt.steps...)
		})
	}
}

func TestReadRecord(t *testing.T) {
	gen3ID := "0110411600D156000005005A3C9E17B2D40F"
	tests := []struct {
		name, profile string
		steps         []step
	}{
		{"by number with SFI", "gen3", []step{{selSSSENoFCI, "9000"}, {"00B2012C12", gen3ID + "9000"}}},
		{"by identifier with SFI", "gen3", []step{{selSSSENoFCI, "9000"}, {"00B2012812", gen3ID + "9000"}}},
		{"by number in current EF", "gen3", []step{{selSSSENoFCI, "9000"}, {"00A4000002EF05", "9000"}, {"00B2030406", "0304332E30309000"}}},
		{"by identifier in current EF", "gen3", []step{{selSSSENoFCI, "9000"}, {"00A4000002EF05", "9000"}, {"00B2060006", "060420340101 9000"}}},
		{"SFI makes the EF current", "gen3", []step{{selSSSENoFCI, "9000"}, {"00B2052C06", "0504202401019000"}, {"00B2020403", "0201339000"}}},
		{"category, institution", "gen3", []step{{selSSSENoFCI, "9000"}, {"00B2022C03", "0201339000"}, {"00B2042C0E", "040C4116000000000000000000019000"}}},
		{"directory EF SFI 0B (SIM)", "gen3", []step{{selSSSENoFCI, "9000"}, {"00B2015C12", "7010610E4F06D156000005015004444630319000"}}},
		{"record number too big", "gen3", []step{{selSSSENoFCI, "9000"}, {"00B2082C00", "6A83"}}},
		{"directory record 2", "gen3", []step{{selSSSENoFCI, "9000"}, {"00B2025C00", "6A83"}}},
		{"unknown identifier", "gen2", []step{{selSSSENoFCI, "9000"}, {"00B2083000", "6114"}, {"00B2012800", "6112"}, {"00B2443000", "6A83"}}},
		{"unknown SFI", "gen3", []step{{selSSSENoFCI, "9000"}, {"00B2014C00", "6A82"}}},
		{"SFI at MF", "gen3", []step{{"00B2012C00", "6A82"}}},
		{"no current EF", "gen3", []step{{selSSSENoFCI, "9000"}, {"00B2010400", "6986"}}},
		{"no current EF after reset", "gen3", []step{{"00B2010400", "6986"}}},
		{"record number 0", "gen3", []step{{selSSSENoFCI, "9000"}, {"00B2002C00", "6A86"}}},
		{"mode 101", "gen3", []step{{selSSSENoFCI, "9000"}, {"00B2012D00", "6A86"}}},
		{"mode 010 next occurrence", "gen3", []step{{selSSSENoFCI, "9000"}, {"00B2012A00", "6A86"}}},
		{"SFI 31 RFU", "gen3", []step{{selSSSENoFCI, "9000"}, {"00B201FC00", "6B00"}}},
		{"with command data", "gen3", []step{{selSSSENoFCI, "9000"}, {"00B2012C0101", "6700"}}},
		{"gen3 card number before auth", "gen3", []step{{selSSSENoFCI, "9000"}, {"00B2072C0B", "6982"}, {"00B207280B", "6982"}}},
		{"gen3 EF06 before auth", "gen3", []step{{selSSSENoFCI, "9000"}, {"00B2013414", "6982"}, {"00B2083014", "6982"}, {"00B2093020", "6982"}}},
		{"gen3 EF06 missing record before auth", "gen3", []step{{selSSSENoFCI, "9000"}, {"00B2093400", "6982"}}},
		{"gen3 EF05 free records", "gen3", []step{{selSSSENoFCI, "9000"}, {"00B2062C06", "0604203401019000"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, newCard(t, tt.profile, Contact), tt.steps...)
		})
	}
}

// TestGen3Records reads every record of a 3rd-gen card after external
// authentication with key 0A.
func TestGen3Records(t *testing.T) {
	c := newCard(t, "gen3", Contact)
	run(t, c, step{selSSSENoFCI, "9000"})
	authenticate(t, c, sm.KidExternalRead)
	name := h("D5C5C8FD") // 张三 in GBK
	name = append(name, bytes.Repeat([]byte{0x20}, 26)...)
	want := map[string]string{
		"00B2072C0B": "0709" + hx([]byte("A12345678")),
		"00B2083014": "0812" + hx([]byte("411602199001011232")),
		"00B2093020": "091E" + hx(name),
		"00B24E3016": "4E14" + strings.Repeat("20", 20),
		"00B20A3003": "0A0131",
		"00B20B3003": "0B0101",
		"00B20C3005": "0C03411602",
		"00B20D3006": "0D0419900101",
		"00B2073406": "0D0419900101",
		"00B2033416": "4E14" + strings.Repeat("20", 20),
	}
	for cmd, data := range want {
		run(t, c, step{cmd, data + "9000"})
	}
}

func TestReadRecordFileTypes(t *testing.T) {
	c := newCard(t, "gen2", Contact)
	addBinaryEF(c)
	run(t, c,
		step{selSSSENoFCI, "9000"},
		step{"00B2013C00", "6981"},                                 // READ RECORD on a binary EF by SFI
		step{"00A4000002EF07", "9000"}, step{"00B2010400", "6981"}, // ... and as the current EF
	)
}

// addBinaryEF replaces the personalised EF07 (binary, SFI 7) under SSSE
// with a freely readable SIM test EF of 300 bytes 00 01 02 ...
func addBinaryEF(c *Card) *file {
	ssse := c.mf.child(fidSSSE)
	for i, f := range ssse.children {
		if f.fid == fidEF07 {
			ssse.children = append(ssse.children[:i], ssse.children[i+1:]...)
			break
		}
	}
	data := make([]byte, 300)
	for i := range data {
		data[i] = byte(i)
	}
	ef := &file{typ: typeBinaryEF, fid: 0xEF07, sfi: 7, data: data}
	ssse.add(ef)
	return ef
}

func TestReadBinary(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
	}{
		{"by SFI, exact Le", []step{{"00B0870004", "000102039000"}}},
		{"by SFI, offset", []step{{"00B0871002", "10119000"}}},
		{"current EF, offset P1P2", []step{{"00A4000002EF07", "9000"}, {"00B0012A02", "2A2B9000"}}},
		{"Le beyond the end", []step{{"00A4000C02EF07", "9000"}, {"00B0012A10", "2A2B9000"}}},
		{"Le 00 announces 256", []step{{"00B0870000", "6100"}, {"00C0000000", "*9000"}}},
		{"Le shorter than the rest", []step{{"00A4000C02EF07", "9000"}, {"00B0000001", "009000"}}},
		{"offset beyond the end", []step{{"00A4000002EF07", "9000"}, {"00B0012C01", "6B00"}}},
		{"no current EF", []step{{"00B0000001", "6986"}}},
		{"on a record EF", []step{{"00B0850001", "6981"}}},
		{"SFI 0 in P1", []step{{"00B0800001", "6A86"}}},
		{"bad P1 bits", []step{{"00B0A70001", "6A86"}}},
		{"unknown SFI", []step{{"00B0890001", "6A82"}}},
		{"with data", []step{{"00B087000100", "6700"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCard(t, "gen2", Contact)
			addBinaryEF(c)
			run(t, c, step{selSSSENoFCI, "9000"})
			run(t, c, tt.steps...)
		})
	}
	t.Run("needs key", func(t *testing.T) {
		c := newCard(t, "gen2", Contact)
		addBinaryEF(c).read = extAuth(sm.KidExternalRead)
		run(t, c, step{selSSSENoFCI, "9000"}, step{"00B0870001", "6982"})
		authenticate(t, c, sm.KidExternalRead)
		run(t, c, step{"00B0870001", "009000"})
	})
}

func TestGetChallenge(t *testing.T) {
	c := newCard(t, "gen3", Contact)
	seen := map[string]bool{}
	for _, le := range []string{"08", "10", "08", "10"} {
		resp := run(t, c, step{"00840000" + le, "*9000"})
		n := int(h(le)[0])
		if len(resp) != n+2 {
			t.Fatalf("Le %s: %d bytes", le, len(resp)-2)
		}
		if seen[hx(resp)] {
			t.Fatalf("challenge %X repeated", resp)
		}
		seen[hx(resp)] = true
	}
	for _, s := range []step{
		{"0084000004", "6700"},
		{"0084000000", "6700"},
		{"00840000", "6700"},
		{"008400000101", "6700"},
		{"0084010008", "6A86"},
		{"0084000108", "6A86"},
	} {
		run(t, c, s)
	}
	// In contactless mode the same.
	cl := newCard(t, "gen3", Contactless)
	if resp := run(t, cl, step{"0084000008", "*9000"}); len(resp) != 10 {
		t.Fatalf("contactless challenge %X", resp)
	}
}

func TestExternalAuthenticate(t *testing.T) {
	orig := h("A1A2A3A4A5A6A7A8")
	t.Run("unlocks gen3 records until reselect", func(t *testing.T) {
		c := newCard(t, "gen3", Contact)
		run(t, c, step{selSSSENoFCI, "9000"}, step{"00B2072C0B", "6982"})
		authenticate(t, c, sm.KidExternalRead)
		run(t, c,
			step{"00B2072C0B", "0709" + hx([]byte("A12345678")) + "9000"},
			step{"00A4000002EF06", "9000"}, // EF select keeps the state
			step{"00B2010414", "*9000"},
			step{"00A4000C02DF01", "9000"}, // so does a sub-DF of the application
			step{"00A4000C02EF05", "9000"}, // DF01's own EF05 (public data)
			step{"00B2010400", "6982"},     // needs the PIN, not key 0A
			step{selSSSENoFCI, "9000"},     // a new SELECT of SSSE clears it
			step{"00B2072C0B", "6982"},
		)
		authenticate(t, c, sm.KidExternalRead)
		run(t, c, step{"00A40000023F00", "9000"}, step{selSSSENoFCI, "9000"}, step{"00B2072C0B", "6982"})
		authenticate(t, c, sm.KidExternalRead)
		c.Reset()
		run(t, c, step{selSSSENoFCI, "9000"}, step{"00B2072C0B", "6982"})
		authenticate(t, c, sm.KidExternalRead)
		c.PowerOff()
		c.PowerOn()
		run(t, c, step{selSSSENoFCI, "9000"}, step{"00B2072C0B", "6982"})
	})
	t.Run("key 04 does not unlock reading", func(t *testing.T) {
		c := newCard(t, "gen3", Contact)
		run(t, c, step{selSSSENoFCI, "9000"})
		authenticate(t, c, sm.KidExternalUpdate)
		run(t, c, step{"00B2072C0B", "6982"})
	})
	t.Run("16-byte challenge uses its first 8 bytes", func(t *testing.T) {
		c := newCard(t, "gen3", Contact)
		run(t, c, step{selSSSENoFCI, "9000"})
		ch := run(t, c, step{"0084000010", "*9000"})
		run(t, c, step{extAuthCmd(t, c, 0x0A, ch[:8], orig), "9000"}, step{"00B2072C0B", "*9000"})
	})
	t.Run("wrong cryptogram counts down and blocks", func(t *testing.T) {
		c := newCard(t, "gen3", Contact)
		run(t, c, step{selSSSENoFCI, "9000"})
		for left := 14; left >= 0; left-- {
			run(t, c, step{"0084000008", "*9000"}, step{"008200" + "0A10" + "0000000000000000" + hx(orig), "63C" + strings.ToUpper(string("0123456789ABCDEF"[left]))})
		}
		ch := run(t, c, step{"0084000008", "*9000"})
		run(t, c, step{extAuthCmd(t, c, 0x0A, ch, orig), "6983"}) // blocked, even with the right cryptogram
		c.PowerOff()
		c.PowerOn()
		run(t, c, step{selSSSENoFCI, "9000"})
		ch = run(t, c, step{"0084000008", "*9000"})
		run(t, c, step{extAuthCmd(t, c, 0x0A, ch, orig), "6983"}) // the counter is non-volatile
		authenticate(t, c, sm.KidExternalUpdate)                  // other keys have their own counters
	})
	t.Run("success resets the counter", func(t *testing.T) {
		c := newCard(t, "gen3", Contact)
		run(t, c, step{selSSSENoFCI, "9000"})
		run(t, c, step{"0084000008", "*9000"}, step{"008200" + "0A10" + "0000000000000000" + hx(orig), "63CE"})
		run(t, c, step{"0084000008", "*9000"}, step{"008200" + "0A10" + "0000000000000000" + hx(orig), "63CD"})
		authenticate(t, c, sm.KidExternalRead)
		run(t, c, step{"0084000008", "*9000"}, step{"008200" + "0A10" + "0000000000000000" + hx(orig), "63CE"})
		run(t, c, step{"00B2072C0B", "6982"}) // a failure clears the key's state
	})
	t.Run("challenge consumed", func(t *testing.T) {
		c := newCard(t, "gen3", Contact)
		run(t, c, step{selSSSENoFCI, "9000"})
		ch := run(t, c, step{"0084000008", "*9000"})
		cmd := extAuthCmd(t, c, 0x0A, ch, orig)
		run(t, c, step{cmd, "9000"}, step{cmd, "6985"}) // replay
		ch = run(t, c, step{"0084000008", "*9000"})
		cmd = extAuthCmd(t, c, 0x0A, ch, orig)
		run(t, c, step{"008200" + "0A10" + "0000000000000000" + hx(orig), "63CE"}, step{cmd, "6985"})
		ch = run(t, c, step{"0084000008", "*9000"})
		cmd = extAuthCmd(t, c, 0x0A, ch, orig)
		run(t, c, step{"00820077100000000000000000" + hx(orig), "6A88"}, step{cmd, "6985"})
	})
	t.Run("only the most recent challenge", func(t *testing.T) {
		c := newCard(t, "gen3", Contact)
		run(t, c, step{selSSSENoFCI, "9000"})
		ch1 := run(t, c, step{"0084000008", "*9000"})
		run(t, c, step{"0084000008", "*9000"})
		run(t, c, step{extAuthCmd(t, c, 0x0A, ch1, orig), "63CE"})
	})
	t.Run("challenge survives other commands but not reset", func(t *testing.T) {
		c := newCard(t, "gen3", Contact)
		ch := run(t, c, step{"0084000008", "*9000"})
		run(t, c, step{selSSSENoFCI, "9000"}, step{"00B2012C00", "6112"}, step{"00C0000012", "*9000"})
		run(t, c, step{extAuthCmd(t, c, 0x0A, ch, orig), "9000"})
		ch = run(t, c, step{"0084000008", "*9000"})
		c.Reset()
		run(t, c, step{selSSSENoFCI, "9000"}, step{extAuthCmd(t, c, 0x0A, ch, orig), "6985"})
	})
	errs := []struct {
		name  string
		steps []step
	}{
		{"no challenge", []step{{selSSSENoFCI, "9000"}, {"008200" + "0A10" + "00000000000000000000000000000000", "6985"}}},
		{"unknown kid", []step{{selSSSENoFCI, "9000"}, {"0084000008", "*9000"}, {"008200" + "3310" + "00000000000000000000000000000000", "6A88"}}},
		{"internal key for external", []step{{selSSSENoFCI, "9000"}, {"0084000008", "*9000"}, {"008200" + "0910" + "00000000000000000000000000000000", "6A88"}}},
		{"outside the application", []step{{"0084000008", "*9000"}, {"008200" + "0A10" + "00000000000000000000000000000000", "6A88"}}},
		{"Lc 8", []step{{selSSSENoFCI, "9000"}, {"0084000008", "*9000"}, {"0082000A080000000000000000", "6700"}}},
		{"no data", []step{{selSSSENoFCI, "9000"}, {"0082000A", "6700"}}},
		{"with Le", []step{{selSSSENoFCI, "9000"}, {"008200" + "0A10" + "00000000000000000000000000000000" + "00", "6700"}}},
		{"P1", []step{{selSSSENoFCI, "9000"}, {"008201" + "0A10" + "00000000000000000000000000000000", "6A86"}}},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			run(t, newCard(t, "gen3", Contact), tt.steps...)
		})
	}
}

func TestInternalAuthenticate(t *testing.T) {
	fo := h("1122334455667788 A1A2A3A4A5A6A7A8")
	for _, name := range BuiltinNames() {
		for _, mode := range []Mode{Contact, Contactless} {
			if name == "gen2" && mode == Contactless {
				continue
			}
			t.Run(name+"/"+mode.String(), func(t *testing.T) {
				c := newCard(t, name, mode)
				ck, err := simkeys.CardKey(0x09, h(c.Profile().SSSE.CardID))
				if err != nil {
					t.Fatal(err)
				}
				want, err := sm.SIMCryptogram(ck[:], fo[:8], fo[8:])
				if err != nil {
					t.Fatal(err)
				}
				run(t, c, step{selSSSENoFCI, "9000"})
				ch := run(t, c, step{"0084000008", "*9000"})
				cmd := "0088000910" + hx(fo) + "00"
				if mode == Contact {
					run(t, c, step{cmd, "6108"}, step{"00C0000008", hx(want[:]) + "9000"})
					run(t, c, step{"0088000910" + hx(fo), "6108"}, step{"00C0000008", hx(want[:]) + "9000"})
				} else {
					run(t, c, step{cmd, hx(want[:]) + "9000"})
					run(t, c, step{"0088000910" + hx(fo), hx(want[:]) + "9000"})
				}
				// The challenge is untouched: external authentication still works.
				run(t, c, step{extAuthCmd(t, c, 0x0A, ch, fo[8:]), "9000"})
			})
		}
	}
	if name := "gen2"; name != "" {
		c := newCard(t, name, Contact)
		want, err := simkeys.CardKeys{CardID: h("330100D1560000050114F199D286DF7E")}.Cryptogram(0x09, fo[:8], fo[8:])
		if err != nil {
			t.Fatal(err)
		}
		if hx(want[:]) != "FB4431BF12201D90" { // fixed vector of sm's tests
			t.Fatalf("vector %X", want)
		}
		run(t, c, step{selSSSENoFCI, "9000"}, step{"0088000910" + hx(fo) + "00", "6108"}, step{"00C0000008", "FB4431BF12201D909000"})
	}
	errs := []struct {
		name  string
		steps []step
	}{
		{"external key", []step{{selSSSENoFCI, "9000"}, {"0088000A10" + hx(fo) + "00", "6A88"}}},
		{"unknown key", []step{{selSSSENoFCI, "9000"}, {"0088000010" + hx(fo) + "00", "6A88"}}},
		{"outside the application", []step{{"0088000910" + hx(fo) + "00", "6A88"}}},
		{"Lc 8", []step{{selSSSENoFCI, "9000"}, {"0088000908" + hx(fo[:8]) + "00", "6700"}}},
		{"no data", []step{{selSSSENoFCI, "9000"}, {"0088000900", "6700"}}},
		{"P1", []step{{selSSSENoFCI, "9000"}, {"0088010910" + hx(fo) + "00", "6A86"}}},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			run(t, newCard(t, "gen3", Contact), tt.steps...)
		})
	}
}

// TestHSMTwoStep runs the sim-profile §3 flow: four challenges, the SIM
// HSM answer computed with package sm, internal then external
// authentication, then the protected reads.
func TestHSMTwoStep(t *testing.T) {
	c := newCard(t, "gen3", Contactless)
	run(t, c, step{selSSSE, "*9000"})
	o1 := run(t, c, step{"0084000008", "*9000"})[:8]
	f1 := run(t, c, step{"0084000008", "*9000"})[:8]
	o2 := run(t, c, step{"0084000008", "*9000"})[:8]
	f2 := run(t, c, step{"0084000008", "*9000"})[:8]
	hsm := simkeys.CardKeys{CardID: h(c.Profile().SSSE.CardID)}
	c1, err := hsm.Cryptogram(sm.SIMKidInternalAuth, f1, o1)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := hsm.Cryptogram(sm.KidExternalRead, f2, o2)
	if err != nil {
		t.Fatal(err)
	}
	run(t, c,
		step{"0088000910" + hx(f1) + hx(o1) + "00", hx(c1[:]) + "9000"},
		step{"0082000A10" + hx(c2[:]) + hx(o2), "9000"},
		step{"00B2072C00", "0709" + hx([]byte("A12345678")) + "9000"},
		step{"00B2013400", "0812" + hx([]byte("411602199001011232")) + "9000"},
	)
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
	}{
		{"right PIN", []step{{"0020000003123456", "9000"}}},
		{"query before", []step{{"00200000", "63C3"}, {"0020000000", "63C3"}}},
		{"query after", []step{{"0020000003123456", "9000"}, {"00200000", "9000"}}},
		{"wrong PINs block", []step{
			{"0020000003111111", "63C2"}, {"0020000003111111", "63C1"}, {"00200000", "63C1"},
			{"0020000003111111", "63C0"}, {"0020000003123456", "6983"}, {"00200000", "6983"},
		}},
		{"success resets the counter", []step{
			{"0020000003111111", "63C2"}, {"0020000003123456", "9000"}, {"0020000003111111", "63C2"},
		}},
		{"failure clears the verified state", []step{
			{"0020000003123456", "9000"}, {"0020000003111111", "63C2"}, {"00200000", "63C2"},
		}},
		{"reselect clears the verified state", []step{
			{"0020000003123456", "9000"}, {selSSSENoFCI, "9000"}, {"00200000", "63C3"},
		}},
		{"EF select keeps it", []step{
			{"0020000003123456", "9000"}, {"00A4000C02EF05", "9000"}, {"00200000", "9000"},
		}},
		{"wrong length", []step{{"00200000021234", "6700"}}},
		{"wrong length 4", []step{{"002000000412345600", "6700"}, {"00200000", "63C3"}}},
		{"with Le", []step{{"002000000312345600", "6700"}}},
		{"query with Le 08", []step{{"0020000008", "6700"}}},
		{"unknown reference", []step{{"0020000103123456", "6A88"}}},
		{"P1", []step{{"0020010003123456", "6A86"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCard(t, "gen3", Contact)
			run(t, c, step{selSSSENoFCI, "9000"})
			run(t, c, tt.steps...)
		})
	}
	t.Run("outside the application", func(t *testing.T) {
		run(t, newCard(t, "gen3", Contact), step{"0020000003123456", "6A88"})
	})
	t.Run("counter survives reset", func(t *testing.T) {
		c := newCard(t, "gen3", Contact)
		run(t, c, step{selSSSENoFCI, "9000"}, step{"0020000003111111", "63C2"})
		c.Reset()
		run(t, c, step{selSSSENoFCI, "9000"}, step{"00200000", "63C2"})
	})
	t.Run("profile PIN and tries", func(t *testing.T) {
		p, _ := Builtin("gen3")
		p.SSSE.PIN, p.SSSE.PINTries = "888888", 5
		c, err := New(p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		run(t, c, step{selSSSENoFCI, "9000"}, step{"00200000", "63C5"}, step{"0020000003123456", "63C4"}, step{"0020000003888888", "9000"})
	})
}

func TestT0(t *testing.T) {
	const rec1 = "0110411600D156000005005A3C9E17B2D40F" // 18 bytes
	tests := []struct {
		name  string
		steps []step
	}{
		{"case 2 exact Le", []step{{"00B2012C12", rec1 + "9000"}}},
		{"case 2 Le 00", []step{{"00B2012C00", "6112"}, {"00C0000012", rec1 + "9000"}}},
		{"case 1 is P3 00", []step{{"00B2012C", "6112"}, {"00C0000012", rec1 + "9000"}}},
		{"case 2 short Le", []step{{"00B2012C10", "6C12"}, {"00C0000012", "6F00"}, {"00B2012C12", rec1 + "9000"}}},
		{"case 2 long Le", []step{{"00B2012C20", rec1 + "9000"}}},
		{"GET RESPONSE in parts", []step{{"00B2012C00", "6112"}, {"00C0000005", rec1[:10] + "610D"}, {"00C0000010", "6C0D"}, {"00C000000D", rec1[10:] + "9000"}, {"00C0000000", "6F00"}}},
		{"GET RESPONSE Le 00", []step{{"00B2012C00", "6112"}, {"00C0000000", rec1 + "9000"}}},
		{"GET RESPONSE Le too long keeps data", []step{{"00B2012C00", "6112"}, {"00C0000013", "6C12"}, {"00C0000012", rec1 + "9000"}}},
		{"GET RESPONSE case 1", []step{{"00B2012C00", "6112"}, {"00C00000", rec1 + "9000"}}},
		{"other command clears", []step{{"00B2012C00", "6112"}, {"0084000008", "*9000"}, {"00C0000012", "6F00"}}},
		{"failed command clears", []step{{"00B2012C00", "6112"}, {"00B2092C00", "6A83"}, {"00C0000012", "6F00"}}},
		{"unknown INS clears", []step{{"00B2012C00", "6112"}, {"00CA000000", "6D00"}, {"00C0000012", "6F00"}}},
		{"malformed APDU clears", []step{{"00B2012C00", "6112"}, {"00B2012C0500", "6700"}, {"00C0000012", "6F00"}}},
		{"GET RESPONSE other CLA clears", []step{{"00B2012C00", "6112"}, {"80C0000012", "6E00"}, {"00C0000012", "6F00"}}},
		{"GET RESPONSE nothing pending", []step{{"00C0000000", "6F00"}}},
		{"GET RESPONSE P1P2", []step{{"00B2012C00", "6112"}, {"00C0010012", "6B00"}, {"00C0000012", rec1 + "9000"}}},
		{"GET RESPONSE with data", []step{{"00B2012C00", "6112"}, {"00C000000100", "6700"}, {"00C0000012", rec1 + "9000"}}},
		{"GET RESPONSE extended", []step{{"00B2012C00", "6112"}, {"00C00000000012", "6700"}, {"00C0000012", rec1 + "9000"}}},
		{"case 4 SELECT", []step{{selSSSE + "18", "6118"}, {"00C0000018", ssseFCIHex + "9000"}}},
		{"GET CHALLENGE exact", []step{{"0084000008", "*9000"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCard(t, "gen3", Contact)
			run(t, c, step{selSSSENoFCI, "9000"})
			run(t, c, tt.steps...)
		})
	}
}

func TestT0LongResponse(t *testing.T) {
	c := newCard(t, "gen2", Contact)
	ef := addBinaryEF(c) // 300 bytes
	run(t, c, step{selSSSENoFCI, "9000"}, step{"00A4000C02EF07", "9000"})
	// A case-4 style answer longer than 256 bytes: 6100 then two fetches.
	data, status := ef.data, c.respond
	resp := status(mustParse(t, "00A4000002EF07"), data, 0x9000)
	if hx(resp) != "6100" {
		t.Fatalf("announce %X, want 6100", resp)
	}
	got := run(t, c, step{"00C0000000", "*612C"})
	if !bytes.Equal(got[:256], data[:256]) {
		t.Fatal("first chunk differs")
	}
	got = run(t, c, step{"00C000002C", "*9000"})
	if !bytes.Equal(got[:44], data[256:]) {
		t.Fatal("second chunk differs")
	}
}

func TestContactless(t *testing.T) {
	const rec1 = "0110411600D156000005005A3C9E17B2D40F"
	tests := []struct {
		name  string
		steps []step
	}{
		{"SELECT returns the FCI", []step{{selSSSE, ssseFCIHex + "9000"}}},
		{"SELECT with Le 00", []step{{selSSSE + "00", ssseFCIHex + "9000"}}},
		{"SELECT with short Le", []step{{selSSSE + "05", "6C18"}}},
		{"SELECT no FCI", []step{{selSSSENoFCI, "9000"}}},
		{"READ RECORD Le 00", []step{{selSSSENoFCI, "9000"}, {"00B2012C00", rec1 + "9000"}}},
		{"READ RECORD no Le", []step{{selSSSENoFCI, "9000"}, {"00B2012C", rec1 + "9000"}}},
		{"READ RECORD exact Le", []step{{selSSSENoFCI, "9000"}, {"00B2012C12", rec1 + "9000"}}},
		{"READ RECORD long Le", []step{{selSSSENoFCI, "9000"}, {"00B2012CFF", rec1 + "9000"}}},
		{"READ RECORD short Le", []step{{selSSSENoFCI, "9000"}, {"00B2012C10", "6C12"}}},
		{"gen3 rules apply", []step{{selSSSENoFCI, "9000"}, {"00B2072C00", "6982"}}},
		{"GET RESPONSE has nothing", []step{{selSSSE, "*9000"}, {"00C0000018", "6F00"}}},
		{"UID", []step{{"FFCA000000", "5A3C9E179000"}}},
		{"UID exact Le", []step{{"FFCA000004", "5A3C9E179000"}}},
		{"UID no Le", []step{{"FFCA0000", "5A3C9E179000"}}},
		{"UID short Le", []step{{"FFCA000002", "6C04"}}},
		{"UID long Le", []step{{"FFCA000008", "5A3C9E176282"}}},
		{"ATS historical bytes", []step{{"FFCA010000", "6A81"}}},
		{"GET DATA bad P1P2", []step{{"FFCA020000", "6B00"}, {"FFCA000100", "6B00"}}},
		{"GET DATA with data", []step{{"FFCA00000100", "6700"}}},
		{"GET DATA malformed", []step{{"FFCA00000300", "6700"}}},
		{"other FF goes to the card", []step{{"FFB0000000", "6E00"}}},
		{"UID does not disturb the card", []step{{selSSSENoFCI, "9000"}, {"FFCA000000", "*9000"}, {"00B2012C00", rec1 + "9000"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, newCard(t, "gen3", Contactless), tt.steps...)
		})
	}
	t.Run("contact mode has no reader", func(t *testing.T) {
		run(t, newCard(t, "gen3", Contact), step{"FFCA000000", "6E00"})
	})
	t.Run("contact-only profile", func(t *testing.T) {
		p, _ := Builtin("gen2")
		if _, err := New(p, Options{Mode: Contactless}); err == nil || !strings.Contains(err.Error(), "contactless") {
			t.Fatalf("err = %v, want a contactless error", err)
		}
	})
	t.Run("same data both ways", func(t *testing.T) {
		a, b := newCard(t, "gen3", Contact), newCard(t, "gen3", Contactless)
		run(t, a, step{selSSSENoFCI, "9000"})
		run(t, b, step{selSSSENoFCI, "9000"})
		for _, cmd := range []string{"00B2012C00", "00B2022C00", "00B2032C00", "00B2042C00", "00B2052C00", "00B2062C00", "00B2015C00"} {
			want := b.Transmit(h(cmd))
			run(t, a, step{cmd, "*61" + hx([]byte{byte(len(want) - 2)})})
			got := run(t, a, step{"00C0000000", ""})
			if !bytes.Equal(got, want) {
				t.Errorf("%s: contact %X, contactless %X", cmd, got, want)
			}
		}
	})
}

func TestStatusWords(t *testing.T) {
	tests := []struct {
		name, cmd, want string
	}{
		{"unknown INS", "00CA9F7900", "6D00"},
		{"UPDATE RECORD without current EF", "00DC010403070131", "6986"},
		{"unknown CLA", "80B2012C00", "6E00"},
		{"CLA FF in contact", "FFB2012C00", "6E00"},
		{"secure messaging CLA", "04B2012C00", "6882"},
		{"secure messaging CLA 0C", "0CB2012C00", "6882"},
		{"empty", "", "6700"},
		{"one byte", "00", "6700"},
		{"three bytes", "00A404", "6700"},
		{"Lc longer than data", "00A404000F7378", "6700"},
		{"Lc shorter than data", "00A40400027378312E", "6700"},
		{"extended case 2", "00B2012C000000", "6700"},
		{"extended case 3", "00A40400000002DDF1", "6700"},
		{"extended Lc zero", "00A404000000000000", "6700"},
		{"unknown INS odd", "0021000000", "6D00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCard(t, "gen2", Contact) // extended length off
			run(t, c, step{selSSSENoFCI, "9000"}, step{tt.cmd, tt.want})
		})
	}
}

func TestPower(t *testing.T) {
	c := newCard(t, "gen3", Contact)
	run(t, c, step{selSSSENoFCI, "9000"}, step{"00A4000C02EF05", "9000"}, step{"00B2010400", "6112"})
	c.PowerOff()
	run(t, c, step{"00C0000012", "6F00"}, step{selSSSE, "6F00"})
	c.PowerOn()
	run(t, c, step{"00C0000012", "6F00"}, step{"00B2010400", "6986"})
	run(t, c, step{selSSSENoFCI, "9000"}, step{"00B2012C00", "6112"})
	c.Reset()
	run(t, c, step{"00C0000012", "6F00"}, step{"00B2012C00", "6A82"})
	c.PowerOff()
	c.Reset() // a reset activates the card
	run(t, c, step{selSSSE, "6118"})
}

func TestModeString(t *testing.T) {
	for m, want := range map[Mode]string{Contact: "contact", Contactless: "contactless", Mode(7): "Mode(7)"} {
		if got := m.String(); got != want {
			t.Errorf("%d: %q, want %q", int(m), got, want)
		}
	}
	if newCard(t, "gen3", Contactless).Mode() != Contactless || newCard(t, "gen3", Contact).Mode() != Contact {
		t.Error("Mode() does not report the option")
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(nil, Options{}); err == nil {
		t.Error("New(nil) succeeded")
	}
	p, _ := Builtin("gen3")
	if _, err := New(p, Options{Mode: Mode(5)}); err == nil {
		t.Error("New with mode 5 succeeded")
	}
	p.SSSE.CardID = "1234"
	if _, err := New(p, Options{}); err == nil || !strings.Contains(err.Error(), "ssse.card_id") {
		t.Errorf("New with a bad card id: %v", err)
	}
	if _, err := New(&Profile{}, Options{}); err == nil {
		t.Error("New with an empty profile succeeded")
	}
}

func TestProfileCopy(t *testing.T) {
	c := newCard(t, "gen3", Contactless)
	p := c.Profile()
	if p.SSSE.PIN != "123456" || p.SSSE.PINTries != 3 || p.SSSE.NamePadding != "space" {
		t.Errorf("defaults missing: %+v", p.SSSE)
	}
	p.Name = "changed"
	p.Contactless.UID = "00000000"
	if q := c.Profile(); q.Name != "gen3" || q.Contactless.UID != "5A3C9E17" {
		t.Error("Profile() returns shared state")
	}
}

// TestCustomKeys plugs another sm.CardKeys into the card.
func TestCustomKeys(t *testing.T) {
	p, _ := Builtin("gen3")
	c, err := New(p, Options{Keys: fixedKeys{}})
	if err != nil {
		t.Fatal(err)
	}
	run(t, c, step{selSSSENoFCI, "9000"},
		step{"0084000008", "*9000"},
		step{"0082000A10" + "0A0A0A0A0A0A0A0A" + "0000000000000000", "9000"},
		step{"0088000910" + "00000000000000000000000000000000", "6108"},
		step{"00C0000008", "09090909090909099000"},
	)
}

type fixedKeys struct{}

func (fixedKeys) Cryptogram(kid byte, factor, orig []byte) ([8]byte, error) {
	var c [8]byte
	for i := range c {
		c[i] = kid
	}
	return c, nil
}

func TestConcurrentUse(t *testing.T) {
	c := newCard(t, "gen3", Contact)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				switch (g + i) % 5 {
				case 0:
					c.Transmit(h(selSSSE))
				case 1:
					c.Transmit(h("00B2012C00"))
				case 2:
					c.Transmit(h("00C0000000"))
				case 3:
					c.Reset()
				default:
					_ = c.ATR()
					_ = c.Profile()
				}
			}
		}()
	}
	wg.Wait()
}

// TestAccessConditions exercises the PIN and "never" conditions of the file
// tree with SIM test EFs under DF01 (where the PIN-protected public data
// will go): the PIN verified in SSSE holds in its sub-DF.
func TestAccessConditions(t *testing.T) {
	c := newCard(t, "gen2", Contact)
	df01 := c.mf.child(fidSSSE).child(fidDF01)
	df01.children = nil // replace the personalised public data
	df01.add(
		&file{typ: typeRecordEF, fid: 0xEF05, sfi: 5, read: access{needPIN: true}, records: []record{{data: tlv(0x20, []byte{0x12, 0x34})}}},
		&file{typ: typeRecordEF, fid: 0xEF06, sfi: 6, read: access{never: true}, records: []record{{data: tlv(0x23, []byte{1})}}},
		&file{typ: typeRecordEF, fid: 0xEF07, sfi: 7, records: []record{{data: tlv(0x37, []byte{1}), read: access{needPIN: true, needKey: true, kid: 0x0A}}}},
	)
	run(t, c,
		step{selSSSENoFCI, "9000"},
		step{"00A4000C02DF01", "9000"},
		step{"00B2012C04", "6982"},
		step{"00B2013404", "6982"},
		step{"00B2013C03", "6982"},
		step{"0020000003123456", "9000"},
		step{"00B2012C04", "200212349000"},
		step{"00B2013404", "6982"}, // never
		step{"00B2013C03", "6982"}, // PIN and key
	)
	authenticate(t, c, 0x0A)
	run(t, c,
		step{"00B2013C03", "3701019000"},
		step{"00B2013404", "6982"},
		step{"00A4000C02EF05", "9000"}, // EF05 of DF01 (a child wins over the parent's child)
		step{"00B2010404", "200212349000"},
		step{selSSSENoFCI, "9000"}, // reselecting SSSE clears PIN and key
		step{"00A4000C02DF01", "9000"},
		step{"00B2012C04", "6982"},
	)
}
