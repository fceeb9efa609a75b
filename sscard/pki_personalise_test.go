package sscard

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
)

// issuedBlankSession is a gen3-blank software card issued with
// issueWriteInfo (its PKI application still unpersonalised).
func issuedBlankSession(t *testing.T) (*Session, []byte) {
	t.Helper()
	w, err := ParseWriteInfo(issueWriteInfo)
	if err != nil {
		t.Fatal(err)
	}
	chip := NewTestChip(t, "gen3-blank", sim.Contact)
	s := issueSession(t, chip)
	if _, err := Issue(context.Background(), s, w, simIssue()); err != nil {
		t.Fatal(err)
	}
	issuedChips.Store(s, chip)
	t.Cleanup(func() { issuedChips.Delete(s) })
	return s, w.CardID
}

// issuedChips maps the sessions of issuedBlankSession to their cards.
var issuedChips sync.Map

func simPersonalise(cardID []byte) PersonaliseInput {
	return PersonaliseInput{AdminPIN: simkeys.PKIAdminPIN(cardID), MasterKey: simkeys.PKIMasterKey(cardID), CA: simCA{}, HSM: simHSM{}}
}

// checkSigning checks that the card signs with its (new) key, with the
// user PIN 123456, and that the chain goes to the SIM root.
func checkSigning(t *testing.T, s *Session, wantPub string) {
	t.Helper()
	ctx := context.Background()
	p := s.PKI()
	pub, err := p.PublicKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	xy, _ := sm.MarshalPublicKeyXY(pub)
	if got := strings.ToUpper(hexString(xy)); got != wantPub {
		t.Fatalf("EF 0012 = %s, report says %s", got, wantPub)
	}
	if err := p.VerifyPIN(ctx, "123456", PINOptions{}); err != nil {
		t.Fatal(err)
	}
	msg := []byte("personalised")
	sig, err := p.Sign(ctx, msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := sm.Verify(pub, nil, msg, sig); err != nil {
		t.Fatal(err)
	}
	roots, err := simkeys.RootPool()
	if err != nil {
		t.Fatal(err)
	}
	chain, err := p.VerifyChain(ctx, roots, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	c := chain[0]
	if c.Subject.CommonName != "王五" || c.Subject.SerialNumber != "B87654321" {
		t.Errorf("subject %s", c.Subject)
	}
	if !c.NotBefore.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) || !c.NotAfter.Equal(time.Date(2036, 12, 1, 23, 59, 59, 0, time.UTC)) {
		t.Errorf("validity %s .. %s", c.NotBefore, c.NotAfter)
	}
}

func hexString(b []byte) string {
	const d = "0123456789ABCDEF"
	out := make([]byte, 0, 2*len(b))
	for _, x := range b {
		out = append(out, d[x>>4], d[x&15])
	}
	return string(out)
}

func TestPersonalisePKI(t *testing.T) {
	ctx := context.Background()
	s, cardID := issuedBlankSession(t)

	// Before: no key, no certificate, and signing is refused.
	j, jpath := tempJournal(t)
	in := simPersonalise(cardID)
	in.Journal = j
	rep, err := PersonalisePKI(ctx, s, in)
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	if want := []string{StepPKIAdmin, StepPKIKeygen, StepPKICert, StepPKIEncCert, StepPKIEncKey, StepPKIVerify}; !slices.Equal(rep.Steps, want) {
		t.Errorf("steps %v, want %v", rep.Steps, want)
	}
	if rep.CardID != "411600D156000005005A3C9E17B2D40F" || len(rep.PublicKey) != 128 {
		t.Errorf("report %+v", rep)
	}
	checkSigning(t, s, rep.PublicKey)

	entries, err := ReadJournal(jpath)
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, e := range entries {
		steps = append(steps, e.Step)
		if e.Error != "" {
			t.Errorf("journal error %+v", e)
		}
	}
	if want := []string{StepPKICheck, StepPKIAdmin, StepPKIKeygen, StepPKICert, StepPKIEncCert, StepPKIEncKey, StepPKIVerify, StepPKIDone}; !slices.Equal(steps, want) {
		t.Errorf("journal steps %v, want %v", steps, want)
	}

	// Personalising again makes a new key.
	rep2, err := PersonalisePKI(ctx, s, simPersonalise(cardID))
	if err != nil {
		t.Fatal(err)
	}
	if rep2.PublicKey == rep.PublicKey {
		t.Error("second personalisation kept the key")
	}
	checkSigning(t, s, rep2.PublicKey)
}

func TestPersonalisePKINotIssued(t *testing.T) {
	s := issueSession(t, NewTestChip(t, "gen3-blank", sim.Contact))
	w, _ := ParseWriteInfo(issueWriteInfo)
	_, err := PersonalisePKI(context.Background(), s, simPersonalise(w.CardID))
	var ie *IssueError
	if !errors.Is(err, ErrNotIssued) || !errors.As(err, &ie) || ie.Step != StepPKICheck || len(ie.Written) != 0 {
		t.Fatalf("err = %v, want ErrNotIssued at %s", err, StepPKICheck)
	}
}

func TestPersonalisePKIWrongAdminPIN(t *testing.T) {
	s, cardID := issuedBlankSession(t)
	in := simPersonalise(cardID)
	in.AdminPIN[0] ^= 1
	_, err := PersonalisePKI(context.Background(), s, in)
	var ie *IssueError
	var ae *apdu.AuthError
	if !errors.As(err, &ie) || ie.Step != StepPKIAdmin || !errors.As(err, &ae) || ae.Retries != 4 {
		t.Fatalf("err = %v, want an AuthError (4 tries left) at %s", err, StepPKIAdmin)
	}
	// The key pair cannot be generated nor a certificate written without
	// the admin PIN.
	p := s.PKI()
	if _, err := p.GenerateSigningKey(context.Background()); !errors.Is(err, apdu.ErrSecurityStatus) {
		t.Errorf("keygen without admin PIN: %v", err)
	}
}

func TestPersonalisePKIWrongMasterKey(t *testing.T) {
	s, cardID := issuedBlankSession(t)
	in := simPersonalise(cardID)
	in.MasterKey[0] ^= 1
	nk := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	in.NewMasterKey = &nk
	_, err := PersonalisePKI(context.Background(), s, in)
	var ie *IssueError
	var ae *apdu.AuthError
	if !errors.As(err, &ie) || ie.Step != StepPKIMasterKey || !errors.As(err, &ae) {
		t.Fatalf("err = %v, want an AuthError at %s", err, StepPKIMasterKey)
	}
	if !slices.Contains(ie.Written, StepPKICert) {
		t.Errorf("written %v", ie.Written)
	}
}

func TestPersonalisePKIChangeSecrets(t *testing.T) {
	ctx := context.Background()
	s, cardID := issuedBlankSession(t)
	in := simPersonalise(cardID)
	newPIN := [4]byte{0x12, 0x34, 0x56, 0x78}
	newKey := [16]byte{0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xAF}
	in.NewAdminPIN, in.NewMasterKey = &newPIN, &newKey
	rep, err := PersonalisePKI(ctx, s, in)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{StepPKIAdmin, StepPKIKeygen, StepPKICert, StepPKIEncCert, StepPKIEncKey, StepPKIVerify, StepPKIAdminPIN, StepPKIMasterKey, StepPKIMasterKeyDDF}; !slices.Equal(rep.Steps, want) {
		t.Errorf("steps %v, want %v", rep.Steps, want)
	}
	checkSigning(t, s, rep.PublicKey)

	// The old admin PIN fails, the new one works.
	old := simPersonalise(cardID)
	var ie *IssueError
	var ae *apdu.AuthError
	if _, err := PersonalisePKI(ctx, s, old); !errors.As(err, &ie) || ie.Step != StepPKIAdmin || !errors.As(err, &ae) {
		t.Fatalf("old admin PIN: %v", err)
	}
	// The old master key fails.
	old.AdminPIN = newPIN
	old.NewMasterKey = &[16]byte{1}
	if _, err := PersonalisePKI(ctx, s, old); !errors.As(err, &ie) || ie.Step != StepPKIMasterKey || !errors.As(err, &ae) {
		t.Fatalf("old master key: %v", err)
	}
	// The old master key as CTK of an admin PIN change fails too.
	if err := s.PKI().VerifyAdminPIN(ctx, newPIN, PINOptions{}); err != nil {
		t.Fatal(err)
	}
	oldKey := simkeys.PKIMasterKey(cardID)
	if err := s.PKI().ChangeAdminPIN(ctx, oldKey[:], [4]byte{9, 9, 9, 9}); !errors.Is(err, apdu.ErrSecureMessaging) {
		t.Fatalf("admin PIN change with the old CTK: %v", err)
	}
	// The new values personalise again, and change the secrets back.
	again := PersonaliseInput{AdminPIN: newPIN, MasterKey: newKey, CA: simCA{}, HSM: simHSM{}}
	simPIN, simKey := simkeys.PKIAdminPIN(cardID), simkeys.PKIMasterKey(cardID)
	again.NewAdminPIN, again.NewMasterKey = &simPIN, &simKey
	rep, err = PersonalisePKI(ctx, s, again)
	if err != nil {
		t.Fatal(err)
	}
	checkSigning(t, s, rep.PublicKey)
	if _, err := PersonalisePKI(ctx, s, simPersonalise(cardID)); err != nil {
		t.Fatal(err)
	}
}
