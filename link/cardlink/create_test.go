package cardlink_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
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

	visaOnly := opts
	visaOnly.PBOC.AIDs = []pboc.TerminalAID{{AID: []byte{0xA0, 0, 0, 0, 0x03, 0x10, 0x10}, Partial: true, Name: "Visa"}}
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
		{"bank outside the AID list", "gen3", nil, cardlink.Request{Level: 2, Origin: origin, Nonce: nonce, PIN: "123456"}, visaOnly, cardlink.ErrNoBankApp},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			card, sess := simCard(t, tc.profile, tc.edit)
			_, err := cardlink.Create(ctx, card, sess, tc.req, tc.opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("%v, want %v", err, tc.want)
			}
			// A card whose applications the terminal does not accept is
			// told apart from one without any, and named.
			var ue *pboc.UnsupportedError
			if errors.As(err, &ue) != (tc.name == "bank outside the AID list") {
				t.Errorf("UnsupportedError: %v", err)
			}
			if ue != nil && !strings.Contains(err.Error(), "A000000333010101") {
				t.Errorf("message does not name the card's application: %v", err)
			}
		})
	}
}

// insCard records the INS bytes a card receives.
type insCard struct {
	reader.Card
	ins []byte
}

func (c *insCard) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	if len(cmd) > 1 {
		c.ins = append(c.ins, cmd[1])
	}
	return c.Card.Transmit(ctx, cmd)
}

// TestCreatePKIPINFirst: the PKI PIN is checked before the HSM and bank
// reads (issue 18): a malformed PIN sends nothing, a blocked PIN or its
// last try without Force stops before any record is read or the HSM is
// asked.
func TestCreatePKIPINFirst(t *testing.T) {
	ctx := context.Background()
	origin := "https://ecard.example.gov.cn"
	nonce := bytes.Repeat([]byte{7}, 32)
	opts := cardlink.Options{HSM: keysystem.SIM{}}
	open := func(t *testing.T) (*insCard, *sscard.Session) {
		ic := &insCard{Card: simtest.Connect(t, simtest.Card(t, "gen3", nil))}
		sess, err := sscard.Open(ctx, ic, sscard.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ic.ins = nil
		return ic, sess
	}
	readOrPIN := func(ins []byte) bool {
		return bytes.ContainsAny(ins, "\xB2\xB0\x88\x82") || bytes.Count(ins, []byte{0x20}) > 1
	}

	ic, sess := open(t)
	_, err := cardlink.Create(ctx, ic, sess, cardlink.Request{Level: 2, Origin: origin, Nonce: nonce, PIN: "12345a"}, opts)
	if !errors.Is(err, sscard.ErrPINFormat) || len(ic.ins) != 0 {
		t.Fatalf("malformed PIN: %v, %d APDUs", err, len(ic.ins))
	}

	ic, sess = open(t)
	for range 2 {
		_ = sess.PKI().VerifyPIN(ctx, "000000", sscard.PINOptions{})
	}
	ic.ins = nil
	_, err = cardlink.Create(ctx, ic, sess, cardlink.Request{Level: 2, Origin: origin, Nonce: nonce, PIN: "000000"}, opts)
	if !errors.Is(err, sscard.ErrPINLastTry) || readOrPIN(ic.ins) {
		t.Fatalf("last try: %v, INS % X", err, ic.ins)
	}
	if n, err := sess.PKI().PINStatus(ctx); err != nil || n != 1 {
		t.Fatalf("after: %d, %v", n, err)
	}
	_ = sess.PKI().VerifyPIN(ctx, "000000", sscard.PINOptions{Force: true})
	ic.ins = nil
	_, err = cardlink.Create(ctx, ic, sess, cardlink.Request{Level: 2, Origin: origin, Nonce: nonce, PIN: "123456", Force: true}, opts)
	if !errors.Is(err, sscard.ErrPINBlocked) || readOrPIN(ic.ins) {
		t.Fatalf("blocked: %v, INS % X", err, ic.ins)
	}
}
