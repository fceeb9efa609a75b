package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/keysystem"
	"github.com/sscard/ssc/sscd"
)

// writeKeyAnswer is the write-key system's side, computed by the client
// with the SIM HSM; mutate, when set, spoils the answer.
func writeKeyAnswer(t testing.TB, request string, mutate func(*sscard.WriteKeyAnswer)) string {
	t.Helper()
	req, err := sscard.ParseWriteKeyRequest(request)
	if err != nil {
		t.Fatal(err)
	}
	a, err := keysystem.SIM{}.AuthorizeWrite(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(&a)
	}
	return a.String()
}

// issueSteps runs steps 1 and 2 on reader name.
func issueSteps(t testing.TB, c *sscd.Client, name string, req sscd.IssueRequest) (*sscd.IssueStep1, *sscd.IssueStep2) {
	t.Helper()
	ctx := ctxT(t)
	s1, err := c.IssueStep1(ctx, name, req, sscd.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := c.IssueStep2(ctx, s1.Session, hsmStep2(t, s1.Step1))
	if err != nil {
		t.Fatal(err)
	}
	return s1, s2
}

// TestIssueSession is the three-call write session with the key systems on
// the client side (the SIM HSM computes the answers), no key system needed
// in the daemon.
func TestIssueSession(t *testing.T) {
	ctx := ctxT(t)
	journal := filepath.Join(t.TempDir(), "issue.journal")
	chip := &countingChip{Chip: newCard(t, "gen3-blank", nil)}
	_, c, _ := testDaemon(t, Config{IssueJournal: journal, TerminalNo: "T0001", DeviceNo: "D0001"},
		simBackend(t, chip, newCard(t, "gen3", nil)))
	r0 := waitReader(t, c, "r0", func(r sscd.Reader, _ bool) bool { return r.Kind == sscd.KindSSC })
	resets := chip.resets.Load()

	s1, err := c.IssueStep1(ctx, "r0", sscd.IssueRequest{WriteInfo: testWriteInfo}, sscd.CardOptions{Insertion: r0.Insertion})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sscard.ParseStep1(s1.Step1); err != nil || s1.Session == "" || s1.CardID != "411600D156000005005A3C9E17B2D40F" ||
		!s1.Expires.After(time.Now()) {
		t.Fatalf("step 1 %+v: %v", s1, err)
	}
	s2, err := c.IssueStep2(ctx, s1.Session, hsmStep2(t, s1.Step1))
	if err != nil {
		t.Fatal(err)
	}
	if s2.Session != s1.Session || s2.IssuedBefore || strings.Count(s2.Request, "|") != 6 ||
		!strings.HasPrefix(s2.Request, "411600|") || !strings.HasPrefix(s2.Card, "411600|||411600D156000005005A3C9E17B2D40F||") ||
		!strings.HasSuffix(s2.Card, "|T0001|D0001|") {
		t.Fatalf("step 2 %+v", s2)
	}
	if chip.resets.Load() != resets {
		t.Fatal("the card was reset between the steps")
	}
	rep, err := c.IssueStep3(ctx, s1.Session, writeKeyAnswer(t, s2.Request, nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Written) != 13 || rep.Rewritten || rep.CardID != s1.CardID {
		t.Errorf("report %+v", rep)
	}
	if chip.resets.Load() == resets {
		t.Error("card not reset after step 3")
	}
	_, err = c.IssueStep3(ctx, s1.Session, writeKeyAnswer(t, s2.Request, nil))
	wantCode(t, err, sscd.CodeSessionNotFound)
	// Read back through the daemon's own HSM read flow.
	hs, err := c.HSMStep1(ctx, "r0", sscd.HSMStep1Options{AllFields: true})
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.HSMStep2(ctx, hs.Session, hsmStep2(t, hs.Step1))
	if err != nil || info.Name != "王五" || info.CardNumber != "B87654321" || info.BirthDate != "19851212" {
		t.Fatalf("read back %+v, %v", info, err)
	}
	data, err := os.ReadFile(journal)
	if err != nil || strings.Contains(string(data), "110101198512120035") || strings.Count(string(data), `"step":"done"`) != 1 {
		t.Errorf("journal %q, %v", data, err)
	}

	// The same holder again: step 2 says the card was issued before.
	s1, s2 = issueSteps(t, c, "r0", sscd.IssueRequest{WriteInfo: testWriteInfo})
	if !s2.IssuedBefore || !strings.Contains(s2.Card, "|110101198512120035|B87654321|") {
		t.Errorf("step 2 again %+v", s2)
	}
	if rep, err := c.IssueStep3(ctx, s1.Session, writeKeyAnswer(t, s2.Request, nil)); err != nil || !rep.Rewritten {
		t.Fatalf("again: %+v %v", rep, err)
	}

	// Another holder's card: refused at step 2, the session ends; with
	// force it is written.
	s1, err = c.IssueStep1(ctx, "r1", sscd.IssueRequest{WriteInfo: testWriteInfo}, sscd.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.IssueStep2(ctx, s1.Session, hsmStep2(t, s1.Step1))
	wantCode(t, err, sscd.CodeAlreadyIssued)
	err = c.IssueAbort(ctx, s1.Session)
	wantCode(t, err, sscd.CodeSessionNotFound)
	s1, s2 = issueSteps(t, c, "r1", sscd.IssueRequest{WriteInfo: testWriteInfo, Force: true})
	if !s2.IssuedBefore {
		t.Errorf("forced step 2 %+v", s2)
	}
	if _, err := c.IssueStep3(ctx, s1.Session, writeKeyAnswer(t, s2.Request, nil)); err != nil {
		t.Fatal(err)
	}
}

// TestIssueSessionRefusals: refusals at each step end the session with the
// mapped code, and the card can be issued afterwards.
func TestIssueSessionRefusals(t *testing.T) {
	ctx := ctxT(t)
	_, c, _ := testDaemon(t, Config{}, simBackend(t, newCard(t, "gen3-blank", nil)))
	waitReader(t, c, "r0", func(r sscd.Reader, _ bool) bool { return r.Kind == sscd.KindSSC })
	wi, err := sscard.ParseWriteInfo(testWriteInfo)
	if err != nil {
		t.Fatal(err)
	}
	zero2 := strings.Repeat("0", 32) + "|" + strings.Repeat("0", 32) + "|"
	flip2 := func(s1 string) string {
		a, err := sscard.ParseStep2Input(hsmStep2(t, s1))
		if err != nil {
			t.Fatal(err)
		}
		a.Result1[0] ^= 1 // C1 spoiled: not genuine
		return a.String()
	}
	tests := []struct {
		name  string
		req   sscd.IssueRequest
		step1 sscd.Code // non-empty: step 1 fails
		step2 func(step1 string) string
		code2 sscd.Code
		step3 func(*sscard.WriteKeyAnswer)
		code3 sscd.Code
	}{
		{name: "another card id", req: sscd.IssueRequest{WriteInfo: strings.Replace(testWriteInfo, "B2D40F", "B2D40E", 1)}, step1: sscd.CodeWrongCard},
		{name: "bad write info", req: sscd.IssueRequest{WriteInfo: strings.Replace(testWriteInfo, "0035", "0036", 1)}, step1: sscd.CodeBadRequest},
		{name: "both forms", req: sscd.IssueRequest{WriteInfo: testWriteInfo, Data: wi}, step1: sscd.CodeBadRequest},
		{name: "read answer of another request", step2: func(string) string { return zero2 }, code2: sscd.CodeHSMAnswer},
		{name: "card not genuine", step2: flip2, code2: sscd.CodeNotGenuine},
		{name: "wrong write cryptogram", step3: func(a *sscard.WriteKeyAnswer) { a.Result[0] ^= 1 }, code3: sscd.CodeHSMError},
		{name: "write answer of another request", step3: func(a *sscard.WriteKeyAnswer) { a.Result[15] ^= 1 }, code3: sscd.CodeHSMAnswer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			if req == (sscd.IssueRequest{}) {
				req.Data = wi
			}
			s1, err := c.IssueStep1(ctx, "r0", req, sscd.CardOptions{})
			if tt.step1 != "" {
				wantCode(t, err, tt.step1)
			} else {
				if err != nil {
					t.Fatal(err)
				}
				key := hsmStep2(t, s1.Step1)
				if tt.step2 != nil {
					key = tt.step2(s1.Step1)
				}
				s2, err := c.IssueStep2(ctx, s1.Session, key)
				if tt.code2 != "" {
					wantCode(t, err, tt.code2)
				} else {
					if err != nil {
						t.Fatal(err)
					}
					_, err = c.IssueStep3(ctx, s1.Session, writeKeyAnswer(t, s2.Request, tt.step3))
					wantCode(t, err, tt.code3)
				}
				// The session ended with the failure.
				err = c.IssueAbort(ctx, s1.Session)
				wantCode(t, err, sscd.CodeSessionNotFound)
			}
			// The reader is free and the card issuable.
			s1, s2 := issueSteps(t, c, "r0", sscd.IssueRequest{Data: wi})
			if _, err := c.IssueStep3(ctx, s1.Session, writeKeyAnswer(t, s2.Request, nil)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestIssueSessionAbort aborts after step 1 and after step 2: the card is
// reset, the reader free, the session gone, the journal says aborted.
func TestIssueSessionAbort(t *testing.T) {
	ctx := ctxT(t)
	journal := filepath.Join(t.TempDir(), "issue.journal")
	chip := &countingChip{Chip: newCard(t, "gen3-blank", nil)}
	cfg := Config{IssueJournal: journal, OpTimeout: Duration(2 * time.Second), HSMSessionTimeout: Duration(time.Minute)}
	_, c, _ := testDaemon(t, cfg, simBackend(t, chip))
	waitReader(t, c, "r0", func(r sscd.Reader, _ bool) bool { return r.Kind == sscd.KindSSC })
	for _, after := range []int{1, 2} {
		resets := chip.resets.Load()
		s1, err := c.IssueStep1(ctx, "r0", sscd.IssueRequest{WriteInfo: testWriteInfo}, sscd.CardOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if after == 2 {
			if _, err := c.IssueStep2(ctx, s1.Session, hsmStep2(t, s1.Step1)); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.IssueAbort(ctx, s1.Session); err != nil {
			t.Fatal(err)
		}
		if chip.resets.Load() == resets {
			t.Errorf("after step %d: card not reset by the abort", after)
		}
		err = c.IssueAbort(ctx, s1.Session)
		wantCode(t, err, sscd.CodeSessionNotFound)
		_, err = c.IssueStep2(ctx, s1.Session, hsmStep2(t, s1.Step1))
		wantCode(t, err, sscd.CodeSessionNotFound)
		if _, err := c.PINStatus(ctx, "r0", sscd.CardOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(journal)
	if err != nil || strings.Count(string(data), "aborted") != 2 {
		t.Errorf("journal %q, %v", data, err)
	}
}

// TestIssueSessionExpires: a session without its next step expires and
// releases the reader; busy meanwhile; shutdown does not wait for it.
func TestIssueSessionExpires(t *testing.T) {
	ctx := ctxT(t)
	_, c, _ := testDaemon(t, Config{HSMSessionTimeout: Duration(1)}, simBackend(t, newCard(t, "gen3-blank", nil)))
	waitReader(t, c, "r0", func(r sscd.Reader, _ bool) bool { return r.Kind == sscd.KindSSC })
	s1, err := c.IssueStep1(ctx, "r0", sscd.IssueRequest{WriteInfo: testWriteInfo}, sscd.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The expiry released the reader: this waits for it, then succeeds.
	if _, err := c.PINStatus(ctx, "r0", sscd.CardOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = c.IssueStep2(ctx, s1.Session, hsmStep2(t, s1.Step1))
	wantCode(t, err, sscd.CodeSessionNotFound)

	cfg := Config{OpTimeout: Duration(300 * time.Millisecond), HSMSessionTimeout: Duration(time.Minute)}
	d, c2, _ := testDaemon(t, cfg, simBackend(t, newCard(t, "gen3-blank", nil)))
	waitReader(t, c2, "r0", func(r sscd.Reader, _ bool) bool { return r.Kind == sscd.KindSSC })
	s1, err = c2.IssueStep1(ctx, "r0", sscd.IssueRequest{WriteInfo: testWriteInfo}, sscd.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c2.IssueStep2(ctx, s1.Session, hsmStep2(t, s1.Step1)); err != nil {
		t.Fatal(err)
	}
	_, err = c2.PINStatus(ctx, "r0", sscd.CardOptions{})
	wantCode(t, err, sscd.CodeBusy)
	_, err = c2.IssueStep1(ctx, "r0", sscd.IssueRequest{WriteInfo: testWriteInfo}, sscd.CardOptions{})
	wantCode(t, err, sscd.CodeBusy)
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := d.Shutdown(sctx); err != nil || time.Since(start) > 4*time.Second {
		t.Fatalf("shutdown: %v after %v", err, time.Since(start))
	}
}

// TestIssueSessionCardSwap: the card changes between the steps.
func TestIssueSessionCardSwap(t *testing.T) {
	ctx := ctxT(t)
	sb := simBackend(t, newCard(t, "gen3-blank", nil))
	_, c, _ := testDaemon(t, Config{}, sb)
	before := waitReader(t, c, "r0", func(r sscd.Reader, _ bool) bool { return r.Kind == sscd.KindSSC })
	s1, err := c.IssueStep1(ctx, "r0", sscd.IssueRequest{WriteInfo: testWriteInfo}, sscd.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.Remove("r0"); err != nil {
		t.Fatal(err)
	}
	blank := newCard(t, "gen3-blank", nil)
	if err := sb.Insert("r0", blank); err != nil {
		t.Fatal(err)
	}
	waitReader(t, c, "r0", func(r sscd.Reader, _ bool) bool { return r.CardPresent && r.Insertion != before.Insertion })
	_, err = c.IssueStep2(ctx, s1.Session, hsmStep2(t, s1.Step1))
	wantCode(t, err, sscd.CodeCardChanged)
	s1, s2 := issueSteps(t, c, "r0", sscd.IssueRequest{WriteInfo: testWriteInfo})
	if _, err := c.IssueStep3(ctx, s1.Session, writeKeyAnswer(t, s2.Request, nil)); err != nil {
		t.Fatal(err)
	}
}

// TestIssueDaemonHSMIsWriteKey: the configured key systems (hsm: sim or
// URL) hold the write key too, as the one-call issuance needs.
func TestIssueDaemonHSMIsWriteKey(t *testing.T) {
	for _, spec := range []string{"http://127.0.0.1:1/", "sim"} {
		set, err := newSettings(Config{HSM: spec})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := set.hsm.(sscard.WriteKeyHSM); !ok {
			t.Fatalf("the key system %s does not hold the write key", spec)
		}
	}
}
