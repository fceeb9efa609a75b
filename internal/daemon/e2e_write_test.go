package daemon

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
)

// TestE2EPKISign signs through the daemon over pcscd + vpcd: the signature
// verifies with the certificate returned (and with the one the certificate
// endpoint reads), a wrong PIN counts in the rate limit, the last try is
// refused without force, a 2nd-gen card answers no_pki.
func TestE2EPKISign(t *testing.T) {
	e := pcscDaemon(t, Config{PINLimit: PINLimitConfig{Attempts: 2}}, newCard(t, "gen3", nil), newCard(t, "gen2", nil))
	ctx := ctxT(t)
	name := e.names[0]
	msg := []byte("签名的数据 data to sign")
	sig, err := e.c.PKISign(ctx, name, sscd.PKISignRequest{PIN: "123456", Data: msg}, sscd.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	crt, err := e.c.PKICertificate(ctx, name, "sign", sscd.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(crt.Certificate) != string(sig.Certificate) {
		t.Error("the certificate endpoint and the signature disagree")
	}
	verifySig(t, sig.Certificate, msg, sig.Signature)
	if enc, err := e.c.PKICertificate(ctx, name, "encrypt", sscd.CardOptions{}); err != nil || len(enc.Certificate) == 0 || string(enc.Certificate) == string(crt.Certificate) {
		t.Errorf("encryption certificate: %v", err)
	}
	if _, err := e.c.PKICertificate(ctx, name, "other", sscd.CardOptions{}); !errors.Is(err, sscd.ErrBadRequest) {
		t.Errorf("which=other: %v", err)
	}

	// Bad input before the card: PIN format, data size.
	for _, req := range []sscd.PKISignRequest{{PIN: "12345", Data: msg}, {PIN: "123456", Data: make([]byte, sscd.MaxSignData+1)}} {
		if _, err := e.c.PKISign(ctx, name, req, sscd.CardOptions{}); err == nil {
			t.Errorf("accepted %d-byte PIN, %d bytes", len(req.PIN), len(req.Data))
		}
	}
	// Two wrong PINs: the rate limit (2 attempts) refuses the third
	// without sending it; the card still has a try left.
	for i := 0; i < 2; i++ {
		_, err := e.c.PKISign(ctx, name, sscd.PKISignRequest{PIN: "000000", Data: msg}, sscd.CardOptions{})
		wantCode(t, err, sscd.CodeWrongPIN)
	}
	_, err = e.c.PKISign(ctx, name, sscd.PKISignRequest{PIN: "123456", Data: msg}, sscd.CardOptions{})
	wantCode(t, err, sscd.CodePINRateLimited)

	// The 2nd-gen card has no PKI application.
	_, err = e.c.PKISign(ctx, e.names[1], sscd.PKISignRequest{PIN: "123456", Data: msg}, sscd.CardOptions{})
	wantCode(t, err, sscd.CodeNoPKI)
	if !errors.Is(err, sscard.ErrNoPKI) {
		t.Errorf("no_pki does not match sscard.ErrNoPKI: %v", err)
	}
	_, err = e.c.PKICertificate(ctx, e.names[1], "sign", sscd.CardOptions{})
	wantCode(t, err, sscd.CodeNoPKI)
}

// TestE2EPKISignLastTry: with one try left the daemon refuses to spend it
// unless the request forces it.
func TestE2EPKISignLastTry(t *testing.T) {
	e := pcscDaemon(t, Config{PINLimit: PINLimitConfig{Attempts: 100}}, newCard(t, "gen3", nil))
	ctx := ctxT(t)
	name := e.names[0]
	for {
		st, err := e.c.PKISign(ctx, name, sscd.PKISignRequest{PIN: "000000", Data: []byte("x")}, sscd.CardOptions{})
		if errors.Is(err, sscd.ErrPINLastTry) {
			break
		}
		if st != nil && len(st.Signature) > 0 || !errors.Is(err, sscd.ErrWrongPIN) {
			t.Fatalf("wrong PIN: %v", err)
		}
	}
	sig, err := e.c.PKISign(ctx, name, sscd.PKISignRequest{PIN: "123456", Data: []byte("x"), Force: true}, sscd.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	verifySig(t, sig.Certificate, []byte("x"), sig.Signature)
}

func verifySig(t *testing.T, der, msg, sig []byte) {
	t.Helper()
	crt, err := sm.DecodeCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := sm.CertificatePublicKey(crt)
	if err != nil {
		t.Fatal(err)
	}
	e, err := sm.SM2Digest(pub, nil, msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := sm.VerifyDigest(pub, e[:], sig); err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
}

// blockSSSEPIN spends the card's SSSE PIN tries through the daemon.
func blockSSSEPIN(t *testing.T, c *sscd.Client, name string) {
	t.Helper()
	ctx := ctxT(t)
	for i := 0; i < 5; i++ {
		_, err := c.VerifyPIN(ctx, name, sscd.VerifyPINRequest{PIN: "999999", Force: true}, sscd.CardOptions{})
		if errors.Is(err, sscd.ErrPINBlocked) {
			return
		}
	}
	t.Fatal("the PIN did not block")
}

// TestE2EPINReset resets a blocked PIN through the daemon over pcscd +
// vpcd, in one call and in the three steps; a wrong card id, a PIN of the
// wrong format and a daemon without key system are refused.
func TestE2EPINReset(t *testing.T) {
	e := pcscDaemon(t, Config{HSM: "sim", PINLimit: PINLimitConfig{Attempts: 100}}, newCard(t, "gen3", nil))
	ctx := ctxT(t)
	name := e.names[0]
	info, err := e.c.Info(ctx, name, sscd.InfoOptions{Fresh: true})
	if err != nil {
		t.Fatal(err)
	}

	blockSSSEPIN(t, e.c, name)
	_, err = e.c.ResetPIN(ctx, name, sscd.PINResetRequest{CardID: sscd.HexBytes{1, 2, 3}, NewPIN: "654321"}, sscd.CardOptions{})
	wantCode(t, err, sscd.CodeWrongCard)
	_, err = e.c.ResetPIN(ctx, name, sscd.PINResetRequest{NewPIN: "65432a"}, sscd.CardOptions{})
	wantCode(t, err, sscd.CodePINFormat)
	if _, err := e.c.ResetPIN(ctx, name, sscd.PINResetRequest{CardID: info.CardID, NewPIN: "654321"}, sscd.CardOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.VerifyPIN(ctx, name, sscd.VerifyPINRequest{PIN: "654321"}, sscd.CardOptions{}); err != nil {
		t.Fatal(err)
	}

	// The three steps, with the key system outside the daemon.
	blockSSSEPIN(t, e.c, name)
	s1, err := e.c.ResetPINStep1(ctx, name, sscd.PINResetRequest{NewPIN: "123456"}, sscd.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s1.CardID != info.CardID.String() {
		t.Errorf("step 1 card %s", s1.CardID)
	}
	// Values belong to update sessions: refused, the session stays.
	_, err = e.c.UpdateStep2(ctx, s1.Session, hsmStep2(t, s1.Step1), map[string]string{"name": "x"})
	wantCode(t, err, sscd.CodeBadRequest)
	s2, err := e.c.IssueStep2(ctx, s1.Session, hsmStep2(t, s1.Step1))
	if err != nil {
		t.Fatal(err)
	}
	if s2.Card != "" {
		t.Error("a PIN reset answered holder data")
	}
	rep, err := e.c.IssueStep3(ctx, s1.Session, writeKeyAnswer(t, s2.Request, nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Written) != 0 {
		t.Errorf("report %+v", rep)
	}
	if _, err := e.c.VerifyPIN(ctx, name, sscd.VerifyPINRequest{PIN: "123456"}, sscd.CardOptions{}); err != nil {
		t.Fatal(err)
	}

	// A daemon without key system.
	_, c2, _ := testDaemon(t, Config{}, simBackend(t, newCard(t, "gen3", nil)))
	waitReader(t, c2, "r0", func(r sscd.Reader, ok bool) bool { return r.CardPresent })
	_, err = c2.ResetPIN(ctx, "r0", sscd.PINResetRequest{NewPIN: "123456"}, sscd.CardOptions{})
	wantCode(t, err, sscd.CodeNeedsHSM)
	_, err = c2.Update(ctx, "r0", sscd.UpdateRequest{Values: map[string]string{"name": "x"}}, sscd.CardOptions{})
	wantCode(t, err, sscd.CodeNeedsHSM)
}

// TestE2EUpdate writes some fields of an issued card through the daemon
// over pcscd + vpcd, in one call and in the three steps: the other fields
// stay, invalid values name the field and leave the step-2 session, the
// fields named in step 1 must be those of step 2.
func TestE2EUpdate(t *testing.T) {
	e := pcscDaemon(t, Config{HSM: "sim"}, newCard(t, "gen3", nil))
	ctx := ctxT(t)
	name := e.names[0]
	before, err := e.c.Info(ctx, name, sscd.InfoOptions{Fresh: true, AllFields: true})
	if err != nil {
		t.Fatal(err)
	}

	rep, err := e.c.Update(ctx, name, sscd.UpdateRequest{CardID: before.CardID, Values: map[string]string{"name": "赵六"}}, sscd.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rep.Written, ",") != "name" {
		t.Errorf("written %v", rep.Written)
	}
	after, err := e.c.Info(ctx, name, sscd.InfoOptions{Fresh: true, AllFields: true})
	if err != nil || after.Name != "赵六" || after.SSN != before.SSN || after.CardNumber != before.CardNumber {
		t.Fatalf("after: %v", err)
	}

	// Invalid values: the field is named (never the value), typed for Go
	// clients.
	_, err = e.c.Update(ctx, name, sscd.UpdateRequest{Values: map[string]string{"expiry_date": "19990101"}}, sscd.CardOptions{})
	var wie *sscard.WriteInfoError
	if !errors.As(err, &wie) || wie.Field != "expiry_date" {
		t.Fatalf("bad expiry: %v", err)
	}
	_, err = e.c.Update(ctx, name, sscd.UpdateRequest{Values: map[string]string{"category": "1"}}, sscd.CardOptions{})
	wantCode(t, err, sscd.CodeBadRequest)
	_, err = e.c.Update(ctx, name, sscd.UpdateRequest{Values: map[string]string{strings.Repeat("n", 5000): "1"}}, sscd.CardOptions{})
	if err == nil || strings.Contains(err.Error(), "nnnnnnnn") {
		t.Errorf("long field name: %v", err)
	}

	// The steps.
	s1, err := e.c.UpdateStep1(ctx, name, sscd.UpdateRequest{Fields: []string{"name", "sex"}}, sscd.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	key := hsmStep2(t, s1.Step1)
	_, err = e.c.UpdateStep2(ctx, s1.Session, key, map[string]string{"name": "钱七"})
	wantCode(t, err, sscd.CodeBadRequest) // not the fields of step 1: the session stays
	_, err = e.c.IssueStep2(ctx, s1.Session, key)
	wantCode(t, err, sscd.CodeBadRequest) // no values
	s2, err := e.c.UpdateStep2(ctx, s1.Session, key, map[string]string{"name": "钱七", "sex": "2"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.IssueStep3(ctx, s1.Session, writeKeyAnswer(t, s2.Request, nil)); err != nil {
		t.Fatal(err)
	}
	after, err = e.c.Info(ctx, name, sscd.InfoOptions{Fresh: true, AllFields: true})
	if err != nil || after.Name != "钱七" || after.Sex != "2" || after.SSN != before.SSN {
		t.Fatalf("after the steps: %v", err)
	}

	// Invalid values in step 2 end the session with the field named.
	s1, err = e.c.UpdateStep1(ctx, name, sscd.UpdateRequest{Fields: []string{"birth_date"}}, sscd.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.c.UpdateStep2(ctx, s1.Session, hsmStep2(t, s1.Step1), map[string]string{"birth_date": "20991301"})
	if !errors.As(err, &wie) || wie.Field != "birth_date" {
		t.Fatalf("bad birth date: %v", err)
	}
	_, err = e.c.IssueStep3(ctx, s1.Session, "00|")
	if err == nil {
		t.Error("the session survived invalid data")
	}
}

// TestBridgeHasNoWrites: the endpoints of this file are the socket's only.
func TestBridgeHasNoWrites(t *testing.T) {
	port := freePort(t)
	e := pcscDaemon(t, bridgeIssueConfig(port), newCard(t, "gen3", nil))
	h := e.d.BridgeHandler()
	rd := url.PathEscape(e.names[0])
	for _, p := range []string{"pki/sign", "pin/reset", "pin/reset/step1", "update", "update/step1"} {
		rec := bridgeReq{path: "/v1/readers/" + rd + "/" + p, body: `{}`, origin: issueOrigin}.do(t, h, port)
		if rec.Code != http.StatusNotFound {
			t.Errorf("%s on the bridge: %d %s", p, rec.Code, rec.Body)
		}
	}
}

// TestE2EPINResetClearsRateLimit: the holder who blocked the PIN can use
// the new one at once after the reset (the default rate limit, 3 wrong
// attempts, would refuse it for 10 minutes otherwise), in one call and
// through the session.
func TestE2EPINResetClearsRateLimit(t *testing.T) {
	e := pcscDaemon(t, Config{HSM: "sim"}, newCard(t, "gen3", nil))
	ctx := ctxT(t)
	name := e.names[0]
	blockSSSEPIN(t, e.c, name)
	if _, err := e.c.ResetPIN(ctx, name, sscd.PINResetRequest{NewPIN: "654321"}, sscd.CardOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.VerifyPIN(ctx, name, sscd.VerifyPINRequest{PIN: "654321"}, sscd.CardOptions{}); err != nil {
		t.Fatalf("the new PIN after the reset: %v", err)
	}
	blockSSSEPIN(t, e.c, name)
	s1, err := e.c.ResetPINStep1(ctx, name, sscd.PINResetRequest{NewPIN: "123456"}, sscd.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := e.c.IssueStep2(ctx, s1.Session, hsmStep2(t, s1.Step1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.IssueStep3(ctx, s1.Session, writeKeyAnswer(t, s2.Request, nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.VerifyPIN(ctx, name, sscd.VerifyPINRequest{PIN: "123456"}, sscd.CardOptions{}); err != nil {
		t.Fatalf("the new PIN after the session: %v", err)
	}
}
