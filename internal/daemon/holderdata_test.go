package daemon

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sscard/ssc/internal/hostile"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
)

// ssnWithCheck completes 17 digits with their GB 11643 check character.
func ssnWithCheck(first17 string) string {
	w := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := range 17 {
		sum += int(first17[i]-'0') * w[i]
	}
	return first17 + string("10X98765432"[sum%11])
}

// TestIssueErrorsCarryNoHolderData is defect 8 of issue #18: write info
// that the daemon refuses (every field invalid in turn, the SSN's birth
// date differing from birth_date, another card, a card issued to another
// holder) through the daemon's socket with the software cards in pcscd's
// vpcd readers. Neither the API answer, the audit log, the issuance
// journal nor the daemon's log shows any of the distinctive sentinel
// values; they name the field only.
func TestIssueErrorsCarryNoHolderData(t *testing.T) {
	ctx := ctxT(t)
	dir := t.TempDir()
	journal := filepath.Join(dir, "issue.journal")
	auditPath := filepath.Join(dir, "audit.log")
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := Config{HSM: "sim", IssueJournal: journal, Audit: AuditConfig{Path: auditPath}, Logger: logger}
	e := pcscDaemon(t, cfg, newCard(t, "gen3-blank", nil), newCard(t, "gen3", nil))
	blank, issued := e.names[0], e.names[1]

	const (
		birth    = "19851212"
		birthAlt = "19851213"
		name     = "Qzentinelname"
		nameExt  = "Qzentinelext"
		cardNo   = "QZ7654321"
		issue    = "20230405"
		expiry   = "20330405"
	)
	ssn := ssnWithCheck("11010519851212001")
	valid := func() *sscard.WriteInfo {
		w, err := sscard.ParseWriteInfo(testWriteInfo)
		if err != nil {
			t.Fatal(err)
		}
		w.SSN, w.BirthDate, w.Name, w.NameExt, w.CardNumber = ssn, birth, name, nameExt, cardNo
		w.IssueDate, w.ExpiryDate = issue, expiry
		if err := w.Validate(); err != nil {
			t.Fatalf("sentinel write info: %v", err)
		}
		return w
	}
	sentinels := []string{birth, birthAlt, name, nameExt, cardNo, issue, expiry, ssn, ssn[:17],
		"Qzsex", "Qzeth", "1985121Q", "19851232", "20231345", "2023040Q", "20220405", "QZ765432"}

	cases := []struct {
		name   string
		reader string
		mut    func(w *sscard.WriteInfo)
		code   sscd.Code
	}{
		{"ssn birth date differs", blank, func(w *sscard.WriteInfo) { w.BirthDate = birthAlt }, sscd.CodeBadRequest},
		{"birth date not digits", blank, func(w *sscard.WriteInfo) { w.BirthDate = "1985121Q" }, sscd.CodeBadRequest},
		{"birth date not a date", blank, func(w *sscard.WriteInfo) { w.BirthDate = "19851232" }, sscd.CodeBadRequest},
		{"issue date not a date", blank, func(w *sscard.WriteInfo) { w.IssueDate = "20231345" }, sscd.CodeBadRequest},
		{"issue date not digits", blank, func(w *sscard.WriteInfo) { w.IssueDate = "2023040Q" }, sscd.CodeBadRequest},
		{"expiry before issue", blank, func(w *sscard.WriteInfo) { w.ExpiryDate = "20220405" }, sscd.CodeBadRequest},
		{"card number short", blank, func(w *sscard.WriteInfo) { w.CardNumber = "QZ765432" }, sscd.CodeBadRequest},
		{"ssn check digit", blank, func(w *sscard.WriteInfo) {
			c := "10X98765432"
			w.SSN = ssn[:17] + string(c[(strings.IndexByte(c, ssn[17])+1)%11])
		}, sscd.CodeBadRequest},
		{"ssn short", blank, func(w *sscard.WriteInfo) { w.SSN = ssn[:17] }, sscd.CodeBadRequest},
		{"name not in GBK", blank, func(w *sscard.WriteInfo) { w.Name = name + "\U0001F600" }, sscd.CodeBadRequest},
		{"name control", blank, func(w *sscard.WriteInfo) { w.Name = name + "\tx" }, sscd.CodeBadRequest},
		{"name too long", blank, func(w *sscard.WriteInfo) { w.Name = strings.Repeat(name, 3) }, sscd.CodeBadRequest},
		{"name ext too long", blank, func(w *sscard.WriteInfo) { w.NameExt = strings.Repeat(nameExt, 2) }, sscd.CodeBadRequest},
		{"sex", blank, func(w *sscard.WriteInfo) { w.Sex = "Qzsex" }, sscd.CodeBadRequest},
		{"ethnicity", blank, func(w *sscard.WriteInfo) { w.Ethnicity = "Qzeth" }, sscd.CodeBadRequest},
		{"another card", blank, func(w *sscard.WriteInfo) { w.CardID[15] ^= 1 }, sscd.CodeWrongCard},
		{"issued to another holder", issued, func(*sscard.WriteInfo) {}, sscd.CodeAlreadyIssued},
	}
	check := func(where, text string) {
		t.Helper()
		for _, v := range sentinels {
			if strings.Contains(text, v) {
				t.Errorf("%s shows the value %q: %s", where, v, text)
			}
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := valid()
			tc.mut(w)
			reqs := []sscd.IssueRequest{{Data: w}}
			if !strings.ContainsAny(w.Name+w.NameExt, "|\t") {
				reqs = append(reqs, sscd.IssueRequest{WriteInfo: w.String()})
			}
			for _, req := range reqs {
				_, err := e.c.Issue(ctx, tc.reader, req, sscd.CardOptions{})
				wantCode(t, err, tc.code)
				check("API answer of issue", err.Error())
				st, err := e.c.IssueStep1(ctx, tc.reader, req, sscd.CardOptions{})
				if tc.code == sscd.CodeAlreadyIssued { // found in step 2, by Issue above
					if err != nil {
						t.Fatalf("step 1: %v", err)
					}
					e.c.IssueAbort(ctx, st.Session)
					continue
				}
				wantCode(t, err, tc.code)
				check("API answer of issue/step1", err.Error())
			}
		})
	}
	if _, err := e.c.Readers(ctx); err != nil { // the audit lines of the last requests are written
		t.Fatal(err)
	}
	for _, f := range []struct{ what, path string }{{"journal", journal}, {"audit log", auditPath}} {
		b, err := os.ReadFile(f.path)
		if err != nil || len(b) == 0 {
			t.Fatalf("%s: %d bytes, %v", f.what, len(b), err)
		}
		check(f.what, string(b))
	}
	check("daemon log", logs.String())
	hostile.Record(t, "personal data", "issuance requests with each holder field invalid or mismatched (JSON and ministry string, one call and step 1): no value in the answer, journal, audit log or daemon log", map[string]int{"cases": len(cases)})
}
