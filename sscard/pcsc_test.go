//go:build cgo && !nopcsc

package sscard_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/internal/pcsctest"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/keysystem"
)

// Integration tests of the sscard flows through the real PC/SC stack: a
// private pcscd with the vpcd driver (internal/pcsctest) and the software
// card (sim) connected to vpcd slot 0. Every test inserts its own card and
// removes it at the end, waiting until pcscd has seen the removal, so the
// next test starts with an empty slot. The tests do not run in parallel.

// counter is a Transport wrapper recording every raw command APDU.
type counter struct {
	inner apdu.Transport
	mu    sync.Mutex
	cmds  [][]byte
}

func (c *counter) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	c.mu.Lock()
	c.cmds = append(c.cmds, slices.Clone(cmd))
	c.mu.Unlock()
	return c.inner.Transmit(ctx, cmd)
}

func (c *counter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cmds)
}

// sentINS reports whether a command with INS ins was sent from index from on.
func (c *counter) sentINS(from int, ins byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cmd := range c.cmds[from:] {
		if len(cmd) > 1 && cmd[1] == ins {
			return true
		}
	}
	return false
}

// pcscCard is a software card inserted into vpcd slot 0 of the shared pcscd,
// connected through pcsc.New, with an open Session.
type pcscCard struct {
	env    *pcsctest.Env
	chip   *sim.Card
	card   reader.Card
	sess   *sscard.Session
	rec    *counter
	remove func() // takes the card out, waits until pcscd noticed
}

const testSlot = 0

// openPCSC inserts the built-in profile into vpcd slot 0, waits until pcscd
// reports it, connects through PC/SC and opens a session. The card is
// removed (and the removal awaited) in t.Cleanup, after the connection is
// closed.
func openPCSC(t *testing.T, profile string, mode sim.Mode, opts sscard.Options) *pcscCard {
	t.Helper()
	pc := insertPCSC(t, sscard.NewTestChip(t, profile, mode), mode)
	opts.WrapTransport = func(in apdu.Transport) apdu.Transport {
		pc.rec = &counter{inner: in}
		return pc.rec
	}
	cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer ccancel()
	sess, err := sscard.Open(cctx, pc.card, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	pc.sess = sess
	return pc
}

// insertPCSC inserts chip into vpcd slot 0, waits until pcscd reports it and
// connects through PC/SC (no session yet).
func insertPCSC(t *testing.T, chip *sim.Card, mode sim.Mode) *pcscCard {
	t.Helper()
	env := pcsctest.Shared(t)
	pc := &pcscCard{env: env, chip: chip}
	var name string
	name, pc.remove = env.Insert(t, testSlot, chip)
	pc.card = pcsctest.Connect(t, name, pcsctest.Protocol(mode))
	return pc
}

func tctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var pcscModes = []struct {
	name string
	mode sim.Mode
}{{"contact", sim.Contact}, {"contactless", sim.Contactless}}

// Expected personalisation of the built-in profiles.
var (
	pcscGen3 = sscard.BasicInfo{Region: "411600", Version: "3.00", Generation: 3, IssueDate: "20240101",
		ExpiryDate: "20340101", CardNumber: "A12345678", SSN: "411602199001011232", Name: "张三"}
	gen3CardID = "411600D156000005005A3C9E17B2D40F"
)

func TestPCSCBasicInfo(t *testing.T) {
	for _, profile := range []string{"gen2", "gen3"} {
		for _, m := range pcscModes {
			t.Run(profile+"/"+m.name, func(t *testing.T) {
				ctx := tctx(t)
				pc := openPCSC(t, profile, m.mode, sscard.Options{})
				var info *sscard.BasicInfo
				var err error
				var max int
				if profile == "gen2" {
					if pc.sess.Generation() != 2 {
						t.Fatalf("generation %d", pc.sess.Generation())
					}
					info, err = pc.sess.Read(ctx, sscard.ReadOptions{})
					if err != nil {
						t.Fatal(err)
					}
					max = map[sim.Mode]int{sim.Contact: 9, sim.Contactless: 8}[m.mode]
				} else {
					if pc.sess.Generation() != 3 {
						t.Fatalf("generation %d", pc.sess.Generation())
					}
					n := pc.rec.count()
					if _, err := pc.sess.Read(ctx, sscard.ReadOptions{}); !errors.Is(err, sscard.ErrNeedsHSM) || !errors.Is(err, apdu.ErrSecurityStatus) {
						t.Fatalf("Read without HSM: %v, want ErrNeedsHSM", err)
					}
					if pc.rec.count() != n {
						t.Errorf("Read without HSM sent %d APDUs", pc.rec.count()-n)
					}
					info, err = sscard.ReadWithHSM(ctx, pc.sess, keysystem.SIM{}, sscard.ReadOptions{})
					if err != nil {
						t.Fatal(err)
					}
					max = map[sim.Mode]int{sim.Contact: 16, sim.Contactless: 14}[m.mode]
					if info.CardID.String() != gen3CardID || info.Region != pcscGen3.Region || info.Version != pcscGen3.Version ||
						info.IssueDate != pcscGen3.IssueDate || info.ExpiryDate != pcscGen3.ExpiryDate ||
						info.CardNumber != pcscGen3.CardNumber || info.SSN != pcscGen3.SSN || info.Name != pcscGen3.Name {
						t.Errorf("info %+v", info)
					}
				}
				if info.Generation != pc.sess.Generation() || info.CardID == nil || info.SSN == "" || info.Name == "" ||
					info.CardNumber == "" || info.Region == "" || info.IssueDate == "" || info.ExpiryDate == "" || len(info.Unavailable) != 0 {
					t.Errorf("incomplete info %+v", info)
				}
				if n := pc.rec.count(); n > max {
					t.Errorf("%d APDUs (Open + read) through pcscd, want <= %d", n, max)
				}
				t.Logf("%s %s (%v): %d APDUs for Open + read", profile, m.name, pc.card.Protocol(), pc.rec.count())
			})
		}
	}
}

func TestPCSCPIN(t *testing.T) {
	for _, m := range pcscModes {
		t.Run(m.name, func(t *testing.T) {
			ctx := tctx(t)
			pc := openPCSC(t, "gen3", m.mode, sscard.Options{})
			s := pc.sess
			if tries, err := s.PINStatus(ctx); err != nil || tries != 3 {
				t.Fatalf("PINStatus = %d, %v", tries, err)
			}
			var ae *apdu.AuthError
			if err := s.VerifyPIN(ctx, "000000", sscard.PINOptions{}); !errors.As(err, &ae) || ae.Retries != 2 {
				t.Fatalf("wrong PIN: %v, want *apdu.AuthError with 2 retries", err)
			}
			if err := s.VerifyPIN(ctx, "123456", sscard.PINOptions{}); err != nil {
				t.Fatalf("right PIN: %v", err)
			}
			// Change, then the new PIN verifies and the old one does not.
			if err := s.ChangePIN(ctx, "123456", "112233", sscard.PINOptions{}); err != nil {
				t.Fatalf("ChangePIN: %v", err)
			}
			if err := s.VerifyPIN(ctx, "112233", sscard.PINOptions{}); err != nil {
				t.Fatalf("new PIN: %v", err)
			}
			if err := s.ChangePIN(ctx, "000000", "445566", sscard.PINOptions{}); !errors.As(err, &ae) {
				t.Fatalf("change with wrong old PIN: %v", err)
			}
			// Block it: the remaining tries with Force.
			for i := 0; i < 3; i++ {
				err := s.VerifyPIN(ctx, "999999", sscard.PINOptions{Force: true})
				if errors.Is(err, sscard.ErrPINBlocked) {
					break
				}
				if !errors.As(err, &ae) {
					t.Fatalf("wrong PIN %d: %v", i, err)
				}
			}
			if _, err := s.PINStatus(ctx); !errors.Is(err, sscard.ErrPINBlocked) || !errors.Is(err, apdu.ErrBlocked) {
				t.Fatalf("PINStatus blocked: %v", err)
			}
			if err := s.VerifyPIN(ctx, "112233", sscard.PINOptions{Force: true}); !errors.Is(err, sscard.ErrPINBlocked) {
				t.Fatalf("verify blocked: %v", err)
			}
			// Reset with the SIM HSM (kid 04) unblocks it.
			if err := s.ResetPIN(ctx, keysystem.SIM{}, "654321"); err != nil {
				t.Fatalf("ResetPIN: %v", err)
			}
			if err := s.VerifyPIN(ctx, "654321", sscard.PINOptions{}); err != nil {
				t.Fatalf("after reset: %v", err)
			}
		})
	}
}

// TestPCSCHSMWrongResult1: a RESULT1 that does not match the card's
// internal authentication gives ErrCardNotGenuine and nothing protected is
// read (no EXTERNAL AUTHENTICATE, no READ RECORD after the INTERNAL
// AUTHENTICATE).
func TestPCSCHSMWrongResult1(t *testing.T) {
	for _, m := range pcscModes {
		t.Run(m.name, func(t *testing.T) {
			ctx := tctx(t)
			pc := openPCSC(t, "gen3", m.mode, sscard.Options{})
			req, err := pc.sess.BeginHSM(ctx, sscard.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ans, err := keysystem.SIM{}.Authenticate(ctx, req.Step1())
			if err != nil {
				t.Fatal(err)
			}
			ans.Result1[0] ^= 1
			n := pc.rec.count()
			info, err := req.Complete(ctx, ans)
			if !errors.Is(err, sscard.ErrCardNotGenuine) || info != nil {
				t.Fatalf("Complete: %v %v, want ErrCardNotGenuine", info, err)
			}
			if !pc.rec.sentINS(n, 0x88) {
				t.Error("INTERNAL AUTHENTICATE not sent")
			}
			for _, ins := range []byte{0x82, 0xB2, 0xB0} {
				if pc.rec.sentINS(n, ins) {
					t.Errorf("INS %02X sent after internal authentication failed", ins)
				}
			}
			// The session stays usable, and protected fields stay protected.
			if _, err := pc.sess.Read(ctx, sscard.ReadOptions{}); !errors.Is(err, sscard.ErrNeedsHSM) {
				t.Errorf("Read after failure: %v", err)
			}
			if _, err := sscard.ReadWithHSM(ctx, pc.sess, keysystem.SIM{}, sscard.ReadOptions{}); err != nil {
				t.Errorf("ReadWithHSM after failure: %v", err)
			}
		})
	}
}

// TestPCSCHSMCardRemoved: the card is pulled out between BeginHSM and
// Complete. The removal is awaited (pcscd has seen it) before Complete, so
// pcscd answers the transmit with SCARD_W_REMOVED_CARD, which the reader
// package maps to reader.ErrCardRemoved. (Completing before pcscd's 400 ms
// poll noticed would instead reach vpcd with no card behind it, a different
// and timing-dependent error.)
func TestPCSCHSMCardRemoved(t *testing.T) {
	ctx := tctx(t)
	pc := openPCSC(t, "gen3", sim.Contact, sscard.Options{})
	req, err := pc.sess.BeginHSM(ctx, sscard.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ans, err := keysystem.SIM{}.Authenticate(ctx, req.Step1())
	if err != nil {
		t.Fatal(err)
	}
	pc.remove()
	info, err := req.Complete(ctx, ans)
	t.Logf("Complete after removal: %v", err)
	if info != nil || !errors.Is(err, reader.ErrCardRemoved) {
		t.Fatalf("Complete: %v, %v; want reader.ErrCardRemoved", info, err)
	}
	if _, err := req.Complete(ctx, ans); !errors.Is(err, sscard.ErrRequestDone) {
		t.Errorf("second Complete: %v", err)
	}
}

func TestPCSCPKI(t *testing.T) {
	for _, m := range pcscModes {
		t.Run(m.name, func(t *testing.T) {
			ctx := tctx(t)
			pc := openPCSC(t, "gen3", m.mode, sscard.Options{})
			pki := pc.sess.PKI()
			pub, err := pki.PublicKey(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pki.Sign(ctx, []byte("hello")); !errors.Is(err, apdu.ErrSecurityStatus) {
				t.Fatalf("sign without PIN: %v", err)
			}
			var ae *apdu.AuthError
			if err := pki.VerifyPIN(ctx, "000000", sscard.PINOptions{}); !errors.As(err, &ae) || ae.Retries != 2 {
				t.Fatalf("wrong PIN: %v", err)
			}
			if err := pki.VerifyPIN(ctx, "123456", sscard.PINOptions{}); err != nil {
				t.Fatal(err)
			}
			msg := []byte("through pcscd")
			sig, err := pki.Sign(ctx, msg)
			if err != nil {
				t.Fatal(err)
			}
			if err := sm.Verify(pub, nil, msg, sig); err != nil {
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
			// Back to SSSE on the same session.
			if _, err := sscard.ReadWithHSM(ctx, pc.sess, keysystem.SIM{}, sscard.ReadOptions{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPCSCPhoto(t *testing.T) {
	photo, err := os.ReadFile("../sim/profiles/photo.jpg")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		mode sim.Mode
		ext  sscard.ExtendedMode
	}{
		{"contact T=0", sim.Contact, sscard.ExtendedAuto},
		{"contactless extended", sim.Contactless, sscard.ExtendedOn},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tctx(t)
			pc := openPCSC(t, "gen3", tt.mode, sscard.Options{Extended: tt.ext})
			if _, err := pc.sess.Read(ctx, sscard.ReadOptions{Fields: sscard.FieldsFree, Photo: true}); !errors.Is(err, sscard.ErrNeedsHSM) {
				t.Fatalf("photo without HSM: %v", err)
			}
			n := pc.rec.count()
			info, err := sscard.ReadWithHSM(ctx, pc.sess, keysystem.SIM{}, sscard.ReadOptions{Fields: sscard.FieldsFree, Photo: true})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(info.Photo, photo) {
				t.Fatalf("photo %d bytes, want the sim's %d bytes", len(info.Photo), len(photo))
			}
			reads, extended := 0, 0
			for _, c := range pc.rec.cmds[n:] {
				if c[1] == 0xB0 {
					reads++
					if len(c) == 7 && c[4] == 0 { // extended Le: 00 Le1 Le2
						extended++
					}
				}
			}
			if tt.ext == sscard.ExtendedOn && extended == 0 {
				t.Error("no extended-length READ BINARY sent")
			}
			t.Logf("%s: photo %d bytes, %d READ BINARY (%d extended), %d APDUs", tt.name, len(info.Photo), reads, extended, pc.rec.count()-n)
		})
	}
}

// TestPCSCReadPublic: DF01 through pcscd: refused before the PIN, read after
// it, and the session goes back to SSSE for the basic information.
func TestPCSCReadPublic(t *testing.T) {
	for _, m := range pcscModes {
		t.Run(m.name, func(t *testing.T) {
			ctx := tctx(t)
			pc := openPCSC(t, "gen3", m.mode, sscard.Options{})
			s := pc.sess
			if _, err := s.ReadPublic(ctx); !errors.Is(err, sscard.ErrNeedsPIN) || !errors.Is(err, apdu.ErrSecurityStatus) {
				t.Fatalf("without PIN: %v, want ErrNeedsPIN", err)
			}
			if err := s.VerifyPIN(ctx, "123456", sscard.PINOptions{}); err != nil {
				t.Fatal(err)
			}
			n := pc.rec.count()
			p, err := s.ReadPublic(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := sscard.PublicInfo{HukouType: "10", HukouAddress: "河南省周口市川汇区人民路1号", HukouRegion: "411602",
				ResidenceAddress: "河南省周口市川汇区人民路1号", ResidenceRegion: "411602"}
			if *p != want {
				t.Errorf("public = %+v\nwant %+v", *p, want)
			}
			t.Logf("ReadPublic (%v): %d APDUs", pc.card.Protocol(), pc.rec.count()-n)
			if _, err := sscard.ReadWithHSM(ctx, s, keysystem.SIM{}, sscard.ReadOptions{}); err != nil {
				t.Fatalf("ReadWithHSM after ReadPublic: %v", err)
			}
		})
	}
}

// A blocked (invalidated) SSSE application is reported as such, through
// pcscd, in both interfaces.
func TestPCSCBlockedApplication(t *testing.T) {
	for _, m := range pcscModes {
		t.Run(m.name, func(t *testing.T) {
			p, err := sim.Builtin("gen3")
			if err != nil {
				t.Fatal(err)
			}
			p.SSSE.Blocked = true
			chip, err := sim.New(p, sim.Options{Mode: m.mode})
			if err != nil {
				t.Fatal(err)
			}
			pc := insertPCSC(t, chip, m.mode)
			_, err = sscard.Open(tctx(t), pc.card, sscard.Options{})
			if !errors.Is(err, sscard.ErrApplicationBlocked) || !errors.Is(err, apdu.ErrAppBlocked) {
				t.Fatalf("Open on a blocked card: %v, want ErrApplicationBlocked", err)
			}
		})
	}
}
