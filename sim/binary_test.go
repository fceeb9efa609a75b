package sim

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"testing"

	"github.com/sscard/ssc/sm"
)

// readAll reads a whole binary EF (selected) with short READ BINARY
// commands of n bytes, in contactless mode.
func readAll(t *testing.T, c *Card, n int) []byte {
	t.Helper()
	var out []byte
	for off := 0; ; off += n {
		resp := c.Transmit(h(fmt.Sprintf("00B0%04X%02X", off, byte(n))))
		switch sw := hx(resp[len(resp)-2:]); sw {
		case "9000":
			out = append(out, resp[:len(resp)-2]...)
			if len(resp)-2 < n {
				return out
			}
		case "6B00":
			return out
		default:
			t.Fatalf("READ BINARY at %d: %s", off, sw)
		}
	}
}

// TestFingerprintAndPhoto: EF07 and EF08 under SSSE need key 0A (both
// generations).
func TestFingerprintAndPhoto(t *testing.T) {
	for _, profile := range []string{"gen2", "gen3"} {
		t.Run(profile, func(t *testing.T) {
			c := newCard(t, profile, Contact)
			run(t, c, step{selSSSENoFCI, "9000"},
				step{"00B0870010", "6982"}, step{"00B0880010", "6982"},
				step{"00A4000C02EF07", "9000"}, step{"00B0000010", "6982"},
				step{"00A4000C02EF08", "9000"}, step{"00B0000010", "6982"})
			authenticate(t, c, sm.KidExternalRead)
			fp := simFingerprint(h(c.Profile().SSSE.CardID), 0x300)
			run(t, c,
				step{"00B0870010", hx(fp[:16]) + "9000"},
				step{"00B0872F04", hx(fp[0x2F:0x33]) + "9000"},
				step{"00A4000C02EF07", "9000"},
				step{"00B002FF01", hx(fp[0x2FF:]) + "9000"},
				step{"00B002FF10", hx(fp[0x2FF:]) + "9000"},
				step{"00B0030001", "6B00"},
				step{"00B0880004", "FFD8FFDB9000"}, // JPEG SOI + DQT
			)
		})
	}
	t.Run("whole photo and fingerprint", func(t *testing.T) {
		c := newCard(t, "gen3", Contactless)
		run(t, c, step{selSSSENoFCI, "9000"})
		authenticate(t, c, sm.KidExternalRead)
		run(t, c, step{"00A4000C02EF08", "9000"})
		photo := readAll(t, c, 0xF0)
		if !bytes.Equal(photo, defaultPhoto) {
			t.Fatalf("photo: %d bytes, differs from the built-in %d", len(photo), len(defaultPhoto))
		}
		if len(photo) < 10<<10 || len(photo) > 20<<10 {
			t.Errorf("photo %d bytes, want 10–20 KB", len(photo))
		}
		if _, err := jpeg.Decode(bytes.NewReader(photo)); err != nil {
			t.Errorf("photo: %v", err)
		}
		run(t, c, step{"00A4000C02EF07", "9000"})
		if fp := readAll(t, c, 0xFF); len(fp) != 0x300 {
			t.Errorf("fingerprint %d bytes, want 768", len(fp))
		}
	})
	t.Run("key 0A lost on reselect", func(t *testing.T) {
		c := newCard(t, "gen3", Contact)
		run(t, c, step{selSSSENoFCI, "9000"})
		authenticate(t, c, sm.KidExternalRead)
		run(t, c, step{selSSSENoFCI, "9000"}, step{"00B0870001", "6982"})
	})
	t.Run("PIN is not enough", func(t *testing.T) {
		c := newCard(t, "gen3", Contact)
		run(t, c, step{selSSSENoFCI, "9000"}, step{"0020000003123456", "9000"}, step{"00B0870001", "6982"})
	})
	t.Run("profile size and no photo", func(t *testing.T) {
		p, _ := Builtin("gen3")
		p.SSSE.FingerprintSize, p.SSSE.Photo = 1000, "none"
		c, err := New(p, Options{Mode: Contactless})
		if err != nil {
			t.Fatal(err)
		}
		run(t, c, step{selSSSENoFCI, "9000"}, step{"00A4000C02EF08", "6A82"}, step{"00B0880001", "6A82"})
		authenticate(t, c, sm.KidExternalRead)
		run(t, c, step{"00A4000C02EF07", "9000"}, step{"00B003E701", "*9000"}, step{"00B003E801", "6B00"})
	})
}

// TestExtendedLength: extended READ BINARY returns up to Ne bytes in one
// response when the profile switches extended length on.
func TestExtendedLength(t *testing.T) {
	for _, mode := range []Mode{Contact, Contactless} {
		t.Run(mode.String(), func(t *testing.T) {
			c := newCard(t, "gen3", mode)
			run(t, c, step{selSSSENoFCI, "9000"})
			authenticate(t, c, sm.KidExternalRead)
			run(t, c, step{"00A4000C02EF08", "9000"})
			resp := run(t, c, step{"00B00000000000", "*9000"}) // Ne 65536
			if !bytes.Equal(resp[:len(resp)-2], defaultPhoto) {
				t.Fatalf("extended read: %d bytes, want the %d-byte photo", len(resp)-2, len(defaultPhoto))
			}
			resp = run(t, c, step{"00B00010000400", "*9000"}) // offset 0x10, Ne 1024
			if !bytes.Equal(resp[:len(resp)-2], defaultPhoto[0x10:0x410]) {
				t.Fatal("extended read at offset 0x10 differs")
			}
			run(t, c, step{"00B08700000300", hx(simFingerprint(h(c.Profile().SSSE.CardID), 0x300)) + "9000"})
			run(t, c, step{"00A4000C02EF05", "9000"}, step{"00B20104000000", "*9000"}) // any extended case 2
		})
	}
	t.Run("off", func(t *testing.T) {
		p, _ := Builtin("gen3")
		off := false
		p.ExtendedLength = &off
		c, err := New(p, Options{Mode: Contactless})
		if err != nil {
			t.Fatal(err)
		}
		run(t, c, step{selSSSENoFCI, "9000"})
		authenticate(t, c, sm.KidExternalRead)
		run(t, c, step{"00B08800000400", "6700"}, step{"00B0880000", "*9000"})
	})
	t.Run("gen2 default off", func(t *testing.T) {
		c := newCard(t, "gen2", Contact)
		run(t, c, step{selSSSENoFCI, "9000"})
		authenticate(t, c, sm.KidExternalRead)
		run(t, c, step{"00B08800000400", "6700"})
	})
}
