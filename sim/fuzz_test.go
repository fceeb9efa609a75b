package sim

import (
	"strings"
	"testing"
)

// splitScript cuts a fuzz script into APDUs: each is a length byte followed
// by that many bytes (fewer at the end). A length byte of 0xFF means a reset.
func splitScript(script []byte) [][]byte {
	var out [][]byte
	for len(script) > 0 {
		n := int(script[0])
		script = script[1:]
		if n == 0xFF {
			out = append(out, nil)
			continue
		}
		n = min(n, len(script))
		out = append(out, script[:n])
		script = script[n:]
	}
	return out
}

// fuzzScript makes a splitScript script of hex APDUs.
func fuzzScript(cmds ...string) []byte {
	var out []byte
	for _, c := range cmds {
		b := h(c)
		out = append(append(out, byte(len(b))), b...)
	}
	return out
}

// FuzzTransmit: any sequence of APDUs, in either mode, never panics and
// always gets a response of at least two bytes. The seed corpus is in
// testdata/fuzz/FuzzTransmit.
func FuzzTransmit(f *testing.F) {
	f.Add(false, append([]byte{20}, h(selSSSE)...))
	f.Add(true, append([]byte{5}, h("FFCA000000")...))
	// PIN management, DF01, EF07/EF08 (gen2, contact).
	f.Add(false, fuzzScript(selSSSENoFCI, "0020000003123456", "0024000006123456654321", "002C000003123456",
		"0084000008", "00820004100011223344556677880011223344556677", "00A4000C02DF01", "00B2012C00", "00B2023400",
		"00B0870010", "00B0880000", "00A4000C02EF08", "00B0300000", "00B00000000400"))
	// UPDATE RECORD of EF05/EF06 (gen2, contact): without and after kid 04
	// (the cryptogram is wrong, so the writes answer 6982), wrong Lc, tags,
	// records and files.
	f.Add(false, fuzzScript(selSSSENoFCI, "00DC0434030A0132", "0084000008", "00820004100011223344556677880011223344556677",
		"00DC0434030A0132", "00DC043403", "00DC04340B0A0132", "00DC0834030A0132", "00DC013C030A0132",
		"00A4000C02EF05", "00DC0704090741313233343536373800", "00DC0004030A0132"))
	// PKI application and extended length (gen3, contactless).
	f.Add(true, fuzzScript("00A404000C504B492EC9E7BBE1B1A3D5CF", "00A4000002DF01", "80C4010305C10312345600",
		"0084000010", "002001811000112233445566778899AABBCCDDEEFF", "0020018100", "0084000008",
		"002A9E9A20"+strings.Repeat("5A", 32)+"00", "00A4000C020012", "00B0000042", "00A4000C020013", "00B0000000",
		"00A4000C020018", "00B00000000000", "00B0000000", "00A404000C53532E434552542E41444631"))
	// Enveloped encryption key import (gen3, contactless): without the
	// admin state, wrong P1P2, Lc and headers.
	f.Add(true, fuzzScript("00A404000C504B492EC9E7BBE1B1A3D5CF", "00A404000C53532E434552542E41444631",
		"804E000178C2020013C1820070"+strings.Repeat("11", 112), "804E000078C2020013C1820070"+strings.Repeat("11", 112),
		"804A021012C110"+strings.Repeat("22", 16), "80C2400046C0020014CA40"+strings.Repeat("33", 64),
		"80C2C00126C2020015CB20"+strings.Repeat("44", 32), "80C2C00026C2020015CB20"+strings.Repeat("44", 32),
		"00A4000C020014", "00B0000042", "00A4000C020015", "00B0000000", "00A4000C020019", "00B0000000"))
	// PBOC application (gen3, contactless): PSE/PPSE, partial selection,
	// qPBOC GPO, records, log, GET DATA, DDA.
	pdol := "20000000" + "000000001234" + "000000000000" + "0156" + "0000000000" + "0156" + "261201" + "00" + "11223344" + "01"
	f.Add(true, fuzzScript("00A404000E315041592E5359532E444446303100", "00B2010C00",
		"00A404000E325041592E5359532E444446303100", "00A4040007A000000333010100", "00A4040207A000000333010100",
		"80A80000248322"+pdol+"00", "80A80000248322"+pdol+"00", "00B2010C00", "00B2021400", "00B2015C00",
		"80CA9F7900", "80CA9F4F00", "80CA9F1000", "0088000004A1B2C3D400", "00A4040208A000000333010100",
		"80A8000003830100", "80A8000000", "80CA9F3600"))
	gen2, err := Builtin("gen2")
	if err != nil {
		f.Fatal(err)
	}
	gen3, err := Builtin("gen3")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, contactless bool, script []byte) {
		p, mode := gen2, Contact
		if contactless {
			p, mode = gen3, Contactless
		}
		c, err := New(p, Options{Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		for _, cmd := range splitScript(script) {
			if cmd == nil {
				c.Reset()
				continue
			}
			in := append([]byte(nil), cmd...)
			resp := c.Transmit(cmd)
			if len(resp) < 2 {
				t.Fatalf("Transmit(%X) = %X: shorter than 2 bytes", cmd, resp)
			}
			limit := 258 // a short response
			if parsed, err := parseCommand(in); err == nil && parsed.Extended {
				limit = 65538
			}
			if len(resp) > limit {
				t.Fatalf("Transmit(%X): %d bytes, more than %d", cmd, len(resp), limit)
			}
			if string(in) != string(cmd) {
				t.Fatalf("Transmit modified its input")
			}
			if resp[len(resp)-2] == 0x61 && contactless {
				t.Fatalf("Transmit(%X) = %X: 61xx in contactless mode", cmd, resp)
			}
		}
		// UPDATE RECORD keeps every record's tag and length.
		ssse := c.mf.child(fidSSSE)
		for _, sfi := range []byte{sfiEF05, sfiEF06} {
			for i, r := range ssse.childSFI(sfi).records {
				if l := recordLayout[sfi][i]; len(r.data) != int(l.n)+2 || r.data[0] != l.tag || r.data[1] != l.n {
					t.Fatalf("SFI %d record %d is now %X", sfi, i+1, r.data)
				}
			}
		}
	})
}

// FuzzParseProfile: arbitrary input never panics; what parses also makes a
// card.
func FuzzParseProfile(f *testing.F) {
	for _, n := range []string{"profiles/gen3.yaml", "profiles/gen2.json", "profiles/gen3-blank.yaml"} {
		data, err := builtinFS.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, n[len(n)-4:] == "json")
	}
	f.Add([]byte("name: x\nssse: {version: 3.00}\n"), false)
	f.Add([]byte(`{"name":"x","contactless":{}}`), true)
	f.Fuzz(func(t *testing.T, data []byte, isJSON bool) {
		format := "yaml"
		if isJSON {
			format = "json"
		}
		p, err := ParseProfile(data, format)
		if err != nil {
			return
		}
		for _, mode := range []Mode{Contact, Contactless} {
			c, err := New(p, Options{Mode: mode})
			if err != nil {
				if mode == Contactless && p.Contactless == nil {
					continue
				}
				t.Fatalf("ParseProfile accepted a profile New rejects: %v", err)
			}
			if resp := c.Transmit(h(selSSSE)); len(resp) < 2 {
				t.Fatal("short response")
			}
		}
	})
}
