//go:build cgo && !nopcsc

package sscard_test

import (
	"errors"
	"testing"

	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/keysystem"
)

const pcscWriteInfo = "411600D156000005005A3C9E17B2D40F|411600000000000000000001|20261201|20361201|B87654321|110101198512120035|王五||1|01|19851212|"

// TestPCSCWriteSession runs the write session through pcscd + vpcd on a
// blank card (contact T=0 and contactless T=1) and reads the card back
// with a new connection.
func TestPCSCWriteSession(t *testing.T) {
	w, err := sscard.ParseWriteInfo(pcscWriteInfo)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range pcscModes {
		t.Run(m.name, func(t *testing.T) {
			ctx := tctx(t)
			pc := openPCSC(t, "gen3-blank", m.mode, sscard.Options{})
			ws, err := pc.sess.BeginWrite(ctx, w, sscard.WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ans, err := keysystem.SIM{}.Authenticate(ctx, ws.Step1())
			if err != nil {
				t.Fatal(err)
			}
			req, err := ws.Authorize(ctx, ans)
			if err != nil {
				t.Fatal(err)
			}
			wans, err := keysystem.SIM{}.AuthorizeWrite(ctx, *req)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := ws.Write(ctx, wans)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Written) != 13 || rep.Rewritten {
				t.Errorf("report %+v", rep)
			}
			info, err := sscard.ReadWithHSM(ctx, pc.sess, keysystem.SIM{}, sscard.ReadOptions{Fields: sscard.FieldsAll})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Matches(info); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestPCSCWriteSessionCardRemoved pulls the card out between steps 2 and 3
// (the removal awaited, as in TestPCSCHSMCardRemoved): nothing written, the
// error wraps reader.ErrCardRemoved; put back, the card is issued by a
// fresh session.
func TestPCSCWriteSessionCardRemoved(t *testing.T) {
	w, err := sscard.ParseWriteInfo(pcscWriteInfo)
	if err != nil {
		t.Fatal(err)
	}
	ctx := tctx(t)
	pc := openPCSC(t, "gen3-blank", sim.Contact, sscard.Options{})
	ws, err := pc.sess.BeginWrite(ctx, w, sscard.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ans, _ := keysystem.SIM{}.Authenticate(ctx, ws.Step1())
	req, err := ws.Authorize(ctx, ans)
	if err != nil {
		t.Fatal(err)
	}
	wans, _ := keysystem.SIM{}.AuthorizeWrite(ctx, *req)
	pc.remove()
	_, err = ws.Write(ctx, wans)
	var ie *sscard.IssueError
	if !errors.Is(err, reader.ErrCardRemoved) || !errors.As(err, &ie) || ie.Step != sscard.StepAuth || len(ie.Written) != 0 {
		t.Fatalf("Write after removal: %v", err)
	}
	pc.card.Close()
	again := insertPCSC(t, pc.chip, sim.Contact)
	sess, err := sscard.Open(ctx, again.card, sscard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sscard.Issue(ctx, sess, w, sscard.IssueOptions{HSM: keysystem.SIM{}, WriteKey: keysystem.SIM{}}); err != nil {
		t.Fatal(err)
	}
}
