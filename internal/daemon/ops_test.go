package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sscd"
)

// apduCounter counts the APDUs a card receives.
type apduCounter struct {
	sim.Chip
	n atomic.Int32
}

func (c *apduCounter) Transmit(cmd []byte) []byte { c.n.Add(1); return c.Chip.Transmit(cmd) }

func TestChangePIN(t *testing.T) {
	ctx := ctxT(t)
	_, c, _ := testDaemon(t, Config{}, simBackend(t, newCard(t, "gen3", nil)))
	waitReader(t, c, "r0", func(r sscd.Reader, _ bool) bool { return r.CardPresent })
	if _, err := c.ChangePIN(ctx, "r0", sscd.ChangePINRequest{Old: "123456", New: "112233"}, sscd.CardOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.VerifyPIN(ctx, "r0", sscd.VerifyPINRequest{PIN: "112233"}, sscd.CardOptions{}); err != nil {
		t.Fatalf("new PIN: %v", err)
	}
	_, err := c.ChangePIN(ctx, "r0", sscd.ChangePINRequest{Old: "123456", New: "445566"}, sscd.CardOptions{})
	wantCode(t, err, sscd.CodeWrongPIN)
	for _, req := range []sscd.ChangePINRequest{{Old: "112233"}, {New: "1"}, {Old: "112233", New: "445566", PINPad: true}, {}} {
		_, err = c.ChangePIN(ctx, "r0", req, sscd.CardOptions{})
		wantCode(t, err, sscd.CodeBadRequest)
	}
	_, err = c.ChangePIN(ctx, "r0", sscd.ChangePINRequest{PINPad: true}, sscd.CardOptions{})
	wantCode(t, err, sscd.CodePINPadUnsupported)
}

func TestAPDUPassthrough(t *testing.T) {
	ctx := ctxT(t)
	selectMF := sscd.HexBytes{0x00, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00}
	getChallenge := sscd.HexBytes{0x00, 0x84, 0x00, 0x00, 0x08}

	_, c, _ := testDaemon(t, Config{}, simBackend(t, newCard(t, "gen3", nil)))
	waitReader(t, c, "r0", func(r sscd.Reader, _ bool) bool { return r.CardPresent })
	_, err := c.APDU(ctx, "r0", sscd.APDURequest{APDUs: []sscd.HexBytes{selectMF}}, sscd.CardOptions{})
	wantCode(t, err, sscd.CodeDisabled)

	// Enabled, but this peer (root, running the tests) is not an admin.
	_, c2, _ := testDaemon(t, Config{Admin: AdminConfig{APDU: true, UIDs: []uint32{4242}}}, simBackend(t, newCard(t, "gen3", nil)))
	waitReader(t, c2, "r0", func(r sscd.Reader, _ bool) bool { return r.CardPresent })
	_, err = c2.APDU(ctx, "r0", sscd.APDURequest{APDUs: []sscd.HexBytes{selectMF}}, sscd.CardOptions{})
	wantCode(t, err, sscd.CodeForbidden)

	admin := AdminConfig{APDU: true, UIDs: []uint32{uint32(os.Getuid())}}
	_, c3, _ := testDaemon(t, Config{Admin: admin}, simBackend(t, newCard(t, "gen3", nil)))
	waitReader(t, c3, "r0", func(r sscd.Reader, _ bool) bool { return r.CardPresent })
	res, err := c3.APDU(ctx, "r0", sscd.APDURequest{APDUs: []sscd.HexBytes{selectMF, getChallenge}}, sscd.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Responses) != 2 || len(res.Responses[1]) != 10 || res.Responses[1][8] != 0x90 {
		t.Errorf("responses %v", res.Responses)
	}
	for _, req := range []sscd.APDURequest{{}, {APDUs: []sscd.HexBytes{{0x00}}}, {APDUs: make([]sscd.HexBytes, sscd.MaxAPDUs+1)}} {
		_, err := c3.APDU(ctx, "r0", req, sscd.CardOptions{})
		wantCode(t, err, sscd.CodeBadRequest)
	}
}

func TestInfoCache(t *testing.T) {
	ctx := ctxT(t)
	chip := &apduCounter{Chip: newCard(t, "gen3", nil)}
	sb := simBackend(t, chip)
	_, c, _ := testDaemon(t, Config{HSM: "sim"}, sb)
	waitReader(t, c, "r0", func(r sscd.Reader, _ bool) bool { return r.Kind == sscd.KindSSC })
	first, err := c.Info(ctx, "r0", sscd.InfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := chip.n.Load()
	for range 3 {
		again, err := c.Info(ctx, "r0", sscd.InfoOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if again.SSN != first.SSN {
			t.Fatalf("cached %+v", again)
		}
	}
	if got := chip.n.Load(); got != n {
		t.Errorf("cached reads sent %d APDUs", got-n)
	}
	if _, err := c.Info(ctx, "r0", sscd.InfoOptions{Fresh: true}); err != nil {
		t.Fatal(err)
	}
	if chip.n.Load() == n {
		t.Error("fresh read did not reach the card")
	}
	// Another card in the same reader: nothing of the first one is served.
	if err := sb.Remove("r0"); err != nil {
		t.Fatal(err)
	}
	waitReader(t, c, "r0", func(r sscd.Reader, _ bool) bool { return !r.CardPresent })
	if err := sb.Insert("r0", newCard(t, "gen3", secondHolder)); err != nil {
		t.Fatal(err)
	}
	waitReader(t, c, "r0", func(r sscd.Reader, _ bool) bool { return r.CardPresent })
	second, err := c.Info(ctx, "r0", sscd.InfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if second.SSN == first.SSN {
		t.Errorf("the second card read as the first: %+v", second)
	}
}

func TestCardKind(t *testing.T) {
	other := &apduOnly{}
	_, c, _ := testDaemon(t, Config{}, simBackend(t, newCard(t, "gen2", nil), other))
	r0 := waitReader(t, c, "r0", func(r sscd.Reader, _ bool) bool { return r.Kind != sscd.KindUnknown })
	if r0.Kind != sscd.KindSSC || r0.Generation != 2 || r0.SpecVersion == "" {
		t.Errorf("gen2 card: %+v", r0)
	}
	r1 := waitReader(t, c, "r1", func(r sscd.Reader, _ bool) bool { return r.Kind != sscd.KindUnknown })
	if r1.Kind != sscd.KindOther || r1.Generation != 0 {
		t.Errorf("other card: %+v", r1)
	}
}

// apduOnly is a card that knows no application: every SELECT gives 6A82.
type apduOnly struct{}

func (apduOnly) ATR() []byte                { return []byte{0x3B, 0x00} }
func (apduOnly) Reset()                     {}
func (apduOnly) PowerOn()                   {}
func (apduOnly) PowerOff()                  {}
func (apduOnly) Transmit(cmd []byte) []byte { return []byte{0x6A, 0x82} }

func TestReloadAndAudit(t *testing.T) {
	ctx := ctxT(t)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "audit.log")
	cfg := Config{HSM: "sim", Audit: AuditConfig{Path: logPath}}
	d, c, sock := testDaemon(t, cfg, simBackend(t, newCard(t, "gen3", nil), newCard(t, "gen3", secondHolder)))
	cfg.Socket = sock
	waitReader(t, c, "r1", func(r sscd.Reader, _ bool) bool { return r.Kind == sscd.KindSSC })
	if _, err := c.Link(ctx, "r0", sscd.LinkRequest{Level: 2, Origin: testOrigin, Nonce: testNonce(9), PIN: "123456"}, sscd.CardOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.VerifyPIN(ctx, "r0", sscd.VerifyPINRequest{PIN: "654321"}, sscd.CardOptions{}); err == nil {
		t.Fatal("wrong PIN accepted")
	}

	// Reload: hide r1, forbid everyone but uid 4242 — then allow again.
	next := cfg
	next.IgnoreReaders = []string{"r1"}
	if _, err := d.Reload(next); err != nil {
		t.Fatal(err)
	}
	rs, err := c.Readers(ctx)
	if err != nil || len(rs) != 1 || rs[0].Name != "r0" {
		t.Fatalf("after reload: %v %+v", err, rs)
	}
	_, err = c.Info(ctx, "r1", sscd.InfoOptions{})
	wantCode(t, err, sscd.CodeReaderNotFound)
	next.AllowUIDs = []uint32{4242}
	restart, err := d.Reload(next)
	if err != nil || len(restart) != 0 {
		t.Fatal(restart, err)
	}
	_, err = c.Readers(ctx)
	wantCode(t, err, sscd.CodeForbidden)
	bad := cfg
	bad.Serial = []string{"/dev/ttyS0:Nope"}
	if _, err := d.Reload(bad); err == nil {
		t.Error("bad configuration accepted")
	}
	_, err = c.Readers(ctx)
	wantCode(t, err, sscd.CodeForbidden) // unchanged by the failed reload
	if _, err := d.Reload(cfg); err != nil {
		t.Fatal(err)
	}

	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	log := string(data)
	for _, secret := range []string{"123456", "654321", "6217991000001234561", "A12345678", "张三"} {
		if strings.Contains(log, secret) {
			t.Errorf("audit log contains %q:\n%s", secret, log)
		}
	}
	for _, want := range []string{`"op":"link"`, `"level":2`, `"pan":"621799`, `"outcome":"wrong_pin"`, `"card":"`, `"client":"uid:`} {
		if !strings.Contains(log, want) {
			t.Errorf("audit log lacks %s:\n%s", want, log)
		}
	}
}

func TestMetrics(t *testing.T) {
	ctx := ctxT(t)
	_, c, _ := testDaemon(t, Config{HSM: "sim"}, simBackend(t, newCard(t, "gen3", nil)))
	waitReader(t, c, "r0", func(r sscd.Reader, _ bool) bool { return r.Kind == sscd.KindSSC })
	if _, err := c.Info(ctx, "r0", sscd.InfoOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := c.Info(ctx, "nope", sscd.InfoOptions{})
	wantCode(t, err, sscd.CodeReaderNotFound)
	m, err := c.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`sscd_operations_total{op="info",outcome="ok"} 1`,
		`sscd_operations_total{op="info",outcome="reader_not_found"} 1`,
		`sscd_operation_duration_seconds_count{op="info"} 2`,
		`sscd_readers 2`,
		`sscd_cards_present 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestInfoCacheCoalesces: many clients asking for a card not read yet
// cause one card read, not one each.
func TestInfoCacheCoalesces(t *testing.T) {
	chip := &apduCounter{Chip: newCard(t, "gen3", nil)}
	_, c, _ := testDaemon(t, Config{HSM: "sim"}, simBackend(t, chip))
	waitReader(t, c, "r0", func(r sscd.Reader, _ bool) bool { return r.Kind == sscd.KindSSC })
	before := chip.n.Load()
	errs := make(chan error, 20)
	for range 20 {
		go func() {
			_, err := c.Info(ctxT(t), "r0", sscd.InfoOptions{})
			errs <- err
		}()
	}
	for range 20 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// One read: a handful of APDUs for opening, the HSM two-step and the
	// records; twenty reads would be twenty times that.
	one := chip.n.Load() - before
	if _, err := c.Info(ctxT(t), "r0", sscd.InfoOptions{Fresh: true}); err != nil {
		t.Fatal(err)
	}
	single := chip.n.Load() - before - one
	if one > 2*single {
		t.Errorf("20 concurrent first reads sent %d APDUs; one read sends %d", one, single)
	}
}

func TestInfoOptionsAndHSMAbort(t *testing.T) {
	ctx := ctxT(t)
	cfg := Config{HSM: "sim", OpTimeout: Duration(5 * time.Second), HSMSessionTimeout: Duration(time.Hour)}
	_, c, _ := testDaemon(t, cfg, simBackend(t, newCard(t, "gen3", nil)))
	waitReader(t, c, "r0", func(r sscd.Reader, _ bool) bool { return r.Kind == sscd.KindSSC })
	if _, err := c.Info(ctx, "r0", sscd.InfoOptions{}); err != nil { // fills the cache
		t.Fatal(err)
	}
	_, err := c.Info(ctx, "r0", sscd.InfoOptions{NoHSM: true})
	wantCode(t, err, sscd.CodeNeedsHSM) // not answered from the cache
	part, err := c.Info(ctx, "r0", sscd.InfoOptions{NoHSM: true, Partial: true})
	if err != nil || part.SSN != "" || len(part.Unavailable) == 0 {
		t.Fatalf("partial: %+v, %v", part, err)
	}
	all, err := c.Info(ctx, "r0", sscd.InfoOptions{AllFields: true})
	if err != nil || all.Sex == "" || all.BirthDate == "" {
		t.Fatalf("all fields: %+v, %v", all, err)
	}
	// An aborted HSM session frees the reader: the next operation does not
	// wait for the session timeout (an hour), it would fail with busy after
	// the operation timeout.
	st, err := c.HSMStep1(ctx, "r0", sscd.HSMStep1Options{AllFields: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.HSMAbort(ctx, st.Session); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PINStatus(ctx, "r0", sscd.CardOptions{}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, c.HSMAbort(ctx, st.Session), sscd.CodeSessionNotFound)
}
