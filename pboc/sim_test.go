package pboc_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/pboc"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sm/simkeys"
)

// Tests against the software card in-process (docs/pboc.md values).

var simModes = []struct {
	name   string
	mode   sim.Mode
	method string // selection method
	oda    string
}{{"contact", sim.Contact, "PSE", "DDA"}, {"contactless", sim.Contactless, "PPSE", "fDDA"}}

// newPBOCChip makes the gen3 software card with its PBOC application,
// edited by edit.
func newPBOCChip(mode sim.Mode, edit func(*sim.PBOCProfile)) (*sim.Card, error) {
	p, err := sim.Builtin("gen3")
	if err != nil {
		return nil, err
	}
	if p.PBOC == nil {
		p.PBOC = &sim.PBOCProfile{Enabled: true}
	}
	if edit != nil {
		edit(p.PBOC)
	}
	return sim.New(p, sim.Options{Mode: mode})
}

func newSimChip(t testing.TB, mode sim.Mode, edit func(*sim.PBOCProfile)) *sim.Card {
	t.Helper()
	chip, err := newPBOCChip(mode, edit)
	if err != nil {
		t.Fatal(err)
	}
	return chip
}

// counting wraps a transport and counts the commands.
type counting struct {
	inner apdu.Transport
	n     *int
}

func (c counting) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	*c.n++
	return c.inner.Transmit(ctx, cmd)
}

// simOptions are the session options for the software card: its CA key,
// a date its certificates are valid on, and APDU counting into n.
func simOptions(n *int) pboc.Options {
	return pboc.Options{
		CAKeys: simkeys.CAKeyTable(), ODATime: odaTime,
		WrapTransport: func(in apdu.Transport) apdu.Transport { return counting{in, n} },
	}
}

// connectSim inserts chip into an in-process reader and connects.
func connectSim(t testing.TB, chip *sim.Card) reader.Card {
	t.Helper()
	b := reader.NewChipBackend("r")
	t.Cleanup(func() { b.Close() })
	if err := b.Insert("r", chip); err != nil {
		t.Fatal(err)
	}
	card, err := b.Connect(context.Background(), "r", reader.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { card.Close() })
	return card
}

// wantLog is the personalised transaction log (docs/pboc.md), newest first.
var wantLog = []pboc.LogRecord{
	{Date: "2026-11-20", Time: "09:30:15", Amount: 1250, Country: "156", Currency: "156", Merchant: "社区卫生服务中心", ATC: 3},
	{Date: "2026-11-15", Time: "18:10:02", Amount: 3800, Country: "156", Currency: "156", Merchant: "人民医院药房", ATC: 2},
	{Date: "2026-11-01", Time: "08:00:00", Amount: 600, Country: "156", Currency: "156", Merchant: "公交", ATC: 1},
}

func checkLog(t *testing.T, got, want []pboc.LogRecord) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d log records, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Date != w.Date || g.Time != w.Time || g.Amount != w.Amount || g.Country != w.Country ||
			g.Currency != w.Currency || g.Merchant != w.Merchant || g.ATC != w.ATC || g.Type != 0 {
			t.Errorf("log record %d = %+v, want %+v", i+1, g, w)
		}
	}
}

// checkSimCard runs the whole terminal flow on a fresh gen3 software card
// reached through card, as docs/pboc.md personalises it.
func checkSimCard(t *testing.T, card reader.Card, method, oda string) {
	t.Helper()
	ctx := context.Background()
	var n int
	s := pboc.NewSession(card, simOptions(&n))
	list, err := s.Applications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if list.Method != method || list.Fallback != "" || !slices.Equal(aids(list.Candidates), []string{debitHex, ecashHex}) || len(list.Blocked) != 0 {
		t.Fatalf("applications %+v", list)
	}
	if c := list.Candidates[0]; c.Label != "PBOC DEBIT" || c.Priority != 1 || c.FCI == nil || c.FCI.LogEntry == nil || *c.FCI.LogEntry != (pboc.LogEntry{SFI: 11, Records: 10}) {
		t.Errorf("debit candidate %+v", c)
	}
	r, err := s.Read(ctx, pboc.ReadOptions{ODA: true})
	if err != nil {
		t.Fatal(err)
	}
	a := r.Account
	if a.PAN != "6217991000001234561" || a.PANSequence != "01" || a.Expiry != "2031-12-31" || a.Effective != "2021-12-01" ||
		a.Cardholder != "ZHANG/SAN" || !a.SocialSecurityCard || a.Track2 == nil || a.Track2.PAN != a.PAN {
		t.Errorf("account %+v", a)
	}
	if r.GPO.AIP != (pboc.AIP{0x7C, 0x00}) || len(r.Records) != 4 || len(r.PDOLData) != 34 {
		t.Errorf("GPO %+v, %d records, PDOL data %s", r.GPO, len(r.Records), r.PDOLData)
	}
	if r.ODA == nil || !r.ODA.OK || r.ODA.Method != oda || len(r.ODA.DynamicNumber) != 8 || r.ODA.CAIndex != simkeys.PBOCCAIndex {
		t.Errorf("ODA %+v", r.ODA)
	}
	b, err := s.Balance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b.Balance != 50000 || b.Limit == nil || *b.Limit != 100000 || *b.SingleLimit != 20000 || *b.ResetThreshold != 10000 {
		t.Errorf("balance %+v", b)
	}
	c, err := s.Counters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.ATC < 1 || c.LastOnlineATC != 0 || c.PINTries != 3 {
		t.Errorf("counters %+v", c)
	}
	recs, err := s.Log(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkLog(t, recs, wantLog)
	// The e-cash application shares the account.
	r2, err := s.Read(ctx, pboc.ReadOptions{AID: pboc.AIDECash(), ODA: true})
	if err != nil {
		t.Fatal(err)
	}
	if r2.Application.Label != "PBOC ECASH" || r2.Account.PAN != a.PAN || r2.GPO.Format != 2 || !r2.ODA.OK {
		t.Errorf("e-cash reading: %s, format %d, ODA %+v", r2.Application.Label, r2.GPO.Format, r2.ODA)
	}
	if n > 80 {
		t.Errorf("%d APDUs", n)
	}
}

func TestSim(t *testing.T) {
	for _, m := range simModes {
		t.Run(m.name, func(t *testing.T) {
			checkSimCard(t, connectSim(t, newSimChip(t, m.mode, nil)), m.method, m.oda)
		})
	}
}

func TestSimNoDirectory(t *testing.T) {
	off := false
	for _, m := range simModes {
		t.Run(m.name, func(t *testing.T) {
			card := connectSim(t, newSimChip(t, m.mode, func(p *sim.PBOCProfile) { p.PSE, p.PPSE = &off, &off }))
			s := pboc.NewSession(card, simOptions(new(int)))
			list, err := s.Applications(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if list.Method != "AID list" || list.Fallback == "" || !slices.Equal(aids(list.Candidates), []string{debitHex, ecashHex}) {
				t.Errorf("applications %+v", list)
			}
			r, err := s.Read(context.Background(), pboc.ReadOptions{ODA: true})
			if err != nil || !r.ODA.OK {
				t.Fatalf("Read: %v", err)
			}
		})
	}
}

func TestSimBlocked(t *testing.T) {
	ctx := context.Background()
	for _, m := range simModes {
		t.Run(m.name, func(t *testing.T) {
			card := connectSim(t, newSimChip(t, m.mode, func(p *sim.PBOCProfile) { p.BlockedAIDs = []string{debitHex} }))
			s := pboc.NewSession(card, simOptions(new(int)))
			list, err := s.Applications(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(aids(list.Candidates), []string{ecashHex}) || !slices.Equal(aids(list.Blocked), []string{debitHex}) {
				t.Errorf("applications %+v", list)
			}
			r, err := s.Read(ctx, pboc.ReadOptions{})
			if err != nil || r.Application.AID.String() != ecashHex {
				t.Fatalf("Read: %v", err)
			}
			if _, err := s.Read(ctx, pboc.ReadOptions{AID: pboc.AIDDebit()}); !errors.Is(err, pboc.ErrApplicationBlocked) || !errors.Is(err, apdu.ErrAppBlocked) {
				t.Errorf("Read of the blocked debit application: %v", err)
			}
			if _, err := s.Select(ctx, pboc.AIDDebit()); !errors.Is(err, pboc.ErrApplicationBlocked) {
				t.Errorf("Select of the blocked debit application: %v", err)
			}
		})
	}
	t.Run("all", func(t *testing.T) {
		card := connectSim(t, newSimChip(t, sim.Contact, func(p *sim.PBOCProfile) { p.BlockedAIDs = []string{debitHex, ecashHex} }))
		s := pboc.NewSession(card, simOptions(new(int)))
		list, err := s.Applications(ctx)
		if !errors.Is(err, pboc.ErrNoApplication) || !errors.Is(err, pboc.ErrApplicationBlocked) || list == nil || len(list.Blocked) != 2 {
			t.Fatalf("Applications: %+v, %v", list, err)
		}
	})
}

// TestSimOfflinePurchase: a contactless qPBOC purchase within the limits
// is approved offline by the card and lowers the e-cash balance.
func TestSimOfflinePurchase(t *testing.T) {
	ctx := context.Background()
	card := connectSim(t, newSimChip(t, sim.Contactless, nil))
	opts := simOptions(new(int))
	opts.Terminal = pboc.Terminal{Amount: 1000, ECashSupported: true}
	s := pboc.NewSession(card, opts)
	r, err := s.Read(ctx, pboc.ReadOptions{ODA: true})
	if err != nil {
		t.Fatal(err)
	}
	if cid, ok := findData(r.GPO.Data, 0x9F27); !ok || len(cid) != 1 || cid[0] != 0x40 {
		t.Errorf("CID %X, want 40 (offline approved)", cid)
	}
	if r.ODA.Method != "fDDA" || !r.ODA.OK {
		t.Errorf("ODA %+v", r.ODA)
	}
	b, err := s.Balance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b.Balance != 49000 {
		t.Errorf("balance %d, want 49000", b.Balance)
	}
	recs, err := s.Log(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 || recs[0].Amount != 1000 || recs[1].Amount != 1250 {
		t.Errorf("log after purchase %+v", recs)
	}
	// Above the single transaction limit (200.00): online, balance unchanged.
	opts.Terminal.Amount = 20001
	s = pboc.NewSession(card, opts)
	r, err = s.Read(ctx, pboc.ReadOptions{ODA: true})
	if err != nil {
		t.Fatal(err)
	}
	if cid, _ := findData(r.GPO.Data, 0x9F27); len(cid) != 1 || cid[0] != 0x80 {
		t.Errorf("CID %X, want 80 (online)", cid)
	}
	if b, err := s.Balance(ctx); err != nil || b.Balance != 49000 {
		t.Errorf("balance after online request: %+v, %v", b, err)
	}
}

func findData(list []apdu.TLV, tag apdu.Tag) ([]byte, bool) {
	t, ok := apdu.TLV{Children: list}.Find(tag)
	return t.Value, ok
}

// TestSimConcurrent shares one session among goroutines: calls are
// serialised, each one a transaction of its own (run with -race).
func TestSimConcurrent(t *testing.T) {
	card := connectSim(t, newSimChip(t, sim.Contact, nil))
	s := pboc.NewSession(card, simOptions(new(int)))
	ctx := context.Background()
	errs := make(chan error, 12)
	for i := range cap(errs) {
		go func() {
			var err error
			switch i % 3 {
			case 0:
				_, err = s.Read(ctx, pboc.ReadOptions{ODA: true})
			case 1:
				var b *pboc.Balance
				if b, err = s.Balance(ctx); err == nil && b.Balance != 50000 {
					err = errors.New("wrong balance")
				}
			case 2:
				var recs []pboc.LogRecord
				if recs, err = s.Log(ctx); err == nil && len(recs) != 3 {
					err = errors.New("wrong log")
				}
			}
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestSimSelect: Select chooses the application the GET DATA family works
// in, without GPO (the ATC does not move).
func TestSimSelect(t *testing.T) {
	ctx := context.Background()
	card := connectSim(t, newSimChip(t, sim.Contact, nil))
	s := pboc.NewSession(card, simOptions(new(int)))
	c, err := s.Select(ctx, pboc.AIDECash())
	if err != nil || c.AID.String() != ecashHex || c.FCI == nil || c.FCI.PreferredName != "电子现金" {
		t.Fatalf("Select: %+v, %v", c, err)
	}
	before, err := s.Counters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Balance(ctx); err != nil {
		t.Fatal(err)
	}
	after, err := s.Counters(ctx)
	if err != nil || after.ATC != before.ATC {
		t.Fatalf("ATC %d then %d (%v): Select/GET DATA must not run GPO", before.ATC, after.ATC, err)
	}
	if _, err := s.Select(ctx, []byte{0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, 0x99}); !errors.Is(err, pboc.ErrNoApplication) {
		t.Fatalf("Select of an absent AID: %v", err)
	}
	c, err = s.Select(ctx, nil)
	if err != nil || c.AID.String() != debitHex {
		t.Fatalf("Select(nil): %+v, %v", c, err)
	}
}
