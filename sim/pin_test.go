package sim

import "testing"

// TestChangeReferenceData: CHANGE REFERENCE DATA 00 24 00 00 06 of the SSSE
// PIN (sim-profile §4).
func TestChangeReferenceData(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
	}{
		{"change then verify", []step{
			{"0024000006123456654321", "9000"}, {"00200000", "9000"},
			{"0020000003123456", "63C2"}, {"0020000003654321", "9000"},
		}},
		{"wrong old PIN counts a try", []step{
			{"0024000006111111654321", "63C2"}, {"00200000", "63C2"}, {"0020000003123456", "9000"},
		}},
		{"blocked", []step{
			{"0024000006111111654321", "63C2"}, {"0024000006111111654321", "63C1"},
			{"0024000006111111654321", "63C0"}, {"0024000006123456654321", "6983"},
			{"0020000003123456", "6983"},
		}},
		{"new PIN not BCD", []step{{"00240000061234561234AB", "6A80"}, {"00200000", "63C3"}}},
		{"wrong length", []step{{"00240000051234566543", "6700"}}},
		{"with Le", []step{{"002400000612345665432100", "6700"}}},
		{"no data", []step{{"00240000", "6700"}}},
		{"P1", []step{{"0024010006123456654321", "6A86"}}},
		{"unknown reference", []step{{"0024000106123456654321", "6A88"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCard(t, "gen3", Contact)
			run(t, c, step{selSSSENoFCI, "9000"})
			run(t, c, tt.steps...)
		})
	}
	t.Run("outside the application", func(t *testing.T) {
		run(t, newCard(t, "gen3", Contact), step{"0024000006123456654321", "6A88"})
	})
	t.Run("new PIN survives reset", func(t *testing.T) {
		c := newCard(t, "gen2", Contact)
		run(t, c, step{selSSSENoFCI, "9000"}, step{"0024000006123456000000", "9000"})
		c.Reset()
		run(t, c, step{selSSSENoFCI, "9000"}, step{"00200000", "63C3"}, step{"0020000003000000", "9000"})
	})
}

// TestResetRetryCounter: RESET RETRY COUNTER 00 2C 00 00 03 after EXTERNAL
// AUTHENTICATE with kid 04 (sim-profile §4).
func TestResetRetryCounter(t *testing.T) {
	block := []step{
		{"0020000003111111", "63C2"}, {"0020000003111111", "63C1"}, {"0020000003111111", "63C0"},
		{"0020000003123456", "6983"},
	}
	tests := []struct {
		name  string
		auth  bool
		steps []step
	}{
		{"without kid 04", false, []step{{"002C000003999999", "6982"}}},
		{"unblocks", true, append(block,
			step{"002C000003999999", "9000"}, step{"00200000", "63C3"},
			step{"0020000003123456", "63C2"}, step{"0020000003999999", "9000"})},
		{"not BCD", true, []step{{"002C0000039999F9", "6A80"}}},
		{"wrong length", true, []step{{"002C0000029999", "6700"}, {"002C00000499999999", "6700"}}},
		{"with Le", true, []step{{"002C00000399999900", "6700"}}},
		{"P1", true, []step{{"002C010003999999", "6A86"}}},
		{"unknown reference", true, []step{{"002C000203999999", "6A88"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCard(t, "gen3", Contactless)
			run(t, c, step{selSSSENoFCI, "9000"})
			if tt.auth {
				authenticate(t, c, 0x04)
			}
			run(t, c, tt.steps...)
		})
	}
	t.Run("kid 0A is not enough", func(t *testing.T) {
		c := newCard(t, "gen3", Contact)
		run(t, c, step{selSSSENoFCI, "9000"})
		authenticate(t, c, 0x0A)
		run(t, c, step{"002C000003999999", "6982"})
	})
	t.Run("reselect clears kid 04", func(t *testing.T) {
		c := newCard(t, "gen3", Contact)
		run(t, c, step{selSSSENoFCI, "9000"})
		authenticate(t, c, 0x04)
		run(t, c, step{selSSSENoFCI, "9000"}, step{"002C000003999999", "6982"})
	})
}
