//go:build cgo && !nopcsc

package sscard_test

import (
	"context"
	"encoding/hex"
	"sync"
	"testing"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/internal/pcsctest"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sm/simkeys"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/keysystem"
)

// BenchmarkInfoPCSC measures the basic-information read as an application
// does it, through pcscd + vpcd, contact T=0: Open + Read (2nd gen, the
// iReadCardBas set) and Open + ReadWithHSM with the SIM HSM (3rd gen). The
// card runs in a process of its own (this test binary re-executed, see
// TestMain), gen2 in vpcd slot 0 and gen3 in slot 1, inserted once per test
// binary and left in. See docs/benchmarks.md (issue #4).
func BenchmarkInfoPCSC(b *testing.B) {
	for _, bc := range []struct {
		profile string
		slot    int
		read    func(context.Context, *sscard.Session) (*sscard.BasicInfo, error)
	}{
		{"gen2", 0, func(ctx context.Context, s *sscard.Session) (*sscard.BasicInfo, error) {
			return s.Read(ctx, sscard.ReadOptions{})
		}},
		{"gen3-hsm", 1, func(ctx context.Context, s *sscard.Session) (*sscard.BasicInfo, error) {
			return sscard.ReadWithHSM(ctx, s, keysystem.SIM{}, sscard.ReadOptions{})
		}},
	} {
		b.Run(bc.profile, func(b *testing.B) {
			profile := bc.profile[:4]
			card := benchPCSCCard(b, profile, bc.slot)
			if card.Protocol() != reader.T0 {
				b.Fatalf("protocol %v, want T=0", card.Protocol())
			}
			var n int
			var mu sync.Mutex
			count := func(in apdu.Transport) apdu.Transport {
				return transportFunc(func(ctx context.Context, cmd []byte) ([]byte, error) {
					mu.Lock()
					n++
					mu.Unlock()
					return in.Transmit(ctx, cmd)
				})
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			ops := 0
			for b.Loop() {
				s, err := sscard.Open(ctx, card, sscard.Options{WrapTransport: count})
				if err != nil {
					b.Fatal(err)
				}
				info, err := bc.read(ctx, s)
				if err != nil {
					b.Fatal(err)
				}
				if info.SSN == "" || info.Name == "" {
					b.Fatalf("incomplete info %+v", info)
				}
				ops++
			}
			b.StopTimer()
			b.ReportMetric(float64(n)/float64(ops), "APDUs/op")
		})
	}
}

type transportFunc func(context.Context, []byte) ([]byte, error)

func (f transportFunc) Transmit(ctx context.Context, cmd []byte) ([]byte, error) { return f(ctx, cmd) }

// benchPCSCCard starts (once per test binary and profile) a separate
// software-card process serving profile in vpcd slot and connects to it
// through PC/SC.
func benchPCSCCard(b *testing.B, profile string, slot int) reader.Card {
	b.Helper()
	name := pcsctest.Shared(b).StartCardProcess(b, slot, profile)
	return pcsctest.Connect(b, name, reader.T0)
}

// BenchmarkIssuePCSC measures a whole counter issuance through pcscd +
// vpcd, contact T=0: Open + Issue (write session: 4 + 2 challenges, both
// authentications, 13 UPDATE RECORDs, every field read back) with the SIM
// key system, on the gen3 card of BenchmarkInfoPCSC (vpcd slot 1; the
// same card identification code as gen3-blank): the first run overwrites
// its holder (Force), the others issue it again — the same commands.
// See docs/benchmarks.md (issue #9).
func BenchmarkIssuePCSC(b *testing.B) {
	w, err := sscard.ParseWriteInfo(pcscWriteInfo)
	if err != nil {
		b.Fatal(err)
	}
	card := benchPCSCCard(b, "gen3", 1)
	ctx := context.Background()
	count, n := apduCounter()
	opts := sscard.IssueOptions{HSM: keysystem.SIM{}, WriteKey: keysystem.SIM{}, Force: true}
	b.ReportAllocs()
	ops := 0
	for b.Loop() {
		s, err := sscard.Open(ctx, card, sscard.Options{WrapTransport: count})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := sscard.Issue(ctx, s, w, opts); err != nil {
			b.Fatal(err)
		}
		ops++
	}
	b.ReportMetric(float64(*n)/float64(ops), "APDUs/op")
}

// BenchmarkPersonalisePCSC measures a PKI personalisation through pcscd +
// vpcd, contact T=0: Open + PersonalisePKI with the SIM CA and key system
// (holder read with the HSM, admin PIN, SM2 key pair generated on the
// card, both certificates issued by the SIM CA and written in chunks and
// read back, the enveloped encryption pair imported, both chains
// verified), on the gen3 card of BenchmarkInfoPCSC (vpcd slot 1), which
// gets a new key pair every run. See docs/benchmarks.md (issue #9).
func BenchmarkPersonalisePCSC(b *testing.B) {
	card := benchPCSCCard(b, "gen3", 1)
	ctx := context.Background()
	count, n := apduCounter()
	cardID, err := hex.DecodeString("411600D156000005005A3C9E17B2D40F")
	if err != nil {
		b.Fatal(err)
	}
	in := sscard.PersonaliseInput{CA: keysystem.SIMCA{}, HSM: keysystem.SIM{},
		AdminPIN: simkeys.PKIAdminPIN(cardID), MasterKey: simkeys.PKIMasterKey(cardID)}
	b.ReportAllocs()
	ops := 0
	for b.Loop() {
		s, err := sscard.Open(ctx, card, sscard.Options{WrapTransport: count})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := sscard.PersonalisePKI(ctx, s, in); err != nil {
			b.Fatal(err)
		}
		ops++
	}
	b.ReportMetric(float64(*n)/float64(ops), "APDUs/op")
}

// apduCounter wraps a transport (sscard.Options.WrapTransport) to count the
// APDUs of a single-threaded benchmark.
func apduCounter() (func(apdu.Transport) apdu.Transport, *int) {
	n := new(int)
	return func(in apdu.Transport) apdu.Transport {
		return transportFunc(func(ctx context.Context, cmd []byte) ([]byte, error) {
			*n++
			return in.Transmit(ctx, cmd)
		})
	}, n
}
