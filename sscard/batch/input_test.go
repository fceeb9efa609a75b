package batch_test

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/batch"
)

func TestParseFormats(t *testing.T) {
	ministry := "# batch of 2026-12-07\n" + testLine(0, true) + "\n\n" + testLine(1, false) + "\n"
	lines, format, err := batch.Parse(strings.NewReader(ministry))
	if err != nil || format != batch.FormatMinistry || len(lines) != 2 {
		t.Fatalf("ministry: %v %s %d", err, format, len(lines))
	}
	if !lines[0].AnyCard || lines[0].Info.CardID != nil || lines[1].AnyCard || lines[0].No != 2 || lines[1].No != 4 {
		t.Errorf("ministry lines: %+v", lines)
	}
	// The same data as CSV, columns in another order, hashes alike.
	csv := "\ufeffname,ssn,card_id,institution,issue_date,expiry_date,card_number,sex,ethnicity,birth_date\n"
	for i, any := range []bool{true, false} {
		w := testInfo(i)
		id := ""
		if !any {
			id = hex.EncodeToString(w.CardID)
		}
		csv += strings.Join([]string{w.Name, w.SSN, id, hex.EncodeToString(w.Institution), w.IssueDate, w.ExpiryDate,
			w.CardNumber, w.Sex, w.Ethnicity, w.BirthDate}, ",") + "\n"
	}
	cl, format, err := batch.Parse(strings.NewReader(csv))
	if err != nil || format != batch.FormatCSV || len(cl) != 2 {
		t.Fatalf("csv: %v %s %d", err, format, len(cl))
	}
	for i := range cl {
		if cl[i].Hash != lines[i].Hash || cl[i].AnyCard != lines[i].AnyCard {
			t.Errorf("line %d: csv %+v, ministry %+v", i, cl[i], lines[i])
		}
	}
}

func TestParseRefusals(t *testing.T) {
	w0 := testLine(0, false)
	bad := strings.Replace(w0, "|1|01|", "|7|01|", 1) // sex code
	for _, c := range []struct {
		name, in, want string
		line           int
	}{
		{"empty", "\n# nothing\n", "no line", 0},
		{"bad field", testLine(1, true) + "\n" + bad + "\n", "sex", 2},
		{"same line twice", w0 + "\n" + w0 + "\n", "same data as line 1", 2},
		{"same ssn", testLine(0, true) + "\n" + w0 + "\n", "ssn: the same as line 1", 2},
		{"csv unknown column", "name,holder\n", "not a write-info field", 1},
		{"csv missing column", "name,ssn\n", "no column", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := batch.Parse(strings.NewReader(c.in))
			var ie *batch.InputError
			if !errors.Is(err, batch.ErrInput) || !errors.As(err, &ie) || ie.Line != c.line || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want line %d %q", err, c.line, c.want)
			}
			// Never a value of the line in the message.
			w := testInfo(0)
			for _, v := range []string{w.Name, w.SSN, w.CardNumber} {
				if strings.Contains(err.Error(), v) {
					t.Errorf("error shows a value: %v", err)
				}
			}
		})
	}
	if _, _, err := batch.Parse(strings.NewReader(bad)); !errors.Is(err, sscard.ErrWriteInfo) {
		t.Errorf("a bad field wraps ErrWriteInfo: %v", err)
	}
}
