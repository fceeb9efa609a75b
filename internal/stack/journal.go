package stack

import (
	"errors"
	"fmt"

	"github.com/sscard/ssc/sscard"
)

// ErrNoJournal: resuming needs the journal of the run to resume.
var ErrNoJournal = errors.New("resuming needs the issuance journal")

// OpenJournal opens the issuance journal at path (issuance and PKI
// personalisation steps, appended); "" means none: j is nil and close does
// nothing.
func OpenJournal(path string) (j sscard.Journal, close func(), err error) {
	if path == "" {
		return nil, func() {}, nil
	}
	fj, err := sscard.OpenJournal(path)
	if err != nil {
		return nil, nil, fmt.Errorf("issuance journal: %w", err)
	}
	return fj, func() { fj.Close() }, nil
}

// ReadResume reads the journal a PKI personalisation resumes from
// (sscard.PersonaliseInput.Resume). The entries are never nil: a journal
// that records nothing yet means a fresh run. A missing file is an error,
// not a fresh run: a mistyped path must not make a new signing key.
func ReadResume(path string) ([]sscard.JournalEntry, error) {
	if path == "" {
		return nil, ErrNoJournal
	}
	entries, err := sscard.ReadJournal(path)
	if err != nil {
		return nil, fmt.Errorf("issuance journal: %w", err)
	}
	if entries == nil {
		entries = []sscard.JournalEntry{}
	}
	return entries, nil
}
