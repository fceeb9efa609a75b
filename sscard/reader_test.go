package sscard

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/sim"
)

func TestReadGen2(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			tc := openSim(t, "gen2", m.mode)
			if g := tc.sess.Generation(); g != 2 {
				t.Fatalf("Generation = %d", g)
			}
			info, err := tc.sess.Read(context.Background(), ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want := BasicInfo{CardID: mustHex("330100D1560000050114F199D286DF7E"), Region: "330100", Version: "1.00", Generation: 2,
				IssueDate: "20140115", ExpiryDate: "20240115", CardNumber: "A15921622", SSN: "332603197912225416", Name: "戴赛崖"}
			checkInfo(t, info, &want)
			max := 8
			if m.mode == sim.Contact {
				max = 9
			}
			if n := tc.rec.count(); n > max {
				t.Errorf("%d APDUs (Open+Read), want <= %d", n, max)
			}
			t.Logf("gen2 %s iReadCardBas set: %d APDUs", m.name, tc.rec.count())

			all, err := tc.sess.Read(context.Background(), ReadOptions{Fields: FieldsAll})
			if err != nil {
				t.Fatal(err)
			}
			if all.Sex != "1" || all.SexLabel() != "male" || all.Ethnicity != "01" || all.Birthplace != "332603" || all.BirthDate != "19791222" || all.Category != "3" || len(all.Institution) != 12 {
				t.Errorf("all fields: %+v", all)
			}
		})
	}
}

func TestReadGen3NeedsHSM(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			tc := openSim(t, "gen3", m.mode)
			if g := tc.sess.Generation(); g != 3 {
				t.Fatalf("Generation = %d", g)
			}
			n0 := tc.rec.count()
			_, err := tc.sess.Read(context.Background(), ReadOptions{})
			if !errors.Is(err, ErrNeedsHSM) || !errors.Is(err, apdu.ErrSecurityStatus) {
				t.Fatalf("err = %v, want ErrNeedsHSM", err)
			}
			if tc.rec.count() != n0 {
				t.Errorf("APDUs sent before failing")
			}
			info, err := tc.sess.Read(context.Background(), ReadOptions{AllowPartial: true})
			if err != nil {
				t.Fatal(err)
			}
			if info.SSN != "" || info.Name != "" || info.CardNumber != "" || info.Region != "411600" || info.ExpiryDate != "20340101" {
				t.Errorf("partial: %+v", info)
			}
			if !slices.Equal(info.Unavailable, []string{"card_number", "ssn", "name"}) {
				t.Errorf("Unavailable = %v", info.Unavailable)
			}
			// Free fields only: no error.
			if _, err := tc.sess.Read(context.Background(), ReadOptions{Fields: FieldsFree}); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestReadCard6982 checks that a 6982 from the card itself becomes ErrNeedsHSM.
func TestReadCard6982(t *testing.T) {
	tc := openSim(t, "gen3", sim.Contactless)
	tc.sess.version = "2.00" // pretend: the card enforces access anyway
	_, err := tc.sess.Read(context.Background(), ReadOptions{})
	if !errors.Is(err, ErrNeedsHSM) || !errors.Is(err, apdu.ErrSecurityStatus) {
		t.Fatalf("err = %v", err)
	}
}

func TestOpenNotSSC(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		sw   []byte
		want error
	}{{"6A82", []byte{0x6A, 0x82}, ErrNotSSC}, {"6283", []byte{0x62, 0x83}, ErrApplicationBlocked}} {
		t.Run(tt.name, func(t *testing.T) {
			var sent [][]byte
			card := &fakeCard{f: func(cmd []byte) []byte {
				sent = append(sent, cmd)
				if cmd[2] == 0x00 { // SELECT MF
					return []byte{0x90, 0x00}
				}
				return tt.sw
			}}
			_, err := Open(ctx, card, Options{})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.name == "6A82" && len(sent) != 3 { // SSSE, MF, SSSE
				t.Errorf("sent %d commands, want 3 (retry after MF)", len(sent))
			}
		})
	}
}

func checkInfo(t *testing.T, got, want *BasicInfo) {
	t.Helper()
	g := *got
	g.ATRHistorical = nil
	if g.CardID.String() != want.CardID.String() || g.Region != want.Region || g.Version != want.Version || g.Generation != want.Generation ||
		g.IssueDate != want.IssueDate || g.ExpiryDate != want.ExpiryDate || g.CardNumber != want.CardNumber || g.SSN != want.SSN || g.Name != want.Name {
		t.Errorf("got  %+v\nwant %+v", g, *want)
	}
	if len(got.Unavailable) != 0 {
		t.Errorf("Unavailable = %v", got.Unavailable)
	}
}
