package sim_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/sscard/ssc/internal/simtest"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/keysystem"
)

// The blank card through the SDK (package sscard over the in-process
// reader), before and after a counter issuance done with raw UPDATE RECORD
// commands.

func chipOf(t *testing.T, profile string) *sim.Card {
	t.Helper()
	p, err := sim.Builtin(profile)
	if err != nil {
		t.Fatal(err)
	}
	chip, err := sim.New(p, sim.Options{Mode: sim.Contactless}) // no 61xx: one Transmit per command
	if err != nil {
		t.Fatal(err)
	}
	return chip
}

func openSession(t *testing.T, chip *sim.Card) *sscard.Session {
	t.Helper()
	sess, err := sscard.Open(context.Background(), simtest.Connect(t, chip), sscard.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return sess
}

// xmit sends one hex APDU to the chip and checks the status word 9000.
func xmit(t *testing.T, chip *sim.Card, cmd string) []byte {
	t.Helper()
	b, err := hex.DecodeString(cmd)
	if err != nil {
		t.Fatal(err)
	}
	resp := chip.Transmit(b)
	if n := len(resp); n < 2 || resp[n-2] != 0x90 || resp[n-1] != 0x00 {
		t.Fatalf("%s: %X", cmd, resp)
	}
	return resp[:len(resp)-2]
}

// extAuth runs GET CHALLENGE and EXTERNAL AUTHENTICATE with kid (SIM keys).
func extAuth(t *testing.T, chip *sim.Card, kid byte) {
	t.Helper()
	chal := xmit(t, chip, "0084000008")
	cardID, _ := hex.DecodeString(chip.Profile().SSSE.CardID)
	key, err := simkeys.CardKey(kid, cardID)
	if err != nil {
		t.Fatal(err)
	}
	orig := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	c, err := sm.SIMCryptogram(key[:], chal, orig)
	if err != nil {
		t.Fatal(err)
	}
	xmit(t, chip, fmt.Sprintf("008200%02X10%X%X", kid, c, orig))
}

const selectSSSE = "00A4040C0F7378312E73682EC9E7BBE1B1A3D5CF"

func TestBlankCardThroughSDK(t *testing.T) {
	ctx := context.Background()
	blank := chipOf(t, "gen3-blank")
	sess := openSession(t, blank)

	// The fields sscard decodes on a blank card: AN and GBK fields trim to
	// "". (Dates 00000000 and sex 00 are malformed for sscard today; see
	// the log.)
	fields := sscard.FieldsAll &^ (sscard.FieldIssueDate | sscard.FieldExpiryDate | sscard.FieldBirthDate | sscard.FieldSex)
	info, err := sscard.ReadWithHSM(ctx, sess, keysystem.SIM{}, sscard.ReadOptions{Fields: fields})
	if err != nil {
		t.Fatal(err)
	}
	if info.CardID.String() != "411600D156000005005A3C9E17B2D40F" || info.Category != "3" || info.Version != "3.00" ||
		info.Generation != 3 || info.CardNumber != "" || info.SSN != "" || info.Name != "" || info.NameExt != "" {
		t.Errorf("blank card: %+v", info)
	}
	for _, o := range []sscard.ReadOptions{{AllowPartial: true}, {Fields: sscard.FieldsAll}} {
		info, err := sscard.ReadWithHSM(ctx, sess, keysystem.SIM{}, o)
		j, _ := json.Marshal(info)
		t.Logf("blank: ReadWithHSM(%+v) = %s, %v", o, j, err)
	}

	// Issue it by hand: the gen3 records, written with UPDATE RECORD after
	// kid 04; then the SDK reads the gen3 holder.
	gen3 := chipOf(t, "gen3")
	xmit(t, gen3, selectSSSE)
	extAuth(t, gen3, 0x0A)
	xmit(t, blank, selectSSSE)
	extAuth(t, blank, 0x04)
	for _, p2 := range []byte{0x2C, 0x34} {
		for rec := 1; rec <= 7; rec++ {
			data := xmit(t, gen3, fmt.Sprintf("00B2%02X%02X00", rec, p2))
			xmit(t, blank, fmt.Sprintf("00DC%02X%02X%02X%X", rec, p2, len(data), data))
		}
	}
	blank.Reset()
	got, err := sscard.ReadWithHSM(ctx, openSession(t, blank), keysystem.SIM{}, sscard.ReadOptions{Fields: sscard.FieldsAll})
	if err != nil {
		t.Fatal(err)
	}
	want, err := sscard.ReadWithHSM(ctx, openSession(t, gen3), keysystem.SIM{}, sscard.ReadOptions{Fields: sscard.FieldsAll})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("issued blank card reads\n%+v\nwant (gen3)\n%+v", got, want)
	}
	if !bytes.Equal(blank.ATR(), gen3.ATR()) {
		t.Errorf("ATR %X, want %X", blank.ATR(), gen3.ATR())
	}
}
