package sim

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// recordLayout is the SSSE record layout (ssc-facts §1.4, §1.5): tag and
// value length of record n (1-based) of EF05 (SFI 5) and EF06 (SFI 6).
var recordLayout = map[byte][]struct{ tag, n byte }{
	5: {{0x01, 16}, {0x02, 1}, {0x03, 4}, {0x04, 12}, {0x05, 4}, {0x06, 4}, {0x07, 9}},
	6: {{0x08, 18}, {0x09, 30}, {0x4E, 20}, {0x0A, 1}, {0x0B, 1}, {0x0C, 3}, {0x0D, 4}},
}

// updateCmd builds UPDATE RECORD 00 DC rec P2 Lc data.
func updateCmd(rec, p2 byte, data []byte) string {
	return fmt.Sprintf("00DC%02X%02X%02X%X", rec, p2, len(data), data)
}

// newRecord is a test value for a record: tag, length and a pattern.
func newRecord(tag, n, seed byte) []byte {
	out := []byte{tag, n}
	for i := range n {
		out = append(out, seed+i)
	}
	return out
}

// TestUpdateRecordAccess: UPDATE RECORD needs EXTERNAL AUTHENTICATE with
// kid 04 on both generations; kid 0A does not allow it.
func TestUpdateRecordAccess(t *testing.T) {
	sex := updateCmd(4, 0x34, h("0A0132"))
	for _, profile := range []string{"gen2", "gen3", "gen3-blank"} {
		for _, tt := range []struct {
			name string
			kids []byte
			want string
		}{
			{"no auth", nil, "6982"},
			{"kid 0A", []byte{0x0A}, "6982"},
			{"kid 04", []byte{0x04}, "9000"},
			{"kid 0A and 04", []byte{0x0A, 0x04}, "9000"},
		} {
			t.Run(profile+"/"+tt.name, func(t *testing.T) {
				c := newCard(t, profile, Contact)
				run(t, c, step{selSSSENoFCI, "9000"})
				for _, kid := range tt.kids {
					authenticate(t, c, kid)
				}
				run(t, c, step{sex, tt.want})
			})
		}
	}
}

// TestUpdateRecordReadBack: after kid 04 every EF05/EF06 record can be
// written, by SFI or in the current EF, and reads back (also after a
// reset, on a new selection); the PKI files are untouched.
func TestUpdateRecordReadBack(t *testing.T) {
	for _, profile := range []string{"gen2", "gen3", "gen3-blank"} {
		for _, bySFI := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/sfi=%v", profile, bySFI), func(t *testing.T) {
				c := newCard(t, profile, Contact)
				pkiBefore := pkiFiles(c)
				run(t, c, step{selSSSENoFCI, "9000"})
				authenticate(t, c, 0x0A) // reading EF05/07 and EF06 on 3rd gen
				authenticate(t, c, 0x04)
				written := map[string][]byte{}
				for _, sfi := range []byte{5, 6} {
					p2 := sfi<<3 | 4
					if !bySFI {
						run(t, c, step{fmt.Sprintf("00A4000C02EF%02X", sfi), "9000"})
						p2 = 0x04
					}
					for i, l := range recordLayout[sfi] {
						rec := byte(i + 1)
						data := newRecord(l.tag, l.n, byte(0x30+i))
						run(t, c, step{updateCmd(rec, p2, data), "9000"})
						if got := readRecord(t, c, fmt.Sprintf("00B2%02X%02X00", rec, p2)); !bytes.Equal(got, data) {
							t.Fatalf("record %d of SFI %d: %X, want %X", rec, sfi, got, data)
						}
						// By record identifier too.
						read := fmt.Sprintf("00B2%02X%02X00", l.tag, sfi<<3)
						if got := readRecord(t, c, read); !bytes.Equal(got, data) {
							t.Fatalf("%s: %X, want %X", read, got, data)
						}
						written[read] = data
					}
				}
				// The memory keeps the writes; a reset drops the rights.
				for _, reset := range []func(){c.Reset, func() { c.PowerOff(); c.PowerOn() }} {
					reset()
					run(t, c, step{selSSSENoFCI, "9000"})
					authenticate(t, c, 0x0A)
					for read, data := range written {
						if got := readRecord(t, c, read); !bytes.Equal(got, data) {
							t.Fatalf("after reset %s: %X, want %X", read, got, data)
						}
					}
				}
				if after := pkiFiles(c); !bytes.Equal(after, pkiBefore) {
					t.Error("PKI files changed")
				}
			})
		}
	}
}

// readRecord sends a READ RECORD on the contact link and fetches the
// answer with GET RESPONSE.
func readRecord(t *testing.T, c *Card, cmd string) []byte {
	t.Helper()
	resp := c.Transmit(h(cmd))
	if len(resp) != 2 || resp[0] != 0x61 {
		t.Fatalf("%s: %X, want 61xx", cmd, resp)
	}
	resp = run(t, c, step{fmt.Sprintf("00C00000%02X", resp[1]), "*9000"})
	return resp[:len(resp)-2]
}

// pkiFiles concatenates the data of the binary EFs of the PKI application.
func pkiFiles(c *Card) []byte {
	var out []byte
	c.mf.walk(func(f *file) bool {
		if f.typ == typeBinaryEF && f.parent.name != nil && string(f.parent.name) == string(pkiADFName) {
			out = append(out, f.data...)
		}
		return true
	})
	return out
}

// TestUpdateRecordErrors: status words of malformed or misdirected UPDATE
// RECORD commands after kid 04.
func TestUpdateRecordErrors(t *testing.T) {
	sex := h("0A0132")
	tests := []struct {
		name, cmd, want string
	}{
		{"wrong tag", updateCmd(4, 0x34, h("0B0132")), "6A80"},
		{"tag of another record", updateCmd(1, 0x34, h("0A0132")), "6700"},
		{"wrong length byte", updateCmd(1, 0x2C, append([]byte{0x01, 0x0F}, make([]byte, 16)...)), "6A80"},
		{"EF06 name length byte", updateCmd(2, 0x34, append([]byte{0x09, 0x1D}, bytes.Repeat([]byte{0x20}, 30)...)), "6A80"},
		{"Lc too short", updateCmd(4, 0x34, h("0A01")), "6700"},
		{"Lc too long", updateCmd(4, 0x34, h("0A013232")), "6700"},
		{"card number Lc", updateCmd(7, 0x2C, []byte("\x07\x09A1234567")), "6700"},
		{"no data", "00DC043400", "6700"},
		{"case 1", "00DC0434", "6700"},
		{"with Le", updateCmd(4, 0x34, sex) + "00", "6700"},
		{"record 8", updateCmd(8, 0x34, sex), "6A83"},
		{"record FF", updateCmd(0xFF, 0x2C, sex), "6A83"},
		{"record 0", updateCmd(0, 0x34, sex), "6A86"},
		{"by identifier", updateCmd(0x0A, 0x30, sex), "6A86"},
		{"mode 101", updateCmd(4, 0x35, sex), "6A86"},
		{"SFI 1F", updateCmd(4, 0xFC, sex), "6B00"},
		{"no such SFI", updateCmd(1, 0x1E<<3|4, sex), "6A82"},
		{"no current EF", updateCmd(4, 0x04, sex), "6986"},
		{"binary EF07", updateCmd(1, 0x3C, sex), "6981"},
		{"directory EF", updateCmd(1, 0x5C, sex), "6982"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCard(t, "gen3", Contact)
			run(t, c, step{selSSSENoFCI, "9000"})
			authenticate(t, c, 0x04)
			before := hx(c.mf.child(fidSSSE).child(fidEF06).records[3].data)
			run(t, c, step{tt.cmd, tt.want})
			if after := hx(c.mf.child(fidSSSE).child(fidEF06).records[3].data); after != before {
				t.Errorf("record changed: %s -> %s", before, after)
			}
		})
	}
	t.Run("contactless", func(t *testing.T) {
		c := newCard(t, "gen3", Contactless)
		run(t, c, step{selSSSENoFCI, "9000"}, step{updateCmd(4, 0x34, sex), "6982"})
		authenticate(t, c, 0x04)
		run(t, c, step{updateCmd(4, 0x34, sex), "9000"})
		authenticate(t, c, 0x0A)
		run(t, c, step{"00B20A3000", "0A01329000"})
	})
	t.Run("blocked SSSE", func(t *testing.T) {
		p, _ := Builtin("gen3")
		p.SSSE.Blocked = true
		c, err := New(p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		run(t, c, step{selSSSENoFCI, "6283"}, step{updateCmd(4, 0x34, sex), "6985"})
	})
}

// TestUpdateRecordDropsRight: reset, power off, a new SELECT of SSSE (by
// name or as the parent of DF01), a failed EXTERNAL AUTHENTICATE with kid
// 04 and leaving for another application drop the write right; selecting an
// EF inside SSSE keeps it.
func TestUpdateRecordDropsRight(t *testing.T) {
	sex := updateCmd(4, 0x34, h("0A0132"))
	tests := []struct {
		name  string
		after func(t *testing.T, c *Card)
		want  string
	}{
		{"nothing", func(*testing.T, *Card) {}, "9000"},
		{"SELECT EF05", func(t *testing.T, c *Card) { run(t, c, step{"00A4000C02EF05", "9000"}) }, "9000"},
		{"SELECT DF01 and back", func(t *testing.T, c *Card) { // a new selection of SSSE
			run(t, c, step{"00A4000C02DF01", "9000"}, step{"00A4030C", "9000"})
		}, "6982"},
		{"reset", func(t *testing.T, c *Card) { c.Reset(); run(t, c, step{selSSSENoFCI, "9000"}) }, "6982"},
		{"power off", func(t *testing.T, c *Card) {
			c.PowerOff()
			c.PowerOn()
			run(t, c, step{selSSSENoFCI, "9000"})
		}, "6982"},
		{"SELECT SSSE again", func(t *testing.T, c *Card) { run(t, c, step{selSSSENoFCI, "9000"}) }, "6982"},
		{"SELECT PBOC and back", func(t *testing.T, c *Card) {
			run(t, c, step{"00A4040C07A0000003330101", "9000"}, step{selSSSENoFCI, "9000"})
		}, "6982"},
		{"failed kid 04", func(t *testing.T, c *Card) {
			ch := run(t, c, step{"0084000008", "*9000"})
			cmd := extAuthCmd(t, c, 0x04, ch[:8], h("0102030405060708"))
			cmd = cmd[:len(cmd)-2] + "00" // corrupt the original data
			run(t, c, step{cmd, "63CE"})
		}, "6982"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCard(t, "gen3", Contact)
			run(t, c, step{selSSSENoFCI, "9000"})
			authenticate(t, c, 0x04)
			tt.after(t, c)
			run(t, c, step{sex, tt.want})
		})
	}
}

// TestBlankProfile: gen3-blank is the gen3 card before issuance: EF05
// records 1–4 of gen3, the other SSSE records all 00, the unpersonalised
// PKI application, the PBOC application of gen3, the gen3 SIM keys.
func TestBlankProfile(t *testing.T) {
	c, g := newCard(t, "gen3-blank", Contact), newCard(t, "gen3", Contact)
	if !c.Profile().SSSE.Blank || !c.Profile().PKI.Enabled || !c.Profile().PKI.Blank {
		t.Fatalf("profile %+v", c.Profile())
	}
	if !bytes.Equal(c.ATR(), g.ATR()) {
		t.Errorf("ATR %X, gen3 %X", c.ATR(), g.ATR())
	}
	for _, card := range []*Card{c, g} {
		run(t, card, step{selSSSENoFCI, "9000"})
		authenticate(t, card, 0x0A) // the gen3 keys
	}
	for _, sfi := range []byte{5, 6} {
		for i, l := range recordLayout[sfi] {
			cmd := fmt.Sprintf("00B2%02X%02X00", i+1, sfi<<3|4)
			want := append([]byte{l.tag, l.n}, make([]byte, l.n)...)
			if sfi == 5 && i < 4 {
				want = readRecord(t, g, cmd)
			}
			if got := readRecord(t, c, cmd); !bytes.Equal(got, want) {
				t.Errorf("%s: %X, want %X", cmd, got, want)
			}
		}
	}
	if got := readRecord(t, c, "00B2032C00"); hx(got) != "0304332E3030" {
		t.Errorf("version record %X", got)
	}
	run(t, c, step{"00A4000C02EF08", "6A82"})                     // no photo
	run(t, c, step{"00A4040C0C504B492EC9E7BBE1B1A3D5CF", "9000"}) // unpersonalised PKI
	run(t, c, step{"00A4040C07A0000003330101", "9000"})           // PBOC debit
	if c.profile.PBOC == nil || !c.profile.PBOC.Enabled {
		t.Error("no PBOC application")
	}
}

// TestBlankProfileValidation: a blank card must leave the issuance fields
// empty and cannot have a personalised PKI application.
func TestBlankProfileValidation(t *testing.T) {
	base, err := Builtin("gen3-blank")
	if err != nil {
		t.Fatal(err)
	}
	if err := base.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		field string
		set   func(p *Profile)
	}{
		{"ssse.name", func(p *Profile) { p.SSSE.Name = "张三" }},
		{"ssse.ssn", func(p *Profile) { p.SSSE.SSN = "411602199001011232" }},
		{"ssse.issue_date", func(p *Profile) { p.SSSE.IssueDate = "20240101" }},
		{"ssse.card_number", func(p *Profile) { p.SSSE.CardNumber = "A12345678" }},
		{"ssse.birthplace", func(p *Profile) { p.SSSE.Birthplace = "411602" }},
		{"pki.enabled", func(p *Profile) { p.PKI.Blank = false }},
	} {
		p, _ := Builtin("gen3-blank")
		tt.set(p)
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%s: %v", tt.field, err)
		}
	}
	// Without a pki section a blank 3.00 card has no PKI application.
	p, _ := Builtin("gen3-blank")
	p.PKI = nil
	if q := p.withDefaults(); q.PKI.Enabled {
		t.Error("blank card defaults to PKI enabled")
	}
	// Without blank, the holder fields are required as before.
	p, _ = Builtin("gen3-blank")
	p.SSSE.Blank = false
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "ssse.name: required") {
		t.Errorf("not blank: %v", err)
	}
}
