package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sscard/ssc/internal/hostile"
	"github.com/sscard/ssc/link"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sm/simkeys"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
)

// Card pulls during every long operation of the daemon's API, through
// pcscd + vpcd: the card is pulled (its vpcd connection closed) at a
// chosen command of the operation, then the same card (same state) is
// inserted again. Each pull asserts a typed answer before op_timeout + 5 s,
// never a success, and that what the card and the issuance journal hold
// agrees with what the answer said.

// pullChip pulls its card at a chosen command: armed with a match and a
// count, it holds the count-th matching command while the test closes the
// vpcd connection, then lets the command reach the card or not (exec): a
// card pulled just before it got the command, or just after it acted on it
// but before its answer got back. The host never gets an answer to that
// command (the reply is empty, and the connection is closed anyway).
type pullChip struct {
	sim.Chip
	mu      sync.Mutex
	match   func([]byte) bool
	left    int
	exec    bool
	hit     chan struct{}
	release chan struct{}
	once    *sync.Once
}

// arm sets the pull point: the n-th command (from now) that match accepts.
func (c *pullChip) arm(match func([]byte) bool, n int, exec bool) (hit chan struct{}, release func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.match, c.left, c.exec = match, n, exec
	c.hit, c.release, c.once = make(chan struct{}), make(chan struct{}), new(sync.Once)
	rel, once := c.release, c.once
	return c.hit, func() { once.Do(func() { close(rel) }) }
}

// disarm drops a pull point the operation did not reach.
func (c *pullChip) disarm() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.match = nil
}

func (c *pullChip) Transmit(cmd []byte) []byte {
	c.mu.Lock()
	held := c.match != nil && c.match(cmd)
	if held {
		c.left--
		held = c.left == 0
	}
	hit, release, exec := c.hit, c.release, c.exec
	if held {
		c.match = nil
	}
	c.mu.Unlock()
	if !held {
		return c.Chip.Transmit(cmd)
	}
	close(hit)
	<-release
	if exec {
		// The answer is lost: the connection is closed by now (pcscd's
		// vpcd driver hands the host 0 bytes).
		return c.Chip.Transmit(cmd)
	}
	return nil
}

// ins matches the commands of an instruction byte.
func ins(b byte) func([]byte) bool {
	return func(cmd []byte) bool { return len(cmd) >= 4 && cmd[1] == b }
}

// pullRig is a daemon over the shared pcscd with a card in vpcd slot 0
// that the test pulls and inserts again.
type pullRig struct {
	t         *testing.T
	e         *e2e
	name      string
	chip      *pullChip
	remove    func()
	insertion uint64
	bound     time.Duration // op_timeout + 5 s
	pulls     int
}

func newPullRig(t *testing.T, cfg Config, card sim.Chip) *pullRig {
	t.Helper()
	g := &pullRig{t: t, e: pcscDaemon(t, cfg, nil), bound: time.Duration(cfg.OpTimeout) + 5*time.Second}
	g.name = g.e.names[0]
	g.insert(card)
	return g
}

// insert puts card (nil: the same card again, its state kept) into the
// reader and waits until the daemon has looked at the new insertion.
func (g *pullRig) insert(card sim.Chip) {
	g.t.Helper()
	if card != nil {
		g.chip = &pullChip{Chip: card}
	}
	old := g.insertion
	_, g.remove = g.e.env.Insert(g.t, 0, g.chip)
	r := waitReader(g.t, g.e.c, g.name, func(r sscd.Reader, ok bool) bool {
		return r.CardPresent && r.Insertion != old && r.Kind == sscd.KindSSC
	})
	g.insertion = r.Insertion
}

func (g *pullRig) opts() sscd.CardOptions { return sscd.CardOptions{Insertion: g.insertion} }

// pull runs op with the card pulled at the n-th command that match
// accepts (exec: the command reaches the card first), and returns op's
// answer once the card is out. The answer must come before op_timeout +
// 5 s and be an error: a pulled operation is never a success.
func (g *pullRig) pull(what string, match func([]byte) bool, n int, exec bool, op func(context.Context) error) *sscd.Error {
	g.t.Helper()
	hit, release := g.chip.arm(match, n, exec)
	g.t.Cleanup(release) // a failed test must not leave the card held
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- op(context.Background()) }()
	select {
	case <-hit:
	case err := <-done:
		g.chip.disarm()
		g.t.Fatalf("%s: the operation ended (%v) before the pull point", what, err)
	case <-time.After(20 * time.Second):
		g.t.Fatalf("%s: the operation did not reach the pull point in 20 s", what)
	}
	pulled := make(chan struct{})
	go func() { defer close(pulled); g.remove() }()
	// The vpcd connection closes (context.AfterFunc) before the held
	// command returns.
	time.Sleep(100 * time.Millisecond)
	release()
	g.pulls++
	var err error
	select {
	case err = <-done:
	case <-time.After(g.bound - time.Since(start)):
		g.t.Fatalf("%s: no answer within op_timeout + 5 s", what)
	}
	<-pulled
	if err == nil {
		g.t.Fatalf("%s: the card was pulled and the operation answered success", what)
	}
	ae, ok := err.(*sscd.Error)
	if !ok {
		g.t.Fatalf("%s: %v, want an API error", what, err)
	}
	g.t.Logf("%s: %s after %v: %s", what, ae.Code, time.Since(start).Round(time.Millisecond), ae.Message)
	return ae
}

// wantCodes fails the test unless the answer's code is one of codes.
func wantCodes(t *testing.T, what string, ae *sscd.Error, codes ...sscd.Code) {
	t.Helper()
	if !slices.Contains(codes, ae.Code) {
		t.Errorf("%s: %v (code %s), want %v", what, ae, ae.Code, codes)
	}
}

// TestFaultPullRead: a basic-info read (fresh=true, the daemon's HSM) with
// the card pulled while the card id is read, during the HSM
// authentication and in the protected EF06 reads answers card_removed; the
// card is read after it is put back.
func TestFaultPullRead(t *testing.T) {
	g := newPullRig(t, Config{HSM: "sim", OpTimeout: Duration(faultOpTimeout)}, newCard(t, "gen3", nil))
	points := []struct {
		what  string
		match func([]byte) bool
		n     int
		exec  bool
	}{
		{"the card id (READ RECORD EF05/03)", ins(0xB2), 1, false},
		{"the HSM's INTERNAL AUTHENTICATE", ins(0x88), 1, true},
		{"the first EF06 READ RECORD", func(c []byte) bool { return ins(0xB2)(c) && c[3] == 0x34 }, 1, false},
	}
	for _, p := range points {
		ae := g.pull("read, pulled at "+p.what, p.match, p.n, p.exec, func(ctx context.Context) error {
			_, err := g.e.c.Info(ctx, g.name, sscd.InfoOptions{Fresh: true, CardOptions: g.opts()})
			return err
		})
		wantCodes(t, "read, pulled at "+p.what, ae, sscd.CodeCardRemoved)
		g.insert(nil)
	}
	info, err := g.e.c.Info(ctxT(t), g.name, sscd.InfoOptions{Fresh: true, CardOptions: g.opts()})
	if err != nil || info.Name != "张三" {
		t.Fatalf("read after the pulls: %+v, %v", info, err)
	}
	hostile.Record(t, "card", "card pulled during basic-info reads (card id, HSM authentication, EF06): card_removed before op_timeout + 5 s", map[string]int{"pulls": g.pulls})
}

// TestFaultPullLink: a level-2 link with the card pulled in the bank
// reads, during the PKI PIN VERIFY (the card checked the PIN, its answer
// lost), right after it (before the certificate is read) and during the
// signature answers card_removed, never a bundle; the PKI PIN keeps its
// tries (a wrong PIN afterwards says 2 left) and the card links afterwards.
func TestFaultPullLink(t *testing.T) {
	g := newPullRig(t, Config{HSM: "sim", PBOCCAKeys: "sim", OpTimeout: Duration(faultOpTimeout)}, newCard(t, "gen3", nil))
	afterVerify := false
	points := []struct {
		what  string
		match func([]byte) bool
		n     int
		exec  bool
	}{
		{"the bank application's GET PROCESSING OPTIONS", ins(0xA8), 1, true},
		{"the PKI PIN VERIFY", ins(0x20), 1, true},
		{"the command after the PKI PIN VERIFY", func(c []byte) bool {
			if afterVerify {
				return true
			}
			afterVerify = ins(0x20)(c)
			return false
		}, 1, false},
		{"the signature (PSO)", ins(0x2A), 1, true},
	}
	req := func(pin string, nonce byte) sscd.LinkRequest {
		return sscd.LinkRequest{Level: 2, Origin: testOrigin, Nonce: testNonce(nonce), PIN: pin}
	}
	for i, p := range points {
		ae := g.pull("link, pulled at "+p.what, p.match, p.n, p.exec, func(ctx context.Context) error {
			_, err := g.e.c.Link(ctx, g.name, req("123456", byte(i)), g.opts())
			return err
		})
		wantCodes(t, "link, pulled at "+p.what, ae, sscd.CodeCardRemoved)
		g.insert(nil)
	}
	// The pulls spent no PKI PIN try: the first wrong PIN leaves 2.
	_, err := g.e.c.Link(ctxT(t), g.name, req("654321", 9), g.opts())
	wantCode(t, err, sscd.CodeWrongPIN)
	if ae := err.(*sscd.Error); ae.SW != "63C2" {
		t.Errorf("wrong PKI PIN after the pulls: sw %s, want 63C2 (no try spent by the pulls)", ae.SW)
	}
	b, err := g.e.c.Link(ctxT(t), g.name, req("123456", 10), g.opts())
	if err != nil {
		t.Fatalf("link after the pulls: %v", err)
	}
	if _, err := link.Verify(b, link.Options{Roots: simRoots(t), Origin: testOrigin, Nonce: testNonce(10)}); err != nil {
		t.Fatal(err)
	}
	hostile.Record(t, "card", "card pulled during level-2 links (bank reads, PKI PIN VERIFY, right after it, signature): card_removed, no PIN try spent", map[string]int{"pulls": g.pulls})
}

// TestFaultPullPINChange: a PIN change with the card pulled before CHANGE
// REFERENCE DATA reached it (PIN unchanged) or after the card acted on it
// (PIN changed, answer lost) answers card_removed; the try counter is
// spent at most once — not at all with the right old PIN, exactly once
// with a wrong one — and the card's PIN is the one the card took.
func TestFaultPullPINChange(t *testing.T) {
	g := newPullRig(t, Config{OpTimeout: Duration(faultOpTimeout)}, newCard(t, "gen3", nil))
	tries := func() int {
		t.Helper()
		st, err := g.e.c.PINStatus(ctxT(t), g.name, g.opts())
		if err != nil {
			t.Fatal(err)
		}
		return st.TriesLeft
	}
	change := func(old, new string) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := g.e.c.ChangePIN(ctx, g.name, sscd.ChangePINRequest{Old: old, New: new}, g.opts())
			return err
		}
	}
	steps := []struct {
		what     string
		old, new string
		exec     bool
		tries    int    // after
		pin      string // the card's PIN after
	}{
		{"before CHANGE REFERENCE DATA", "123456", "112233", false, 3, "123456"},
		{"during CHANGE REFERENCE DATA", "123456", "112233", true, 3, "112233"},
		{"during CHANGE REFERENCE DATA with a wrong old PIN", "000000", "445566", true, 2, "112233"},
	}
	for _, s := range steps {
		ae := g.pull("PIN change, pulled "+s.what, ins(0x24), 1, s.exec, change(s.old, s.new))
		wantCodes(t, "PIN change, pulled "+s.what, ae, sscd.CodeCardRemoved)
		g.insert(nil)
		if n := tries(); n != s.tries {
			t.Errorf("pulled %s: %d tries left, want %d", s.what, n, s.tries)
		}
		// The PIN the card holds verifies (and restores the tries).
		if _, err := g.e.c.VerifyPIN(ctxT(t), g.name, sscd.VerifyPINRequest{PIN: s.pin}, g.opts()); err != nil {
			t.Fatalf("pulled %s: PIN %s does not verify: %v", s.what, s.pin, err)
		}
	}
	if _, err := g.e.c.ChangePIN(ctxT(t), g.name, sscd.ChangePINRequest{Old: "112233", New: "123456"}, g.opts()); err != nil {
		t.Fatalf("PIN change after the pulls: %v", err)
	}
	hostile.Record(t, "card", "card pulled before and during the PIN change's CHANGE REFERENCE DATA: card_removed, at most one try spent", map[string]int{"pulls": g.pulls})
}

// writtenRe finds the fields an issuance error says were written.
var writtenRe = regexp.MustCompile(`\((written: ([a-z_, ]+)|nothing written)\)`)

// writtenOf is the list of fields an issuance answer names as written.
func writtenOf(t *testing.T, ae *sscd.Error) []string {
	t.Helper()
	m := writtenRe.FindStringSubmatch(ae.Message)
	if m == nil {
		t.Errorf("answer %q does not say what was written", ae.Message)
		return nil
	}
	if m[2] == "" {
		return []string{}
	}
	return strings.Split(m[2], ", ")
}

// issueFields are the fields issuance writes, in the order of its 13
// UPDATE RECORDs.
var issueFields = []string{"ssn", "name", "name_ext", "sex", "ethnicity", "birth_date",
	"card_id", "category", "version", "institution", "issue_date", "expiry_date", "card_number"}

// TestFaultPullIssue: the write session with the card pulled between the
// steps (the next step answers card_changed, nothing written), after k of
// the 13 UPDATE RECORDs for several k, once as the card wrote one (its
// answer lost), and in the read-back: issue_failed or card_removed naming
// the fields the card confirmed, the journal saying the same, the card
// read back holding those and no other (but the one in flight), and the
// issuance run again completes.
func TestFaultPullIssue(t *testing.T) {
	journal := filepath.Join(t.TempDir(), "issue.journal")
	cfg := Config{HSM: "sim", IssueJournal: journal, OpTimeout: Duration(10 * time.Second), HSMSessionTimeout: Duration(time.Minute)}
	g := newPullRig(t, cfg, newCard(t, "gen3-blank", nil))
	wi, err := sscard.ParseWriteInfo(testWriteInfo)
	if err != nil {
		t.Fatal(err)
	}
	cardID := wi.CardID.String()
	read := func() map[string]string {
		t.Helper()
		info, err := g.e.c.Info(ctxT(t), g.name, sscd.InfoOptions{Fresh: true, AllFields: true, CardOptions: g.opts()})
		if err != nil {
			t.Fatalf("read back: %v", err)
		}
		b, _ := json.Marshal(info)
		var m map[string]any
		json.Unmarshal(b, &m)
		out := map[string]string{}
		for _, f := range issueFields {
			if v, ok := m[f]; ok {
				out[f] = fmt.Sprint(v)
			}
		}
		return out
	}
	journaled := func() *sscard.JournalStatus {
		t.Helper()
		entries, err := sscard.ReadJournal(journal)
		if err != nil {
			t.Fatal(err)
		}
		return sscard.Status(entries, cardID)
	}
	blank := read()
	step1 := func() *sscd.IssueStep1 {
		t.Helper()
		s1, err := g.e.c.IssueStep1(ctxT(t), g.name, sscd.IssueRequest{WriteInfo: testWriteInfo}, g.opts())
		if err != nil {
			t.Fatal(err)
		}
		return s1
	}
	// pullBetween pulls the card outside any call (the session holds the
	// card, nothing runs on it) and puts it back.
	pullBetween := func() {
		g.remove()
		g.pulls++
		g.insert(nil)
	}

	// Between step 1 and step 2, and between step 2 and step 3.
	s1 := step1()
	pullBetween()
	_, err = g.e.c.IssueStep2(ctxT(t), s1.Session, hsmStep2(t, s1.Step1))
	wantCode(t, err, sscd.CodeCardChanged)
	s1 = step1()
	s2, err := g.e.c.IssueStep2(ctxT(t), s1.Session, hsmStep2(t, s1.Step1))
	if err != nil {
		t.Fatal(err)
	}
	pullBetween()
	_, err = g.e.c.IssueStep3(ctxT(t), s1.Session, writeKeyAnswer(t, s2.Request, nil))
	wantCode(t, err, sscd.CodeCardChanged)
	if st := journaled(); st != nil && len(st.Written) > 0 {
		t.Errorf("pulled between the steps: journal says written %v", st.Written)
	}
	if now := read(); !maps.Equal(now, blank) {
		t.Errorf("pulled between the steps: card %v, was %v", now, blank)
	}

	// In step 3: before the (k+1)-th UPDATE RECORD reached the card, or
	// (exec) after the card wrote it but before its answer got back; k = 13:
	// in the read-back.
	type cut struct {
		k    int
		exec bool
	}
	cuts := []cut{{0, false}, {5, false}, {10, true}, {12, false}, {13, false}}
	var snaps []map[string]string
	var said [][]string
	for _, c := range cuts {
		k := c.k
		what := fmt.Sprintf("step 3, pulled after %d UPDATE RECORDs", k)
		if c.exec {
			what = fmt.Sprintf("step 3, pulled as the card wrote UPDATE RECORD %d", k+1)
		}
		s1 := step1()
		s2, err := g.e.c.IssueStep2(ctxT(t), s1.Session, hsmStep2(t, s1.Step1))
		if err != nil {
			t.Fatalf("%s: step 2: %v", what, err)
		}
		match, n := ins(0xDC), k+1
		if k == 13 {
			match, n = ins(0xB2), 1
		}
		ae := g.pull(what, match, n, c.exec, func(ctx context.Context) error {
			_, err := g.e.c.IssueStep3(ctx, s1.Session, writeKeyAnswer(t, s2.Request, nil))
			return err
		})
		wantCodes(t, what, ae, sscd.CodeIssueFailed, sscd.CodeCardRemoved)
		w := writtenOf(t, ae)
		if !slices.Equal(w, issueFields[:k]) {
			t.Errorf("%s: the answer says written %v, want %v", what, w, issueFields[:k])
		}
		st := journaled()
		if st == nil || st.Done || !slices.Equal(st.Written, w) {
			t.Errorf("%s: journal %+v, the answer said written %v", what, st, w)
		}
		g.insert(nil)
		snaps, said = append(snaps, read()), append(said, w)
	}

	// The issuance run again completes, and the card holds every field.
	s1 = step1()
	s2, err = g.e.c.IssueStep2(ctxT(t), s1.Session, hsmStep2(t, s1.Step1))
	if err != nil {
		t.Fatalf("rerun step 2: %v", err)
	}
	rep, err := g.e.c.IssueStep3(ctxT(t), s1.Session, writeKeyAnswer(t, s2.Request, nil))
	if err != nil || len(rep.Written) != 13 {
		t.Fatalf("rerun: %+v, %v", rep, err)
	}
	if st := journaled(); st == nil || !st.Done {
		t.Errorf("journal after the rerun: %+v", st)
	}
	full := read()
	if full["name"] != "王五" || full["ssn"] != "110101198512120035" || full["card_number"] != "B87654321" {
		t.Errorf("card after the rerun: %v", full)
	}
	// The card after each pull: the fields the answer and the journal named
	// hold the issued values, the others what the card held before (the
	// pulls come in increasing k, so earlier runs wrote a prefix of these)
	// — except the field in flight when the card wrote it and was pulled
	// before answering: written, though the answer (which names what the
	// card confirmed, never more) cannot say so.
	for i, snap := range snaps {
		for j, f := range issueFields {
			want := blank[f]
			if slices.Contains(said[i], f) || cuts[i].exec && j == cuts[i].k {
				want = full[f]
			}
			if snap[f] != want {
				t.Errorf("pull %d (written %v): card field %s is %q, want %q", i, said[i], f, snap[f], want)
			}
		}
	}
	hostile.Record(t, "card", "card pulled between the write session's steps and after k of the 13 UPDATE RECORDs: typed answer naming the fields written, journal and card agree, rerun completes", map[string]int{"pulls": g.pulls})
}

// TestFaultPullPKI: the PKI personalisation with the card pulled at its
// admin PIN VERIFY, after the card generated the key pair, before the
// encryption certificate is written and after the card imported the
// enveloped key pair answers issue_failed or card_removed, the journal
// reports the step, and a resume completes.
func TestFaultPullPKI(t *testing.T) {
	journal := filepath.Join(t.TempDir(), "issue.journal")
	cfg := Config{HSM: "sim", PKICA: "sim", IssueJournal: journal, OpTimeout: Duration(10 * time.Second)}
	g := newPullRig(t, cfg, newCard(t, "gen3-blank", nil))
	wi, err := sscard.ParseWriteInfo(testWriteInfo)
	if err != nil {
		t.Fatal(err)
	}
	admin, master := simkeys.PKIAdminPIN(wi.CardID), simkeys.PKIMasterKey(wi.CardID)
	req := sscd.PKIPersonaliseRequest{AdminPIN: admin[:], MasterKey: master[:]}
	points := []struct {
		what  string
		match func([]byte) bool
		n     int
		exec  bool
		step  string
	}{
		{"the admin PIN VERIFY", ins(0x20), 1, false, sscard.StepPKIAdmin},
		{"the key generation", func(c []byte) bool { return c[0] == 0x80 && ins(0x40)(c) }, 1, true, sscard.StepPKIKeygen},
		{"the encryption certificate's first UPDATE BINARY", ins(0xD6), 3, false, sscard.StepPKIEncCert},
		{"the enveloped key import", func(c []byte) bool { return c[0] == 0x80 && ins(0x4A)(c) }, 1, true, sscard.StepPKIEncKey},
	}
	for i, p := range points {
		what := "PKI personalisation, pulled at " + p.what
		if i > 0 {
			g.remove()
			g.insert(newCard(t, "gen3-blank", nil))
		}
		if _, err := g.e.c.Issue(ctxT(t), g.name, sscd.IssueRequest{WriteInfo: testWriteInfo}, g.opts()); err != nil {
			t.Fatal(err)
		}
		ae := g.pull(what, p.match, p.n, p.exec, func(ctx context.Context) error {
			_, err := g.e.c.PersonalisePKI(ctx, g.name, req, g.opts())
			return err
		})
		wantCodes(t, what, ae, sscd.CodeIssueFailed, sscd.CodeCardRemoved)
		entries, err := sscard.ReadJournal(journal)
		if err != nil {
			t.Fatal(err)
		}
		st := sscard.PKIStatus(entries, wi.CardID.String())
		if st == nil || st.Done || st.FailedStep != p.step {
			t.Errorf("%s: journal %+v, want failed at %s", what, st, p.step)
		}
		g.insert(nil)
		resumed := req
		resumed.Resume = true
		rep, err := g.e.c.PersonalisePKI(ctxT(t), g.name, resumed, g.opts())
		if err != nil {
			t.Fatalf("%s: resume: %v", what, err)
		}
		if rep.PublicKey == "" || rep.SigningCertSerial == "" {
			t.Errorf("%s: resume report %+v", what, rep)
		}
		entries, _ = sscard.ReadJournal(journal)
		if st := sscard.PKIStatus(entries, wi.CardID.String()); st == nil || !st.Done {
			t.Errorf("%s: journal after the resume %+v", what, st)
		}
		// The card signs with what the resume left on it.
		nonce := testNonce(byte(i))
		b, err := g.e.c.Link(ctxT(t), g.name, sscd.LinkRequest{Level: 1, Origin: testOrigin, Nonce: nonce, PIN: "123456"}, g.opts())
		if err != nil {
			t.Fatalf("%s: link after the resume: %v", what, err)
		}
		if _, err := link.Verify(b, link.Options{Roots: simRoots(t), Origin: testOrigin, Nonce: nonce}); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	hostile.Record(t, "card", "card pulled during the PKI personalisation (admin PIN, key generation, certificate write, key import): typed answer, journal names the step, resume completes", map[string]int{"pulls": g.pulls})
}
