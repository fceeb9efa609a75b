package sscard

import (
	"context"
	"errors"
	"testing"

	"github.com/sscard/ssc/sim"
)

// blockPIN spends the SSSE PIN's tries.
func blockPIN(t *testing.T, s *Session) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		_ = s.VerifyPIN(ctx, "999999", PINOptions{Force: true})
	}
	if _, err := s.PINStatus(ctx); !errors.Is(err, ErrPINBlocked) {
		t.Fatalf("PIN not blocked: %v", err)
	}
}

func TestResetPINSession(t *testing.T) {
	ctx := context.Background()
	for _, profile := range []string{"gen2", "gen3"} {
		t.Run(profile, func(t *testing.T) {
			tc := openSim(t, profile, sim.Contact)
			blockPIN(t, tc.sess)
			if _, err := tc.sess.BeginResetPIN(ctx, nil, "12345", WriteOptions{}); !errors.Is(err, ErrPINFormat) {
				t.Fatalf("short PIN: %v", err)
			}
			if err := ResetPINWith(ctx, tc.sess, nil, "654321", IssueOptions{HSM: simHSM{}}); !errors.Is(err, ErrHSM) {
				t.Fatalf("no write key: %v", err)
			}
			ws, err := tc.sess.BeginResetPIN(ctx, nil, "654321", WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.sess.VerifyPIN(ctx, "654321", PINOptions{}); !errors.Is(err, ErrBusy) {
				t.Fatalf("verify during the session: %v", err)
			}
			ans, err := simHSM{}.Authenticate(ctx, ws.Step1())
			if err != nil {
				t.Fatal(err)
			}
			req, err := ws.Authorize(ctx, ans)
			if err != nil {
				t.Fatal(err)
			}
			if ws.Before() != nil {
				t.Error("a PIN reset read the holder data")
			}
			wans, err := simHSM{}.AuthorizeWrite(ctx, *req)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := ws.Write(ctx, wans)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Written) != 0 {
				t.Errorf("written %v", rep.Written)
			}
			if err := tc.sess.VerifyPIN(ctx, "654321", PINOptions{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestResetPINWithWrongCard(t *testing.T) {
	ctx := context.Background()
	tc := openSim(t, "gen3", sim.Contact)
	err := ResetPINWith(ctx, tc.sess, HexBytes{1, 2, 3}, "654321", IssueOptions{HSM: simHSM{}, WriteKey: simHSM{}})
	if !errors.Is(err, ErrWrongCard) {
		t.Fatalf("got %v", err)
	}
	// One call with both key systems on the right card.
	blockPIN(t, tc.sess)
	if err := ResetPINWith(ctx, tc.sess, nil, "654321", IssueOptions{HSM: simHSM{}, WriteKey: simHSM{}}); err != nil {
		t.Fatal(err)
	}
	if err := tc.sess.VerifyPIN(ctx, "654321", PINOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestWriteKeyAuthorizer(t *testing.T) {
	ctx := context.Background()
	tc := openSim(t, "gen3", sim.Contact)
	blockPIN(t, tc.sess)
	auth := WriteKeyAuthorizer{HSM: simHSM{}, ATRHistorical: tc.sess.ATRHistorical()}
	if _, err := auth.ExternalAuthCryptogram(ctx, KidRead, []byte{1, 2, 3}, make([]byte, 8), make([]byte, 8)); err == nil {
		t.Fatal("a key other than the update key was authorized")
	}
	if err := tc.sess.ResetPIN(ctx, auth, "654321"); err != nil {
		t.Fatal(err)
	}
	if err := tc.sess.VerifyPIN(ctx, "654321", PINOptions{}); err != nil {
		t.Fatal(err)
	}
}
