package batch

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/emmansun/gmsm/sm3"

	"github.com/sscard/ssc/sscard"
)

// ErrInput is matched by every error of Parse (an *InputError).
var ErrInput = errors.New("batch: invalid input")

// InputError is a bad input line. It names the line and the field, never a
// value (the input is holder data).
type InputError struct {
	Line int // 1-based line of the file; 0 for the file as a whole
	Err  error
}

func (e *InputError) Error() string {
	if e.Line == 0 {
		return "batch: input: " + e.Err.Error()
	}
	return fmt.Sprintf("batch: input line %d: %v", e.Line, e.Err)
}

func (e *InputError) Unwrap() error { return e.Err }

// Is matches ErrInput.
func (e *InputError) Is(target error) bool { return target == ErrInput }

// Line is one holder of a batch.
type Line struct {
	// No is the line's 1-based line number in the file (for reports; a
	// line is identified by Hash, so lines may be reordered between runs).
	No int
	// Hash identifies the line in the journal: the first 12 bytes of the
	// SM3 digest of the canonical write-info string (the same data as CSV
	// or as a ministry string hashes alike), in hex. Never the data.
	Hash string
	// Info is the validated write info. AnyCard lines have no CardID: the
	// card id of the blank card the line is assigned to is used.
	Info *sscard.WriteInfo
	// AnyCard: the line left the card identification code empty, so it
	// goes onto any blank card; otherwise only onto the card of Info.CardID.
	AnyCard bool
}

// Format names of the input.
const (
	FormatMinistry = "ministry" // one write-info string per line
	FormatCSV      = "csv"      // a header row of write-info field names
)

// fieldNames are the JSON names of sscard.WriteInfo, in the order of the
// ministry string.
var fieldNames = []string{"card_id", "institution", "issue_date", "expiry_date", "card_number",
	"ssn", "name", "name_ext", "sex", "ethnicity", "birth_date"}

// placeholderCardID stands in for an empty card_id while a line is
// validated; it is never written.
const placeholderCardID = "00000000000000000000000000000000"

// Parse reads a batch: either one ministry write-info string per line
// (卡识别码|初始化机构编码|...|出生日期|), or CSV whose header row names the
// write-info fields (card_id, institution, issue_date, expiry_date,
// card_number, ssn, name, name_ext, sex, ethnicity, birth_date; any order;
// name_ext and card_id may be left out). The format is detected from the
// first non-empty line: a line ending in "|" is a ministry string. Empty
// lines and lines starting with "#" are ignored. An empty card_id makes an
// any-card line. Every line is validated; two lines of the same content,
// the same card id or the same SSN are refused (one holder, one card).
// Errors wrap ErrInput, name the line and the field, never a value.
func Parse(r io.Reader) ([]Line, string, error) {
	data, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return nil, "", err
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a spreadsheet's BOM
	first := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" && !strings.HasPrefix(t, "#") {
			first = t
			break
		}
	}
	var lines []Line
	format := FormatMinistry
	switch {
	case first == "":
		return nil, "", &InputError{Err: errors.New("no line")}
	case strings.HasSuffix(first, "|"):
		lines, err = parseMinistry(data)
	default:
		format = FormatCSV
		lines, err = parseCSV(data)
	}
	if err != nil {
		return nil, "", err
	}
	if err := checkUnique(lines); err != nil {
		return nil, "", err
	}
	return lines, format, nil
}

func parseMinistry(data []byte) ([]Line, error) {
	var out []Line
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		anyCard := strings.HasPrefix(t, "|")
		if anyCard {
			t = placeholderCardID + t
		}
		w, err := sscard.ParseWriteInfo(t)
		if err != nil {
			return nil, &InputError{Line: n, Err: err}
		}
		out = append(out, newLine(n, w, anyCard))
	}
	if err := sc.Err(); err != nil {
		return nil, &InputError{Err: err}
	}
	return out, nil
}

func parseCSV(data []byte) ([]Line, error) {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	head, err := cr.Read()
	if err != nil {
		return nil, &InputError{Line: 1, Err: fmt.Errorf("header: %w", err)}
	}
	col := map[string]int{}
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(h))
		if !slices.Contains(fieldNames, h) {
			return nil, &InputError{Line: 1, Err: fmt.Errorf("header: column %d is not a write-info field (want %s)", i+1, strings.Join(fieldNames, ", "))}
		}
		if _, dup := col[h]; dup {
			return nil, &InputError{Line: 1, Err: fmt.Errorf("header: column %s twice", h)}
		}
		col[h] = i
	}
	for _, f := range fieldNames {
		if _, ok := col[f]; !ok && f != "card_id" && f != "name_ext" {
			return nil, &InputError{Line: 1, Err: fmt.Errorf("header: no column %s", f)}
		}
	}
	var out []Line
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		n, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				n = pe.Line
			}
			return nil, &InputError{Line: n, Err: errors.New("not a CSV row of the header's columns")}
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		vals := make([]string, len(fieldNames))
		for i, f := range fieldNames {
			if c, ok := col[f]; ok {
				vals[i] = strings.TrimSpace(rec[c])
			}
		}
		anyCard := vals[0] == ""
		if anyCard {
			vals[0] = placeholderCardID
		}
		for i, v := range vals {
			if strings.Contains(v, "|") {
				return nil, &InputError{Line: n, Err: &sscard.WriteInfoError{Field: fieldNames[i], Reason: `contains "|"`}}
			}
		}
		w, err := sscard.ParseWriteInfo(strings.Join(vals, "|") + "|")
		if err != nil {
			return nil, &InputError{Line: n, Err: err}
		}
		out = append(out, newLine(n, w, anyCard))
	}
	return out, nil
}

func newLine(n int, w *sscard.WriteInfo, anyCard bool) Line {
	if anyCard {
		w.CardID = nil
	}
	// The canonical string (an empty card id for any-card lines).
	sum := sm3.Sum([]byte(w.String()))
	return Line{No: n, Hash: hex.EncodeToString(sum[:12]), Info: w, AnyCard: anyCard}
}

func checkUnique(lines []Line) error {
	hashes, ids, ssns := map[string]int{}, map[string]int{}, map[string]int{}
	for _, l := range lines {
		if p, ok := hashes[l.Hash]; ok {
			return &InputError{Line: l.No, Err: fmt.Errorf("the same data as line %d", p)}
		}
		hashes[l.Hash] = l.No
		if !l.AnyCard {
			id := hex.EncodeToString(l.Info.CardID)
			if p, ok := ids[id]; ok {
				return &InputError{Line: l.No, Err: fmt.Errorf("card_id: the same as line %d", p)}
			}
			ids[id] = l.No
		}
		if p, ok := ssns[l.Info.SSN]; ok {
			return &InputError{Line: l.No, Err: fmt.Errorf("ssn: the same as line %d (one holder, one card)", p)}
		}
		ssns[l.Info.SSN] = l.No
	}
	return nil
}
