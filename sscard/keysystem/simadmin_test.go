package keysystem_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sscard/ssc/sm/simkeys"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/keysystem"
)

func TestSIMAdminKeys(t *testing.T) {
	ctx := context.Background()
	s := openSession(t, "gen3")
	cardID := mustHex("411600D156000005005A3C9E17B2D40F")
	in := sscard.PersonaliseInput{HSM: keysystem.SIM{}}
	if err := keysystem.SIMAdminKeys(ctx, s, &in, true, true); err != nil {
		t.Fatal(err)
	}
	if in.AdminPIN != simkeys.PKIAdminPIN(cardID) || in.MasterKey != simkeys.PKIMasterKey(cardID) {
		t.Errorf("SIM values: %X %X", in.AdminPIN, in.MasterKey)
	}
	// The caller's own master key is kept.
	own := sscard.PersonaliseInput{HSM: keysystem.SIM{}, MasterKey: [16]byte{1}}
	if err := keysystem.SIMAdminKeys(ctx, s, &own, true, false); err != nil || own.MasterKey != [16]byte{1} || own.AdminPIN != in.AdminPIN {
		t.Errorf("own key: %X %v", own.MasterKey, err)
	}
	// The run to resume changed the admin PIN: the new one is the card's.
	resume := []sscard.JournalEntry{
		{CardID: "411600D156000005005A3C9E17B2D40F", Step: sscard.StepPKICheck},
		{CardID: "411600D156000005005A3C9E17B2D40F", Step: sscard.StepPKIAdmin},
		{CardID: "411600D156000005005A3C9E17B2D40F", Step: sscard.StepPKIAdminPIN},
	}
	r := sscard.PersonaliseInput{HSM: keysystem.SIM{}, Resume: resume}
	if err := keysystem.SIMAdminKeys(ctx, s, &r, true, true); !errors.Is(err, keysystem.ErrAdminPINChanged) {
		t.Errorf("no new admin PIN: %v", err)
	}
	r.NewAdminPIN = &[4]byte{0xA1, 0xB2, 0xC3, 0xD4}
	if err := keysystem.SIMAdminKeys(ctx, s, &r, true, true); err != nil || r.AdminPIN != *r.NewAdminPIN {
		t.Errorf("new admin PIN: %X %v", r.AdminPIN, err)
	}
}
