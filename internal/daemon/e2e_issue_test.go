package daemon

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/sscard/ssc/sscd"
)

// TestE2EIssueSession runs the write session through pcscd + vpcd: the
// daemon keeps the PC/SC transaction between the calls; the card is reset
// after step 3 and after an abort, and read back by the daemon's HSM.
func TestE2EIssueSession(t *testing.T) {
	chip := &countingChip{Chip: newCard(t, "gen3-blank", nil)}
	e := pcscDaemon(t, Config{HSM: "sim"}, chip, nil)
	ctx := ctxT(t)
	name := e.names[0]

	// Abort after step 2: reset, nothing written, the reader free.
	resets := chip.resets.Load()
	s1, err := e.c.IssueStep1(ctx, name, sscd.IssueRequest{WriteInfo: testWriteInfo}, sscd.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.IssueStep2(ctx, s1.Session, hsmStep2(t, s1.Step1)); err != nil {
		t.Fatal(err)
	}
	if err := e.c.IssueAbort(ctx, s1.Session); err != nil {
		t.Fatal(err)
	}
	if chip.resets.Load() == resets {
		t.Error("card not reset after the abort")
	}

	s1, err = e.c.IssueStep1(ctx, name, sscd.IssueRequest{WriteInfo: testWriteInfo}, sscd.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	resets = chip.resets.Load()
	s2, err := e.c.IssueStep2(ctx, s1.Session, hsmStep2(t, s1.Step1))
	if err != nil {
		t.Fatal(err)
	}
	if s2.IssuedBefore {
		t.Errorf("step 2 %+v", s2)
	}
	if chip.resets.Load() != resets {
		t.Fatal("card reset between the steps")
	}
	rep, err := e.c.IssueStep3(ctx, s1.Session, writeKeyAnswer(t, s2.Request, nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Written) != 13 {
		t.Errorf("report %+v", rep)
	}
	if chip.resets.Load() == resets {
		t.Error("card not reset after step 3")
	}
	info, err := e.c.Info(ctx, name, sscd.InfoOptions{Fresh: true, AllFields: true})
	if err != nil || info.Name != "王五" || info.SSN != "110101198512120035" || info.BirthDate != "19851212" {
		t.Fatalf("read back %+v, %v", info, err)
	}
}

// TestE2EBridgeIssue runs the write session through the browser bridge over
// pcscd + vpcd: an issuing origin's page issues the card, another origin's
// step is answered as an unknown session, and the card is read back on the
// bridge.
func TestE2EBridgeIssue(t *testing.T) {
	port := freePort(t)
	chip := &countingChip{Chip: newCard(t, "gen3-blank", nil)}
	e := pcscDaemon(t, bridgeIssueConfig(port), chip, nil)
	h := e.d.BridgeHandler()
	rd := url.PathEscape(e.names[0])

	s1 := bridgeOK[sscd.IssueStep1](t, bridgeReq{path: "/v1/readers/" + rd + "/issue/step1", body: issueStep1Body(0), origin: issueOrigin}.do(t, h, port), issueOrigin)
	resets := chip.resets.Load()
	k2 := keyBody(hsmStep2(t, s1.Step1))
	if rec := (bridgeReq{path: "/v1/issue/" + s1.Session + "/step2", body: k2, origin: testOrigin}).do(t, h, port); rec.Code != 403 {
		t.Errorf("reading origin's step 2: %d %s", rec.Code, rec.Body)
	}
	s2 := bridgeOK[sscd.IssueStep2](t, bridgeReq{path: "/v1/issue/" + s1.Session + "/step2", body: k2, origin: issueOrigin}.do(t, h, port), issueOrigin)
	if chip.resets.Load() != resets {
		t.Fatal("card reset between the steps")
	}
	rep := bridgeOK[sscd.IssueResult](t, bridgeReq{path: "/v1/issue/" + s1.Session + "/step3", body: keyBody(writeKeyAnswer(t, s2.Request, nil)), origin: issueOrigin}.do(t, h, port), issueOrigin)
	if len(rep.Written) != 13 {
		t.Errorf("report %+v", rep)
	}
	if chip.resets.Load() == resets {
		t.Error("card not reset after step 3")
	}
	r := waitReader(t, e.c, e.names[0], func(r sscd.Reader, ok bool) bool { return r.Kind == sscd.KindSSC })
	info := bridgeOK[sscd.BasicInfo](t, bridgeReq{path: "/v1/readers/" + rd + "/info", body: fmt.Sprintf(`{"insertion":%d}`, r.Insertion)}.do(t, h, port), testOrigin)
	if info.Name != "王五" || info.CardNumber != "B87654321" {
		t.Fatalf("read back %+v", info)
	}
}
