package sscard

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// FuzzReadJournal feeds the issuance journal reader (read back when a PKI
// personalisation resumes) any file: never a panic; entries it returns
// written again with FileJournal read back equal; Status never panics.
func FuzzReadJournal(f *testing.F) {
	e := JournalEntry{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), CardID: "411600D156000005005A3C9E17B2D40F", Step: StepCheck}
	line, _ := json.Marshal(e)
	f.Add(append(line, '\n'))
	f.Add(append(append(line, '\n'), line[:20]...)) // torn last line
	f.Add([]byte("{\"step\":\"write\",\"field\":\"ssn\"}\nnot json\n{}\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "in")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		entries, err := ReadJournal(p)
		if err != nil {
			if entries != nil {
				t.Fatal("entries and error")
			}
			return
		}
		Status(entries, "411600D156000005005A3C9E17B2D40F")
		q := filepath.Join(dir, "out")
		os.Remove(q)
		j, err := OpenJournal(q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if err := j.Record(e); err != nil {
				t.Fatal(err)
			}
		}
		j.Close()
		again, err := ReadJournal(q)
		if err != nil || len(again) != len(entries) {
			t.Fatalf("re-written journal: %d entries, %v", len(again), err)
		}
		for i := range entries {
			a, _ := json.Marshal(entries[i])
			b, _ := json.Marshal(again[i])
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("entry %d: %s != %s", i, a, b)
			}
		}
	})
}
