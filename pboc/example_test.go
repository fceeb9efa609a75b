package pboc_test

import (
	"context"
	"fmt"
	"time"

	"github.com/sscard/ssc/pboc"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sm/simkeys"
)

// Read the bank application of the software card the way a contact
// terminal does (PSE, GPO, records, DDA), then its e-cash balance and
// transaction log.
func ExampleSession_Read() {
	p, _ := sim.Builtin("gen3")
	if p.PBOC == nil {
		p.PBOC = &sim.PBOCProfile{Enabled: true}
	}
	chip, _ := sim.New(p, sim.Options{Mode: sim.Contact})
	backend := reader.NewChipBackend("sim")
	defer backend.Close()
	backend.Insert("sim", chip)
	ctx := context.Background()
	card, err := backend.Connect(ctx, "sim", reader.ConnectOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer card.Close()

	s := pboc.NewSession(card, pboc.Options{
		CAKeys:  simkeys.CAKeyTable(), // the software card's payment-system CA
		ODATime: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
	})
	r, err := s.Read(ctx, pboc.ReadOptions{ODA: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Application.AID, r.Application.Label, r.Application.Source)
	fmt.Println(r.Account.PAN, r.Account.Expiry, r.Account.Cardholder, r.Account.SocialSecurityCard)
	fmt.Println(r.ODA.Method, r.ODA.OK)

	b, _ := s.Balance(ctx)
	fmt.Printf("balance %d.%02d yuan\n", b.Balance/100, b.Balance%100)
	log, _ := s.Log(ctx)
	for _, l := range log {
		fmt.Println(l.Date, l.Amount, l.Merchant)
	}
	// Output:
	// A000000333010101 PBOC DEBIT PSE
	// 6217991000001234561 2031-12-31 ZHANG/SAN true
	// DDA true
	// balance 500.00 yuan
	// 2026-11-20 1250 社区卫生服务中心
	// 2026-11-15 3800 人民医院药房
	// 2026-11-01 600 公交
}
