package keysystem_test

import (
	"context"
	"testing"

	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/keysystem"
)

// TestSIM: the SIM key system reads a 3rd-gen card's protected fields,
// authorizes an issuance and resets the PIN.
func TestSIM(t *testing.T) {
	ctx := context.Background()
	s := openSession(t, "gen3")
	info, err := sscard.ReadWithHSM(ctx, s, keysystem.SIM{}, sscard.ReadOptions{Fields: sscard.FieldsAll})
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "张三" || info.SSN != "411602199001011232" || info.CardNumber != "A12345678" {
		t.Errorf("info %+v", info)
	}
	if err := s.ResetPIN(ctx, keysystem.SIM{}, "654321"); err != nil {
		t.Fatal(err)
	}
	b, _ := issuedBlankSession(t)
	got, err := sscard.ReadWithHSM(ctx, b, keysystem.SIM{}, sscard.ReadOptions{Fields: sscard.FieldsAll})
	if err != nil || got.Name != "王五" {
		t.Fatalf("issued card: %+v, %v", got, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := (keysystem.SIM{}).Authenticate(cctx, sscard.Step1{}); err == nil {
		t.Error("cancelled context: no error")
	}
}
