package hostile

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the table of hostile tests in docs/reliability.md")

// CheckEnv names the log TestReliabilityTable compares the documentation
// with (the test command sets it after the run that wrote the log).
const CheckEnv = "SSC_HOSTILE_CHECK"

const (
	tableBegin = "<!-- hostile tests: generated from the test run by internal/hostile; do not edit -->"
	tableEnd   = "<!-- end of hostile tests -->"
)

func TestTable(t *testing.T) {
	got := Table([]Entry{
		{Area: "pcscd", Row: "pcscd killed", Test: "TestA/sub", Counts: map[string]int{"kills": 2}},
		{Area: "pcscd", Row: "pcscd killed", Test: "TestB", Counts: map[string]int{"kills": 1, "requests": 4}},
		{Area: "card", Row: "card pulled", Test: "TestC", Counts: map[string]int{"pulls": 3}},
	})
	want := "| area | what the tests do | counts (one run) | tests |\n|---|---|---|---|\n" +
		"| card | card pulled | 3 pulls | `TestC` |\n" +
		"| pcscd | pcscd killed | 3 kills, 4 requests | `TestA`, `TestB` |\n"
	if got != want {
		t.Errorf("Table:\n%s\nwant:\n%s", got, want)
	}
}

// TestReliabilityTable keeps docs/reliability.md's table equal to what the
// hostile and fault tests of the last full run recorded.
func TestReliabilityTable(t *testing.T) {
	doc := filepath.Join("..", "..", "docs", "reliability.md")
	text, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok1 := strings.Cut(string(text), tableBegin+"\n")
	_, after, ok2 := strings.Cut(rest, tableEnd)
	if !ok1 || !ok2 {
		t.Fatalf("%s lacks the markers %q … %q", doc, tableBegin, tableEnd)
	}
	log := os.Getenv(CheckEnv)
	if log == "" {
		t.Skipf("%s not set: the test command sets it after the full run (./scripts/test.sh)", CheckEnv)
	}
	f, err := os.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries, err := ReadLog(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatalf("%s recorded nothing: the hostile and fault tests did not run", log)
	}
	want := before + tableBegin + "\n" + Table(entries) + tableEnd + after
	if want == string(text) {
		return
	}
	if *update {
		if err := os.WriteFile(doc, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("the table of hostile tests in docs/reliability.md is stale: run ./scripts/test.sh with UPDATE_RELIABILITY=1 (or go test ./internal/hostile -run TestReliabilityTable -update with %s set)", CheckEnv)
}
