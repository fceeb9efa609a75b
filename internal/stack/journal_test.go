package stack

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sscard/ssc/sscard"
)

func TestJournal(t *testing.T) {
	j, closeJ, err := OpenJournal("")
	if j != nil || err != nil {
		t.Fatalf("none: %v %v", j, err)
	}
	closeJ()
	if _, err := ReadResume(""); !errors.Is(err, ErrNoJournal) {
		t.Errorf("resume without journal: %v", err)
	}
	path := filepath.Join(t.TempDir(), "journal")
	if _, err := ReadResume(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing journal: %v", err)
	}
	j, closeJ, err = OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer closeJ()
	if e, err := ReadResume(path); err != nil || e == nil || len(e) != 0 {
		t.Errorf("empty journal: %v %v", e, err)
	}
	if err := j.Record(sscard.JournalEntry{Step: sscard.StepPKICheck}); err != nil {
		t.Fatal(err)
	}
	if e, err := ReadResume(path); err != nil || len(e) != 1 {
		t.Errorf("one entry: %v %v", e, err)
	}
	if _, _, err := OpenJournal(filepath.Join(path, "not-a-dir", "x")); err == nil {
		t.Error("bad path: no error")
	}
}

// TestReadResumeBadJournals: ReadResume is a thin wrapper over
// sscard.ReadJournal, which FuzzReadJournal fuzzes; these are its seeds and
// the hostile shapes a resume may meet (torn last line, not JSON, binary,
// an empty line, a huge line). The wrapper's own promises hold on each:
// entries xor error, never nil entries, the error names the journal and
// never quotes its content.
func TestReadResumeBadJournals(t *testing.T) {
	line := `{"time":"2026-01-02T03:04:05Z","card_id":"411600D156000005005A3C9E17B2D40F","step":"check"}`
	for name, data := range map[string]string{
		"empty":      "",
		"one":        line + "\n",
		"torn last":  line + "\n" + line[:20],
		"not json":   "{\"step\":\"write\",\"field\":\"ssn\"}\nnot json 110101198512120035\n{}\n",
		"binary":     "\x00\xff\xfe{\n\x1b[2J",
		"empty line": line + "\n\n" + line + "\n",
		"huge line":  `{"step":"` + strings.Repeat("9", 4<<20) + `"}` + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "journal")
			if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
			e, err := ReadResume(p)
			switch {
			case err != nil && e != nil:
				t.Fatalf("entries and error %v", err)
			case err == nil && e == nil:
				t.Fatal("nil entries without an error")
			case err != nil && !strings.Contains(err.Error(), "issuance journal"):
				t.Errorf("error %v does not name the journal", err)
			case err != nil && (strings.Contains(err.Error(), "110101198512120035") || strings.Contains(err.Error(), "9999999999")):
				t.Errorf("error %.200s quotes the journal", err)
			}
		})
	}
}
