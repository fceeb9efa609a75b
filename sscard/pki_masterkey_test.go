package sscard

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/sm/simkeys"
)

// The master key (ZKMY) is changed at the PKI ADF, then at the PKI DDF
// (ssc-facts §3.5): ChangeMasterKey, its per-level forms and the recovery
// of a card whose DDF change failed.

var (
	mkNew  = [16]byte{0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xAF}
	mkNew2 = [16]byte{0x5A, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F}
	mkDDF  = [16]byte{0xDD, 0xF0, 0xDD, 0xF1, 0xDD, 0xF2, 0xDD, 0xF3, 0xDD, 0xF4, 0xDD, 0xF5, 0xDD, 0xF6, 0xDD, 0xF7}
)

// authMaster authenticates with key at the PKI DDF or ADF.
func authMaster(s *Session, ddf bool, key [16]byte) error {
	ctx := context.Background()
	p := s.PKI()
	return s.do(ctx, func() error { return p.authMasterKey(ctx, ddf, key[:]) })
}

// checkLevelKeys checks that each level accepts its key and refuses the
// wrong one (the right key before and after: the tries back to 5).
func checkLevelKeys(t *testing.T, s *Session, adf, ddf, wrong [16]byte) {
	t.Helper()
	for _, lv := range []struct {
		ddf bool
		key [16]byte
	}{{false, adf}, {true, ddf}} {
		if err := authMaster(s, lv.ddf, lv.key); err != nil {
			t.Errorf("%s with its key: %v", pkiLevel(lv.ddf), err)
		}
		var ae *apdu.AuthError
		if err := authMaster(s, lv.ddf, wrong); !errors.As(err, &ae) || ae.Retries != 4 || !strings.Contains(err.Error(), pkiLevel(lv.ddf)) {
			t.Errorf("%s with the wrong key: %v", pkiLevel(lv.ddf), err)
		}
		if err := authMaster(s, lv.ddf, lv.key); err != nil {
			t.Errorf("%s with its key: %v", pkiLevel(lv.ddf), err)
		}
	}
}

func TestChangeMasterKeyBothLevels(t *testing.T) {
	ctx := context.Background()
	s, cardID := issuedBlankSession(t)
	simKey := simkeys.PKIMasterKey(cardID)
	p := s.PKI()
	if err := p.ChangeMasterKey(ctx, simKey[:], mkNew[:]); err != nil {
		t.Fatal(err)
	}
	checkLevelKeys(t, s, mkNew, mkNew, simKey)
	// The PKI application is usable right after (the ADF selected again).
	if err := p.ChangeMasterKey(ctx, mkNew[:], mkNew2[:]); err != nil {
		t.Fatal(err)
	}
	if err := p.VerifyPIN(ctx, "123456", PINOptions{}); err != nil { // the user PIN of the blank application
		t.Fatal(err)
	}
	if err := p.VerifyAdminPIN(ctx, simkeys.PKIAdminPIN(cardID), PINOptions{}); err != nil {
		t.Fatal(err)
	}
	// A wrong old key fails at the ADF and changes nothing.
	err := p.ChangeMasterKey(ctx, simKey[:], mkNew[:])
	var ae *apdu.AuthError
	var de *DDFMasterKeyError
	if !errors.As(err, &ae) || errors.As(err, &de) || !strings.Contains(err.Error(), "at the ADF") {
		t.Fatalf("wrong old key: %v", err)
	}
	checkLevelKeys(t, s, mkNew2, mkNew2, simKey)
	if err := p.ChangeMasterKey(ctx, mkNew2[:], mkNew2[:5]); err == nil {
		t.Fatal("a 5-byte key accepted")
	}
}

func TestChangeMasterKeyPerLevel(t *testing.T) {
	ctx := context.Background()
	s, cardID := issuedBlankSession(t)
	simKey := simkeys.PKIMasterKey(cardID)
	p := s.PKI()
	if err := p.ChangeDDFMasterKey(ctx, simKey[:], mkDDF[:]); err != nil {
		t.Fatal(err)
	}
	checkLevelKeys(t, s, simKey, mkDDF, mkNew)
	if err := p.ChangeADFMasterKey(ctx, simKey[:], mkNew[:]); err != nil {
		t.Fatal(err)
	}
	checkLevelKeys(t, s, mkNew, mkDDF, simKey)
	if err := p.ChangeDDFMasterKey(ctx, simKey[:], mkNew[:]); err == nil || !strings.Contains(err.Error(), "at the DDF") {
		t.Fatalf("DDF with the wrong key: %v", err)
	}
}

// TestChangeMasterKeyDDFFails: a card whose DDF key differs from the ADF's
// fails at the DDF after the ADF changed; the error says so and
// ChangeDDFMasterKey recovers.
func TestChangeMasterKeyDDFFails(t *testing.T) {
	ctx := context.Background()
	s, cardID := issuedBlankSession(t)
	simKey := simkeys.PKIMasterKey(cardID)
	p := s.PKI()
	if err := p.ChangeDDFMasterKey(ctx, simKey[:], mkDDF[:]); err != nil {
		t.Fatal(err)
	}
	err := p.ChangeMasterKey(ctx, simKey[:], mkNew[:])
	var de *DDFMasterKeyError
	var ae *apdu.AuthError
	if !errors.As(err, &de) || !errors.As(err, &ae) || ae.Retries != 4 {
		t.Fatalf("err = %v, want a DDFMasterKeyError wrapping an AuthError", err)
	}
	for _, want := range []string{"DDF", "the ADF key is already the new one", "ChangeDDFMasterKey"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	checkLevelKeys(t, s, mkNew, mkDDF, simKey)
	// Running ChangeMasterKey again with the old key fails at the ADF.
	if err := p.ChangeMasterKey(ctx, simKey[:], mkNew[:]); !errors.As(err, &ae) || errors.As(err, &de) {
		t.Fatalf("again: %v", err)
	}
	// Recovery: the DDF's own old key.
	if err := p.ChangeDDFMasterKey(ctx, mkDDF[:], mkNew[:]); err != nil {
		t.Fatal(err)
	}
	checkLevelKeys(t, s, mkNew, mkNew, mkDDF)
	if err := p.ChangeMasterKey(ctx, mkNew[:], simKey[:]); err != nil {
		t.Fatal(err)
	}
	checkLevelKeys(t, s, simKey, simKey, mkNew)
}

// TestPersonalisePKIMasterKeyDDFFails: PersonalisePKI reports and journals
// the ADF change done and the DDF one failed.
func TestPersonalisePKIMasterKeyDDFFails(t *testing.T) {
	ctx := context.Background()
	s, cardID := issuedBlankSession(t)
	simKey := simkeys.PKIMasterKey(cardID)
	if err := s.PKI().ChangeDDFMasterKey(ctx, simKey[:], mkDDF[:]); err != nil {
		t.Fatal(err)
	}
	j, jpath := tempJournal(t)
	var err error
	in := simPersonalise(cardID)
	in.NewMasterKey, in.Journal = &mkNew, j
	_, err = PersonalisePKI(ctx, s, in)
	j.Close()
	var ie *IssueError
	var de *DDFMasterKeyError
	if !errors.As(err, &ie) || ie.Step != StepPKIMasterKeyDDF || !errors.As(err, &de) {
		t.Fatalf("err = %v, want a DDFMasterKeyError at %s", err, StepPKIMasterKeyDDF)
	}
	if want := append(slices.Clone(allPKISteps), StepPKIMasterKey); !slices.Equal(ie.Written, want) {
		t.Errorf("written %v, want %v", ie.Written, want)
	}
	if !strings.Contains(err.Error(), "failed at pki.master_key_ddf (written: ") || !strings.Contains(err.Error(), "the ADF key is already the new one") {
		t.Errorf("error %q", err)
	}
	entries, err := ReadJournal(jpath)
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, e := range entries {
		steps = append(steps, e.Step)
	}
	n := len(entries)
	if n < 2 || entries[n-2].Step != StepPKIMasterKey || entries[n-2].Error != "" ||
		entries[n-1].Step != StepPKIMasterKeyDDF || !strings.Contains(entries[n-1].Error, "DDF") ||
		!slices.Equal(entries[n-1].Written, ie.Written) {
		t.Errorf("journal steps %v, last %+v", steps, entries[n-1])
	}
	for _, e := range entries {
		if e.Step == StepPKIDone {
			t.Error("journal says done")
		}
	}

	// Recovery: the DDF with its own old key; then the new key personalises
	// again and changes both levels back.
	if err := s.PKI().ChangeDDFMasterKey(ctx, mkDDF[:], mkNew[:]); err != nil {
		t.Fatal(err)
	}
	again := simPersonalise(cardID)
	again.MasterKey, again.NewMasterKey = mkNew, &simKey
	rep, err := PersonalisePKI(ctx, s, again)
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Steps[len(rep.Steps)-2:]; !slices.Equal(got, []string{StepPKIMasterKey, StepPKIMasterKeyDDF}) {
		t.Errorf("steps %v", rep.Steps)
	}
	checkLevelKeys(t, s, simKey, simKey, mkNew)
}
