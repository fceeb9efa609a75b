package pboc

import (
	"bytes"

	"github.com/sscard/ssc/apdu"
)

// Priority is the application priority indicator (tag 87).
type Priority byte

// Rank is the priority 1 (highest) .. 15, or 0 for none.
func (p Priority) Rank() int { return int(p & 0x0F) }

// NeedsConfirmation is true when the application may not be selected
// without cardholder confirmation (b8).
func (p Priority) NeedsConfirmation() bool { return p&0x80 != 0 }

// DirectoryEntry is one application of a PSE directory record or of the
// PPSE FCI (an ADF entry, template 61).
type DirectoryEntry struct {
	AID             apdu.HexBytes `json:"aid"`             // 4F
	Label           string        `json:"label,omitempty"` // 50
	PreferredName   string        `json:"preferred_name,omitempty"`
	Priority        Priority      `json:"priority"`                // 87; 0 when absent
	HasPriority     bool          `json:"has_priority"`            // 87 present
	KernelID        apdu.HexBytes `json:"kernel_id,omitempty"`     // 9F2A (PPSE)
	Discretionary   apdu.HexBytes `json:"discretionary,omitempty"` // 73
	IssuerCodeTable int           `json:"-"`
}

// LogEntry is tag 9F4D: where the transaction log is.
type LogEntry struct {
	SFI     byte `json:"sfi"`
	Records byte `json:"records"`
}

// FCI is a decoded file control information template (tag 6F) of a PSE,
// PPSE or ADF.
type FCI struct {
	DFName apdu.HexBytes `json:"df_name"` // 84
	// PSE: SFI of the directory EF (88); 0 for PPSE and ADFs.
	DirectorySFI byte `json:"directory_sfi,omitempty"`
	// ADF only.
	Label           string    `json:"label,omitempty"`          // 50
	PreferredName   string    `json:"preferred_name,omitempty"` // 9F12 decoded with 9F11
	Priority        Priority  `json:"priority"`                 // 87
	HasPriority     bool      `json:"has_priority"`
	PDOL            DOL       `json:"pdol,omitempty"`              // 9F38
	Languages       string    `json:"languages,omitempty"`         // 5F2D
	IssuerCodeTable int       `json:"issuer_code_table,omitempty"` // 9F11, 0 when absent
	LogEntry        *LogEntry `json:"log_entry,omitempty"`         // BF0C/9F4D
	LoadLogEntry    *LogEntry `json:"load_log_entry,omitempty"`    // BF0C/DF4D
	// PPSE only: the directory entries of BF0C.
	Entries []DirectoryEntry `json:"entries,omitempty"`
	// Proprietary is the A5 template as parsed (for pretty-printing): the
	// objects inside A5, so apdu.FindBER(f.Proprietary, 0xBF0C, ...) works.
	Proprietary []apdu.TLV `json:"-"`
}

// ParseFCI decodes an FCI: one 6F template (trailing 00/FF padding
// allowed) with 84 and A5. Errors wrap ErrMalformed.
func ParseFCI(b []byte) (*FCI, error) {
	// Own the bytes: the result keeps slices of them.
	tpl, err := parseSingle("FCI", bytes.Clone(b), 0x6F)
	if err != nil {
		return nil, err
	}
	df, ok := apdu.FindBER(tpl.Children, 0x84)
	if !ok {
		return nil, malformed("FCI", "no DF name (84)")
	}
	if len(df.Value) < 1 || len(df.Value) > 16 {
		return nil, malformed("FCI", "DF name of %d bytes", len(df.Value))
	}
	a5, ok := apdu.FindBER(tpl.Children, 0xA5)
	if !ok {
		return nil, malformed("FCI", "no proprietary template (A5)")
	}
	f := &FCI{DFName: df.Value, Proprietary: a5.Children}
	p := a5.Children
	if v, ok := objValue(p, 0x88); ok {
		if len(v) != 1 || v[0] < 1 || v[0] > 30 {
			return nil, malformed("FCI", "directory SFI (88) %X", v)
		}
		f.DirectorySFI = v[0]
	}
	nm, err := parseNames("FCI", p)
	if err != nil {
		return nil, err
	}
	f.Label, f.PreferredName, f.IssuerCodeTable = nm.label, nm.preferred, nm.codeTable
	f.Priority, f.HasPriority = nm.priority, nm.hasPriority
	if v, ok := objValue(p, 0x9F38); ok {
		if f.PDOL, err = ParseDOL(v); err != nil {
			return nil, &FormatError{What: "FCI PDOL (9F38)", Err: err}
		}
	}
	if v, ok := objValue(p, 0x5F2D); ok {
		if f.Languages, err = decodeASCII("FCI language preference (5F2D)", v); err != nil {
			return nil, err
		}
	}
	if bf, ok := apdu.FindBER(p, 0xBF0C); ok {
		if f.LogEntry, err = logEntry(bf.Children, 0x9F4D); err != nil {
			return nil, err
		}
		if f.LoadLogEntry, err = logEntry(bf.Children, 0xDF4D); err != nil {
			return nil, err
		}
		for _, t := range bf.Children {
			if t.Tag != 0x61 {
				continue
			}
			e, err := parseEntry(t)
			if err != nil {
				return nil, err
			}
			f.Entries = append(f.Entries, e)
		}
	}
	return f, nil
}

// ParseDirectoryRecord decodes one PSE directory record: a 70 template
// with one or more 61 entries (other objects are ignored). Errors wrap
// ErrMalformed.
func ParseDirectoryRecord(b []byte) ([]DirectoryEntry, error) {
	tpl, err := parseSingle("directory record", bytes.Clone(b), 0x70)
	if err != nil {
		return nil, err
	}
	var out []DirectoryEntry
	for _, t := range tpl.Children {
		if t.Tag != 0x61 {
			continue
		}
		e, err := parseEntry(t)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, malformed("directory record", "no application template (61)")
	}
	return out, nil
}

// parseSingle parses b as exactly one object with tag want (padding aside).
func parseSingle(what string, b []byte, want apdu.Tag) (apdu.TLV, error) {
	list, err := apdu.ParseBER(b)
	if err != nil {
		return apdu.TLV{}, &FormatError{What: what, Err: err}
	}
	if len(list) != 1 || list[0].Tag != want {
		return apdu.TLV{}, malformed(what, "want one %s template, got %s", want, tagList(list))
	}
	return list[0], nil
}

func tagList(list []apdu.TLV) string {
	if len(list) == 0 {
		return "nothing"
	}
	s := ""
	for i, t := range list {
		if i > 0 {
			s += " "
		}
		s += t.Tag.String()
	}
	return s
}

// objValue is the value of the first object tagged tag in list.
func objValue(list []apdu.TLV, tag apdu.Tag) ([]byte, bool) {
	t, ok := apdu.FindBER(list, tag)
	return t.Value, ok
}

// appNames are the objects an FCI and a directory entry share.
type appNames struct {
	label, preferred string
	codeTable        int
	priority         Priority
	hasPriority      bool
}

func parseNames(what string, list []apdu.TLV) (appNames, error) {
	var n appNames
	var err error
	if v, ok := objValue(list, 0x9F11); ok {
		c, ok := 0, len(v) == 1
		if ok {
			c, ok = bcdByte(v[0])
		}
		if !ok {
			return n, malformed(what, "issuer code table index (9F11) %X", v)
		}
		n.codeTable = c
	}
	if v, ok := objValue(list, 0x50); ok {
		// The label is "ans" in EMV, but Chinese cards put GBK in it too.
		if n.label, err = DecodeText(v, 0); err != nil {
			return n, &FormatError{What: what + " label (50)", Err: err}
		}
	}
	if v, ok := objValue(list, 0x9F12); ok {
		if n.preferred, err = DecodeText(v, n.codeTable); err != nil {
			return n, &FormatError{What: what + " preferred name (9F12)", Err: err}
		}
	}
	if v, ok := objValue(list, 0x87); ok {
		if len(v) != 1 {
			return n, malformed(what, "priority indicator (87) of %d bytes", len(v))
		}
		n.priority, n.hasPriority = Priority(v[0]), true
	}
	return n, nil
}

func parseEntry(t apdu.TLV) (DirectoryEntry, error) {
	const what = "directory entry"
	aid, ok := objValue(t.Children, 0x4F)
	if !ok {
		return DirectoryEntry{}, malformed(what, "no AID (4F)")
	}
	if len(aid) < 5 || len(aid) > 16 {
		return DirectoryEntry{}, malformed(what, "AID %X of %d bytes, want 5..16", aid, len(aid))
	}
	n, err := parseNames(what, t.Children)
	if err != nil {
		return DirectoryEntry{}, err
	}
	e := DirectoryEntry{
		AID: aid, Label: n.label, PreferredName: n.preferred,
		Priority: n.priority, HasPriority: n.hasPriority, IssuerCodeTable: n.codeTable,
	}
	if v, ok := objValue(t.Children, 0x9F2A); ok {
		e.KernelID = v
	}
	if v, ok := objValue(t.Children, 0x73); ok {
		e.Discretionary = v
	}
	return e, nil
}

func logEntry(list []apdu.TLV, tag apdu.Tag) (*LogEntry, error) {
	v, ok := objValue(list, tag)
	if !ok {
		return nil, nil
	}
	if len(v) != 2 || v[0] < 1 || v[0] > 30 {
		return nil, malformed("FCI", "log entry (%s) %X, want SFI 1..30 and a record count", tag, v)
	}
	return &LogEntry{SFI: v[0], Records: v[1]}, nil
}
