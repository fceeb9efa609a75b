package daemon

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sscard/ssc/link"
	"github.com/sscard/ssc/pboc"
	"github.com/sscard/ssc/sscd"
)

// unionPayOnly is the UnionPay-only terminal list of docs/pboc.md; it
// holds the software card's debit application.
const unionPayOnly = "../../pboc/testdata/unionpay-only.yaml"

// aidFiles writes a Visa-only terminal list (none of the software card's
// applications) and a malformed one, and returns their paths.
func aidFiles(t *testing.T) (visaOnly, bad string) {
	t.Helper()
	dir := t.TempDir()
	visaOnly = filepath.Join(dir, "visa.yaml")
	bad = filepath.Join(dir, "bad.yaml")
	for p, s := range map[string]string{
		visaOnly: "aids:\n  - aid: A0000000031010\n    name: Visa\n    partial: true\n",
		bad:      "aids:\n  - aid: A0000000031010\n", // partial missing
	} {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return visaOnly, bad
}

// TestLinkAIDList: the aids setting is the terminal AID list of level-2
// linking, through pcscd + vpcd. A list without the software card's
// applications refuses the link with bank_app_unsupported naming them (and
// matching bank_app_missing for older clients); a reload with a malformed
// or missing file is refused and keeps that list (not the default); a
// reload with the UnionPay list links the debit account.
func TestLinkAIDList(t *testing.T) {
	ctx := ctxT(t)
	visaOnly, bad := aidFiles(t)
	cfg := Config{HSM: "sim", PBOCCAKeys: "sim", AIDs: visaOnly}
	e := pcscDaemon(t, cfg, newCard(t, "gen3", nil))
	cfg.Socket = e.sock
	name := e.names[0]
	level2 := func(n byte) (*link.Bundle, error) {
		return e.c.Link(ctx, name, sscd.LinkRequest{Level: link.Level2, Origin: testOrigin, Nonce: testNonce(n), PIN: "123456"}, sscd.CardOptions{})
	}
	refused := func(when string, n byte) {
		t.Helper()
		_, err := level2(n)
		wantCode(t, err, sscd.CodeBankAppUnsupported)
		if !errors.Is(err, sscd.ErrBankAppMissing) {
			t.Errorf("%s: %v does not match ErrBankAppMissing", when, err)
		}
		for _, app := range []string{"A000000333010101", "A000000333010106"} {
			if err != nil && !strings.Contains(err.Error(), app) {
				t.Errorf("%s: %v does not name the card's application %s", when, err, app)
			}
		}
	}
	refused("Visa-only list", 1)

	for what, path := range map[string]string{"malformed": bad, "missing": filepath.Join(t.TempDir(), "none.yaml")} {
		next := cfg
		next.AIDs = path
		_, err := e.d.Reload(next)
		if err == nil || !strings.Contains(err.Error(), "aids: ") || !strings.Contains(err.Error(), path) || !errors.Is(err, pboc.ErrAIDList) {
			t.Fatalf("reload with a %s aids file: %v", what, err)
		}
		refused("after the refused reload ("+what+")", 2)
	}

	next := cfg
	next.AIDs = unionPayOnly
	if _, err := e.d.Reload(next); err != nil {
		t.Fatal(err)
	}
	nonce := testNonce(3)
	b, err := e.c.Link(ctx, name, sscd.LinkRequest{Level: link.Level2, Origin: testOrigin, Nonce: nonce, PIN: "123456"}, sscd.CardOptions{})
	if err != nil {
		t.Fatalf("UnionPay list: %v", err)
	}
	if b.Bank == nil || b.Bank.AID != "A000000333010101" || b.Bank.PAN != "6217991000001234561" {
		t.Fatalf("bank %+v", b.Bank)
	}
	if _, err := link.Verify(b, link.Options{Roots: simRoots(t), Origin: testOrigin, Nonce: nonce, MinLevel: link.Level2}); err != nil {
		t.Fatal(err)
	}
}

// TestAIDsConfig: a malformed, missing or oversized aids file stops the
// daemon before it serves, with an error naming the key and the file.
func TestAIDsConfig(t *testing.T) {
	visaOnly, bad := aidFiles(t)
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, []byte(strings.Repeat("#", pboc.MaxAIDListSize+1)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{bad, filepath.Join(t.TempDir(), "none.yaml"), big} {
		cfg := Config{AIDs: path, Socket: filepath.Join(t.TempDir(), "s.sock")}
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "aids: ") || !errors.Is(err, pboc.ErrAIDList) {
			t.Errorf("%s: Validate: %v", path, err)
		}
		d, err := New(cfg, nil)
		if err == nil {
			d.Shutdown(ctxT(t))
			t.Fatalf("%s: daemon started", path)
		}
		if !strings.Contains(err.Error(), "aids: ") || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: New: %v", path, err)
		}
	}
	for _, path := range []string{visaOnly, unionPayOnly} {
		cfg := Config{AIDs: path}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s: %v", path, err)
		}
		s, err := newSettings(cfg.WithDefaults())
		if err != nil || len(s.pbocOptions().AIDs) == 0 {
			t.Errorf("%s: settings %v", path, err)
		}
	}
	s, err := newSettings(Config{}.WithDefaults())
	if err != nil || s.pbocOptions().AIDs != nil {
		t.Errorf("no aids: %v, %v (want the default list)", s.pbocOptions().AIDs, err)
	}
	conf := filepath.Join(t.TempDir(), "sscd.yaml")
	if err := os.WriteFile(conf, []byte("aids: "+visaOnly+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if c, err := LoadConfig(conf); err != nil || c.AIDs != visaOnly {
		t.Errorf("LoadConfig: %+v %v", c.AIDs, err)
	}
}
