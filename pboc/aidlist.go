package pboc

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// MaxAIDListSize bounds an AID list file.
const MaxAIDListSize = 64 << 10

// MaxTerminalAIDs bounds the entries of an AID list (EMV terminals hold a
// few dozen; the list of AIDs method sends at least one SELECT each).
const MaxTerminalAIDs = 64

// ErrAIDList is wrapped by every error of ParseAIDList and LoadAIDList.
var ErrAIDList = errors.New("pboc: bad terminal AID list")

// aidListFile is the file format (docs/pboc.md), YAML or JSON:
//
//	aids:
//	  - aid: A000000333010101
//	    name: UnionPay Debit
//	    partial: true
type aidListFile struct {
	AIDs []aidListEntry `yaml:"aids"`
}

type aidListEntry struct {
	AID     string `yaml:"aid"`
	Name    string `yaml:"name,omitempty"`
	Partial *bool  `yaml:"partial"`
}

// ParseAIDList reads a terminal AID list in the documented format (YAML,
// or JSON, which YAML reads too): a top-level "aids" list, in the
// terminal's order, of {aid: hex 5 to 16 bytes, name: optional, partial:
// true|false (required: the ASI is a deliberate choice per application)}.
// Unknown keys, duplicate AIDs, an empty list and more than
// MaxTerminalAIDs entries are errors wrapping ErrAIDList.
func ParseAIDList(data []byte) ([]TerminalAID, error) {
	if len(data) > MaxAIDListSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrAIDList, len(data), MaxAIDListSize)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f aidListFile
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty file", ErrAIDList)
		}
		return nil, fmt.Errorf("%w: %v", ErrAIDList, err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: more than one document", ErrAIDList)
	}
	if len(f.AIDs) == 0 {
		return nil, fmt.Errorf("%w: no \"aids\" entries", ErrAIDList)
	}
	if len(f.AIDs) > MaxTerminalAIDs {
		return nil, fmt.Errorf("%w: %d entries, at most %d", ErrAIDList, len(f.AIDs), MaxTerminalAIDs)
	}
	out := make([]TerminalAID, 0, len(f.AIDs))
	for i, e := range f.AIDs {
		aid, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(e.AID), " ", ""))
		if err != nil || len(aid) < 5 || len(aid) > 16 {
			return nil, fmt.Errorf("%w: entry %d: aid %q is not 5 to 16 bytes of hex", ErrAIDList, i+1, e.AID)
		}
		if e.Partial == nil {
			return nil, fmt.Errorf("%w: entry %d (%X): \"partial\" is missing (true or false)", ErrAIDList, i+1, aid)
		}
		if len(e.Name) > 64 {
			return nil, fmt.Errorf("%w: entry %d (%X): name longer than 64 bytes", ErrAIDList, i+1, aid)
		}
		for _, o := range out {
			if bytes.Equal(o.AID, aid) {
				return nil, fmt.Errorf("%w: entry %d: aid %X listed twice", ErrAIDList, i+1, aid)
			}
		}
		out = append(out, TerminalAID{AID: aid, Partial: *e.Partial, Name: e.Name})
	}
	return out, nil
}

// LoadAIDList reads the AID list file at path (see ParseAIDList).
func LoadAIDList(path string) ([]TerminalAID, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAIDList, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxAIDListSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrAIDList, path, err)
	}
	l, err := ParseAIDList(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

// MarshalAIDList writes a list in the file format (YAML), e.g. to start
// a terminal's file from DefaultAIDs.
func MarshalAIDList(aids []TerminalAID) ([]byte, error) {
	f := aidListFile{AIDs: make([]aidListEntry, len(aids))}
	for i, a := range aids {
		p := a.Partial
		f.AIDs[i] = aidListEntry{AID: fmt.Sprintf("%X", a.AID), Name: a.Name, Partial: &p}
	}
	return yaml.Marshal(f)
}

// Supports reports whether the terminal list aids accepts card AID aid
// (exactly, or as an extension of a partial entry), and which entry does.
func Supports(aids []TerminalAID, aid []byte) (TerminalAID, bool) {
	for _, t := range aids {
		if t.matches(aid) {
			return t, true
		}
	}
	return TerminalAID{}, false
}
