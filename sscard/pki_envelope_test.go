package sscard

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
)

var allPKISteps = []string{StepPKIAdmin, StepPKIKeygen, StepPKICert, StepPKIEncCert, StepPKIEncKey, StepPKIVerify}

// checkEncryption checks the encryption pair on the card: EF 0014 is the
// report's key and the SIM encryption key of the card, EF 0019 certifies
// it and chains to the SIM root.
func checkEncryption(t *testing.T, s *Session, cardID []byte, rep *PersonaliseReport) {
	t.Helper()
	ctx := context.Background()
	p := s.PKI()
	pub, err := p.EncryptionPublicKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	xy, _ := sm.MarshalPublicKeyXY(pub)
	if got := hexString(xy); got != rep.EncryptionKey {
		t.Errorf("EF 0014 = %s, report says %s", got, rep.EncryptionKey)
	}
	enc, _ := simkeys.EncryptionKey(cardID)
	if !pub.Equal(&enc.PublicKey) {
		t.Error("EF 0014 is not the SIM encryption key")
	}
	roots, _ := simkeys.RootPool()
	chain, err := p.VerifyEncryptionChain(ctx, roots, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if c := chain[0]; c.Subject.CommonName != "王五" || strings.ToUpper(c.SerialNumber.Text(16)) != rep.EncryptionCertSerial {
		t.Errorf("encryption certificate %s %X (report %s)", c.Subject, c.SerialNumber, rep.EncryptionCertSerial)
	}
}

func TestPersonalisePKIEncryptionPair(t *testing.T) {
	s, cardID := issuedBlankSession(t)
	rep, err := PersonalisePKI(context.Background(), s, simPersonalise(cardID))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Steps, allPKISteps) || len(rep.EncryptionKey) != 128 || rep.SigningCertSerial == "" {
		t.Errorf("report %+v", rep)
	}
	checkSigning(t, s, rep.PublicKey)
	checkEncryption(t, s, cardID, rep)
}

func TestParseCADelivery(t *testing.T) {
	cardID := mustHex("411600D156000005005A3C9E17B2D40F")
	sign, _ := simkeys.CardSigningKey(cardID)
	d, err := simCA{}.Issue(context.Background(), CertRequest{CardID: cardID, SigningKey: &sign.PublicKey, Holder: &BasicInfo{
		Name: "王五", CardNumber: "B87654321", IssueDate: "20261201", ExpiryDate: "20361201"}})
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString
	wrap := func(s string) string { // line breaks and spaces, as delivered
		var b strings.Builder
		for i := 0; i < len(s); i += 64 {
			b.WriteString(s[i:min(i+64, len(s))])
			b.WriteString("\r\n ")
		}
		return b.String()
	}
	got, err := ParseCADelivery(wrap(b64(d.SigningCert)), wrap(b64(d.EncryptionCert)), "\t"+b64(d.EnvelopedKey)+"\n")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.SigningCert, d.SigningCert) || !bytes.Equal(got.EncryptionCert, d.EncryptionCert) || !bytes.Equal(got.EnvelopedKey, d.EnvelopedKey) {
		t.Error("parsed delivery differs")
	}
	js, _ := json.Marshal(d)
	back, err := ParseCADeliveryJSON(js)
	if err != nil || !bytes.Equal(back.EnvelopedKey, d.EnvelopedKey) {
		t.Fatalf("JSON round trip: %v", err)
	}
	if !strings.Contains(string(js), `"QMZS":"`) || !strings.Contains(string(js), `"JMMY":"AQAAAAEEAAAAAQAA`) {
		t.Errorf("JSON form %s", js)
	}
	q, j, m := b64(d.SigningCert), b64(d.EncryptionCert), b64(d.EnvelopedKey)
	for _, c := range []struct {
		name, q, j, m, field string
	}{
		{"empty QMZS", "", j, m, "QMZS"},
		{"QMZS not base64", "@@@@", j, m, "QMZS"},
		{"JMZS not a certificate", q, b64([]byte{0x30, 0x03, 1, 2, 3}), m, "JMZS"},
		{"JMZS cut", q, b64(d.EncryptionCert[:100]), m, "JMZS"},
		{"JMMY short", q, j, b64(d.EnvelopedKey[:387]), "JMMY"},
		{"JMMY long", q, j, b64(append(slices.Clone(d.EnvelopedKey), 0)), "JMMY"},
		{"JMMY version", q, j, b64(append([]byte{2}, d.EnvelopedKey[1:]...)), "JMMY"},
	} {
		_, err := ParseCADelivery(c.q, c.j, c.m)
		var de *CADeliveryError
		if !errors.As(err, &de) || de.Field != c.field || !errors.Is(err, ErrCADelivery) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	for _, bad := range []string{`{"QMZS":"` + q + `","JMZS":"` + j + `","JMMY":"` + m + `"} {}`, `[]`, `{"QMZS":1}`} {
		if _, err := ParseCADeliveryJSON([]byte(bad)); !errors.Is(err, ErrCADelivery) {
			t.Errorf("%.40s: %v", bad, err)
		}
	}
}

// TestPersonalisePKIDelivery: a delivery obtained out of band for the key
// already on the card (no key generated), then one for another key.
func TestPersonalisePKIDelivery(t *testing.T) {
	ctx := context.Background()
	s, cardID := issuedBlankSession(t)
	p := s.PKI()
	in := simPersonalise(cardID)
	if err := p.VerifyAdminPIN(ctx, in.AdminPIN, PINOptions{}); err != nil {
		t.Fatal(err)
	}
	pub, err := p.GenerateSigningKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	info, err := ReadWithHSM(ctx, s, simHSM{}, ReadOptions{Fields: FieldsAll})
	if err != nil {
		t.Fatal(err)
	}
	d, err := simCA{}.Issue(ctx, CertRequest{CardID: cardID, SigningKey: pub, Holder: info})
	if err != nil {
		t.Fatal(err)
	}
	file, _ := json.Marshal(d)
	d2, err := ParseCADeliveryJSON(file)
	if err != nil {
		t.Fatal(err)
	}

	// For another key: refused before anything is written.
	other, _ := simkeys.CardSigningKey(cardID)
	wrong, _ := simCA{}.Issue(ctx, CertRequest{CardID: cardID, SigningKey: &other.PublicKey, Holder: info})
	in.CA, in.Delivery = nil, wrong
	_, err = PersonalisePKI(ctx, s, in)
	var ie *IssueError
	if !errors.As(err, &ie) || ie.Step != StepPKICert || !errors.Is(err, ErrKeyMismatch) || !slices.Equal(ie.Written, []string{StepPKIAdmin}) {
		t.Fatalf("delivery for another key: %v", err)
	}

	in.Delivery = d2
	rep, err := PersonalisePKI(ctx, s, in)
	if err != nil {
		t.Fatal(err)
	}
	xy, _ := sm.MarshalPublicKeyXY(pub)
	if want := []string{StepPKIAdmin, StepPKICert, StepPKIEncCert, StepPKIEncKey, StepPKIVerify}; !slices.Equal(rep.Steps, want) || rep.PublicKey != hexString(xy) {
		t.Errorf("report %+v", rep)
	}
	checkSigning(t, s, rep.PublicKey)
	checkEncryption(t, s, cardID, rep)
}

// TestPersonalisePKIWrongEnvelope: a JMMY enveloped for another signing
// key (its JMZS consistent) is refused by the card at 80 4E.
func TestPersonalisePKIWrongEnvelope(t *testing.T) {
	ctx := context.Background()
	s, cardID := issuedBlankSession(t)
	j, jpath := tempJournal(t)
	var err error
	in := simPersonalise(cardID)
	in.CA, in.Journal = wrongEnvelopeCA{}, j
	_, err = PersonalisePKI(ctx, s, in)
	var ie *IssueError
	var se *apdu.StatusError
	if !errors.As(err, &ie) || ie.Step != StepPKIEncKey || !errors.As(err, &se) || se.SW != apdu.SWIncorrectData ||
		!strings.Contains(err.Error(), "pki.enc_key") || !strings.Contains(err.Error(), "80 4E") {
		t.Fatalf("err = %v", err)
	}
	if want := []string{StepPKIAdmin, StepPKIKeygen, StepPKICert, StepPKIEncCert}; !slices.Equal(ie.Written, want) {
		t.Errorf("written %v", ie.Written)
	}
	entries, _ := ReadJournal(jpath)
	if last := entries[len(entries)-1]; last.Step != StepPKIEncKey || !strings.Contains(last.Error, "80 4E") {
		t.Errorf("journal %+v", last)
	}
	// The right CA completes the card.
	rep, err := PersonalisePKI(ctx, s, simPersonalise(cardID))
	if err != nil {
		t.Fatal(err)
	}
	checkEncryption(t, s, cardID, rep)
}

// wrongEnvelopeCA delivers the SIM certificates with a JMMY enveloped for
// another signing key.
type wrongEnvelopeCA struct{}

func (wrongEnvelopeCA) Issue(ctx context.Context, req CertRequest) (*CADelivery, error) {
	d, err := simCA{}.Issue(ctx, req)
	if err != nil {
		return nil, err
	}
	other, _ := simkeys.CardSigningKey(req.CardID)
	env, err := simkeys.EnvelopedKey(req.CardID, &other.PublicKey)
	if err != nil {
		return nil, err
	}
	d.EnvelopedKey, _ = env.Marshal()
	return d, nil
}

// pkiFaultChip counts the commands of a card; at removeAfter it takes the
// card out of the reader right after answering (0: never), and it flips
// a MAC byte of every CHANGE MASTER KEY when badMAC is set.
type pkiFaultChip struct {
	sim.Chip
	mu          sync.Mutex
	n           int
	removeAfter int
	remove      func()
	badMAC      bool
}

func (c *pkiFaultChip) Transmit(cmd []byte) []byte {
	c.mu.Lock()
	if c.badMAC && len(cmd) > 5 && cmd[0] == 0x84 && cmd[1] == 0xD4 {
		cmd = slices.Clone(cmd)
		cmd[len(cmd)-1] ^= 1
	}
	c.n++
	n, removeAfter := c.n, c.removeAfter
	c.mu.Unlock()
	resp := c.Chip.Transmit(cmd)
	if n == removeAfter {
		c.remove()
	}
	return resp
}

func TestPersonalisePKIBadMAC(t *testing.T) {
	ctx := context.Background()
	s, cardID := issuedBlankSession(t)
	// Reopen the issued card behind the fault chip.
	chip := &pkiFaultChip{Chip: sessionChip(t, s), badMAC: true}
	s2 := issueSession(t, chip)
	in := simPersonalise(cardID)
	nk := [16]byte{0xAA, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	in.NewMasterKey = &nk
	_, err := PersonalisePKI(ctx, s2, in)
	var ie *IssueError
	var se *apdu.StatusError
	if !errors.As(err, &ie) || ie.Step != StepPKIMasterKey || !errors.As(err, &se) || se.SW != 0x6988 || !errors.Is(err, apdu.ErrSecureMessaging) {
		t.Fatalf("err = %v", err)
	}
	if want := allPKISteps; !slices.Equal(ie.Written, want) {
		t.Errorf("written %v", ie.Written)
	}
	// The master key is unchanged: the same input works with a good MAC.
	chip.mu.Lock()
	chip.badMAC = false
	chip.mu.Unlock()
	rep, err := PersonalisePKI(ctx, s2, in)
	if err != nil {
		t.Fatal(err)
	}
	checkEncryption(t, s2, cardID, rep)
}

// sessionChip returns the software card behind a session opened by
// issuedBlankSession.
func sessionChip(t *testing.T, s *Session) sim.Chip {
	t.Helper()
	chip, ok := issuedChips.Load(s)
	if !ok {
		t.Fatal("no chip for the session")
	}
	return chip.(sim.Chip)
}

// TestPersonalisePKIRemoval takes the card out after each command of a
// personalisation in turn: every failure is an IssueError naming a step
// (the journal ends with it), and the card put back personalises fully.
func TestPersonalisePKIRemoval(t *testing.T) {
	ctx := context.Background()
	// Count the commands of a whole personalisation.
	s0, cardID := issuedBlankSession(t)
	counter := &pkiFaultChip{Chip: sessionChip(t, s0)}
	s1 := issueSession(t, counter)
	opened := counter.n
	if _, err := PersonalisePKI(ctx, s1, simPersonalise(cardID)); err != nil {
		t.Fatal(err)
	}
	total := counter.n - opened
	if total < 20 {
		t.Fatalf("only %d commands", total)
	}
	t.Logf("%d commands", total)
	stepsSeen := map[string]bool{}
	for k := 1; k < total; k++ {
		s, _ := issuedBlankSession(t)
		chip := &pkiFaultChip{Chip: sessionChip(t, s)}
		b := reader.NewChipBackend("r")
		t.Cleanup(func() { b.Close() })
		chip.remove = func() { b.Remove("r") }
		if err := b.Insert("r", chip); err != nil {
			t.Fatal(err)
		}
		card, err := b.Connect(ctx, "r", reader.ConnectOptions{Mode: reader.Exclusive})
		if err != nil {
			t.Fatal(err)
		}
		sess, err := Open(ctx, card, Options{})
		if err != nil {
			t.Fatal(err)
		}
		chip.mu.Lock()
		chip.removeAfter = chip.n + k
		chip.mu.Unlock()
		jpath := filepath.Join(t.TempDir(), "journal")
		j, _ := OpenJournal(jpath)
		in := simPersonalise(cardID)
		in.Journal = j
		_, err = PersonalisePKI(ctx, sess, in)
		j.Close()
		card.Close()
		var ie *IssueError
		if !errors.As(err, &ie) || !errors.Is(err, reader.ErrCardRemoved) {
			t.Fatalf("removed after command %d/%d: %v", k, total, err)
		}
		stepsSeen[ie.Step] = true
		if entries, _ := ReadJournal(jpath); len(entries) > 0 {
			if last := entries[len(entries)-1]; last.Step != ie.Step || last.Error == "" {
				t.Errorf("removed after %d: journal ends with %+v, error at %s", k, last, ie.Step)
			}
		}
		// Put back: personalised again from scratch.
		chip.mu.Lock()
		chip.removeAfter = 0
		chip.mu.Unlock()
		if err := b.Insert("r", chip); err != nil {
			t.Fatal(err)
		}
		card, err = b.Connect(ctx, "r", reader.ConnectOptions{Mode: reader.Exclusive})
		if err != nil {
			t.Fatal(err)
		}
		sess, err = Open(ctx, card, Options{})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := PersonalisePKI(ctx, sess, simPersonalise(cardID))
		if err != nil {
			t.Fatalf("removed after %d (%s), personalised again: %v", k, ie.Step, err)
		}
		checkEncryption(t, sess, cardID, rep)
		card.Close()
	}
	for _, st := range []string{StepPKICheck, StepPKIAdmin, StepPKIKeygen, StepPKICert, StepPKIEncCert, StepPKIEncKey, StepPKIVerify} {
		if !stepsSeen[st] {
			t.Errorf("no removal during %s", st)
		}
	}
}

func FuzzParseCADeliveryJSON(f *testing.F) {
	cardID := mustHex("411600D156000005005A3C9E17B2D40F")
	sign, _ := simkeys.CardSigningKey(cardID)
	d, err := simCA{}.Issue(context.Background(), CertRequest{CardID: cardID, SigningKey: &sign.PublicKey, Holder: &BasicInfo{
		Name: "王五", CardNumber: "B87654321", IssueDate: "20261201", ExpiryDate: "20361201"}})
	if err != nil {
		f.Fatal(err)
	}
	good, _ := json.Marshal(d)
	f.Add(good)
	f.Add([]byte(`{"QMZS":"","JMZS":"","JMMY":""}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := ParseCADeliveryJSON(in)
		if err != nil {
			if !errors.Is(err, ErrCADelivery) {
				t.Fatalf("error without ErrCADelivery: %v", err)
			}
			return
		}
		if err := d.Check(); err != nil {
			t.Fatalf("parsed delivery does not check: %v", err)
		}
	})
}
