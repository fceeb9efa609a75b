package sscard

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
)

// Resuming an interrupted PKI personalisation from its journal
// (PersonaliseInput.Resume, PKIStatus).

const resumeCardID = "411600D156000005005A3C9E17B2D40F"

func TestPKIStatus(t *testing.T) {
	e := func(step, errText string) JournalEntry {
		return JournalEntry{CardID: resumeCardID, Step: step, Error: errText}
	}
	other := JournalEntry{CardID: "00000000000000000000000000000000", Step: StepPKIAdminPIN}
	upper := func(es ...JournalEntry) []JournalEntry { return es }
	keys := []string{StepPKIAdmin, StepPKIKeygen, StepPKICert, StepPKIEncCert, StepPKIEncKey, StepPKIVerify}
	run := func(steps ...string) []JournalEntry {
		out := []JournalEntry{e(StepPKICheck, "")}
		for _, s := range steps {
			out = append(out, e(s, ""))
		}
		return out
	}
	resumed := e(StepPKICheck, "")
	resumed.Note, resumed.Written = JournalNoteResume, append(slices.Clone(keys), StepPKIAdminPIN)
	for _, c := range []struct {
		name       string
		entries    []JournalEntry
		nilStatus  bool
		done, intr bool
		failed     string
		steps      []string
		pin, key   string
	}{
		{name: "empty", nilStatus: true},
		{name: "another card only", entries: upper(other), nilStatus: true},
		{name: "SSSE issuance only", entries: upper(JournalEntry{CardID: resumeCardID, Step: StepCheck}, JournalEntry{CardID: resumeCardID, Step: StepDone}), nilStatus: true},
		{name: "done", entries: append(run(keys...), e(StepPKIDone, "")), done: true, steps: keys, pin: PKISecretOld, key: PKISecretOld},
		{name: "done with changes", entries: append(run(append(slices.Clone(keys), StepPKIAdminPIN, StepPKIMasterKey, StepPKIMasterKeyDDF)...), e(StepPKIDone, "")),
			done: true, steps: append(slices.Clone(keys), StepPKIAdminPIN, StepPKIMasterKey, StepPKIMasterKeyDDF), pin: PKISecretNew, key: PKISecretNew},
		{name: "not issued", entries: upper(e(StepPKICheck, ""), e(StepPKICheck, "not issued")), failed: StepPKICheck, steps: []string{}, pin: PKISecretOld, key: PKISecretOld},
		{name: "interrupted after keygen", entries: run(StepPKIAdmin, StepPKIKeygen), intr: true, steps: []string{StepPKIAdmin, StepPKIKeygen}, pin: PKISecretOld, key: PKISecretOld},
		{name: "admin PIN changed, new one not verified", entries: append(run(append(slices.Clone(keys), StepPKIAdminPIN)...), e(StepPKIAdminPIN, "removed")),
			failed: StepPKIAdminPIN, steps: append(slices.Clone(keys), StepPKIAdminPIN), pin: PKISecretNew, key: PKISecretOld},
		{name: "DDF failed", entries: append(run(append(slices.Clone(keys), StepPKIMasterKey)...), other, e(StepPKIMasterKeyDDF, "6982")),
			failed: StepPKIMasterKeyDDF, steps: append(slices.Clone(keys), StepPKIMasterKey), pin: PKISecretOld, key: PKISecretSplit},
		{name: "the last run counts", entries: append(append(run(append(slices.Clone(keys), StepPKIAdminPIN)...), e(StepPKIDone, "")), run(StepPKIAdmin)...),
			intr: true, steps: []string{StepPKIAdmin}, pin: PKISecretOld, key: PKISecretOld},
		{name: "resumed run takes over", entries: upper(resumed, e(StepPKIAdmin, ""), e(StepPKIMasterKey, "removed")),
			failed: StepPKIMasterKey, steps: append(slices.Clone(keys), StepPKIAdminPIN), pin: PKISecretNew, key: PKISecretOld},
		{name: "resumed run, kept steps once", entries: upper(resumed, e(StepPKIAdmin, ""), e(StepPKIKeygen, ""), e(StepPKICert, ""), e(StepPKIDone, "")),
			done: true, steps: append(slices.Clone(keys), StepPKIAdminPIN), pin: PKISecretNew, key: PKISecretOld},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := PKIStatus(c.entries, "411600d156000005005a3c9e17b2d40f")
			if c.nilStatus {
				if st != nil {
					t.Fatalf("status %+v, want none", st)
				}
				return
			}
			if st == nil {
				t.Fatal("no status")
			}
			if st.Done != c.done || st.Interrupted != c.intr || st.FailedStep != c.failed || (c.failed != "") != (st.Error != "") ||
				!slices.Equal(st.Steps, c.steps) || st.AdminPIN != c.pin || st.MasterKey != c.key || st.CardID != resumeCardID {
				t.Errorf("status %+v", st)
			}
			for _, s := range c.steps {
				if !st.Completed(s) {
					t.Errorf("Completed(%s) false", s)
				}
			}
			if st.Completed(StepPKIDone) || st.Completed(StepPKICheck) {
				t.Error("check/done counted as steps")
			}
			if st.Secrets() == "" {
				t.Error("no secrets text")
			}
		})
	}
	var none *PKIJournalStatus
	if none.Completed(StepPKIAdmin) {
		t.Error("nil status completed a step")
	}
}

// countingCA counts the CA's deliveries.
type countingCA struct {
	CertIssuer
	n atomic.Int32
}

func (c *countingCA) Issue(ctx context.Context, req CertRequest) (*CADelivery, error) {
	c.n.Add(1)
	return c.CertIssuer.Issue(ctx, req)
}

var resumePIN = [4]byte{0x12, 0x34, 0x56, 0x78}

// resumeInput is the input of a personalisation that changes the admin PIN
// and the master key (to mkNew), with a counting SIM CA.
func resumeInput(t *testing.T, cardID []byte) (PersonaliseInput, *countingCA) {
	roots, err := simkeys.RootPool()
	if err != nil {
		t.Fatal(err)
	}
	ca := &countingCA{CertIssuer: simCA{}}
	in := simPersonalise(cardID)
	in.CA, in.Roots = ca, roots
	in.NewAdminPIN, in.NewMasterKey = &resumePIN, &mkNew
	return in, ca
}

// removableCard connects to the software card of s through a reader the
// card can be taken out of.
type removableCard struct {
	chip *pkiFaultChip
	b    *reader.ChipBackend
}

func newRemovableCard(t *testing.T, s *Session) *removableCard {
	rc := &removableCard{chip: &pkiFaultChip{Chip: sessionChip(t, s)}, b: reader.NewChipBackend("r")}
	t.Cleanup(func() { rc.b.Close() })
	rc.chip.remove = func() { rc.b.Remove("r") }
	return rc
}

// open inserts the card and opens a session; removeAfter > 0 takes the
// card out after that many more commands.
func (rc *removableCard) open(t *testing.T, removeAfter int) (*Session, func()) {
	ctx := context.Background()
	if err := rc.b.Insert("r", rc.chip); err != nil {
		t.Fatal(err)
	}
	card, err := rc.b.Connect(ctx, "r", reader.ConnectOptions{Mode: reader.Exclusive})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, card, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rc.chip.mu.Lock()
	rc.chip.removeAfter = 0
	if removeAfter > 0 {
		rc.chip.removeAfter = rc.chip.n + removeAfter
	}
	rc.chip.mu.Unlock()
	return s, func() { card.Close() }
}

func signingKeyXY(t *testing.T, s *Session) string {
	t.Helper()
	pub, err := s.PKI().PublicKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	xy, _ := sm.MarshalPublicKeyXY(pub)
	return hexString(xy)
}

// TestPersonalisePKIResumeRemoval takes the card out after each command of
// a personalisation that changes the admin PIN and the master key, then
// resumes from the journal: past pki.enc_key the keys and certificates are
// kept (EF 0012 unchanged, the CA not asked), a changed admin PIN is given
// as the admin PIN, a master key changed at the ADF only is completed at
// the DDF; the card ends fully personalised with the new secrets.
func TestPersonalisePKIResumeRemoval(t *testing.T) {
	ctx := context.Background()
	s0, cardID := issuedBlankSession(t)
	counter := &pkiFaultChip{Chip: sessionChip(t, s0)}
	s1 := issueSession(t, counter)
	opened := counter.n
	in0, _ := resumeInput(t, cardID)
	if _, err := PersonalisePKI(ctx, s1, in0); err != nil {
		t.Fatal(err)
	}
	total := counter.n - opened
	simKey := simkeys.PKIMasterKey(cardID)
	seen := map[string]bool{}
	for k := 1; k < total; k++ {
		s, _ := issuedBlankSession(t)
		rc := newRemovableCard(t, s)
		sess, closeCard := rc.open(t, k)
		j, jpath := tempJournal(t)
		var err error
		in, _ := resumeInput(t, cardID)
		in.Journal = j
		_, err = PersonalisePKI(ctx, sess, in)
		j.Close()
		closeCard()
		var ie *IssueError
		if !errors.As(err, &ie) || !errors.Is(err, reader.ErrCardRemoved) {
			t.Fatalf("removed after command %d/%d: %v", k, total, err)
		}
		entries, err := ReadJournal(jpath)
		if err != nil {
			t.Fatal(err)
		}
		st := PKIStatus(entries, resumeCardID)

		sess, closeCard = rc.open(t, 0)
		before := ""
		if st.Completed(StepPKIEncKey) {
			before = signingKeyXY(t, sess)
		}
		in, ca := resumeInput(t, cardID)
		if st != nil && st.AdminPIN == PKISecretNew {
			in.AdminPIN = resumePIN
		}
		j, _ = OpenJournal(jpath)
		in.Journal, in.Resume = j, entries
		rep, err := PersonalisePKI(ctx, sess, in)
		j.Close()
		if err != nil {
			t.Fatalf("removed after %d (%s, status %+v), resumed: %v", k, ie.Step, st, err)
		}
		name := ie.Step
		if st != nil {
			name += "/pin " + st.AdminPIN + "/key " + st.MasterKey
		}
		seen[name] = true
		if st.Completed(StepPKIEncKey) {
			if n := ca.n.Load(); n != 0 {
				t.Errorf("removed after %d (%s): the CA was asked %d times", k, name, n)
			}
			if after := signingKeyXY(t, sess); after != before || rep.PublicKey != before {
				t.Errorf("removed after %d (%s): EF 0012 changed", k, name)
			}
			for _, step := range []string{StepPKIKeygen, StepPKICert, StepPKIEncCert, StepPKIEncKey} {
				if !slices.Contains(rep.Kept, step) {
					t.Errorf("removed after %d (%s): %s not kept: %v", k, name, step, rep.Kept)
				}
			}
		} else if n := ca.n.Load(); n != 1 || slices.Contains(rep.Kept, StepPKICert) {
			t.Errorf("removed after %d (%s): the CA asked %d times, kept %v", k, name, n, rep.Kept)
		}
		if st.Completed(StepPKIAdminPIN) != slices.Contains(rep.Kept, StepPKIAdminPIN) ||
			st.Completed(StepPKIMasterKey) != slices.Contains(rep.Kept, StepPKIMasterKey) || slices.Contains(rep.Kept, StepPKIMasterKeyDDF) {
			t.Errorf("removed after %d (%s): kept %v", k, name, rep.Kept)
		}
		if want := append(slices.Clone(allPKISteps), StepPKIAdminPIN, StepPKIMasterKey, StepPKIMasterKeyDDF); !slices.Equal(rep.Steps, want) {
			t.Errorf("removed after %d (%s): steps %v", k, name, rep.Steps)
		}
		// The journal's last run: done, with the new secrets.
		entries, _ = ReadJournal(jpath)
		if st2 := PKIStatus(entries, resumeCardID); st2 == nil || !st2.Done || st2.AdminPIN != PKISecretNew || st2.MasterKey != PKISecretNew {
			t.Errorf("removed after %d (%s): journal after the resume %+v", k, name, st2)
		}
		checkSigning(t, sess, rep.PublicKey)
		checkEncryption(t, sess, cardID, rep)
		checkLevelKeys(t, sess, mkNew, mkNew, simKey)
		if err := sess.PKI().VerifyAdminPIN(ctx, resumePIN, PINOptions{}); err != nil {
			t.Errorf("removed after %d (%s): new admin PIN: %v", k, name, err)
		}
		closeCard()
	}
	t.Logf("%d commands; cases %v", total, seen)
	for _, want := range []string{
		StepPKIEncKey + "/pin old/key old",                     // before the import: all again
		StepPKIVerify + "/pin old/key old",                     // imported: kept
		StepPKIAdminPIN + "/pin old/key old",                   // the PIN not changed
		StepPKIAdminPIN + "/pin new/key old",                   // changed, the new one not verified
		StepPKIMasterKey + "/pin new/key old",                  // admin PIN new, master key old: resumed with the new PIN
		StepPKIMasterKeyDDF + "/pin new/key " + PKISecretSplit, // the DDF only
	} {
		if !seen[want] {
			t.Errorf("no removal giving %s", want)
		}
	}
}

// TestPersonalisePKIResumeDDF: the DDF change failed (the DDF had a key of
// its own, as in TestPersonalisePKIMasterKeyDDFFails); a resume with the
// wrong old key fails at the DDF again and keeps the journal's state, one
// with the DDF's old key changes the DDF only.
func TestPersonalisePKIResumeDDF(t *testing.T) {
	ctx := context.Background()
	s, cardID := issuedBlankSession(t)
	simKey := simkeys.PKIMasterKey(cardID)
	if err := s.PKI().ChangeDDFMasterKey(ctx, simKey[:], mkDDF[:]); err != nil {
		t.Fatal(err)
	}
	j, jpath := tempJournal(t)
	var err error
	in, ca := resumeInput(t, cardID)
	in.NewAdminPIN, in.Journal = nil, j
	_, err = PersonalisePKI(ctx, s, in)
	var de *DDFMasterKeyError
	if !errors.As(err, &de) {
		t.Fatalf("err = %v", err)
	}
	pub := signingKeyXY(t, s)

	resume := func(masterKey [16]byte) (*PersonaliseReport, error) {
		entries, err := ReadJournal(jpath)
		if err != nil {
			t.Fatal(err)
		}
		in.Resume, in.MasterKey = entries, masterKey
		return PersonalisePKI(ctx, s, in)
	}
	var ae *apdu.AuthError
	var ie *IssueError
	if _, err := resume(simKey); !errors.As(err, &de) || !errors.As(err, &ae) || !errors.As(err, &ie) || ie.Step != StepPKIMasterKeyDDF {
		t.Fatalf("resumed with the wrong DDF key: %v", err)
	}
	entries, _ := ReadJournal(jpath)
	if st := PKIStatus(entries, resumeCardID); st.MasterKey != PKISecretSplit || st.FailedStep != StepPKIMasterKeyDDF {
		t.Errorf("status %+v", st)
	}
	rep, err := resume(mkDDF)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{StepPKIKeygen, StepPKICert, StepPKIEncCert, StepPKIEncKey, StepPKIMasterKey}; !slices.Equal(rep.Kept, want) {
		t.Errorf("kept %v, want %v", rep.Kept, want)
	}
	if ca.n.Load() != 1 || rep.PublicKey != pub {
		t.Errorf("CA asked %d times (1 by the first run), key %s (was %s)", ca.n.Load(), rep.PublicKey, pub)
	}
	checkLevelKeys(t, s, mkNew, mkNew, mkDDF)
	entries, _ = ReadJournal(jpath)
	if st := PKIStatus(entries, resumeCardID); !st.Done || st.MasterKey != PKISecretNew || st.AdminPIN != PKISecretOld {
		t.Errorf("status %+v", st)
	}
	var notes []string
	for _, e := range entries[len(entries)-10:] {
		notes = append(notes, e.Step+":"+e.Note)
	}
	want := []string{StepPKICheck + ":" + JournalNoteResume, StepPKIAdmin + ":", StepPKIKeygen + ":" + JournalNoteKept, StepPKICert + ":" + JournalNoteKept,
		StepPKIEncCert + ":" + JournalNoteKept, StepPKIEncKey + ":" + JournalNoteKept, StepPKIVerify + ":", StepPKIMasterKey + ":" + JournalNoteDone,
		StepPKIMasterKeyDDF + ":", StepPKIDone + ":"}
	if !slices.Equal(notes, want) {
		t.Errorf("journal %v, want %v", notes, want)
	}
}

// TestPersonalisePKIResumeFresh: a journal of another card, or a card that
// no longer verifies, gives a full run; a resume that does not fit the
// journal is refused before any VERIFY.
func TestPersonalisePKIResumeFresh(t *testing.T) {
	ctx := context.Background()
	s, cardID := issuedBlankSession(t)
	rec := &memJournal{}
	in, ca := resumeInput(t, cardID)
	in.Journal = rec
	first, err := PersonalisePKI(ctx, s, in)
	if err != nil {
		t.Fatal(err)
	}
	// The journal says done with a new admin PIN and master key: for
	// another card it means nothing.
	other := slices.Clone(rec.entries)
	for i := range other {
		other[i].CardID = "411600D156000005005A3C9E17B2D40E"
	}
	fresh, _ := resumeInput(t, cardID)
	fresh.AdminPIN, fresh.MasterKey = resumePIN, mkNew
	fresh.NewAdminPIN, fresh.NewMasterKey = &[4]byte{1, 2, 3, 4}, &mkNew2
	fresh.Resume = other
	rep, err := PersonalisePKI(ctx, s, fresh)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Kept) != 0 || rep.PublicKey == first.PublicKey {
		t.Errorf("another card's journal: kept %v, key kept %v", rep.Kept, rep.PublicKey == first.PublicKey)
	}
	checkLevelKeys(t, s, mkNew2, mkNew2, mkNew)

	// The card's own journal, but the key changed since: all again.
	p := s.PKI()
	if err := p.VerifyAdminPIN(ctx, [4]byte{1, 2, 3, 4}, PINOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.GenerateSigningKey(ctx); err != nil {
		t.Fatal(err)
	}
	n := ca.n.Load()
	again, ca2 := resumeInput(t, cardID)
	again.AdminPIN, again.MasterKey, again.NewAdminPIN, again.NewMasterKey = [4]byte{1, 2, 3, 4}, mkNew2, nil, nil
	again.Resume = rec.entries[:len(rec.entries)-4] // up to pki.verify: no secret changed
	rep, err = PersonalisePKI(ctx, s, again)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Kept) != 0 || ca2.n.Load() != 1 || ca.n.Load() != n {
		t.Errorf("card no longer verifying: kept %v, CA %d", rep.Kept, ca2.n.Load())
	}
	checkEncryption(t, s, cardID, rep)

	// Refusals: nothing sent to the card but the holder read.
	for _, c := range []struct {
		name string
		edit func(*PersonaliseInput)
	}{
		{"another new admin PIN", func(in *PersonaliseInput) { in.AdminPIN = [4]byte{1, 2, 3, 4}; in.NewAdminPIN = &[4]byte{5, 6, 7, 8} }},
		{"no new master key", func(in *PersonaliseInput) { in.NewMasterKey = nil }},
		{"the same master keys", func(in *PersonaliseInput) { in.MasterKey = mkNew }},
	} {
		t.Run(c.name, func(t *testing.T) {
			in, ca := resumeInput(t, cardID)
			in.NewAdminPIN = nil
			// A journal: admin PIN changed, master key at the ADF only.
			in.Resume = []JournalEntry{{CardID: resumeCardID, Step: StepPKICheck}, {CardID: resumeCardID, Step: StepPKIAdminPIN},
				{CardID: resumeCardID, Step: StepPKIMasterKey}, {CardID: resumeCardID, Step: StepPKIMasterKeyDDF, Error: "removed"}}
			in.AdminPIN, in.NewAdminPIN = [4]byte{1, 2, 3, 4}, nil
			c.edit(&in)
			_, err := PersonalisePKI(ctx, s, in)
			var ie *IssueError
			if !errors.Is(err, ErrResume) || !errors.As(err, &ie) || ie.Step != StepPKICheck || ca.n.Load() != 0 {
				t.Fatalf("err = %v", err)
			}
		})
	}
	// No try was spent: a wrong admin PIN now leaves 4.
	var ae *apdu.AuthError
	if err := p.VerifyAdminPIN(ctx, [4]byte{9, 9, 9, 9}, PINOptions{}); !errors.As(err, &ae) || ae.Retries != 4 {
		t.Fatalf("tries after the refusals: %v", err)
	}
}

// memJournal keeps the entries in memory.
type memJournal struct{ entries []JournalEntry }

func (m *memJournal) Record(e JournalEntry) error {
	m.entries = append(m.entries, e)
	return nil
}
