package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sscard/ssc/link"
	"github.com/sscard/ssc/sm/simkeys"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
)

const testWriteInfo = "411600D156000005005A3C9E17B2D40F|411600000000000000000001|20261201|20361201|B87654321|110101198512120035|王五||1|01|19851212|"

func TestIssue(t *testing.T) {
	ctx := ctxT(t)
	journal := filepath.Join(t.TempDir(), "issue.journal")
	chip := &countingChip{Chip: newCard(t, "gen3-blank", nil)}
	_, c, _ := testDaemon(t, Config{HSM: "sim", IssueJournal: journal}, simBackend(t, chip, newCard(t, "gen3", nil)))
	r0 := waitReader(t, c, "r0", func(r sscd.Reader, _ bool) bool { return r.Kind == sscd.KindSSC })
	resets := chip.resets.Load()
	rep, err := c.Issue(ctx, "r0", sscd.IssueRequest{WriteInfo: testWriteInfo}, sscd.CardOptions{Insertion: r0.Insertion})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Written) != 13 || rep.Rewritten {
		t.Errorf("report %+v", rep)
	}
	if chip.resets.Load() == resets {
		t.Error("card not reset after the issuance")
	}
	info, err := c.Info(ctx, "r0", sscd.InfoOptions{Fresh: true})
	if err != nil || info.Name != "王五" || info.CardNumber != "B87654321" {
		t.Fatalf("read back %+v, %v", info, err)
	}
	// Again, from JSON data: the same holder, rewritten.
	wi, err := sscard.ParseWriteInfo(testWriteInfo)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := c.Issue(ctx, "r0", sscd.IssueRequest{Data: wi}, sscd.CardOptions{}); err != nil || !rep.Rewritten {
		t.Fatalf("again: %+v, %v", rep, err)
	}
	data, err := os.ReadFile(journal)
	if err != nil || strings.Contains(string(data), "110101198512120035") || strings.Count(string(data), `"step":"done"`) != 2 {
		t.Errorf("journal %q, %v", data, err)
	}

	for _, tc := range []struct {
		name   string
		reader string
		req    sscd.IssueRequest
		code   sscd.Code
	}{
		{"issued to another holder", "r1", sscd.IssueRequest{WriteInfo: testWriteInfo}, sscd.CodeAlreadyIssued},
		{"bad write info", "r0", sscd.IssueRequest{WriteInfo: strings.Replace(testWriteInfo, "0035", "0036", 1)}, sscd.CodeBadRequest},
		{"both forms", "r0", sscd.IssueRequest{WriteInfo: testWriteInfo, Data: wi}, sscd.CodeBadRequest},
		{"neither", "r0", sscd.IssueRequest{}, sscd.CodeBadRequest},
		{"another card id", "r0", sscd.IssueRequest{WriteInfo: strings.Replace(testWriteInfo, "B2D40F", "B2D40E", 1)}, sscd.CodeWrongCard},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Issue(ctx, tc.reader, tc.req, sscd.CardOptions{})
			wantCode(t, err, tc.code)
		})
	}

	// Without a key system that authorizes writes.
	_, c2, _ := testDaemon(t, Config{}, simBackend(t, newCard(t, "gen3-blank", nil)))
	waitReader(t, c2, "r0", func(r sscd.Reader, _ bool) bool { return r.CardPresent })
	_, err = c2.Issue(ctx, "r0", sscd.IssueRequest{WriteInfo: testWriteInfo}, sscd.CardOptions{})
	wantCode(t, err, sscd.CodeNeedsHSM)
}

func TestPKIPersonalise(t *testing.T) {
	ctx := ctxT(t)
	_, c, _ := testDaemon(t, Config{HSM: "sim", PKICA: "sim"}, simBackend(t, newCard(t, "gen3-blank", nil)))
	waitReader(t, c, "r0", func(r sscd.Reader, _ bool) bool { return r.Kind == sscd.KindSSC })
	wi, err := sscard.ParseWriteInfo(testWriteInfo)
	if err != nil {
		t.Fatal(err)
	}
	admin, master := simkeys.PKIAdminPIN(wi.CardID), simkeys.PKIMasterKey(wi.CardID)
	req := sscd.PKIPersonaliseRequest{AdminPIN: admin[:], MasterKey: master[:]}
	_, err = c.PersonalisePKI(ctx, "r0", req, sscd.CardOptions{})
	wantCode(t, err, sscd.CodeNotIssued)
	if _, err := c.Issue(ctx, "r0", sscd.IssueRequest{WriteInfo: testWriteInfo}, sscd.CardOptions{}); err != nil {
		t.Fatal(err)
	}
	rep, err := c.PersonalisePKI(ctx, "r0", req, sscd.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.PublicKey == "" {
		t.Errorf("report %+v", rep)
	}
	// The card now links: its new key signs, its certificate chains to the SIM root.
	nonce := testNonce(7)
	b, err := c.Link(ctx, "r0", sscd.LinkRequest{Level: 1, Origin: testOrigin, Nonce: nonce, PIN: "123456"}, sscd.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := link.Verify(b, link.Options{Roots: simRoots(t), Origin: testOrigin, Nonce: nonce}); err != nil {
		t.Fatal(err)
	}
	bad := req
	bad.AdminPIN = []byte{1, 2, 3, 4}
	_, err = c.PersonalisePKI(ctx, "r0", bad, sscd.CardOptions{})
	wantCode(t, err, sscd.CodeWrongPIN)
	bad = req
	bad.MasterKey = bad.MasterKey[:8]
	_, err = c.PersonalisePKI(ctx, "r0", bad, sscd.CardOptions{})
	wantCode(t, err, sscd.CodeBadRequest)

	_, c2, _ := testDaemon(t, Config{HSM: "sim"}, simBackend(t, newCard(t, "gen3-blank", nil)))
	_, err = c2.PersonalisePKI(ctx, "r0", req, sscd.CardOptions{})
	wantCode(t, err, sscd.CodeDisabled)
}
