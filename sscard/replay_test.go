package sscard

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/sscard/ssc/apdu"
)

// replay is a Transport that expects exactly the recorded commands, in
// order, and answers the recorded responses.
type replay struct {
	t     *testing.T
	steps [][2]string // command hex, response hex
	i     int
}

func (r *replay) Transmit(_ context.Context, cmd []byte) ([]byte, error) {
	r.t.Helper()
	if r.i >= len(r.steps) {
		r.t.Fatalf("replay: unexpected extra command %X", cmd)
	}
	st := r.steps[r.i]
	r.i++
	want := mustHex(strings.ReplaceAll(st[0], " ", ""))
	if !bytes.Equal(cmd, want) {
		r.t.Fatalf("replay step %d: command mismatch\n sent %X\n want %X", r.i, cmd, want)
	}
	return mustHex(strings.ReplaceAll(st[1], " ", "")), nil
}

// minhuaTrace is the 2nd-gen Minhua X3 reader log of ssc-facts §1.2/§9.5
// (T=0, record-identifier addressing with SFI, vendor Le values).
var minhuaTrace = [][2]string{
	{"00A404000F 7378312E73682EC9E7BBE1B1A3D5CF", "6118"},
	{"00C0000018", "6F16840F7378312E73682EC9E7BBE1B1A3D5CFA50388010B 9000"},
	{"00B2012812", "0110330100D1560000050114F199D286DF7E 9000"},
	{"00B2032806", "0304312E3030 9000"},
	{"00B207280E", "0709" + hex.EncodeToString([]byte("A15921622")) + "9000"},
	{"00B2083014", "0812" + hex.EncodeToString([]byte("332603197912225416")) + "9000"},
	{"00B2093020", "091E" + "B4F7C8FCD1C2" + strings.Repeat("20", 24) + "9000"},
	{"00B20A3003", "0A0131 9000"},
}

// TestReplayMinhua replays the real trace through an apdu.Transmitter (which
// answers 6118 with the recorded GET RESPONSE) and decodes the records with
// the strict record decoders. The main read path (record numbers, exact Le,
// P2=0C) is deliberately not bent to this vendor sequence.
func TestReplayMinhua(t *testing.T) {
	rp := &replay{t: t, steps: minhuaTrace}
	tx := &apdu.Transmitter{Transport: rp}
	ctx := context.Background()
	atr, err := apdu.ParseATR(mustHex("3B6D00000081008843866533010114F199"))
	if err != nil {
		t.Fatal(err)
	}
	info := &BasicInfo{ATRHistorical: atr.Historical}
	for i, st := range minhuaTrace {
		if i == 1 { // the GET RESPONSE is sent by the transmitter
			continue
		}
		resp, err := tx.TransmitBytes(ctx, mustHex(strings.ReplaceAll(st[0], " ", "")))
		if err != nil || resp.SW != apdu.SWOK {
			t.Fatalf("step %d: %v %v", i, resp, err)
		}
		if i == 0 {
			if !bytes.Contains(resp.Data, []byte(SSSEName)) {
				t.Fatalf("FCI %X lacks the SSSE name", resp.Data)
			}
			continue
		}
		sfi := mustHex(st[0][6:8])[0] >> 3
		if err := DecodeRecord(info, sfi, resp.Data); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if rp.i != len(minhuaTrace) {
		t.Fatalf("replayed %d of %d steps", rp.i, len(minhuaTrace))
	}
	got := fmt.Sprintf("%s|%s|%s|%s|%s|%s|%d|%s", info.CardID, info.Version, info.CardNumber, info.SSN, info.Name, info.Sex, info.Generation, info.ATRHistorical)
	want := "330100D1560000050114F199D286DF7E|1.00|A15921622|332603197912225416|戴赛崖|1|2|0081008843866533010114F199"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
