package sscard

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sim"
)

// TestReadSequenceGen2 pins the exact APDUs of the main read path: SELECT by
// name with P2=0C, READ RECORD by SFI and record number with the exact
// record length as Le.
func TestReadSequenceGen2(t *testing.T) {
	tc := openSim(t, "gen2", sim.Contactless)
	if _, err := tc.sess.Read(context.Background(), ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"00A4040C0F" + strings.ToUpper(hex.EncodeToString([]byte(SSSEName))),
		"00B2032C06", // version (Open)
		"00B2012C12", "00B2052C06", "00B2062C06", "00B2072C0B",
		"00B2013414", "00B2023420",
	}
	if len(tc.rec.cmds) != len(want) {
		t.Fatalf("%d commands, want %d", len(tc.rec.cmds), len(want))
	}
	for i, c := range tc.rec.cmds {
		if got := strings.ToUpper(hex.EncodeToString(c)); got != want[i] {
			t.Errorf("command %d: %s, want %s", i, got, want[i])
		}
	}
}

func TestHSMCommandBytes(t *testing.T) {
	tc := openSim(t, "gen3", sim.Contactless)
	ctx := context.Background()
	req, err := tc.sess.BeginHSM(ctx, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := req.Step1()
	ans, err := simHSM{}.Authenticate(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := req.Complete(ctx, ans); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{
		"0088000910" + st.F1.String() + st.O1.String() + "00",
		"0082000A10" + strings.ToUpper(hex.EncodeToString(ans.Result2[:])),
	} {
		if !tc.rec.sent(p) {
			t.Errorf("command %s not sent", p)
		}
	}
}

func TestSelect61xx(t *testing.T) {
	var sent []string
	card := &fakeCard{f: func(cmd []byte) []byte {
		sent = append(sent, strings.ToUpper(hex.EncodeToString(cmd)))
		switch cmd[1] {
		case 0xA4:
			return []byte{0x61, 0x02}
		case 0xC0:
			return []byte{0x6F, 0x00, 0x90, 0x00}
		case 0xB2:
			return mustHex("0304312E30309000")
		}
		return []byte{0x6D, 0x00}
	}}
	s, err := Open(context.Background(), card, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Generation() != 2 || len(sent) != 3 {
		t.Errorf("gen %d, sent %v", s.Generation(), sent)
	}
	// A 3.00 card answering a malformed record is an error, never partial data.
	card.f = func(cmd []byte) []byte { return mustHex("0303312E309000") }
	if _, err := Open(context.Background(), card, Options{}); !errors.Is(err, ErrMalformedRecord) {
		t.Errorf("malformed: %v", err)
	}
}

// TestHSMCardReset: a card reset by another application between the steps
// surfaces as reader.ErrCardReset from Complete.
func TestHSMCardReset(t *testing.T) {
	recs := map[string]string{
		"012C": "0110411600D156000005005A3C9E17B2D40F", "032C": "0304332E3030",
		"052C": "050420240101", "062C": "060420340101",
	}
	card := &fakeCard{f: func(cmd []byte) []byte {
		switch cmd[1] {
		case 0xA4:
			return []byte{0x90, 0x00}
		case 0xB2:
			if r, ok := recs[strings.ToUpper(hex.EncodeToString(cmd[2:4]))]; ok {
				return mustHex(r + "9000")
			}
		case 0x84:
			return mustHex("01020304050607089000")
		}
		return []byte{0x6A, 0x82}
	}}
	ctx := context.Background()
	s, err := Open(ctx, card, Options{})
	if err != nil {
		t.Fatal(err)
	}
	req, err := s.BeginHSM(ctx, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ans, _ := simHSM{}.Authenticate(ctx, req.Step1())
	card.err = &reader.Error{Op: "transmit", Err: reader.ErrCardReset}
	if _, err := req.Complete(ctx, ans); !errors.Is(err, reader.ErrCardReset) {
		t.Fatalf("err = %v", err)
	}
}
