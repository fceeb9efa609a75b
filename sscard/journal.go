package sscard

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
)

// FileJournal is a Journal in a file of JSON lines, appended to and synced
// line by line, so a crash or power loss keeps every step recorded before
// it.
type FileJournal struct {
	mu sync.Mutex
	f  *os.File
}

// OpenJournal opens (creating, 0600) the journal file at path for appending.
func OpenJournal(path string) (*FileJournal, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	return &FileJournal{f: f}, nil
}

// Record implements Journal.
func (j *FileJournal) Record(e JournalEntry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return err
	}
	return j.f.Sync()
}

// Close closes the file.
func (j *FileJournal) Close() error { return j.f.Close() }

// ReadJournal reads the entries of a journal file; a torn last line (a
// crash while writing it) is ignored, any other bad line is an error.
func ReadJournal(path string) ([]JournalEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []JournalEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var bad error
	for n := 1; sc.Scan(); n++ {
		if bad != nil {
			return nil, bad // a bad line that was not the last one
		}
		var e JournalEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			bad = fmt.Errorf("sscard: journal %s line %d: %w", path, n, err)
			continue
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// JournalStatus summarises the last issuance of a card in a journal: the
// last step reached, the fields written by then, and the failure if any.
type JournalStatus struct {
	CardID  string   `json:"card_id"`
	Step    string   `json:"step"`
	Written []string `json:"written"`
	Error   string   `json:"error,omitempty"`
	Done    bool     `json:"done"`
}

// Status returns the state of the last issuance of cardID (hex, any case)
// in entries, or nil when the journal has none.
func Status(entries []JournalEntry, cardID string) *JournalStatus {
	var st *JournalStatus
	for _, e := range entries {
		if !equalFoldHex(e.CardID, cardID) || strings.HasPrefix(e.Step, "pki.") {
			continue // another card, or the PKI personalisation (its own steps)
		}
		if e.Step == StepCheck && e.Error == "" {
			st = &JournalStatus{CardID: e.CardID, Step: StepCheck}
			continue
		}
		if st == nil {
			continue
		}
		st.Step = e.Step
		if e.Step == StepWrite && e.Field != "" && e.Error == "" {
			st.Written = append(st.Written, e.Field)
		}
		if e.Error != "" {
			st.Error = e.Error
		}
		st.Done = e.Step == StepDone
	}
	return st
}

func equalFoldHex(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i]|0x20, b[i]|0x20
		if x != y {
			return false
		}
	}
	return true
}
