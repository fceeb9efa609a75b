//go:build cgo && !nopcsc

package pboc_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/internal/pcsctest"
	"github.com/sscard/ssc/pboc"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
)

// The terminal flow through the real PC/SC stack: a private pcscd with the
// vpcd driver (internal/pcsctest) and the software card connected to vpcd
// slot 0, contact (T=0) and contactless (T=1). Every test inserts its own
// card and removes it at the end, waiting until pcscd has seen the
// removal, so the next test starts with an empty slot. The tests do not
// run in parallel.

const testSlot = 0

// insertPCSC inserts chip into vpcd slot 0, waits until pcscd reports it
// and connects through PC/SC. The card is removed (and the removal
// awaited) at cleanup, after the connection is closed.
func insertPCSC(t *testing.T, chip *sim.Card, mode sim.Mode) reader.Card {
	t.Helper()
	name, _ := pcsctest.Shared(t).Insert(t, testSlot, chip)
	return pcsctest.Connect(t, name, pcsctest.Protocol(mode))
}

func TestPCSC(t *testing.T) {
	for _, m := range simModes {
		t.Run(m.name, func(t *testing.T) {
			card := insertPCSC(t, newSimChip(t, m.mode, nil), m.mode)
			// The interface comes from the ATR (AutoInterface).
			if got := pboc.NewSession(card, pboc.Options{}).Interface(); got.String() != m.name {
				t.Errorf("interface %v from ATR %X", got, card.ATR())
			}
			checkSimCard(t, card, m.method, m.oda)
		})
	}
}

func TestPCSCNoDirectory(t *testing.T) {
	off := false
	for _, m := range simModes {
		t.Run(m.name, func(t *testing.T) {
			card := insertPCSC(t, newSimChip(t, m.mode, func(p *sim.PBOCProfile) { p.PSE, p.PPSE = &off, &off }), m.mode)
			s := pboc.NewSession(card, simOptions(new(int)))
			ctx := context.Background()
			list, err := s.Applications(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if list.Method != "AID list" || list.Fallback == "" || !slices.Equal(aids(list.Candidates), []string{debitHex, ecashHex}) {
				t.Errorf("applications %+v", list)
			}
			r, err := s.Read(ctx, pboc.ReadOptions{ODA: true})
			if err != nil || !r.ODA.OK || r.Account.PAN != "6217991000001234561" {
				t.Fatalf("Read: %v", err)
			}
		})
	}
}

func TestPCSCBlocked(t *testing.T) {
	ctx := context.Background()
	for _, m := range simModes {
		t.Run(m.name, func(t *testing.T) {
			card := insertPCSC(t, newSimChip(t, m.mode, func(p *sim.PBOCProfile) { p.BlockedAIDs = []string{debitHex} }), m.mode)
			s := pboc.NewSession(card, simOptions(new(int)))
			list, err := s.Applications(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(aids(list.Candidates), []string{ecashHex}) || !slices.Equal(aids(list.Blocked), []string{debitHex}) {
				t.Errorf("applications %+v", list)
			}
			r, err := s.Read(ctx, pboc.ReadOptions{ODA: true})
			if err != nil || r.Application.AID.String() != ecashHex || !r.ODA.OK || r.ODA.Method != m.oda {
				t.Fatalf("Read: %v", err)
			}
			if _, err := s.Read(ctx, pboc.ReadOptions{AID: pboc.AIDDebit()}); !errors.Is(err, pboc.ErrApplicationBlocked) {
				t.Errorf("Read of the blocked application: %v", err)
			}
		})
	}
}

// TestPCSCBadCertificate corrupts the issuer certificate (tag 90, 142
// bytes) on its way from the card: ODA fails at the issuer certificate,
// the reading itself is complete.
func TestPCSCBadCertificate(t *testing.T) {
	card := insertPCSC(t, newSimChip(t, sim.Contact, nil), sim.Contact)
	opts := pboc.Options{CAKeys: simkeys.CAKeyTable(), ODATime: odaTime}
	flipped := 0
	opts.WrapTransport = func(in apdu.Transport) apdu.Transport {
		return apdu.TransportFunc(func(ctx context.Context, cmd []byte) ([]byte, error) {
			rsp, err := in.Transmit(ctx, cmd)
			if i := bytes.Index(rsp, []byte{0x90, 0x81, 0x8E}); err == nil && i >= 0 && len(rsp) > i+3+100 {
				rsp = slices.Clone(rsp)
				rsp[i+3+100] ^= 0x01 // inside the CA signature
				flipped++
			}
			return rsp, err
		})
	}
	r, err := pboc.NewSession(card, opts).Read(context.Background(), pboc.ReadOptions{ODA: true})
	if flipped != 1 {
		t.Fatalf("certificate record seen %d times", flipped)
	}
	if !errors.Is(err, sm.ErrIssuerCert) || !errors.Is(err, sm.ErrSM2Verify) {
		t.Fatalf("err = %v, want the issuer certificate rejected", err)
	}
	if r == nil || r.ODA == nil || r.ODA.OK || r.ODA.Method != "DDA" || r.Account == nil {
		t.Fatalf("reading %+v", r)
	}
}

// The terminal's AID list through PC/SC: the software card's directory
// (PSE contact, PPSE contactless) on a Visa/Mastercard-only terminal gives
// an UnsupportedError naming the card's UnionPay applications with their
// labels, after the terminal tried its own list; on the UnionPay-only list
// file the card reads as usual.
func TestPCSCTerminalAIDList(t *testing.T) {
	ctx := context.Background()
	international := []pboc.TerminalAID{{AID: h("A0000000031010"), Partial: true}, {AID: h("A0000000041010"), Partial: true}}
	unionPayOnly, err := pboc.LoadAIDList("testdata/unionpay-only.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range simModes {
		t.Run(m.name, func(t *testing.T) {
			card := insertPCSC(t, newSimChip(t, m.mode, nil), m.mode)
			opts := simOptions(new(int))
			opts.AIDs = international
			list, err := pboc.NewSession(card, opts).Applications(ctx)
			var ue *pboc.UnsupportedError
			if !errors.Is(err, pboc.ErrNoApplication) || !errors.As(err, &ue) {
				t.Fatalf("Visa/Mastercard terminal: %v", err)
			}
			if list.Method != "AID list" || !slices.Equal(aidsOfEntries(ue.Apps), []string{debitHex, ecashHex}) ||
				!bytes.Contains([]byte(err.Error()), []byte(debitHex)) || !bytes.Contains([]byte(err.Error()), []byte(ecashHex)) {
				t.Fatalf("list %+v, error %v", list, err)
			}
			opts.AIDs = unionPayOnly
			s := pboc.NewSession(card, opts)
			list, err = s.Applications(ctx)
			if err != nil || list.Method != m.method || !slices.Equal(aids(list.Candidates), []string{debitHex, ecashHex}) || len(list.Unsupported) != 0 {
				t.Fatalf("UnionPay terminal: %+v %v", list, err)
			}
			if r, err := s.Read(ctx, pboc.ReadOptions{}); err != nil || r.Account.PAN != "6217991000001234561" {
				t.Fatalf("Read: %v", err)
			}
		})
	}
}

func aidsOfEntries(es []pboc.DirectoryEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.AID.String())
	}
	return out
}
