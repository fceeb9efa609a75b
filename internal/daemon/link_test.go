package daemon

import (
	"bytes"
	"errors"
	"testing"

	"github.com/sscard/ssc/link"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
	"github.com/sscard/ssc/sscd"
)

const testOrigin = "https://ecard.example.gov.cn"

func testNonce(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func simRoots(t testing.TB) *sm.CertPool {
	t.Helper()
	p, err := simkeys.RootPool()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func blockAllBank(p *sim.Profile) {
	p.PBOC.BlockedAIDs = []string{"A000000333010101", "A000000333010106"}
}

func noBank(p *sim.Profile) { p.PBOC = nil }

func TestLink(t *testing.T) {
	ctx := ctxT(t)
	_, c, _ := testDaemon(t, Config{HSM: "sim"}, simBackend(t, newCard(t, "gen3", nil), newCard(t, "gen3", blockAllBank)))
	r0 := waitReader(t, c, "r0", func(r sscd.Reader, _ bool) bool { return r.Kind == sscd.KindSSC })
	for _, level := range []int{link.Level1, link.Level2} {
		nonce := testNonce(byte(level))
		b, err := c.Link(ctx, "r0", sscd.LinkRequest{Level: level, Origin: testOrigin, Nonce: nonce, PIN: "123456"}, sscd.CardOptions{Insertion: r0.Insertion})
		if err != nil {
			t.Fatalf("level %d: %v", level, err)
		}
		v, err := link.Verify(b, link.Options{Roots: simRoots(t), Origin: testOrigin, Nonce: nonce, MinLevel: level})
		if err != nil {
			t.Fatalf("level %d: verify: %v", level, err)
		}
		if v.Bundle.Card.Name != "张三" || (level == 2) != (b.Bank != nil) {
			t.Errorf("level %d: bundle %+v", level, b)
		}
		if level == 2 && b.Bank.PAN != "6217991000001234561" {
			t.Errorf("PAN %q", b.Bank.PAN)
		}
	}

	// Level 2 refused on a blocked bank application; level 1 still works.
	_, err := c.Link(ctx, "r1", sscd.LinkRequest{Level: 2, Origin: testOrigin, Nonce: testNonce(3), PIN: "123456"}, sscd.CardOptions{})
	wantCode(t, err, sscd.CodeBankAppBlocked)
	if _, err := c.Link(ctx, "r1", sscd.LinkRequest{Level: 1, Origin: testOrigin, Nonce: testNonce(4), PIN: "123456"}, sscd.CardOptions{}); err != nil {
		t.Fatal(err)
	}

	// A wrong PKI PIN: wrong_pin with the tries left.
	_, err = c.Link(ctx, "r0", sscd.LinkRequest{Level: 1, Origin: testOrigin, Nonce: testNonce(5), PIN: "000000"}, sscd.CardOptions{})
	wantCode(t, err, sscd.CodeWrongPIN)
	var e *sscd.Error
	if errors.As(err, &e); e.SW != "63C2" {
		t.Errorf("SW %q, want 63C2", e.SW)
	}
}

func TestLinkRefusals(t *testing.T) {
	ctx := ctxT(t)
	_, c, _ := testDaemon(t, Config{HSM: "sim"}, simBackend(t, newCard(t, "gen3", noBank), newCard(t, "gen2", nil)))
	waitReader(t, c, "r1", func(r sscd.Reader, _ bool) bool { return r.Kind == sscd.KindSSC })
	good := sscd.LinkRequest{Level: 1, Origin: testOrigin, Nonce: testNonce(1), PIN: "123456"}
	tests := []struct {
		name   string
		reader string
		edit   func(*sscd.LinkRequest)
		code   sscd.Code
	}{
		{"no bank application", "r0", func(r *sscd.LinkRequest) { r.Level = 2 }, sscd.CodeBankAppMissing},
		{"gen2 has no PKI", "r1", nil, sscd.CodeNoPKI},
		{"level 3", "r0", func(r *sscd.LinkRequest) { r.Level = 3 }, sscd.CodeBadRequest},
		{"short nonce", "r0", func(r *sscd.LinkRequest) { r.Nonce = r.Nonce[:31] }, sscd.CodeBadRequest},
		{"origin with path", "r0", func(r *sscd.LinkRequest) { r.Origin += "/x" }, sscd.CodeBadRequest},
		{"origin not http", "r0", func(r *sscd.LinkRequest) { r.Origin = "file://x" }, sscd.CodeBadRequest},
		{"no PIN", "r0", func(r *sscd.LinkRequest) { r.PIN = "" }, sscd.CodeBadRequest},
		{"bad PIN format", "r0", func(r *sscd.LinkRequest) { r.PIN = "12ab" }, sscd.CodePINFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := good
			req.Nonce = bytes.Clone(good.Nonce)
			if tc.edit != nil {
				tc.edit(&req)
			}
			_, err := c.Link(ctx, tc.reader, req, sscd.CardOptions{})
			wantCode(t, err, tc.code)
		})
	}
}
