package stack

import (
	"errors"
	"os"
	"path/filepath"
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
