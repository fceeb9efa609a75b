package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sscctl pboc apps shows every directory entry marked supported or not by
// the terminal's list (--aids FILE), and a card outside the list gets the
// error naming its applications; a bad list is a usage error.
func TestPBOCAppsAIDList(t *testing.T) {
	dir := t.TempDir()
	visa := filepath.Join(dir, "visa.yaml")
	if err := os.WriteFile(visa, []byte("aids:\n  - aid: A0000000031010\n    name: Visa\n    partial: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"aids":[{"aid":"A0000000031010"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := runSimOnly(t, append([]string{"--reader", "sim", "--direct"}, args...), nil, &out, &errb)
		return code, out.String(), errb.String()
	}

	code, out, errs := run("pboc", "apps")
	if code != 0 || !strings.Contains(out, "directory:") || strings.Count(out, " supported ") != 2 || strings.Contains(out, "not supported") {
		t.Fatalf("default list: %d\n%s%s", code, out, errs)
	}
	code, out, errs = run("pboc", "apps", "--aids", visa)
	if code == 0 || strings.Count(out, "not supported") != 2 ||
		!strings.Contains(errs, "A000000333010101 (PBOC DEBIT)") || !strings.Contains(errs, "A000000333010106 (PBOC ECASH)") {
		t.Fatalf("Visa-only terminal: %d\n%s%s", code, out, errs)
	}
	code, _, errs = run("pboc", "apps", "--aids", bad)
	if code == 0 || !strings.Contains(errs, "partial") {
		t.Fatalf("bad list: %d %s", code, errs)
	}
}
