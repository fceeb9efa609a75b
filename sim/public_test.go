package sim

import (
	"strings"
	"testing"
)

// TestPublicData: DF01 (ssc-facts §1.6) is readable after VERIFY of the
// SSSE PIN in the current session.
func TestPublicData(t *testing.T) {
	// GBK 河南省周口市川汇区人民路1号, padded with spaces to 80 bytes.
	addr := "BAD3C4CFCAA1D6DCBFDACAD0B4A8BBE3C7F8C8CBC3F1C2B731BAC5"
	addr += strings.Repeat("20", 80-len(addr)/2)
	tests := []struct {
		name  string
		steps []step
	}{
		{"before VERIFY", []step{{"00B2012C00", "6982"}, {"00B2013400", "6982"}}},
		{"after VERIFY", []step{
			{"0020000003123456", "9000"},
			{"00B2012C00", "200231309000"},
			{"00B2022C00", "2150" + addr + "9000"},
			{"00B2032C00", "0E034116029000"},
			{"00B2042C00", "6A83"}, {"00B2013C00", "6A82"},
			{"00B2013400", "2350" + addr + "9000"},
			{"00B2023400", "24034116029000"},
			{"00B2243000", "24034116029000"}, // by record identifier
		}},
		{"wrong PIN clears it", []step{
			{"0020000003123456", "9000"}, {"0020000003111111", "63C2"}, {"00B2012C00", "6982"},
		}},
		{"reselecting SSSE clears it", []step{
			{"0020000003123456", "9000"}, {selSSSENoFCI, "9000"}, {"00A4000C02DF01", "9000"}, {"00B2012C00", "6982"},
		}},
		{"key 0A is not enough", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCard(t, "gen3", Contactless)
			run(t, c, step{selSSSENoFCI, "9000"})
			if tt.steps == nil {
				authenticate(t, c, 0x0A)
			}
			run(t, c, step{"00A4000C02DF01", "9000"})
			if tt.steps == nil {
				run(t, c, step{"00B2012C00", "6982"})
			}
			run(t, c, tt.steps...)
		})
	}
	t.Run("gen2 also needs the PIN", func(t *testing.T) {
		c := newCard(t, "gen2", Contact)
		run(t, c, step{selSSSENoFCI, "9000"}, step{"00A4000C02DF01", "9000"}, step{"00B2012C00", "6982"},
			step{"0020000003123456", "9000"}, step{"00B2032C00", "6105"}, step{"00C0000005", "0E033301029000"})
	})
	t.Run("PIN verified before selecting DF01", func(t *testing.T) {
		c := newCard(t, "gen3", Contact)
		run(t, c, step{selSSSENoFCI, "9000"}, step{"0020000003123456", "9000"},
			step{"00A4040C06D15600000501", "9000"}, step{"00B2012C04", "200231309000"})
	})
	t.Run("profile values", func(t *testing.T) {
		p, _ := Builtin("gen3")
		p.SSSE.Public = &PublicDataProfile{HukouType: "20", HukouRegion: "110101", ResidenceAddress: "北京"}
		c, err := New(p, Options{Mode: Contactless})
		if err != nil {
			t.Fatal(err)
		}
		run(t, c, step{selSSSENoFCI, "9000"}, step{"0020000003123456", "9000"}, step{"00A4000C02DF01", "9000"},
			step{"00B2012C00", "200232309000"}, step{"00B2032C00", "0E031101019000"},
			step{"00B2013400", "2350B1B1BEA9" + strings.Repeat("20", 76) + "9000"},
			step{"00B2023400", "24031101019000"})
	})
}
