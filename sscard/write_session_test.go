package sscard

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sim"
)

// writeChip is a software card that counts resets (a write session never
// resets the card) and calls onUpdate after each UPDATE RECORD it answered
// (n is 1-based), e.g. to pull the card out mid-write.
type writeChip struct {
	sim.Chip
	resets   atomic.Int32
	updates  atomic.Int32
	onUpdate func(n int32)
}

func (c *writeChip) Reset()   { c.resets.Add(1); c.Chip.Reset() }
func (c *writeChip) PowerOn() { c.resets.Add(1); c.Chip.PowerOn() }

func (c *writeChip) Transmit(cmd []byte) []byte {
	resp := c.Chip.Transmit(cmd)
	if len(cmd) > 5 && cmd[1] == 0xDC && c.onUpdate != nil {
		c.onUpdate(c.updates.Add(1))
	}
	return resp
}

// writeRig is a software card in an in-process reader with a recording
// session; the card can be pulled out and put back.
type writeRig struct {
	b    *reader.ChipBackend
	chip *writeChip
	rec  *recorder
	card reader.Card
	s    *Session
}

func newWriteRig(t *testing.T, profile string) *writeRig {
	t.Helper()
	r := &writeRig{b: reader.NewChipBackend("r"), chip: &writeChip{Chip: NewTestChip(t, profile, sim.Contact)}}
	t.Cleanup(func() { r.b.Close() })
	if err := r.b.Insert("r", r.chip); err != nil {
		t.Fatal(err)
	}
	r.open(t)
	return r
}

// open connects to the card in the reader and opens a new session.
func (r *writeRig) open(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	card, err := r.b.Connect(ctx, "r", reader.ConnectOptions{Mode: reader.Exclusive})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { card.Close() })
	r.card = card
	s, err := Open(ctx, card, Options{WrapTransport: func(in apdu.Transport) apdu.Transport {
		r.rec = &recorder{inner: in}
		return r.rec
	}})
	if err != nil {
		t.Fatal(err)
	}
	r.s = s
}

// reinsert puts the pulled card back and opens a fresh session.
func (r *writeRig) reinsert(t *testing.T) {
	t.Helper()
	r.chip.onUpdate = nil
	r.card.Close()
	if err := r.b.Insert("r", r.chip); err != nil {
		t.Fatal(err)
	}
	r.open(t)
}

func testWriteInfo(t *testing.T) *WriteInfo {
	t.Helper()
	w, err := ParseWriteInfo(issueWriteInfo)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// sentSince reports whether a command starting with prefix (hex) was sent
// from command index from on.
func (r *recorder) sentSince(from int, prefix string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.cmds[from:] {
		if strings.HasPrefix(fmt.Sprintf("%X", c), prefix) {
			return true
		}
	}
	return false
}

// checkIssued reads the card back with the HSM: it holds w.
func checkIssued(t *testing.T, s *Session, w *WriteInfo) {
	t.Helper()
	info, err := ReadWithHSM(context.Background(), s, simHSM{}, ReadOptions{Fields: FieldsAll})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Matches(info); err != nil {
		t.Fatal(err)
	}
}

func TestWriteSessionBlankCard(t *testing.T) {
	ctx := context.Background()
	w := testWriteInfo(t)
	r := newWriteRig(t, "gen3-blank")
	resets := r.chip.resets.Load()
	j, jpath := tempJournal(t)

	ws, err := r.s.BeginWrite(ctx, w, WriteOptions{Journal: j})
	if err != nil {
		t.Fatal(err)
	}
	st := ws.Step1()
	if st.Region != "411600" || st.Algorithm != AlgSM4 || st.CardID.String() != "411600D156000005005A3C9E17B2D40F" ||
		!slices.Equal(st.ATRHistorical, r.s.ATRHistorical()) {
		t.Errorf("step 1 %v", st)
	}
	if p, err := ParseStep1(st.String()); err != nil || p.String() != st.String() || strings.Count(st.String(), "|") != 8 {
		t.Errorf("step 1 string %q: %v", st.String(), err)
	}
	if ws.Before() != nil {
		t.Error("Before before step 2")
	}
	ans, err := simHSM{}.Authenticate(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	req, err := ws.Authorize(ctx, ans)
	if err != nil {
		t.Fatal(err)
	}
	rs := req.String()
	if p, err := ParseWriteKeyRequest(rs); err != nil || p.String() != rs || strings.Count(rs, "|") != 6 ||
		!strings.HasPrefix(rs, "411600|"+st.ATRHistorical.String()+"|03|411600D156000005005A3C9E17B2D40F|") {
		t.Errorf("write-key request %q: %v", rs, err)
	}
	if slices.Equal(req.Factor, req.Orig) || len(req.Factor) != 8 || len(req.Orig) != 8 {
		t.Errorf("KEYFAC %v ODATA %v", req.Factor, req.Orig)
	}
	before := ws.Before()
	if before == nil || before.SSN != "" || before.CardNumber != "" || before.Version != "3.00" {
		t.Errorf("before %+v", before)
	}
	wans, err := simHSM{}.AuthorizeWrite(ctx, *req)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := ParseWriteKeyAnswer(wans.String()); err != nil || p != wans || !strings.HasSuffix(wans.String(), req.Orig.String()+"|") {
		t.Errorf("answer %q: %v", wans.String(), err)
	}
	n := r.rec.count()
	rep, err := ws.Write(ctx, wans)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rewritten || len(rep.Written) != 13 || rep.CardID != "411600D156000005005A3C9E17B2D40F" {
		t.Errorf("report %+v", rep)
	}
	// The exact external authentication of the contract, before any write.
	r.rec.mu.Lock()
	first := fmt.Sprintf("%X", r.rec.cmds[n])
	r.rec.mu.Unlock()
	if want := fmt.Sprintf("0082000410%X", wans.Result[:]); first != want {
		t.Errorf("first command of step 3 %s, want %s", first, want)
	}
	if got := r.chip.resets.Load(); got != resets {
		t.Errorf("the card was reset %d times during the session", got-resets)
	}
	if _, err := ws.Write(ctx, wans); !errors.Is(err, ErrRequestDone) {
		t.Errorf("second Write: %v", err)
	}
	ws.Abort() // harmless after the end
	checkIssued(t, r.s, w)
	entries, err := ReadJournal(jpath)
	if err != nil {
		t.Fatal(err)
	}
	if st := Status(entries, rep.CardID); st == nil || !st.Done || !slices.Equal(st.Written, rep.Written) {
		t.Errorf("journal %+v", st)
	}
	// One call, the same holder again: a rewrite.
	rep, err = Issue(ctx, r.s, w, simIssue())
	if err != nil || !rep.Rewritten {
		t.Fatalf("again: %+v %v", rep, err)
	}
}

// TestWriteSessionRefusals: bad answers and refusals end the session with
// *IssueError at the right step, nothing written, the card never reset and
// still issuable by a new session.
func TestWriteSessionRefusals(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		step2   func(*Step2Input)
		step3   func(*WriteKeyAnswer)
		step    string
		is      error
		as      any
		notSent []string // command prefixes the failing step must not send
	}{
		{name: "card not genuine", step2: func(a *Step2Input) { a.Result1[0] ^= 1 }, step: StepCheck, is: ErrCardNotGenuine,
			notSent: []string{"0082", "00B2"}},
		{name: "answer of another request (O1)", step2: func(a *Step2Input) { a.Result1[15] ^= 1 }, step: StepCheck, is: ErrHSMAnswer,
			notSent: []string{"0088", "0082"}},
		{name: "answer of another request (O2)", step2: func(a *Step2Input) { a.Result2[15] ^= 1 }, step: StepCheck, is: ErrHSMAnswer,
			notSent: []string{"0088", "0082"}},
		{name: "wrong read key", step2: func(a *Step2Input) { a.Result2[0] ^= 1 }, step: StepCheck, as: new(*apdu.AuthError),
			notSent: []string{"00B2", "0084"}},
		{name: "wrong write cryptogram", step3: func(a *WriteKeyAnswer) { a.Result[0] ^= 1 }, step: StepAuth, as: new(*apdu.AuthError),
			notSent: []string{"00DC", "00B2"}},
		{name: "ODATA mismatch", step3: func(a *WriteKeyAnswer) { a.Result[15] ^= 1 }, step: StepAuth, is: ErrHSMAnswer,
			notSent: []string{"0082", "00DC"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := testWriteInfo(t)
			r := newWriteRig(t, "gen3-blank")
			resets := r.chip.resets.Load()
			ws, err := r.s.BeginWrite(ctx, w, WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ans, _ := simHSM{}.Authenticate(ctx, ws.Step1())
			from := r.rec.count()
			if tt.step2 != nil {
				tt.step2(&ans)
			}
			req, err := ws.Authorize(ctx, ans)
			if tt.step3 != nil {
				if err != nil {
					t.Fatal(err)
				}
				wans, _ := simHSM{}.AuthorizeWrite(ctx, *req)
				tt.step3(&wans)
				from = r.rec.count()
				_, err = ws.Write(ctx, wans)
			} else if req != nil {
				t.Error("request returned with an error")
			}
			var ie *IssueError
			if !errors.As(err, &ie) || ie.Step != tt.step || len(ie.Written) != 0 {
				t.Fatalf("err = %v, want *IssueError at %s, nothing written", err, tt.step)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want %v", err, tt.is)
			}
			if tt.as != nil && !errors.As(err, tt.as) {
				t.Fatalf("err = %v, want %T", err, tt.as)
			}
			for _, p := range tt.notSent {
				if r.rec.sentSince(from, p) {
					t.Errorf("%s sent after the failure", p)
				}
			}
			if _, err := ws.Write(ctx, WriteKeyAnswer{}); !errors.Is(err, ErrRequestDone) {
				t.Errorf("Write after the failure: %v", err)
			}
			if got := r.chip.resets.Load(); got != resets {
				t.Errorf("card reset %d times", got-resets)
			}
			if _, err := Issue(ctx, r.s, w, simIssue()); err != nil {
				t.Fatalf("issue afterwards: %v", err)
			}
			checkIssued(t, r.s, w)
		})
	}
}

func TestWriteSessionAlreadyIssued(t *testing.T) {
	ctx := context.Background()
	w := testWriteInfo(t)
	for _, force := range []bool{false, true} {
		t.Run(fmt.Sprint("force=", force), func(t *testing.T) {
			r := newWriteRig(t, "gen3")
			ws, err := r.s.BeginWrite(ctx, w, WriteOptions{Force: force})
			if err != nil {
				t.Fatal(err)
			}
			ans, _ := simHSM{}.Authenticate(ctx, ws.Step1())
			req, err := ws.Authorize(ctx, ans)
			if b := ws.Before(); b == nil || b.SSN != "411602199001011232" || b.Name != "张三" {
				t.Errorf("before: %+v", b)
			}
			if !force {
				var ie *IssueError
				if !errors.Is(err, ErrAlreadyIssued) || !errors.As(err, &ie) || ie.Step != StepCheck || r.rec.sent("00DC") {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wans, _ := simHSM{}.AuthorizeWrite(ctx, *req)
			if rep, err := ws.Write(ctx, wans); err != nil || rep.Rewritten {
				t.Fatalf("forced: %+v %v", rep, err)
			}
			checkIssued(t, r.s, w)
		})
	}
}

func TestWriteSessionCheck(t *testing.T) {
	ctx := context.Background()
	r := newWriteRig(t, "gen3-blank")
	// Invalid write info: nothing reaches the card.
	bad := testWriteInfo(t)
	bad.SSN = "110101198512120036"
	n := r.rec.count()
	if _, err := r.s.BeginWrite(ctx, bad, WriteOptions{}); !errors.Is(err, ErrWriteInfo) || r.rec.count() != n {
		t.Fatalf("invalid: %v, %d commands", err, r.rec.count()-n)
	}
	// Another card: refused before any challenge.
	other := testWriteInfo(t)
	other.CardID[15] ^= 1
	_, err := r.s.BeginWrite(ctx, other, WriteOptions{})
	var ie *IssueError
	if !errors.Is(err, ErrWrongCard) || !errors.As(err, &ie) || ie.Step != StepCheck || r.rec.sentSince(n, "0084") {
		t.Fatalf("wrong card: %v", err)
	}
	// A step out of order ends the session.
	ws, err := r.s.BeginWrite(ctx, testWriteInfo(t), WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ws.Write(ctx, WriteKeyAnswer{}); !errors.As(err, &ie) || r.rec.sent("00DC") {
		t.Fatalf("Write before Authorize: %v", err)
	}
	if _, err := ws.Authorize(ctx, Step2Input{}); !errors.Is(err, ErrRequestDone) {
		t.Fatalf("Authorize after the end: %v", err)
	}
}

func TestWriteSessionBusy(t *testing.T) {
	ctx := context.Background()
	w := testWriteInfo(t)
	r := newWriteRig(t, "gen3-blank")
	ws, err := r.s.BeginWrite(ctx, w, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	busy := map[string]func() error{
		"Read":       func() error { _, err := r.s.Read(ctx, ReadOptions{Fields: FieldsFree}); return err },
		"BeginHSM":   func() error { _, err := r.s.BeginHSM(ctx, ReadOptions{}); return err },
		"BeginWrite": func() error { _, err := r.s.BeginWrite(ctx, w, WriteOptions{}); return err },
		"Issue":      func() error { _, err := Issue(ctx, r.s, w, simIssue()); return err },
		"VerifyPIN":  func() error { return r.s.VerifyPIN(ctx, "123456", PINOptions{}) },
	}
	for step := 1; step <= 2; step++ {
		for name, f := range busy {
			if err := f(); !errors.Is(err, ErrBusy) {
				t.Errorf("step %d: %s: %v, want ErrBusy", step, name, err)
			}
		}
		if step == 1 {
			ans, _ := simHSM{}.Authenticate(ctx, ws.Step1())
			if _, err := ws.Authorize(ctx, ans); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Close aborts the session: the card is free again.
	r.s.Close()
	if _, err := ws.Write(ctx, WriteKeyAnswer{}); !errors.Is(err, ErrRequestDone) {
		t.Errorf("Write after Close: %v", err)
	}
	if _, err := Issue(ctx, r.s, w, simIssue()); err != nil {
		t.Fatal(err)
	}
}

// TestWriteSessionAbort aborts after each step: the card stays issuable,
// is never reset, and the journal says the issuance did not finish.
func TestWriteSessionAbort(t *testing.T) {
	ctx := context.Background()
	w := testWriteInfo(t)
	for _, after := range []int{1, 2} {
		t.Run(fmt.Sprint("after step ", after), func(t *testing.T) {
			r := newWriteRig(t, "gen3-blank")
			resets := r.chip.resets.Load()
			j, jpath := tempJournal(t)
			ws, err := r.s.BeginWrite(ctx, w, WriteOptions{Journal: j})
			if err != nil {
				t.Fatal(err)
			}
			if after == 2 {
				ans, _ := simHSM{}.Authenticate(ctx, ws.Step1())
				if _, err := ws.Authorize(ctx, ans); err != nil {
					t.Fatal(err)
				}
			}
			ws.Abort()
			ws.Abort()
			if _, err := ws.Authorize(ctx, Step2Input{}); !errors.Is(err, ErrRequestDone) {
				t.Errorf("Authorize after Abort: %v", err)
			}
			if _, err := ws.Write(ctx, WriteKeyAnswer{}); !errors.Is(err, ErrRequestDone) {
				t.Errorf("Write after Abort: %v", err)
			}
			if r.rec.sent("00DC") || r.chip.resets.Load() != resets {
				t.Error("written or reset")
			}
			entries, err := ReadJournal(jpath)
			if err != nil {
				t.Fatal(err)
			}
			if st := Status(entries, w.CardID.String()); st == nil || st.Done || !strings.Contains(st.Error, "aborted") {
				t.Errorf("journal %+v", st)
			}
			if _, err := Issue(ctx, r.s, w, simIssue()); err != nil {
				t.Fatal(err)
			}
			checkIssued(t, r.s, w)
		})
	}
}

// TestWriteSessionCardRemoved pulls the card out between steps 2 and 3 and
// after each UPDATE RECORD: the error wraps reader.ErrCardRemoved and
// IssueError.Written lists exactly what the card holds; put back, the card
// is issued fully by a fresh session.
func TestWriteSessionCardRemoved(t *testing.T) {
	ctx := context.Background()
	w := testWriteInfo(t)
	recs, err := w.Records()
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n <= len(recs); n++ { // 0: between steps 2 and 3
		t.Run(fmt.Sprint("after write ", n), func(t *testing.T) {
			r := newWriteRig(t, "gen3-blank")
			ws, err := r.s.BeginWrite(ctx, w, WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ans, _ := simHSM{}.Authenticate(ctx, ws.Step1())
			req, err := ws.Authorize(ctx, ans)
			if err != nil {
				t.Fatal(err)
			}
			wans, _ := simHSM{}.AuthorizeWrite(ctx, *req)
			if n == 0 {
				if err := r.b.Remove("r"); err != nil {
					t.Fatal(err)
				}
			} else {
				r.chip.onUpdate = func(k int32) {
					if k == int32(n) {
						r.b.Remove("r")
					}
				}
			}
			_, err = ws.Write(ctx, wans)
			var ie *IssueError
			if !errors.Is(err, reader.ErrCardRemoved) || !errors.As(err, &ie) {
				t.Fatalf("err = %v, want ErrCardRemoved", err)
			}
			wantStep := map[bool]string{true: StepWrite, false: StepVerify}[n < len(recs)]
			if n == 0 {
				wantStep = StepAuth
			}
			if ie.Step != wantStep || len(ie.Written) != n {
				t.Fatalf("step %s written %v, want %s and %d fields", ie.Step, ie.Written, wantStep, n)
			}
			for i, f := range ie.Written {
				if f != recs[i].Field {
					t.Fatalf("written %v", ie.Written)
				}
			}
			r.reinsert(t)
			if _, err := Issue(ctx, r.s, w, simIssue()); err != nil {
				t.Fatalf("fresh session: %v", err)
			}
			checkIssued(t, r.s, w)
		})
	}
}

// TestIssueKeySystemFails: a key system failing between the steps ends the
// session with ErrHSM at the step it belongs to.
func TestIssueKeySystemFails(t *testing.T) {
	ctx := context.Background()
	w := testWriteInfo(t)
	r := newWriteRig(t, "gen3-blank")
	down := errors.New("key system down")
	_, err := Issue(ctx, r.s, w, IssueOptions{HSM: failHSM{down}, WriteKey: simHSM{}})
	var ie *IssueError
	if !errors.Is(err, ErrHSM) || !errors.Is(err, down) || !errors.As(err, &ie) || ie.Step != StepCheck {
		t.Fatalf("read key: %v", err)
	}
	_, err = Issue(ctx, r.s, w, IssueOptions{HSM: simHSM{}, WriteKey: failHSM{down}})
	if !errors.Is(err, ErrHSM) || !errors.As(err, &ie) || ie.Step != StepAuth || r.rec.sent("00DC") {
		t.Fatalf("write key: %v", err)
	}
	if _, err := Issue(ctx, r.s, w, IssueOptions{HSM: simHSM{}}); !errors.Is(err, ErrHSM) {
		t.Fatalf("no write key: %v", err)
	}
	if _, err := Issue(ctx, r.s, w, simIssue()); err != nil {
		t.Fatal(err)
	}
}

type failHSM struct{ err error }

func (f failHSM) Authenticate(context.Context, Step1) (Step2Input, error) { return Step2Input{}, f.err }
func (f failHSM) AuthorizeWrite(context.Context, WriteKeyRequest) (WriteKeyAnswer, error) {
	return WriteKeyAnswer{}, f.err
}

func TestWriteKeyStrings(t *testing.T) {
	const req = "411600|008C544CB386844116005A3C9E|03|411600D156000005005A3C9E17B2D40F|0102030405060708|1112131415161718|"
	r, err := ParseWriteKeyRequest(req)
	if err != nil || r.String() != req || r.Factor.String() != "0102030405060708" || r.Orig.String() != "1112131415161718" {
		t.Fatalf("%+v %v", r, err)
	}
	for _, bad := range []struct{ s, field string }{
		{"41160|00|03|411600D156000005005A3C9E17B2D40F|0102030405060708|1112131415161718|", "region"},
		{"411600|0|03|411600D156000005005A3C9E17B2D40F|0102030405060708|1112131415161718|", "atr_historical"},
		{"411600|00|3|411600D156000005005A3C9E17B2D40F|0102030405060708|1112131415161718|", "algorithm"},
		{"411600|00|03|411600D156000005005A3C9E17B2D4|0102030405060708|1112131415161718|", "card_id"},
		{"411600|00|03|411600D156000005005A3C9E17B2D40F|01020304050607|1112131415161718|", "factor"},
		{"411600|00|03|411600D156000005005A3C9E17B2D40F|0102030405060708|111213141516171G|", "orig"},
		{"411600|00|03|411600D156000005005A3C9E17B2D40F|0102030405060708|1112131415161718|00|", ""},
		{req + "|", ""},
	} {
		var fe *FormatError
		if _, err := ParseWriteKeyRequest(bad.s); !errors.As(err, &fe) || fe.Field != bad.field || !errors.Is(err, ErrMinistryFormat) {
			t.Errorf("%q: %v, want field %q", bad.s, err, bad.field)
		}
	}
	a, err := ParseWriteKeyAnswer("00112233445566778899aabbccddeeff|\r\n")
	if err != nil || a.String() != "00112233445566778899AABBCCDDEEFF|" {
		t.Fatalf("%v %v", a, err)
	}
	for _, bad := range []string{"", "|", "00112233445566778899AABBCCDDEEFF", "00112233445566778899AABBCCDDEEFF|00|",
		"00112233445566778899AABBCCDDEEF|", "00112233445566778899AABBCCDDEEFG|"} {
		if _, err := ParseWriteKeyAnswer(bad); !errors.Is(err, ErrMinistryFormat) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func FuzzParseWriteKeyRequest(f *testing.F) {
	f.Add("411600|008C544CB386844116005A3C9E|03|411600D156000005005A3C9E17B2D40F|0102030405060708|1112131415161718|")
	f.Add("331100||03|331100D156000005500509728DB46EF9|456FE02E253F817D|A39FC0BF44CAEA80|")
	f.Add("||||||")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseWriteKeyRequest(s)
		if err != nil {
			if !errors.Is(err, ErrMinistryFormat) {
				t.Fatalf("%q: %v is not a FormatError", s, err)
			}
			return
		}
		again, err := ParseWriteKeyRequest(r.String())
		if err != nil || again.String() != r.String() {
			t.Fatalf("%q: round trip %q: %v", s, r.String(), err)
		}
		for i := range len(s) {
			if _, err := ParseWriteKeyRequest(s[:i]); err == nil {
				t.Fatalf("truncated %q accepted", s[:i])
			}
		}
	})
}

func FuzzParseWriteKeyAnswer(f *testing.F) {
	f.Add("00112233445566778899AABBCCDDEEFF|")
	f.Add("00112233445566778899aabbccddeeff|\r\n")
	f.Add("|")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseWriteKeyAnswer(s)
		if err != nil {
			if !errors.Is(err, ErrMinistryFormat) {
				t.Fatalf("%q: %v is not a FormatError", s, err)
			}
			return
		}
		if again, err := ParseWriteKeyAnswer(a.String()); err != nil || again != a {
			t.Fatalf("%q: round trip: %v", s, err)
		}
		body := strings.TrimRight(s, "\r\n")
		for i := range len(body) {
			if _, err := ParseWriteKeyAnswer(body[:i]); err == nil {
				t.Fatalf("truncated %q accepted", body[:i])
			}
		}
	})
}
