package sscard

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
)

func TestPKI(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			ctx := context.Background()
			tc := openSim(t, "gen3", m.mode)
			pki := tc.sess.PKI()
			pub, err := pki.PublicKey(ctx)
			if err != nil {
				t.Fatal(err)
			}
			key, err := simkeys.CardSigningKey(gen3Want.CardID)
			if err != nil {
				t.Fatal(err)
			}
			if !pub.Equal(&key.PublicKey) {
				t.Error("EF 0012 key differs from the SIM card key")
			}
			if _, err := pki.Sign(ctx, []byte("hello")); !errors.Is(err, apdu.ErrSecurityStatus) {
				t.Fatalf("sign without PIN: %v", err)
			}
			var ae *apdu.AuthError
			if err := pki.VerifyPIN(ctx, "000000", PINOptions{}); !errors.As(err, &ae) || ae.Retries != 2 {
				t.Fatalf("wrong PIN: %v", err)
			}
			if err := pki.VerifyPIN(ctx, "12345", PINOptions{}); !errors.Is(err, ErrPINFormat) {
				t.Fatalf("format: %v", err)
			}
			if err := pki.VerifyPIN(ctx, "123456", PINOptions{}); err != nil {
				t.Fatal(err)
			}
			sig, err := pki.Sign(ctx, []byte("hello"))
			if err != nil {
				t.Fatal(err)
			}
			if err := sm.Verify(pub, nil, []byte("hello"), sig); err != nil {
				t.Errorf("signature: %v", err)
			}
			roots, err := simkeys.RootPool()
			if err != nil {
				t.Fatal(err)
			}
			chain, err := pki.VerifyChain(ctx, roots, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
			if err != nil || len(chain) < 2 {
				t.Fatalf("chain: %v (%d)", err, len(chain))
			}
			if _, err := pki.VerifyChain(ctx, roots, time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)); err == nil {
				t.Error("expired certificate accepted")
			}
			// Back to SSSE on the same session.
			if _, err := ReadWithHSM(ctx, tc.sess, simHSM{}, ReadOptions{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPKIAbsentOnGen2(t *testing.T) {
	tc := openSim(t, "gen2", sim.Contact)
	if _, err := tc.sess.PKI().PublicKey(context.Background()); !errors.Is(err, apdu.ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
	if _, err := tc.sess.Read(context.Background(), ReadOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestDERLen(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int
		ok   bool
	}{{"3003", 5, true}, {"308105", 8, true}, {"30820102", 262, true}, {"3180", 0, false}, {"3080", 0, false}, {"3082", 0, false}, {"30", 0, false}} {
		got, err := derLen(mustHex(tt.in))
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("%s: %d %v", tt.in, got, err)
		}
	}
}
