package sscard

import (
	"context"
	"errors"
	"testing"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/sim"
)

func TestPINFormat(t *testing.T) {
	tc := openSim(t, "gen2", sim.Contact)
	n := tc.rec.count()
	for _, p := range []string{"", "12345", "1234567", "12345a", "１２３４５６"} {
		if err := tc.sess.VerifyPIN(context.Background(), p, PINOptions{}); !errors.Is(err, ErrPINFormat) {
			t.Errorf("%q: %v", p, err)
		}
		if err := tc.sess.ChangePIN(context.Background(), "123456", p, PINOptions{}); !errors.Is(err, ErrPINFormat) {
			t.Errorf("change %q: %v", p, err)
		}
	}
	if tc.rec.count() != n {
		t.Error("APDUs sent for a malformed PIN")
	}
}

func TestVerifyPIN(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			ctx := context.Background()
			tc := openSim(t, "gen3", m.mode)
			if tries, err := tc.sess.PINStatus(ctx); err != nil || tries != 3 {
				t.Fatalf("PINStatus = %d, %v", tries, err)
			}
			err := tc.sess.VerifyPIN(ctx, "000000", PINOptions{})
			var ae *apdu.AuthError
			if !errors.As(err, &ae) || ae.Retries != 2 {
				t.Fatalf("wrong PIN: %v", err)
			}
			if err := tc.sess.VerifyPIN(ctx, "000000", PINOptions{}); !errors.As(err, &ae) || ae.Retries != 1 {
				t.Fatalf("wrong PIN 2: %v", err)
			}
			// One try left: refused without Force, no try used.
			if err := tc.sess.VerifyPIN(ctx, "123456", PINOptions{}); !errors.Is(err, ErrPINLastTry) {
				t.Fatalf("last try: %v", err)
			}
			if tries, _ := tc.sess.PINStatus(ctx); tries != 1 {
				t.Fatalf("tries = %d", tries)
			}
			if err := tc.sess.VerifyPIN(ctx, "123456", PINOptions{Force: true}); err != nil {
				t.Fatal(err)
			}
			if tries, err := tc.sess.PINStatus(ctx); err != nil || tries != -1 {
				t.Errorf("after verify: %d %v", tries, err)
			}
		})
	}
}

func TestPINBlocked(t *testing.T) {
	ctx := context.Background()
	tc := openSim(t, "gen2", sim.Contact)
	for i := 0; i < 3; i++ {
		_ = tc.sess.VerifyPIN(ctx, "999999", PINOptions{Force: true})
	}
	if _, err := tc.sess.PINStatus(ctx); !errors.Is(err, ErrPINBlocked) || !errors.Is(err, apdu.ErrBlocked) {
		t.Fatalf("status: %v", err)
	}
	if err := tc.sess.VerifyPIN(ctx, "123456", PINOptions{Force: true}); !errors.Is(err, ErrPINBlocked) {
		t.Fatalf("verify: %v", err)
	}
	// Reset with kid 04 through the SIM HSM.
	err := tc.sess.ResetPIN(ctx, simHSM{}, "654321")
	if err != nil {
		t.Fatal(err)
	}
	if err := tc.sess.VerifyPIN(ctx, "654321", PINOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestChangePIN(t *testing.T) {
	ctx := context.Background()
	tc := openSim(t, "gen3", sim.Contactless)
	err := tc.sess.ChangePIN(ctx, "123456", "112233", PINOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := tc.sess.VerifyPIN(ctx, "112233", PINOptions{}); err != nil {
		t.Fatal(err)
	}
	var ae *apdu.AuthError
	if err := tc.sess.ChangePIN(ctx, "000000", "445566", PINOptions{}); !errors.As(err, &ae) {
		t.Fatalf("wrong old PIN: %v", err)
	}
}
