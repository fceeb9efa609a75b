package daemon

import (
	"encoding/hex"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/keysystem"
	"github.com/sscard/ssc/sscd"
)

func TestPKICAConfig(t *testing.T) {
	for _, c := range []struct {
		ca string
		ok bool
	}{
		{"", true}, {"sim", true}, {"http://127.0.0.1:8443/ca", true}, {"https://ca.example.gov.cn/issue", true},
		{"SIM", false}, {"ldap://ca", false}, {"http://", false}, {"/var/ca", false},
	} {
		err := Config{PKICA: c.ca}.checkPKICA()
		if (err == nil) != c.ok {
			t.Errorf("pki_ca %q: %v", c.ca, err)
		}
	}
	if set, err := newSettings(Config{PKICA: "https://ca.example/x"}); err != nil {
		t.Fatal(err)
	} else if _, ok := set.ca.(keysystem.HTTPCA); !ok {
		t.Error("an URL is not an HTTPCA")
	}
}

// TestPKIPersonaliseHTTPCA: pki_ca an http URL, served by SIMCA.
func TestPKIPersonaliseHTTPCA(t *testing.T) {
	ctx := ctxT(t)
	srv := httptest.NewServer(keysystem.NewCAHandler(keysystem.SIMCA{}))
	defer srv.Close()
	_, c, _ := testDaemon(t, Config{HSM: "sim", PKICA: srv.URL}, simBackend(t, newCard(t, "gen3-blank", nil)))
	waitReader(t, c, "r0", func(r sscd.Reader, _ bool) bool { return r.Kind == sscd.KindSSC })
	if _, err := c.Issue(ctx, "r0", sscd.IssueRequest{WriteInfo: testWriteInfo}, sscd.CardOptions{}); err != nil {
		t.Fatal(err)
	}
	wi, _ := sscard.ParseWriteInfo(testWriteInfo)
	admin, master := simkeys.PKIAdminPIN(wi.CardID), simkeys.PKIMasterKey(wi.CardID)
	rep, err := c.PersonalisePKI(ctx, "r0", sscd.PKIPersonaliseRequest{AdminPIN: admin[:], MasterKey: master[:]}, sscd.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := simkeys.EncryptionKey(wi.CardID)
	xy, _ := sm.MarshalPublicKeyXY(&enc.PublicKey)
	if rep.EncryptionKey != strings.ToUpper(hex.EncodeToString(xy)) || !slices.Contains(rep.Steps, sscard.StepPKIEncKey) {
		t.Errorf("report %+v", rep)
	}

	// The CA down: the step is named, nothing about the CA's secrets.
	srv.Close()
	_, err = c.PersonalisePKI(ctx, "r0", sscd.PKIPersonaliseRequest{AdminPIN: admin[:], MasterKey: master[:]}, sscd.CardOptions{})
	wantCode(t, err, sscd.CodeIssueFailed)
	if !strings.Contains(err.Error(), "pki.cert") || !strings.Contains(err.Error(), "certificate authority") {
		t.Errorf("err = %v", err)
	}
}

// TestPKIPersonaliseDelivery: a delivery in the request, no pki_ca.
func TestPKIPersonaliseDelivery(t *testing.T) {
	ctx := ctxT(t)
	// gen3: personalised with the SIM signing key (EF 0012).
	_, c, _ := testDaemon(t, Config{HSM: "sim"}, simBackend(t, newCard(t, "gen3", nil)))
	waitReader(t, c, "r0", func(r sscd.Reader, _ bool) bool { return r.Kind == sscd.KindSSC })
	cardID, _ := hex.DecodeString("411600D156000005005A3C9E17B2D40F")
	sign, _ := simkeys.CardSigningKey(cardID)
	// Another encryption key than the SIM one, so the import shows.
	enc, _ := sm.PrivateKeyFromScalar([]byte("another encryption key of 32 B.."))
	encXY, _ := sm.MarshalPublicKeyXY(&enc.PublicKey)
	env, err := sm.SealEnvelopedKey(nil, &sign.PublicKey, enc, nil)
	if err != nil {
		t.Fatal(err)
	}
	blob, _ := env.Marshal()
	issued, _ := keysystem.SIMCA{}.Issue(ctx, sscard.CertRequest{CardID: cardID, SigningKey: &sign.PublicKey, Holder: &sscard.BasicInfo{
		Name: "张三", CardNumber: "A12345678", IssueDate: "20240101", ExpiryDate: "20340101"}})
	encCert, err := simkeys.HolderEncryptionCertificate(cardID, &enc.PublicKey, "张三", "A12345678",
		time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2034, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	d := &sscard.CADelivery{SigningCert: issued.SigningCert, EncryptionCert: encCert, EnvelopedKey: blob}
	admin, master := simkeys.PKIAdminPIN(cardID), simkeys.PKIMasterKey(cardID)
	req := sscd.PKIPersonaliseRequest{AdminPIN: admin[:], MasterKey: master[:], Delivery: d}
	rep, err := c.PersonalisePKI(ctx, "r0", req, sscd.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.EncryptionKey != strings.ToUpper(hex.EncodeToString(encXY)) || slices.Contains(rep.Steps, sscard.StepPKIKeygen) {
		t.Errorf("report %+v", rep)
	}

	// A malformed delivery is refused before the card is touched.
	bad := *d
	bad.EnvelopedKey = blob[:300]
	req.Delivery = &bad
	_, err = c.PersonalisePKI(ctx, "r0", req, sscd.CardOptions{})
	wantCode(t, err, sscd.CodeBadRequest)
	if !strings.Contains(err.Error(), "JMMY") {
		t.Errorf("err = %v", err)
	}
	// A delivery for another signing key: ErrKeyMismatch at pki.cert.
	other, _ := keysystem.SIMCA{}.Issue(ctx, sscard.CertRequest{CardID: cardID, SigningKey: &enc.PublicKey, Holder: &sscard.BasicInfo{
		Name: "张三", CardNumber: "A12345678", IssueDate: "20240101", ExpiryDate: "20340101"}})
	req.Delivery = other
	_, err = c.PersonalisePKI(ctx, "r0", req, sscd.CardOptions{})
	wantCode(t, err, sscd.CodeIssueFailed)
	if !strings.Contains(err.Error(), "pki.cert") || !strings.Contains(err.Error(), "QMZS") {
		t.Errorf("err = %v", err)
	}
}

// TestPKIPersonaliseResume: resume continues the card's last run in the
// issuance journal (none: a fresh run); without a journal, bad_request.
func TestPKIPersonaliseResume(t *testing.T) {
	ctx := ctxT(t)
	journal := filepath.Join(t.TempDir(), "issue.journal")
	_, c, _ := testDaemon(t, Config{HSM: "sim", PKICA: "sim", IssueJournal: journal}, simBackend(t, newCard(t, "gen3-blank", nil)))
	waitReader(t, c, "r0", func(r sscd.Reader, _ bool) bool { return r.Kind == sscd.KindSSC })
	if _, err := c.Issue(ctx, "r0", sscd.IssueRequest{WriteInfo: testWriteInfo}, sscd.CardOptions{}); err != nil {
		t.Fatal(err)
	}
	wi, _ := sscard.ParseWriteInfo(testWriteInfo)
	admin, master := simkeys.PKIAdminPIN(wi.CardID), simkeys.PKIMasterKey(wi.CardID)
	req := sscd.PKIPersonaliseRequest{AdminPIN: admin[:], MasterKey: master[:], Resume: true}
	first, err := c.PersonalisePKI(ctx, "r0", req, sscd.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Kept) != 0 || !slices.Contains(first.Steps, sscard.StepPKIKeygen) {
		t.Errorf("no PKI run in the journal: report %+v", first)
	}
	newKey := []byte("0123456789abcdef")
	req.NewMasterKey = newKey
	rep, err := c.PersonalisePKI(ctx, "r0", req, sscd.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{sscard.StepPKIKeygen, sscard.StepPKICert, sscard.StepPKIEncCert, sscard.StepPKIEncKey}; !slices.Equal(rep.Kept, want) ||
		rep.PublicKey != first.PublicKey || !slices.Contains(rep.Steps, sscard.StepPKIMasterKeyDDF) {
		t.Errorf("resumed: report %+v", rep)
	}
	entries, err := sscard.ReadJournal(journal)
	if err != nil {
		t.Fatal(err)
	}
	if st := sscard.PKIStatus(entries, wi.CardID.String()); st == nil || !st.Done || st.MasterKey != sscard.PKISecretNew {
		t.Errorf("journal status %+v", st)
	}

	_, c2, _ := testDaemon(t, Config{HSM: "sim", PKICA: "sim"}, simBackend(t, newCard(t, "gen3", nil)))
	waitReader(t, c2, "r0", func(r sscd.Reader, _ bool) bool { return r.Kind == sscd.KindSSC })
	_, err = c2.PersonalisePKI(ctx, "r0", req, sscd.CardOptions{})
	wantCode(t, err, sscd.CodeBadRequest)
	if !strings.Contains(err.Error(), "issue_journal") {
		t.Errorf("err = %v", err)
	}
}
