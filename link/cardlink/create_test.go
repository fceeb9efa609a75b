package cardlink_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/sscard/ssc/internal/simtest"
	"github.com/sscard/ssc/link"
	"github.com/sscard/ssc/link/cardlink"
	"github.com/sscard/ssc/pboc"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sm/simkeys"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/keysystem"
)

// simCard connects to an in-process software card of profile (edit may
// change it) and opens its SSSE session.
func simCard(t *testing.T, profile string, edit func(*sim.Profile)) (reader.Card, *sscard.Session) {
	t.Helper()
	card := simtest.Connect(t, simtest.Card(t, profile, edit))
	sess, err := sscard.Open(context.Background(), card, sscard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return card, sess
}

func TestCreate(t *testing.T) {
	ctx := context.Background()
	origin := "https://ecard.example.gov.cn"
	nonce := bytes.Repeat([]byte{7}, 32)
	roots, err := simkeys.RootPool()
	if err != nil {
		t.Fatal(err)
	}
	opts := cardlink.Options{HSM: keysystem.SIM{}, PBOC: pboc.Options{CAKeys: simkeys.CAKeyTable()}, ODA: true}
	for _, level := range []int{link.Level1, link.Level2} {
		card, sess := simCard(t, "gen3", nil)
		b, err := cardlink.Create(ctx, card, sess, cardlink.Request{Level: level, Origin: origin, Nonce: nonce, PIN: "123456"}, opts)
		if err != nil {
			t.Fatalf("level %d: %v", level, err)
		}
		if _, err := link.Verify(b, link.Options{Roots: roots, Origin: origin, Nonce: nonce, MinLevel: level}); err != nil {
			t.Fatalf("level %d: %v", level, err)
		}
		if b.Card.CardNumber == "" || (b.Bank != nil) != (level == 2) || (b.Bank != nil && b.Bank.Expiry != "311231") {
			t.Errorf("level %d: %+v %+v", level, b.Card, b.Bank)
		}
	}

	tests := []struct {
		name    string
		profile string
		edit    func(*sim.Profile)
		req     cardlink.Request
		opts    cardlink.Options
		want    error
	}{
		{"level 0", "gen3", nil, cardlink.Request{Origin: origin, Nonce: nonce, PIN: "123456"}, opts, cardlink.ErrRequest},
		{"bad origin", "gen3", nil, cardlink.Request{Level: 1, Origin: "https://x.example/", Nonce: nonce, PIN: "123456"}, opts, cardlink.ErrRequest},
		{"long nonce", "gen3", nil, cardlink.Request{Level: 1, Origin: origin, Nonce: make([]byte, 257), PIN: "123456"}, opts, cardlink.ErrRequest},
		{"no PIN", "gen3", nil, cardlink.Request{Level: 1, Origin: origin, Nonce: nonce}, opts, cardlink.ErrRequest},
		{"no HSM", "gen3", nil, cardlink.Request{Level: 1, Origin: origin, Nonce: nonce, PIN: "123456"}, cardlink.Options{}, sscard.ErrNeedsHSM},
		{"no bank", "gen3", func(p *sim.Profile) { p.PBOC = nil }, cardlink.Request{Level: 2, Origin: origin, Nonce: nonce, PIN: "123456"}, opts, cardlink.ErrNoBankApp},
		{"bank blocked", "gen3", func(p *sim.Profile) { p.PBOC.BlockedAIDs = []string{"A000000333010101", "A000000333010106"} },
			cardlink.Request{Level: 2, Origin: origin, Nonce: nonce, PIN: "123456"}, opts, link.ErrBankBlocked},
		{"gen2", "gen2", nil, cardlink.Request{Level: 1, Origin: origin, Nonce: nonce, PIN: "123456"}, opts, cardlink.ErrNoPKI},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			card, sess := simCard(t, tc.profile, tc.edit)
			_, err := cardlink.Create(ctx, card, sess, tc.req, tc.opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("%v, want %v", err, tc.want)
			}
		})
	}
}
