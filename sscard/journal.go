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
		if !equalFoldHex(e.CardID, cardID) || strings.HasPrefix(e.Step, "pki.") || strings.HasPrefix(e.Step, "batch.") {
			continue // another card, the PKI personalisation or a batch (their own steps)
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

// Notes of the PKI personalisation's journal entries (JournalEntry.Note).
const (
	// JournalNoteResume marks the pki.check entry of a resumed run; its
	// Written lists the steps the resumed run had done, which the new run
	// takes over (PKIStatus counts them as done).
	JournalNoteResume = "resume"
	// JournalNoteKept marks a key or certificate step of a resumed run
	// that was not run again: what the previous run wrote is on the card
	// and verifies.
	JournalNoteKept = "kept: already on the card"
	// JournalNoteDone marks an admin PIN or master key step of a resumed
	// run that the previous run had completed.
	JournalNoteDone = "done by the previous run"
)

// What PKIJournalStatus.AdminPIN and MasterKey say the card holds.
const (
	// PKISecretOld: the value the run started with (AdminPIN, MasterKey of
	// the first run when runs were resumed).
	PKISecretOld = "old"
	// PKISecretNew: the run's new value (NewAdminPIN, NewMasterKey).
	PKISecretNew = "new"
	// PKISecretSplit (master key only): the new key at the PKI ADF, the
	// old one still at the PKI DDF (pki.master_key done,
	// pki.master_key_ddf not): resume, or PKI.ChangeDDFMasterKey(old, new).
	PKISecretSplit = "new_adf_old_ddf"
)

// PKIJournalStatus summarises the last PKI personalisation of a card in a
// journal (PKIStatus).
type PKIJournalStatus struct {
	CardID string `json:"card_id"`
	// Done: the run ended with pki.done.
	Done bool `json:"done"`
	// Interrupted: the run neither ended nor failed (crash, power loss).
	Interrupted bool `json:"interrupted,omitempty"`
	// FailedStep and Error: the step that failed and its error.
	FailedStep string `json:"failed_step,omitempty"`
	Error      string `json:"error,omitempty"`
	// Step is the last step recorded.
	Step string `json:"step"`
	// Steps are the steps done, in order (pki.check and pki.done
	// excluded), with those a resumed run took over.
	Steps []string `json:"steps"`
	// AdminPIN (PKISecretOld or PKISecretNew) and MasterKey
	// (PKISecretOld, PKISecretSplit or PKISecretNew) say which secrets the
	// card holds now, as far as the journal knows: a change interrupted
	// after the card took it but before its answer was recorded is not
	// seen (the step after Step may have taken effect).
	AdminPIN  string `json:"admin_pin"`
	MasterKey string `json:"master_key"`
}

// Completed says whether step is among the steps done.
func (st *PKIJournalStatus) Completed(step string) bool {
	if st == nil {
		return false
	}
	for _, s := range st.Steps {
		if s == step {
			return true
		}
	}
	return false
}

// Secrets says in words which admin PIN and master key the card holds,
// with the recovery when the master key differs between the PKI ADF and
// DDF.
func (st *PKIJournalStatus) Secrets() string {
	pin := "admin PIN: the old one (the run's AdminPIN)"
	if st.AdminPIN == PKISecretNew {
		pin = "admin PIN: the new one (pki.admin_pin done; give it as the admin PIN to resume)"
	}
	var key string
	switch st.MasterKey {
	case PKISecretNew:
		key = "master key: the new one at the PKI ADF and DDF"
	case PKISecretSplit:
		key = "master key: the new one at the PKI ADF, still the old one at the PKI DDF " +
			"(resume with the old and the new master key: only the DDF is changed; or PKI.ChangeDDFMasterKey(old, new))"
	default:
		key = "master key: the old one at the PKI ADF and DDF"
	}
	return pin + "; " + key
}

// PKIStatus returns the state of the last PKI personalisation of cardID
// (hex, any case) in entries, or nil when the journal has none. The last
// run starts at the card's last pki.check entry without error; a resumed
// run (pki.check noted JournalNoteResume) starts with the steps its
// predecessor had done. Steps are the entries without error after it
// (pki.check and pki.done excluded); Done when pki.done follows,
// FailedStep and Error from an error entry, Interrupted when neither.
func PKIStatus(entries []JournalEntry, cardID string) *PKIJournalStatus {
	var st *PKIJournalStatus
	for _, e := range entries {
		if !equalFoldHex(e.CardID, cardID) || !strings.HasPrefix(e.Step, "pki.") {
			continue
		}
		if e.Step == StepPKICheck && e.Error == "" {
			st = &PKIJournalStatus{CardID: e.CardID, Step: StepPKICheck}
			if e.Note == JournalNoteResume {
				for _, s := range e.Written {
					st.addStep(s)
				}
			}
			continue
		}
		if st == nil {
			continue
		}
		st.Step = e.Step
		switch {
		case e.Error != "":
			st.FailedStep, st.Error = e.Step, e.Error
		case e.Step == StepPKIDone:
			st.Done = true
		default:
			st.addStep(e.Step)
		}
	}
	if st == nil {
		return nil
	}
	st.Interrupted = !st.Done && st.FailedStep == ""
	st.AdminPIN = PKISecretOld
	if st.Completed(StepPKIAdminPIN) {
		st.AdminPIN = PKISecretNew
	}
	switch {
	case st.Completed(StepPKIMasterKeyDDF):
		st.MasterKey = PKISecretNew
	case st.Completed(StepPKIMasterKey):
		st.MasterKey = PKISecretSplit
	default:
		st.MasterKey = PKISecretOld
	}
	if st.Steps == nil {
		st.Steps = []string{}
	}
	return st
}

func (st *PKIJournalStatus) addStep(s string) {
	if s == StepPKICheck || s == StepPKIDone || st.Completed(s) {
		return
	}
	st.Steps = append(st.Steps, s)
}
