package sscard

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/internal/hostile"
	"github.com/sscard/ssc/internal/simtest"
	"github.com/sscard/ssc/sim"
)

// issueWriteInfo is a new holder for the gen3 software card (its card id).
const issueWriteInfo = "411600D156000005005A3C9E17B2D40F|411600000000000000000001|20261201|20361201|B87654321|110101198512120035|王五||1|01|19851212|"

// faultChip fails or alters commands of a card: failAt makes the n-th
// UPDATE RECORD (1-based) answer 6581 (memory failure); alterAt changes the
// last value byte of the n-th UPDATE RECORD before the card stores it.
type faultChip struct {
	sim.Chip
	updates atomic.Int32
	failAt  int32
	alterAt int32
}

func (c *faultChip) Transmit(cmd []byte) []byte {
	if len(cmd) > 5 && cmd[1] == 0xDC {
		n := c.updates.Add(1)
		if n == c.failAt {
			return []byte{0x65, 0x81}
		}
		if n == c.alterAt {
			cmd = slices.Clone(cmd)
			cmd[len(cmd)-1] ^= 0x01
		}
	}
	return c.Chip.Transmit(cmd)
}

// issueSession opens chip in an in-process reader.
func issueSession(t *testing.T, chip sim.Chip) *Session {
	t.Helper()
	s, err := Open(context.Background(), simtest.Connect(t, chip), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func simIssue() IssueOptions { return IssueOptions{HSM: simHSM{}, WriteKey: simHSM{}} }

func TestIssueBlankCard(t *testing.T) {
	ctx := context.Background()
	w, err := ParseWriteInfo(issueWriteInfo)
	if err != nil {
		t.Fatal(err)
	}
	s := issueSession(t, NewTestChip(t, "gen3-blank", sim.Contact))
	j, jpath := tempJournal(t)
	opts := simIssue()
	opts.Journal = j
	rep, err := Issue(ctx, s, w, opts)
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	if rep.Rewritten || len(rep.Written) != 13 {
		t.Errorf("report %+v", rep)
	}
	info, err := ReadWithHSM(ctx, s, simHSM{}, ReadOptions{Fields: FieldsAll})
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "王五" || info.SSN != "110101198512120035" || info.CardNumber != "B87654321" || info.ExpiryDate != "20361201" {
		t.Errorf("read back %+v", info)
	}
	entries, err := ReadJournal(jpath)
	if err != nil {
		t.Fatal(err)
	}
	st := Status(entries, rep.CardID)
	if st == nil || !st.Done || len(st.Written) != 13 {
		t.Errorf("journal status %+v", st)
	}
	for _, e := range entries {
		if e.Field == "name" && e.Digest == "" {
			t.Errorf("write entry without digest: %+v", e)
		}
	}
	// The same issuance again: harmless, reported as a rewrite.
	rep, err = Issue(ctx, s, w, simIssue())
	if err != nil || !rep.Rewritten {
		t.Fatalf("again: %+v, %v", rep, err)
	}
}

func TestIssueRefusals(t *testing.T) {
	ctx := context.Background()
	w, err := ParseWriteInfo(issueWriteInfo)
	if err != nil {
		t.Fatal(err)
	}
	// A personalised card of another holder: refused, then forced.
	s := issueSession(t, NewTestChip(t, "gen3", sim.Contact))
	_, err = Issue(ctx, s, w, simIssue())
	var ie *IssueError
	if !errors.Is(err, ErrAlreadyIssued) || !errors.As(err, &ie) || ie.Step != StepCheck || len(ie.Written) != 0 {
		t.Fatalf("issued card: %v", err)
	}
	forced := simIssue()
	forced.Force = true
	if _, err := Issue(ctx, s, w, forced); err != nil {
		t.Fatalf("forced: %v", err)
	}

	// Another card: nothing written.
	other := *w
	other.CardID = slices.Clone(w.CardID)
	other.CardID[15] ^= 1
	s = issueSession(t, NewTestChip(t, "gen3-blank", sim.Contact))
	if _, err := Issue(ctx, s, &other, simIssue()); !errors.Is(err, ErrWrongCard) {
		t.Fatalf("wrong card: %v", err)
	}

	// A key system with the wrong write key: refused by the card at the
	// authentication, nothing written.
	bad := simIssue()
	bad.WriteKey = badWriteKey{}
	_, err = Issue(ctx, s, w, bad)
	var ae *apdu.AuthError
	if !errors.As(err, &ie) || ie.Step != StepAuth || len(ie.Written) != 0 || !errors.As(err, &ae) {
		t.Fatalf("wrong key: %v", err)
	}
}

// badWriteKey is a key system with the wrong write key.
type badWriteKey struct{}

func (badWriteKey) AuthorizeWrite(ctx context.Context, req WriteKeyRequest) (WriteKeyAnswer, error) {
	a, err := simHSM{}.AuthorizeWrite(ctx, req)
	a.Result[0] ^= 0xFF
	return a, err
}

// TestIssueInterrupted fails the card at every UPDATE RECORD in turn: the
// error says exactly what was written, the journal agrees, and the same
// issuance run again completes the card.
func TestIssueInterrupted(t *testing.T) {
	ctx := context.Background()
	w, err := ParseWriteInfo(issueWriteInfo)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := w.Records()
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= len(recs); n++ {
		chip := &faultChip{Chip: NewTestChip(t, "gen3-blank", sim.Contact), failAt: int32(n)}
		s := issueSession(t, chip)
		j, jpath := tempJournal(t)
		opts := simIssue()
		opts.Journal = j
		_, err = Issue(ctx, s, w, opts)
		j.Close()
		var ie *IssueError
		if !errors.As(err, &ie) || ie.Step != StepWrite || len(ie.Written) != n-1 {
			t.Fatalf("fail at %d: %v", n, err)
		}
		for i, f := range ie.Written {
			if f != recs[i].Field {
				t.Fatalf("fail at %d: written %v", n, ie.Written)
			}
		}
		entries, err := ReadJournal(jpath)
		if err != nil {
			t.Fatal(err)
		}
		if st := Status(entries, "411600d156000005005a3c9e17b2d40f"); st == nil || st.Done || st.Error == "" || !slices.Equal(st.Written, ie.Written) {
			t.Fatalf("fail at %d: journal %+v", n, st)
		}
		if _, err := Issue(ctx, s, w, simIssue()); err != nil {
			t.Fatalf("fail at %d, run again: %v", n, err)
		}
	}
	hostile.Record(t, "card", "issuance write cut after each UPDATE RECORD (software card), report and journal exact, rerun completes", map[string]int{"cuts": len(recs)})
}

func TestIssueVerifyMismatch(t *testing.T) {
	w, err := ParseWriteInfo(issueWriteInfo)
	if err != nil {
		t.Fatal(err)
	}
	chip := &faultChip{Chip: NewTestChip(t, "gen3-blank", sim.Contact), alterAt: 1}
	_, err = Issue(context.Background(), issueSession(t, chip), w, simIssue())
	var ie *IssueError
	if !errors.Is(err, ErrWriteMismatch) || !errors.As(err, &ie) || ie.Step != StepVerify {
		t.Fatalf("altered record: %v", err)
	}
}
